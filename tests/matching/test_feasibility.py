"""Random small problems (hypothesis): every proposal is feasible, the bound holds, and where
the problem is small enough the solver's answer is the brute-force optimum."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.arrays import build_arrays, pair_facts
from matching.candidates import build_pool
from matching.evaluate import evaluate
from matching.problem import Need, Problem, Volunteer
from matching.solver import solve
from tests.matching.factories import NOW, brute_force, need, problem, volunteer

SKILLS = ("first_aid", "driving", "plumbing")
place = st.floats(min_value=-0.6, max_value=0.6, allow_nan=False)  # km: most pairs in reach
window = st.tuples(st.integers(0, 1), st.integers(0, 16), st.integers(4, 12)).map(
    lambda t: (t[0], t[1] * 60, min(24 * 60, t[1] * 60 + t[2] * 60))
)


@st.composite
def volunteers(draw: st.DrawFn, vid: int) -> Volunteer:
    return volunteer(
        vid,
        draw(place),
        draw(place),
        skills=draw(st.frozensets(st.sampled_from(SKILLS), min_size=1, max_size=3)),
        travel_mode=draw(st.sampled_from(["foot", "ebike", "car"])),
        weekly_capacity_minutes=draw(st.sampled_from([60, 90, 120, 180, 240])),
        committed_minutes=draw(st.sampled_from([0, 0, 30])),
        availability=draw(
            st.one_of(st.just(()), st.lists(window, min_size=1, max_size=2).map(tuple))
        ),
        home_community_id=draw(st.sampled_from([None, 1, 2])),
        is_commando=draw(st.booleans()),
    )


@st.composite
def needs(draw: st.DrawFn, nid: int) -> Need:
    return need(
        nid,
        draw(place),
        draw(place),
        community_id=draw(st.sampled_from([None, 1, 2])),
        tier=draw(st.sampled_from(["ordinary", "complex", "major"])),
        urgency=draw(st.integers(1, 5)),
        required_skills=draw(st.frozensets(st.sampled_from(SKILLS), max_size=1)),
        headcount=draw(st.integers(1, 3)),
        duration_minutes=draw(st.sampled_from([30, 60, 90])),
        starts_at=NOW + timedelta(hours=draw(st.integers(0, 36))),  # Monday or Tuesday
        emergency=draw(st.booleans()) and draw(st.booleans()),
    )


@st.composite
def problems(draw: st.DrawFn, max_volunteers: int = 5, max_needs: int = 4) -> Problem:
    nv = draw(st.integers(1, max_volunteers))
    nn = draw(st.integers(1, max_needs))
    vols = [draw(volunteers(i + 1)) for i in range(nv)]
    ns = [draw(needs(i + 1)) for i in range(nn)]
    pairs = [(n.id, v.id) for n in ns for v in vols]
    forbidden = draw(st.frozensets(st.sampled_from(pairs), max_size=1)) if nv * nn > 2 else set()
    return problem(vols, ns, forbidden=frozenset(forbidden))


FAST = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@FAST
@given(problems())
def test_solve_proposes_only_feasible_assignments(p: Problem) -> None:
    result = solve(p, polish=False)
    assert not result.violations
    check = evaluate(p, [(a.need_id, a.volunteer_id) for a in result.assignments])
    assert check.feasible and check.objective <= result.objective
    assert result.bound <= result.objective


@settings(max_examples=25, deadline=None, derandomize=True)
@given(problems(max_volunteers=4, max_needs=3))
def test_solve_is_optimal_against_brute_force(p: Problem) -> None:
    best, _ = brute_force(p)
    unpolished = solve(p, polish=False)
    assert unpolished.bound <= best <= unpolished.objective
    assert solve(p).objective == best


@FAST
@given(problems())
def test_candidates_equal_every_feasible_pair(p: Problem) -> None:
    """The grid index finds exactly the pairs that pass every hard constraint one by one."""
    arr = build_arrays(p)
    pool = build_pool(arr, k=50)
    found = set(zip(pool.n.tolist(), pool.v.tolist(), strict=True))
    expected = set()
    for ni in range(arr.num_needs):
        for vi in range(arr.num_volunteers):
            n_id, v_id = int(arr.n_ids[ni]), int(arr.v_ids[vi])
            if evaluate(p, [(n_id, v_id)], arrays=arr).violations:
                continue  # infeasible alone (skills, reach, window, hours, rejected)
            expected.add((ni, vi))
    assert found == expected
    facts = pair_facts(arr, pool.v, pool.n)
    assert np.array_equal(facts.cost, pool.cost)


def test_ring_search_keeps_the_bound_valid_for_far_volunteers() -> None:
    """A major need with plenty of people within RING_KM is not searched further out; whoever
    is farther must cost at least what the pool says is the cheapest pair left out."""
    from matching.candidates import RING_KM, RING_TARGET

    near = [volunteer(i, 0.02 * i, 0.0, travel_mode="car") for i in range(1, 221)]
    far = volunteer(999, RING_KM + 2.0, 0.0, travel_mode="car", current_need_ids=frozenset({7}))
    p = problem([*near, far], [need(1, tier="major", related_need_ids=frozenset({7}))])
    arr = build_arrays(p)
    pool = build_pool(arr, k=50)
    assert pool.feasible_count[0] >= RING_TARGET * 50 and pool.unexplored[0]
    assert arr.vol_index[999] not in set(pool.v.tolist())
    far_cost = pair_facts(arr, np.array([arr.vol_index[999]]), np.array([0])).cost[0]
    assert pool.beyond_min_cost[0] <= far_cost
