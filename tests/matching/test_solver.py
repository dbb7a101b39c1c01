from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from matching.baselines import cpsat_plain, greedy
from matching.evaluate import evaluate
from matching.result import ReasonCode
from matching.solver import rank_candidates, solve
from matching.synthetic import make_instance
from tests.matching.factories import NOW, brute_force, need, problem, volunteer


def small_contested():
    """4 volunteers x 3 needs with contention: skills, hours and reach all bind somewhere."""
    vols = [
        volunteer(1, 0.0, 0.2, skills=frozenset({"first_aid"}), weekly_capacity_minutes=120),
        volunteer(
            2,
            0.5,
            0.0,
            skills=frozenset({"first_aid", "driving"}),
            weekly_capacity_minutes=90,
            home_community_id=2,
        ),
        volunteer(3, 1.2, 0.4, weekly_capacity_minutes=240, travel_mode="car"),
        volunteer(
            4,
            0.3,
            1.0,
            skills=frozenset({"driving"}),
            weekly_capacity_minutes=60,
            current_need_ids=frozenset({99}),
        ),
    ]
    needs = [
        need(
            1,
            0.2,
            0.2,
            required_skills=frozenset({"first_aid"}),
            headcount=2,
            duration_minutes=60,
            community_id=2,
        ),
        need(
            2,
            0.8,
            0.5,
            tier="complex",
            required_skills=frozenset({"driving"}),
            duration_minutes=90,
            related_need_ids=frozenset({99}),
        ),
        need(3, 0.6, 0.9, tier="major", urgency=4, headcount=2, duration_minutes=60),
    ]
    return problem(vols, needs)


def test_solve_matches_brute_force_on_small_instance() -> None:
    p = small_contested()
    best, _ = brute_force(p)
    result = solve(p)
    assert result.objective == best
    assert result.optimal and result.bound == best and result.gap == 0


def test_solve_matches_brute_force_without_polish() -> None:
    p = small_contested()
    best, _ = brute_force(p)
    result = solve(p, polish=False)
    assert result.bound <= best <= result.objective


def test_bound_stays_valid_when_top_k_prunes_candidates() -> None:
    # One candidate per need kept: the bound must still hold for the whole problem.
    p = small_contested()
    whole = solve(p, polish=False)
    pruned = solve(replace(p, candidates_per_need=1), polish=False)
    best, _ = brute_force(p)
    assert whole.stats.pruned_pairs == 0  # by default every feasible pair is a candidate
    assert pruned.stats.pruned_pairs > 0  # so the bound below really covers left-out pairs
    assert pruned.stats.candidate_pairs < whole.stats.candidate_pairs
    assert pruned.bound <= best <= pruned.objective


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bound_is_at_most_objective_on_random_instances(seed: int) -> None:
    p = make_instance(300, 250, seed=seed)
    result = solve(p)
    assert result.bound <= result.objective
    assert result.gap == (result.objective - result.bound) / max(1, abs(result.objective))
    assert not result.violations


def test_solve_is_deterministic() -> None:
    p = make_instance(400, 300, seed=7)
    first, second = solve(p), solve(p)
    assert first == second


def test_pinned_assignment_is_kept_even_if_costlier() -> None:
    p = replace(small_contested(), pinned=frozenset({(3, 3)}))
    result = solve(p)
    assert (3, 3) in {(a.need_id, a.volunteer_id) for a in result.assignments}
    kept = next(a for a in result.assignments if (a.need_id, a.volunteer_id) == (3, 3))
    assert kept.pinned
    assert kept.explanation.reasons[0].code == ReasonCode.PINNED


def test_pinned_assignment_is_kept_in_brute_force_optimum() -> None:
    p = replace(small_contested(), pinned=frozenset({(1, 2)}))
    best, _ = brute_force(p)
    assert solve(p).objective == best


def test_forbidden_pair_is_never_proposed() -> None:
    base = solve(small_contested())
    rejected = {(a.need_id, a.volunteer_id) for a in base.assignments}
    p = replace(small_contested(), forbidden=frozenset(rejected))
    result = solve(p)
    assert not rejected & {(a.need_id, a.volunteer_id) for a in result.assignments}


def test_pinned_and_forbidden_together_is_an_error() -> None:
    p = replace(small_contested(), pinned=frozenset({(1, 1)}), forbidden=frozenset({(1, 1)}))
    with pytest.raises(ValueError):
        solve(p)


def test_pinned_beyond_headcount_is_kept_and_reported() -> None:
    p = replace(small_contested(), pinned=frozenset({(2, 2), (2, 4)}))
    result = solve(p)
    on_need_2 = {a.volunteer_id for a in result.assignments if a.need_id == 2}
    assert on_need_2 == {2, 4}
    assert any("headcount" in v for v in result.violations)


def test_explanations_cover_every_proposal_and_unmatched_need() -> None:
    p = make_instance(300, 250, seed=4)
    result = solve(p)
    assert result.assignments and result.unmatched_needs
    assert result.helper_assignments and result.unmatched_tasks  # every loop below checks some
    for a in result.assignments:
        codes = {r.code for r in a.explanation.reasons}
        assert {ReasonCode.SKILLS_MATCHED, ReasonCode.TRAVEL, ReasonCode.LOAD} <= codes
        assert a.explanation.message
    for u in result.unmatched_needs:
        assert u.reasons and all(r.message for r in u.reasons)
    for h in result.helper_assignments:
        assert h.explanation.reasons[0].code == ReasonCode.HELPER_EXPERTISE
    for t in result.unmatched_tasks:
        assert t.reasons


