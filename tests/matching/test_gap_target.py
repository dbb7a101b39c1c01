"""The gap target (`solve(..., gap_target=...)`): the stages that improve the bound or the answer
stop once the certified gap is at or under it, and say so in `stages`.

A stopped result must still be honest: its claimed gap at or under the target, its bound at or
under the brute-force optimum of tiny problems (time windows, travel, existing work, budgets),
its answer feasible and no better than that optimum.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.evaluate import evaluate
from matching.problem import Problem
from matching.solver import solve
from matching.synthetic import make_instance
from tests.matching.factories import brute_force
from tests.matching.test_bound_person import tiny_problems


def _stopped(stages: dict[str, int]) -> bool:
    return any(key.endswith("_gap_target") for key in stages)


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(tiny_problems(), st.sampled_from([0.0, 0.001, 0.02, 0.1, 0.5]))
def test_a_result_stopped_at_the_gap_target_is_within_it_and_its_bound_holds(
    p: Problem, gap_target: float
) -> None:
    best, _ = brute_force(p)
    r = solve(p, gap_target=gap_target)
    stages = dict(r.stats.stages)
    assert r.bound <= best <= r.objective
    assert r.gap == (r.objective - r.bound) / max(1, abs(r.objective))
    if _stopped(stages):
        assert r.gap <= gap_target
    if gap_target == 0.0:
        assert r.objective == best  # no target: CP-SAT proves the optimum of tiny problems
    ev = evaluate(p, [(a.need_id, a.volunteer_id) for a in r.assignments])
    assert ev.feasible, ev.violations


def test_a_wide_gap_target_stops_the_rounds_early_and_says_so() -> None:
    p = make_instance(300, 250, seed=0, capacity_scale=0.5)
    full = solve(p, polish=False, gap_target=0.0)
    loose = solve(p, polish=False, gap_target=0.5)
    stages = dict(loose.stats.stages)
    assert stages["lagrange_stopped_gap_target"] < dict(full.stats.stages)["lagrange_rounds"]
    assert stages["person_bound_skipped_gap_target"] > 0
    assert "column_generation_rounds" not in stages and "restricted_master" not in stages
    assert full.gap < loose.gap <= 0.5
    assert not loose.violations
