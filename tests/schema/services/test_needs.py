from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from schema.enums import NeedCategory, NeedSource, NeedStatus, NeedTier, Role
from schema.models import Need, NeedAssignment, Notification, Resource
from schema.notifications import NotificationKind
from schema.services import needs as svc
from schema.services.common import Actor
from schema.services.errors import Conflict, Forbidden, Invalid, NotFound
from schema.workflow import IllegalTransition
from tests import factories as f
from tests.county import County
from tests.loop import actor, assert_need_log_consistent, need_events, need_row, run

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ADMIN = Actor(account_id=None, name="管理员", role=Role.ADMIN)


@pytest.fixture
def area(county: County) -> dict[str, Any]:
    """The county's rows the services act on, and its callers as actors."""
    return {
        "home": county.quantang,
        "other": county.hengxi,
        "near": county.grid1,  # Quantang's grid nearest to where `report` places needs
        "far": county.rows["grid3"],  # Hengxi's only grid
        "worker": county.worker,  # QT-01's leader: its grid worker
        "volunteer": county.volunteer,
        "resident": actor(county.account("resident")),
        "coordinator": actor(county.account("coordinator")),
        "outsider": actor(county.account("outsider")),
        "volunteer_actor": actor(county.account("volunteer")),
    }


def report(url: str, who: Actor, **kw: Any) -> Need:
    values: dict[str, Any] = {
        "title": "路灯不亮",
        "category": NeedCategory.INFRASTRUCTURE,
        "latitude": 27.0505,
        "longitude": 114.9205,
        "now": T0,
    }
    return run(url, svc.report_need, actor=who, **(values | kw))


def test_report_need_locates_nearest_grid(database_url: str, area: dict[str, Any]) -> None:
    need = report(database_url, area["resident"])
    assert need.community_id == area["home"].id and need.grid_id == area["near"].id
    assert need.status is NeedStatus.REPORTED and need.version == 1
    assert need.reporter_name == "李阿姨" and need.duplicate_of_id is None


def test_report_need_in_given_community_takes_its_nearest_grid(
    database_url: str, area: dict[str, Any]
) -> None:
    need = report(database_url, area["resident"], community_id=area["other"].id)
    assert need.community_id == area["other"].id and need.grid_id == area["far"].id