def test_explain_names_the_missing_skill() -> None:
    p = problem(
        [volunteer(1, skills=frozenset({"plumbing"}))],
        [need(1, required_skills=frozenset({"first_aid", "plumbing"}))],
    )
    (u,) = solve(p).unmatched_needs
    assert [r.code for r in u.reasons] == [ReasonCode.SKILL_MISSING_IN_REACH]
    assert "first_aid" in u.reasons[0].message


def test_explain_says_all_candidates_at_capacity() -> None:
    p = problem(
        [volunteer(1, weekly_capacity_minutes=60)],
        [need(1, duration_minutes=60), need(2, 0.1, duration_minutes=60, urgency=1)],
    )
    result = solve(p)
    (u,) = result.unmatched_needs
    assert u.need_id == 2
    assert u.reasons[0].code == ReasonCode.CANDIDATES_AT_CAPACITY


def test_explain_says_no_one_in_reach() -> None:
    p = problem([volunteer(1, 30.0, 0.0)], [need(1)])
    (u,) = solve(p).unmatched_needs
    assert u.reasons[0].code == ReasonCode.NO_ONE_IN_REACH


def test_explain_says_no_hours_left() -> None:
    p = problem([volunteer(1, weekly_capacity_minutes=60, committed_minutes=30)], [need(1)])
    (u,) = solve(p).unmatched_needs
    assert u.reasons[0].code == ReasonCode.NO_HOURS_LEFT


def test_rank_candidates_orders_by_cost() -> None:
    vols = [volunteer(1, 1.0), volunteer(2, 0.2), volunteer(3, 0.5), volunteer(4, 30.0)]
    p = problem(vols, [need(1)])
    ranked = rank_candidates(p, 1, limit=10)
    assert [c.volunteer_id for c in ranked] == [2, 3, 1]
    assert [c.cost for c in ranked] == sorted(c.cost for c in ranked)
    assert rank_candidates(p, 1, limit=1)[0].volunteer_id == 2


def test_rank_candidates_skips_forbidden_and_counts_pinned_load() -> None:
    vols = [volunteer(1, 0.2), volunteer(2, 0.3), volunteer(3, 0.4)]
    later = need(2, starts_at=NOW + timedelta(hours=3))
    p = problem(vols, [need(1), later], pinned=frozenset({(2, 1)}), forbidden=frozenset({(1, 2)}))
    ranked = rank_candidates(p, 1)
    assert [c.volunteer_id for c in ranked] == [3, 1]  # 1 already holds a need: fairness


def test_rank_candidates_skips_people_busy_with_a_pinned_visit_then() -> None:
    vols = [volunteer(1, 0.2), volunteer(2, 0.3)]
    p = problem(vols, [need(1), need(2)], pinned=frozenset({(2, 1)}))
    assert [c.volunteer_id for c in rank_candidates(p, 1)] == [2]


def test_baselines_agree_with_solver_on_small_instance() -> None:
    p = small_contested()
    best, _ = brute_force(p)
    plain = cpsat_plain(p, time_limit_s=10)
    assert plain.objective == best and plain.optimal
    g = greedy(p)
    assert g.objective >= best and not g.violations


def test_greedy_proposals_are_feasible() -> None:
    p = make_instance(300, 250, seed=5)
    g = greedy(p)
    assert not g.violations
    assert evaluate(p, g.assignments).seats_filled == g.seats_filled


def tiny_random(seed: int):
    """Dense 4 x 3 instances: everyone in reach, skills and hours make them contend."""
    rng = np.random.default_rng(seed)
    skills = ["first_aid", "driving"]
    vols = [
        volunteer(
            i + 1,
            *rng.uniform(-0.4, 0.4, 2),
            skills=frozenset(s for s in skills if rng.random() < 0.6),
            weekly_capacity_minutes=int(rng.choice([60, 90, 120, 150])),
            home_community_id=int(rng.integers(1, 3)),
            current_need_ids=frozenset({50}) if rng.random() < 0.2 else frozenset(),
        )
        for i in range(4)
    ]
    needs = [
        need(
            j + 1,
            *rng.uniform(-0.4, 0.4, 2),
            tier=str(rng.choice(["ordinary", "complex", "major"])),
            urgency=int(rng.integers(1, 6)),
            required_skills=frozenset(s for s in skills if rng.random() < 0.3),
            headcount=int(rng.integers(1, 3)),
            duration_minutes=int(rng.choice([30, 60, 90])),
            community_id=int(rng.integers(1, 3)),
            related_need_ids=frozenset({50}) if rng.random() < 0.3 else frozenset(),
        )
        for j in range(3)
    ]
    return problem(vols, needs)


@pytest.mark.parametrize("seed", range(12))
def test_solve_matches_brute_force_on_random_tiny_instances(seed: int) -> None:
    p = tiny_random(seed)
    best, _ = brute_force(p)
    relaxed = solve(p, polish=False)
    assert relaxed.bound <= best <= relaxed.objective
    exact = solve(p)
    assert exact.objective == best and exact.optimal


def test_stats_count_seats_and_urgent_coverage() -> None:
    vols = [volunteer(1, weekly_capacity_minutes=60)]
    p = problem(vols, [need(1, tier="major", headcount=2), need(2, 0.1, urgency=1)])
    result = solve(p)
    assert (result.stats.seats_filled, result.stats.seats_total) == (1, 3)
    assert result.stats.urgent_coverage == 0.5  # one of the major need's two seats


def test_reasons_serialise_to_json() -> None:
    import json

    result = solve(make_instance(200, 150, seed=9))
    reasons = [r.as_dict() for a in result.assignments for r in a.explanation.reasons]
    reasons += [r.as_dict() for u in result.unmatched_needs for r in u.reasons]
    assert json.loads(json.dumps(reasons)) and all(r["code"] and r["message"] for r in reasons)
