"""Community clusters (`matching.clusters`), forced on small problems by a tiny threshold: the
answer is feasible, the bound is a bound of the whole problem (never above the brute-force
optimum, though pairs cross the borders), and the repair never makes the merged answer worse."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.arrays import build_arrays
from matching.candidates import build_pool, select
from matching.clusters import partition
from matching.evaluate import evaluate
from matching.problem import Problem
from matching.result import Result
from matching.solver import solve
from matching.synthetic import make_instance
from tests.matching.factories import NOW, brute_force, need, problem, volunteer
from tests.matching.test_feasibility import needs, volunteers


def solve_split(p: Problem, *, polish: bool = True) -> Result:
    """Every community its own cluster: as many borders as the problem has."""
    return solve(p, polish=polish, decompose_above=0, cluster_pairs=1)


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    nv = draw(st.integers(1, 4))
    nn = draw(st.integers(2, 3))
    return problem(
        [draw(volunteers(i + 1)) for i in range(nv)], [draw(needs(i + 1)) for i in range(nn)]
    )


@st.composite
def pinned_problems(draw: st.DrawFn) -> Problem:
    """As `problems`, with one pin where the pair drawn is feasible alone: its person is tied
    to its need's cluster, and the others are matched around it."""
    p = draw(problems())
    pair = (draw(st.sampled_from(p.needs)).id, draw(st.sampled_from(p.volunteers)).id)
    return replace(p, pinned=frozenset({pair})) if evaluate(p, [pair]).feasible else p


def stages(result: Result) -> dict[str, int]:
    return dict(result.stats.stages)


def feasible(p: Problem, result: Result) -> bool:
    check = evaluate(
        p,
        [(a.need_id, a.volunteer_id) for a in result.assignments],
        [(a.need_id, a.resource_id, a.quantity) for a in result.resource_allocations],
        [(h.task_id, h.volunteer_id) for h in result.helper_assignments],
    )
    return check.feasible and check.objective == result.objective and not result.violations


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(pinned_problems())
def test_clustered_answer_is_feasible_and_its_bound_holds_for_the_whole(p: Problem) -> None:
    best, _ = brute_force(p)
    result = solve_split(p, polish=False)
    got = stages(result)
    assert ("clusters" in got) == (result.stats.candidate_pairs > 0)  # none: nothing to split
    assert feasible(p, result)
    assert p.pinned <= {(a.need_id, a.volunteer_id) for a in result.assignments}
    assert result.bound <= best <= result.objective
    assert got.get("clusters_repair_gain", 0) >= 0  # the repair is kept only where it gains


def test_a_border_pair_is_used_when_only_a_neighbour_can_serve() -> None:
    """Community 2's need has nobody registered there: only community 1's person, across the
    border, can serve it, and the repair across the border sends them."""
    p = problem(
        [volunteer(1, 0.0, home_community_id=1, weekly_capacity_minutes=240)],
        [
            need(1, 0.0, community_id=1, duration_minutes=30),
            need(2, 1.0, community_id=2, duration_minutes=30, starts_at=NOW + timedelta(hours=3)),
        ],
    )
    whole = solve(p)
    result = solve_split(p)
    got = stages(result)
    assert got["clusters"] == 2 and got["border_pairs"] >= 1
    assert {a.need_id for a in result.assignments} == {1, 2}
    assert got["border_pairs_used"] == 1
    assert result.objective == whole.objective and result.bound <= whole.objective
    assert feasible(p, result)


def test_a_person_pinned_in_two_communities_keeps_both_pins() -> None:
    """Pins tie their needs' communities into one cluster: the pinned person is in one place."""
    pins = frozenset({(1, 1), (3, 1)})
    p = problem(
        [volunteer(1, 0.0, weekly_capacity_minutes=600), volunteer(2, 3.0), volunteer(3, 6.0)],
        [
            need(1, 0.0, community_id=1),
            need(2, 3.0, community_id=2),
            need(3, 6.0, community_id=3, starts_at=None),
        ],
        pinned=pins,
    )
    arr = build_arrays(p)
    pool = build_pool(arr, k=50)
    parts = partition(arr, select(arr, pool, pool.ptr[1:] * 0 + 50), 1)
    assert parts.need_cluster[0] == parts.need_cluster[2] != parts.need_cluster[1]
    result = solve_split(p)
    assert pins <= {(a.need_id, a.volunteer_id) for a in result.assignments}
    assert feasible(p, result)


def test_people_go_to_the_cluster_holding_most_of_their_pairs() -> None:
    p = problem(
        [volunteer(1, 0.5, travel_mode="car"), volunteer(2, 9.5, travel_mode="car")],
        [
            need(1, 0.0, community_id=1),
            need(2, 0.5, community_id=1),
            need(3, 10.0, community_id=2),
        ],
    )
    arr = build_arrays(p)
    pool = build_pool(arr, k=50)
    cands = select(arr, pool, pool.ptr[1:] * 0 + 50)
    parts = partition(arr, cands, 1)
    assert parts.count == 2
    # person 1 reaches all three needs, two of them in community 1
    assert parts.person_cluster[arr.vol_index[1]] == parts.need_cluster[arr.need_index[1]]


def test_a_synthetic_county_in_clusters_stays_feasible_with_a_whole_bound() -> None:
    p = make_instance(350, 300)
    whole = solve(p, polish=False)
    result = solve(p, polish=False, decompose_above=0, cluster_pairs=1_500)
    got = stages(result)
    assert got["clusters"] >= 2 and got["border_pairs"] > 0
    assert feasible(p, result)
    # both bounds hold for the whole problem: neither is above either answer
    assert result.bound <= whole.objective and whole.bound <= result.objective
    # the clusters solved in two processes at once: the same work, so the same answer
    parallel = solve(p, polish=False, decompose_above=0, cluster_pairs=1_500, workers=2)
    assert dict(parallel.stats.stages)["clusters_workers"] == 2
    assert (parallel.objective, parallel.bound) == (result.objective, result.bound)
    assert parallel.assignments == result.assignments