def test_report_need_twice_with_key_creates_one(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    first = report(database_url, area["resident"], idempotency_key="k-1")
    again = report(database_url, area["resident"], idempotency_key="k-1", title=" 路灯不亮 ")
    assert again.id == first.id and again.title == "路灯不亮"
    with Session(engine) as s:
        assert len(s.exec(select(Need)).all()) == 1
    assert len(need_events(engine, first.id)) == 1


def test_refuse_a_key_reused_for_another_report(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    report(database_url, area["resident"], idempotency_key="k-1")
    with pytest.raises(Conflict, match="different request"):
        report(database_url, area["resident"], idempotency_key="k-1", title="重复提交")
    with Session(engine) as s:
        assert len(s.exec(select(Need)).all()) == 1


def test_keep_keys_per_reporter(database_url: str, engine: sa.Engine, area: dict[str, Any]) -> None:
    mine = report(database_url, area["resident"], idempotency_key="k-2")
    # Another reporter's key is a new key: a new need, and nothing tells the key was used.
    theirs = report(database_url, area["volunteer_actor"], idempotency_key="k-2")
    assert theirs.id != mine.id
    assert report(database_url, area["volunteer_actor"], idempotency_key="k-2").id == theirs.id


def test_report_need_flags_duplicate_nearby(database_url: str, area: dict[str, Any]) -> None:
    first = report(database_url, area["resident"])
    close = report(database_url, area["resident"], latitude=27.0510, now=T0 + timedelta(hours=1))
    assert close.duplicate_of_id == first.id


@pytest.mark.parametrize(
    "change",
    [
        {"category": NeedCategory.ENVIRONMENT},
        {"latitude": 27.0600},  # about 1 km away
        {"now": T0 + timedelta(hours=25)},
    ],
    ids=["other-category", "far-away", "too-late"],
)
def test_report_need_without_duplicate(
    database_url: str, area: dict[str, Any], change: dict[str, Any]
) -> None:
    report(database_url, area["resident"])
    assert report(database_url, area["resident"], **change).duplicate_of_id is None


def test_report_need_refuses_bad_input_all_at_once(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    with pytest.raises(Invalid) as err:
        report(
            database_url,
            area["resident"],
            title="   ",
            latitude=39.9,
            longitude=116.4,
            description="x" * 5001,
            media_urls=["ftp://x"] + ["https://a.cn/p.jpg"] * 9,
            source=NeedSource.HOTLINE_12345,
        )
    fields = {field for field, _ in err.value.problems}
    assert fields == {"title", "location", "description", "media_urls", "source"}
    with Session(engine) as s:
        assert s.exec(select(Need)).all() == []


def test_report_need_refuses_bad_media_link(database_url: str, area: dict[str, Any]) -> None:
    with pytest.raises(Invalid) as err:
        report(database_url, area["resident"], media_urls=["https://a.cn/1.jpg", "javascript:1"])
    assert err.value.problems == [("media_urls.1", err.value.message)]


def test_report_need_refuses_unknown_grid(database_url: str, area: dict[str, Any]) -> None:
    with pytest.raises(NotFound) as err:
        report(database_url, area["resident"], grid_id=9999)
    assert err.value.field == "grid_id"


def walk(url: str, area: dict[str, Any], need_id: int, until: str) -> Need:
    c, vol = area["coordinator"], area["volunteer_actor"]
    steps = [
        ("accept", lambda: run(url, svc.accept_need, need_id=need_id, actor=c, now=T0)),
        (
            "dispatch",
            lambda: run(
                url,
                svc.dispatch_need,
                need_id=need_id,
                actor=c,
                to_person_ids=[area["volunteer"].id],
                now=T0 + timedelta(minutes=1),
            ),
        ),
        (
            "arrive",
            lambda: run(
                url, svc.arrive_need, need_id=need_id, actor=vol, now=T0 + timedelta(minutes=8)
            ),
        ),
        (
            "resolve",
            lambda: run(
                url, svc.resolve_need, need_id=need_id, actor=vol, now=T0 + timedelta(minutes=25)
            ),
        ),
        (
            "rate",
            lambda: run(
                url,
                svc.rate_need,
                need_id=need_id,
                actor=area["resident"],
                satisfaction=5,
                comment="很及时",
                now=T0 + timedelta(minutes=40),
            ),
        ),
    ]
    need: Need | None = None
    for name, step in steps:
        need = step()
        if name == until:
            break
    assert need is not None
    return need


def test_walk_need_through_loop(database_url: str, engine: sa.Engine, area: dict[str, Any]) -> None:
    need = report(database_url, area["resident"])
    closed = walk(database_url, area, need.id, "rate")
    assert closed.status is NeedStatus.CLOSED and closed.version == 6
    assert closed.arrive_by == T0 + timedelta(minutes=11)
    assert closed.resolve_by == T0 + timedelta(minutes=31)
    assert closed.arrived_at == T0 + timedelta(minutes=8)
    assert closed.satisfaction == 5 and closed.rating_comment == "很及时"
    events = assert_need_log_consistent(engine, need.id)
    assert [e.actor_name for e in events][-3:] == ["王建国", "王建国", "李阿姨"]
    assert events[2].data["arrive_by"] == (T0 + timedelta(minutes=11)).isoformat()


def test_dispatch_need_again_ends_earlier_assignments(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    need = report(database_url, area["resident"])
    walk(database_url, area, need.id, "arrive")
    team = f.team(engine)
    later = T0 + timedelta(minutes=20)
    again = run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=area["coordinator"],
        to_team_id=team.id,
        to_grid_worker=True,
        now=later,
    )
    assert again.status is NeedStatus.DISPATCHED and again.arrived_at is None
    assert again.arrive_by == later + timedelta(minutes=10)
    with Session(engine) as s:
        rows = s.exec(select(NeedAssignment).order_by(col(NeedAssignment.id))).all()
    assert [(r.person_id, r.team_id, r.active) for r in rows] == [
        (area["volunteer"].id, None, False),
        (area["worker"].id, None, True),
        (None, team.id, True),
    ]
    assert_need_log_consistent(engine, need.id)


def test_dispatch_need_needs_someone(database_url: str, area: dict[str, Any]) -> None:
    need = report(database_url, area["resident"])
    run(database_url, svc.accept_need, need_id=need.id, actor=area["coordinator"])
    with pytest.raises(Invalid):
        run(database_url, svc.dispatch_need, need_id=need.id, actor=area["coordinator"])
    with pytest.raises(NotFound) as err:
        run(
            database_url,
            svc.dispatch_need,
            need_id=need.id,
            actor=area["coordinator"],
            to_person_ids=[area["worker"].id, 4242],
        )
    assert err.value.field == "to_person_ids"


def test_dispatch_need_with_stale_version_conflicts(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    need = report(database_url, area["resident"])
    run(database_url, svc.accept_need, need_id=need.id, actor=area["coordinator"])
    with pytest.raises(Conflict):
        run(
            database_url,
            svc.dispatch_need,
            need_id=need.id,
            expected_version=1,
            actor=area["coordinator"],
            to_grid_worker=True,
        )
    row = need_row(engine, need.id)
    assert row.status is NeedStatus.ACCEPTED and row.version == 2 and row.dispatched_at is None
    with Session(engine) as s:
        assert s.exec(select(NeedAssignment)).all() == []


ACTIONS: dict[str, Any] = {
    "accept": (svc.accept_need, {}),
    "dispatch": (svc.dispatch_need, {"to_grid_worker": True}),
    "arrive": (svc.arrive_need, {}),
    "resolve": (svc.resolve_need, {}),
    "rate": (svc.rate_need, {"satisfaction": 4}),
    "escalate": (svc.escalate_need, {"reason": "需要多部门"}),
    "return": (svc.return_need, {"reason": "不属本网格"}),
}
LEGAL = {
    "reported": {"accept", "escalate"},
    "accepted": {"dispatch", "escalate"},
    "dispatched": {"dispatch", "arrive", "escalate", "return"},
    "arrived": {"dispatch", "resolve", "escalate", "return"},
    "resolved": {"rate"},
    "closed": set(),
}
UNTIL = {"accepted": "accept", "dispatched": "dispatch", "arrived": "arrive"}
UNTIL |= {"resolved": "resolve", "closed": "rate"}


@pytest.mark.parametrize(
    ("status", "action"),
    [(s, a) for s, legal in LEGAL.items() for a in ACTIONS if a not in legal],
)
def test_refuse_illegal_need_transition(
    database_url: str, engine: sa.Engine, area: dict[str, Any], status: str, action: str
) -> None:
    need = report(database_url, area["resident"])
    if status != "reported":
        walk(database_url, area, need.id, UNTIL[status])
    before = need_row(engine, need.id)
    fn, kw = ACTIONS[action]
    who = area["resident"] if action == "rate" else ADMIN
    with pytest.raises(IllegalTransition):
        run(database_url, fn, need_id=need.id, actor=who, **kw)
    assert need_row(engine, need.id).model_dump() == before.model_dump()
    assert len(need_events(engine, need.id)) == before.version


def test_escalate_need_recomputes_deadline(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    need = report(database_url, area["resident"])
    walk(database_url, area, need.id, "dispatch")
    up = run(
        database_url,
        svc.escalate_need,
        need_id=need.id,
        actor=area["coordinator"],
        reason="涉及管网改造",
        now=T0 + timedelta(minutes=5),
    )
    assert up.tier is NeedTier.COMPLEX and up.status is NeedStatus.DISPATCHED
    assert up.resolve_by == T0 + timedelta(minutes=1, hours=4)
    up = run(
        database_url, svc.escalate_need, need_id=need.id, actor=area["coordinator"], reason="重大"
    )
    assert up.tier is NeedTier.MAJOR and up.resolve_by == T0 + timedelta(minutes=1, days=1)
    with pytest.raises(IllegalTransition):
        run(
            database_url,
            svc.escalate_need,
            need_id=need.id,
            actor=area["coordinator"],
            reason="再升",
        )
    with pytest.raises(Invalid):
        run(database_url, svc.escalate_need, need_id=need.id, actor=area["coordinator"], reason="")
    assert need_row(engine, need.id).version == 5
    assert_need_log_consistent(engine, need.id)


def test_return_need_ends_assignments(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    need = report(database_url, area["resident"])
    walk(database_url, area, need.id, "arrive")
    back = run(
        database_url,
        svc.return_need,
        need_id=need.id,
        actor=area["volunteer_actor"],
        reason="需要电工",
    )
    assert back.status is NeedStatus.ACCEPTED and back.arrived_at is None
    with Session(engine) as s:
        assert all(not r.active for r in s.exec(select(NeedAssignment)).all())
    assert need_events(engine, need.id)[-1].note == "需要电工"
    # no longer dispatched to the volunteer: they may not act on it any more
    with pytest.raises(Forbidden):
        run(
            database_url,
            svc.return_need,
            need_id=need.id,
            actor=area["volunteer_actor"],
            reason="x",
        )


def test_rate_need_only_by_reporter(database_url: str, area: dict[str, Any]) -> None:
    need = report(database_url, area["resident"])
    walk(database_url, area, need.id, "resolve")
    with pytest.raises(Forbidden):
        run(
            database_url,
            svc.rate_need,
            need_id=need.id,
            actor=area["coordinator"],
            satisfaction=5,
        )
    with pytest.raises(Invalid):
        run(database_url, svc.rate_need, need_id=need.id, actor=area["resident"], satisfaction=6)


def test_act_outside_area_forbidden(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    need = report(database_url, area["resident"])
    with pytest.raises(Forbidden):
        run(database_url, svc.accept_need, need_id=need.id, actor=area["outsider"])
    with pytest.raises(Forbidden):  # a volunteer who was not dispatched
        walk(database_url, area, need.id, "accept")
        run(database_url, svc.arrive_need, need_id=need.id, actor=area["volunteer_actor"])
    assert need_row(engine, need.id).status is NeedStatus.ACCEPTED


def test_team_member_may_arrive(database_url: str, engine: sa.Engine, area: dict[str, Any]) -> None:
    team = f.team(engine)
    f.team_member(engine, team.id, area["volunteer"].id)
    need = report(database_url, area["resident"])
    run(database_url, svc.accept_need, need_id=need.id, actor=area["coordinator"])
    run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=area["coordinator"],
        to_team_id=team.id,
    )
    done = run(database_url, svc.arrive_need, need_id=need.id, actor=area["volunteer_actor"])
    assert done.status is NeedStatus.ARRIVED


def test_merge_needs_folds_duplicates(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    other_resident = actor(f.account(engine, Role.RESIDENT))
    first = report(database_url, area["resident"])
    second = report(database_url, other_resident, now=T0 + timedelta(minutes=3))
    third = report(database_url, other_resident, now=T0 + timedelta(minutes=4))
    assert second.duplicate_of_id == first.id and third.duplicate_of_id == first.id
    walk(database_url, area, third.id, "dispatch")
    survivor = run(
        database_url,
        svc.merge_needs,
        survivor_id=first.id,
        duplicates=[(second.id, 1), (third.id, None)],
        actor=area["coordinator"],
    )
    assert survivor.id == first.id and survivor.status is NeedStatus.REPORTED
    assert survivor.reporter_account_id == area["resident"].account_id
    for dup in (second, third):
        row = need_row(engine, dup.id)
        assert row.status is NeedStatus.MERGED and row.merged_into_id == first.id
        assert row.reporter_account_id == other_resident.account_id
        assert_need_log_consistent(engine, dup.id)
    assert need_row(engine, first.id).version == 1
    with Session(engine) as s:
        assert all(not r.active for r in s.exec(select(NeedAssignment)).all())


def test_merged_reports_are_answered_by_the_need_they_end_in(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    """Found by using it (attack5): a report merged into a need that was itself merged later
    pointed at a need that never resolves, and the reporters of merged reports were never told
    of the resolution that answered them. Merges now point every merged report at the need
    that answers it, and resolving it tells every one of their reporters."""
    residents = [actor(f.account(engine, Role.RESIDENT)) for _ in range(3)]
    first, second, third = (
        report(database_url, who, now=T0 + timedelta(minutes=i)) for i, who in enumerate(residents)
    )
    c = area["coordinator"]
    run(
        database_url, svc.merge_needs, survivor_id=second.id, duplicates=[(first.id, None)], actor=c
    )
    run(
        database_url, svc.merge_needs, survivor_id=third.id, duplicates=[(second.id, None)], actor=c
    )
    for merged in (first, second):
        row = need_row(engine, merged.id)
        assert row.status is NeedStatus.MERGED and row.merged_into_id == third.id
    # Its own history still says where it went first.
    assert need_events(engine, first.id)[-1].data == {"merged_into_id": second.id}
    walk(database_url, area, third.id, "resolve")
    with Session(engine) as s:
        told = s.exec(
            select(Notification).where(Notification.kind == NotificationKind.NEED_RESOLVED)
        ).all()
    assert sorted(n.account_id for n in told) == sorted(r.account_id for r in residents)
    assert {n.data["need_id"] for n in told} == {third.id}


@pytest.mark.parametrize("case", ["self", "empty", "stale", "closed-survivor", "merged-again"])
def test_merge_needs_refused(
    database_url: str, engine: sa.Engine, area: dict[str, Any], case: str
) -> None:
    a = report(database_url, area["resident"])
    b = report(database_url, area["resident"])
    c = area["coordinator"]
    expected: type[Exception] = Invalid
    dups: list[tuple[int, int | None]] = [(b.id, None)]
    if case == "self":
        dups = [(a.id, None)]
    elif case == "empty":
        dups = []
    elif case == "stale":
        run(database_url, svc.accept_need, need_id=b.id, actor=c)
        dups, expected = [(b.id, 1)], Conflict
    elif case == "closed-survivor":
        walk(database_url, area, a.id, "rate")
    elif case == "merged-again":
        run(database_url, svc.merge_needs, survivor_id=a.id, duplicates=dups, actor=c)
        expected = IllegalTransition
    before = need_row(engine, b.id)
    with pytest.raises(expected):
        run(database_url, svc.merge_needs, survivor_id=a.id, duplicates=dups, actor=c)
    assert need_row(engine, b.id).model_dump() == before.model_dump()


def test_unknown_need_not_found(database_url: str, area: dict[str, Any]) -> None:
    with pytest.raises(NotFound):
        run(database_url, svc.accept_need, need_id=12345, actor=area["coordinator"])


def _hall(engine: sa.Engine) -> int:
    with Session(engine) as s:
        hall = Resource(name="会议室", kind="venue", quantity=30, latitude=27.05, longitude=114.92)
        s.add(hall)
        s.commit()
        assert hall.id is not None
        return hall.id


def test_allocate_resources_records_event_and_keeps_status(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    hall = _hall(engine)
    need = report(database_url, area["resident"])
    done = run(
        database_url,
        svc.allocate_resources,
        need_id=need.id,
        actor=area["coordinator"],
        allocations=[(hall, 12)],
        now=T0,
    )
    assert done.status is NeedStatus.REPORTED and done.version == need.version + 1
    last = need_events(engine, need.id)[-1]
    assert last.action.value == "allocate" and last.from_status == last.to_status
    assert last.data == {"resources": [{"resource_id": hall, "quantity": 12}]}
    assert_need_log_consistent(engine, need.id)


def test_refuse_bad_resource_allocations(
    database_url: str, engine: sa.Engine, area: dict[str, Any]
) -> None:
    hall = _hall(engine)
    need = report(database_url, area["resident"])
    refusals = [
        (area["coordinator"], [], Invalid),
        (area["coordinator"], [(hall, 0)], Invalid),
        (area["coordinator"], [(999_999, 1)], NotFound),
        (area["outsider"], [(hall, 1)], Forbidden),
        (area["volunteer_actor"], [(hall, 1)], Forbidden),
    ]
    for who, allocations, error in refusals:
        with pytest.raises(error):
            run(
                database_url,
                svc.allocate_resources,
                need_id=need.id,
                actor=who,
                allocations=allocations,
            )
    assert need_row(engine, need.id).version == need.version
    with Session(engine) as s:
        assert (
            s.exec(select(NeedAssignment).where(col(NeedAssignment.need_id) == need.id)).all() == []
        )
