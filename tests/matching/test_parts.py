"""Resources and enterprise helpers: quantities, pairing, expertise, load, pins and reasons."""

from __future__ import annotations

from matching.problem import EnterpriseTask, Resource
from matching.result import ReasonCode
from matching.solver import solve
from tests.matching.factories import at, need, problem, volunteer


def resource(rid: int, kind: str, quantity: int, east_km: float = 0.0, **kw) -> Resource:
    lat, lon = at(east_km, 0.0)
    return Resource(id=rid, kind=kind, quantity=quantity, lat=lat, lon=lon, **kw)


def task(tid: int, kind: str, east_km: float = 0.0, urgency: int = 3) -> EnterpriseTask:
    lat, lon = at(east_km, 0.0)
    return EnterpriseTask(id=tid, lat=lat, lon=lon, kind=kind, urgency=urgency)


def helper(vid: int, expertise: set[str], east_km: float = 0.0, **kw):
    kw.setdefault("max_open_requests", 3)
    return volunteer(vid, east_km, is_helper=True, expertise=frozenset(expertise), **kw)


def test_resources_respect_quantities_and_report_exhaustion() -> None:
    p = problem(
        [],
        [
            need(1, tier="major", headcount=0, required_resources=(("vehicle", 2),)),
            need(2, tier="ordinary", headcount=0, required_resources=(("vehicle", 2),)),
        ],
        resources=(resource(1, "vehicle", 3),),
    )
    result = solve(p)
    sent = {a.need_id: a.quantity for a in result.resource_allocations}
    assert sent == {1: 2, 2: 1}
    (u,) = result.unmatched_needs
    assert u.need_id == 2 and u.missing_resources == (("vehicle", 1),)
    assert u.reasons[0].code == ReasonCode.RESOURCE_EXHAUSTED
    assert not result.violations


def test_resources_split_a_requirement_over_two_pools() -> None:
    p = problem(
        [],
        [need(1, headcount=0, required_resources=(("venue", 3),))],
        resources=(resource(1, "venue", 2), resource(2, "venue", 2, 1.0)),
    )
    sent = {(a.resource_id, a.quantity) for a in solve(p).resource_allocations}
    assert sent == {(1, 2), (2, 1)}


def test_resources_out_of_reach_are_not_used() -> None:
    p = problem(
        [],
        [need(1, headcount=0, required_resources=(("venue", 1),))],
        resources=(resource(1, "venue", 5, 40.0), resource(2, "funds", 5)),
    )
    result = solve(p)
    assert result.resource_allocations == ()
    assert result.unmatched_needs[0].reasons[0].code == ReasonCode.RESOURCE_NONE_IN_REACH


def test_resource_explanation_names_the_twinned_unit() -> None:
    p = problem(
        [],
        [need(1, community_id=4, headcount=0, required_resources=(("vehicle", 1),))],
        resources=(
            resource(1, "vehicle", 1, 2.0, paired_unit_id=12, twinned_community_ids=frozenset({4})),
        ),
    )
    (a,) = solve(p).resource_allocations
    assert a.explanation.reasons[0].code == ReasonCode.TWINNED_RESOURCE
    assert "paired unit 12" in a.explanation.message


def test_helper_expertise_must_fit() -> None:
    p = problem(
        [helper(1, {"licensing"}), helper(2, {"financing"}, 5.0)],
        [],
        enterprise_tasks=(task(1, "financing"),),
    )
    assert [(h.task_id, h.volunteer_id) for h in solve(p).helper_assignments] == [(1, 2)]


def test_helper_load_limit_leaves_a_task_open_with_reason() -> None:
    p = problem(
        [helper(1, {"tax"}, max_open_requests=2, open_requests=1)],
        [],
        enterprise_tasks=(task(1, "tax", urgency=5), task(2, "tax", urgency=1)),
    )
    result = solve(p)
    assert [h.task_id for h in result.helper_assignments] == [1]
    (u,) = result.unmatched_tasks
    assert u.task_id == 2 and u.reasons[0].code == ReasonCode.HELPERS_AT_LOAD


def test_helper_missing_expertise_is_explained() -> None:
    p = problem([helper(1, {"tax"})], [], enterprise_tasks=(task(1, "land_use"),))
    (u,) = solve(p).unmatched_tasks
    assert u.reasons[0].code == ReasonCode.NO_HELPER_WITH_EXPERTISE


def test_helper_load_prefers_the_less_loaded_helper() -> None:
    p = problem(
        [helper(1, {"tax"}, open_requests=2), helper(2, {"tax"}, 1.0, open_requests=0)],
        [],
        enterprise_tasks=(task(1, "tax"),),
    )
    assert [h.volunteer_id for h in solve(p).helper_assignments] == [2]


def test_helper_pins_are_kept_and_rejections_respected() -> None:
    vols = [helper(1, {"tax"}), helper(2, {"tax"}, 0.5)]
    tasks = (task(1, "tax"), task(2, "tax"))
    p = problem(
        vols,
        [],
        enterprise_tasks=tasks,
        pinned_helpers=frozenset({(1, 2)}),
        forbidden_helpers=frozenset({(2, 1)}),
    )
    result = solve(p)
    pairs = {(h.task_id, h.volunteer_id): h.pinned for h in result.helper_assignments}
    assert pairs == {(1, 2): True, (2, 2): False}
    assert not result.violations
