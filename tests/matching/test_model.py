"""One test per hard constraint and per objective term: a case where it binds, one where not.

Each goes through `solve`, so the constraint or term is checked where it matters: in the choice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np

from matching import model
from matching.problem import Resource, Weights
from matching.solver import solve
from tests.matching.factories import NOW, at, need, problem, volunteer


def pairs(result) -> set[tuple[int, int]]:
    return {(a.need_id, a.volunteer_id) for a in result.assignments}


# ---------------------------------------------------------------- hard constraints


def test_skills_ok_rejects_missing_skill() -> None:
    p = problem(
        [volunteer(1, skills=frozenset({"plumbing"}))],
        [need(1, required_skills=frozenset({"first_aid"}))],
    )
    assert pairs(solve(p)) == set()


def test_skills_ok_accepts_superset() -> None:
    p = problem(
        [volunteer(1, skills=frozenset({"first_aid", "plumbing"}))],
        [need(1, required_skills=frozenset({"first_aid"}))],
    )
    assert pairs(solve(p)) == {(1, 1)}


def test_skills_ok_handles_more_than_64_skills() -> None:
    skills = [f"s{i}" for i in range(70)]
    p = problem(
        [volunteer(1, skills=frozenset(skills[60:])), volunteer(2, skills=frozenset(skills[:5]))],
        [
            need(1, required_skills=frozenset({"s65", "s69"})),
            need(2, required_skills=frozenset(skills[:70])),
        ],
    )
    assert pairs(solve(p)) == {(1, 1)}


def test_reach_ok_rejects_too_far_for_ordinary_tier() -> None:
    # 3 km by e-bike: 2 + 3*1.3/18*60 = 15 min > 10 min for an ordinary need
    p = problem([volunteer(1, 3.0, 0.0)], [need(1, tier="ordinary")])
    assert pairs(solve(p)) == set()


def test_reach_ok_accepts_same_distance_for_complex_tier() -> None:
    p = problem([volunteer(1, 3.0, 0.0)], [need(1, tier="complex")])
    assert pairs(solve(p)) == {(1, 1)}


def test_reach_ok_limits_emergency_needs_to_ten_minutes() -> None:
    p = problem([volunteer(1, 3.0, 0.0)], [need(1, tier="major", emergency=True)])
    assert pairs(solve(p)) == set()


def test_available_ok_rejects_start_outside_windows() -> None:
    # NOW is Monday 09:00 local; the window is Monday evening.
    p = problem([volunteer(1, availability=((0, 18 * 60, 21 * 60),))], [need(1)])
    assert pairs(solve(p)) == set()


def test_available_ok_accepts_start_inside_window() -> None:
    later = NOW + timedelta(hours=10)  # Monday 19:00 local
    p = problem([volunteer(1, availability=((0, 18 * 60, 21 * 60),))], [need(1, starts_at=later)])
    assert pairs(solve(p)) == {(1, 1)}


def test_capacity_ok_keeps_hours_within_free_minutes() -> None:
    vol = volunteer(1, weekly_capacity_minutes=150, committed_minutes=30)
    p = problem([vol], [need(1, duration_minutes=60), need(2, duration_minutes=90)])
    result = solve(p)
    assert len(result.assignments) == 1 and not result.violations


def test_capacity_ok_allows_both_when_minutes_suffice() -> None:
    vol = volunteer(1, weekly_capacity_minutes=150, committed_minutes=0)
    later = NOW + timedelta(hours=3)
    p = problem(
        [vol], [need(1, duration_minutes=60), need(2, duration_minutes=90, starts_at=later)]
    )
    assert pairs(solve(p)) == {(1, 1), (2, 1)}


def test_headcount_ok_caps_people_per_need() -> None:
    p = problem([volunteer(i, 0.1 * i) for i in range(1, 4)], [need(1, headcount=2)])
    assert len(solve(p).assignments) == 2


def test_headcount_ok_fills_every_seat_when_people_suffice() -> None:
    p = problem([volunteer(i, 0.1 * i) for i in range(1, 4)], [need(1, headcount=3)])
    assert len(solve(p).assignments) == 3


def test_allowed_ok_never_proposes_forbidden_pair() -> None:
    p = problem([volunteer(1), volunteer(2, 1.0)], [need(1)], forbidden=frozenset({(1, 1)}))
    assert pairs(solve(p)) == {(1, 2)}


def test_allowed_ok_ignores_forbidden_pairs_of_other_needs() -> None:
    p = problem(
        [volunteer(1), volunteer(2, 1.0)], [need(1), need(2, 5.0)], forbidden=frozenset({(2, 1)})
    )
    assert (1, 1) in pairs(solve(p))


# ---------------------------------------------------------------- objective terms


def test_unserved_penalty_ranks_major_over_complex_over_ordinary() -> None:
    w = Weights()
    tiers = model.unserved_penalty(np.array([0, 1, 2]), 3, False, w)
    assert tiers[0] < tiers[1] < tiers[2]
    assert model.unserved_penalty(0, 5, False, w) > model.unserved_penalty(0, 1, False, w)


def test_unserved_penalty_sends_the_only_volunteer_to_the_major_need() -> None:
    vol = volunteer(1, weekly_capacity_minutes=60)
    p = problem([vol], [need(1, tier="ordinary", urgency=5), need(2, 0.2, tier="major", urgency=1)])
    assert pairs(solve(p)) == {(2, 1)}


def test_unserved_penalty_leaves_seat_open_when_serving_costs_more() -> None:
    w = Weights(unserved_ordinary=10.0)  # less than the per-seat "away" costs
    p = problem([volunteer(1)], [need(1)], weights=w)
    result = solve(p)
    assert pairs(result) == set() and result.unmatched_needs[0].need_id == 1


def test_travel_cost_prefers_the_nearer_volunteer() -> None:
    p = problem([volunteer(1, 1.5), volunteer(2, 0.5)], [need(1, tier="complex")])
    assert pairs(solve(p)) == {(1, 2)}


def test_travel_cost_is_indifferent_without_weight() -> None:
    w = Weights(travel_per_minute=0.0)
    assert int(model.travel_cost(25.0, w)) == 0
    assert int(model.travel_cost(25.0, Weights())) > 0


def test_home_community_bonus_prefers_a_registered_member() -> None:
    p = problem(
        [volunteer(1, 0.6, home_community_id=9), volunteer(2, 0.5, home_community_id=7)],
        [need(1, community_id=7 + 2)],
    )
    assert pairs(solve(p)) == {(1, 1)}


def test_home_community_bonus_loses_to_much_shorter_travel() -> None:
    p = problem(
        [volunteer(1, 9.0, home_community_id=9), volunteer(2, 0.2, home_community_id=7)],
        [need(1, community_id=9, tier="complex")],
    )
    assert pairs(solve(p)) == {(1, 2)}


def test_pairing_bonus_prefers_twinned_resource() -> None:
    lat_far, lon_far = at(1.0, 0.0)
    lat_near, lon_near = at(0.3, 0.0)
    p = problem(
        [],
        [need(1, community_id=5, required_resources=(("vehicle", 1),))],
        resources=(
            Resource(
                1,
                "vehicle",
                1,
                lat_far,
                lon_far,
                paired_unit_id=3,
                twinned_community_ids=frozenset({5}),
            ),
            Resource(2, "vehicle", 1, lat_near, lon_near),
        ),
    )
    assert [a.resource_id for a in solve(p).resource_allocations] == [1]


def test_pairing_bonus_loses_to_a_much_nearer_resource() -> None:
    lat_far, lon_far = at(20.0, 0.0)
    lat_near, lon_near = at(0.3, 0.0)
    p = problem(
        [],
        [need(1, community_id=5, required_resources=(("vehicle", 1),))],
        resources=(
            Resource(1, "vehicle", 1, lat_far, lon_far, twinned_community_ids=frozenset({5})),
            Resource(2, "vehicle", 1, lat_near, lon_near),
        ),
        weights=Weights(resource_per_km=20.0),  # 20 km now outweighs the pairing bonus
    )
    assert [a.resource_id for a in solve(p).resource_allocations] == [2]


def test_fairness_cost_spreads_load() -> None:
    vols = [volunteer(1, 0.0, weekly_capacity_minutes=600), volunteer(2, 0.3)]
    p = problem(vols, [need(1), need(2, starts_at=NOW + timedelta(hours=3))])
    assert pairs(solve(p)) == {(1, 1), (2, 2)} or pairs(solve(p)) == {(1, 2), (2, 1)}


def test_fairness_cost_without_weight_lets_the_cheapest_take_both() -> None:
    vols = [volunteer(1, 0.0, weekly_capacity_minutes=600), volunteer(2, 0.3)]
    later = NOW + timedelta(hours=3)
    p = problem(vols, [need(1), need(2, starts_at=later)], weights=Weights(fairness=0.0))
    assert pairs(solve(p)) == {(1, 1), (2, 1)}


def test_fairness_cost_is_convex_in_load() -> None:
    w = Weights()
    costs = model.fairness_cost(np.arange(6), w)
    assert list(np.diff(costs)) == list(model.fairness_marginal(np.arange(1, 6), w))
    assert np.all(np.diff(costs, 2) >= 0)


def test_continuity_bonus_keeps_someone_on_their_case() -> None:
    vols = [volunteer(1, 0.6, current_need_ids=frozenset({77})), volunteer(2, 0.5)]
    p = problem(vols, [need(1, related_need_ids=frozenset({77}))])
    assert pairs(solve(p)) == {(1, 1)}


def test_continuity_bonus_needs_a_related_need() -> None:
    vols = [volunteer(1, 0.6, current_need_ids=frozenset({78})), volunteer(2, 0.5)]
    p = problem(vols, [need(1, related_need_ids=frozenset({77}))])
    assert pairs(solve(p)) == {(1, 2)}


def test_commando_bonus_applies_in_emergency_mode() -> None:
    vols = [volunteer(1, 0.5, is_commando=True), volunteer(2, 0.3)]
    p = problem(vols, [need(1, emergency=True)], weights=Weights.emergency())
    assert pairs(solve(p)) == {(1, 1)}


def test_commando_bonus_is_off_in_normal_mode() -> None:
    vols = [volunteer(1, 0.5, is_commando=True), volunteer(2, 0.3)]
    p = problem(vols, [need(1)])
    assert pairs(solve(p)) == {(1, 2)}


def test_emergency_weights_change_the_choice() -> None:
    # Normal: the registered member 1.5 km away; emergency: whoever is on site first.
    vols = [volunteer(1, 1.5, home_community_id=4), volunteer(2, 0.1, home_community_id=8)]
    normal = problem(vols, [need(1, community_id=4)])
    assert pairs(solve(normal)) == {(1, 1)}
    assert pairs(solve(replace(normal, weights=Weights.emergency()))) == {(1, 2)}


def test_available_ok_takes_naive_times_as_utc() -> None:
    naive = (NOW + timedelta(hours=10)).replace(tzinfo=None)  # Monday 19:00 in Ji'an
    p = problem([volunteer(1, availability=((0, 18 * 60, 21 * 60),))], [need(1, starts_at=naive)])
    assert pairs(solve(p)) == {(1, 1)}
