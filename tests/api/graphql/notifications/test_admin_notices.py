"""What administration tells people, over HTTP: cancelling an activity tells each person who
held a place (once, in the cancel's transaction: a cancel that fails or rolls back tells
nobody); forming a commando tells each member, urgently (sent at night too); standing it down
tells each member; a second office forming it tells nobody twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from schema import models as m
from schema.base import LOCAL_ZONE, utcnow
from schema.enums import ActivityStatus, Role, SignUpStatus
from schema.notification_texts import local_span
from schema.notifications import DeliveryStatus, NotificationKind
from tests import factories as f
from tests.api.graphql.activities.test_administration import call as admin_call
from tests.api.graphql.mutate import error_codes, gid, mutate, ok, race
from tests.api.graphql.people.test_teams import _flag_commandos
from tests.api.graphql.people.test_teams import call as team_call
from tests.api.notify.test_dispatcher import Clock, dispatcher, run_round, servers
from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("units", "teams")

__all__ = ["servers"]  # the loopback SMTP and SMS servers, a fixture

INBOX = """{ myNotifications(first: 10) { nodes { kind title body urgent } } }"""


def notices(engine: sa.Engine, kind: NotificationKind | None = None) -> list[m.Notification]:
    with Session(engine) as s:
        stmt = select(m.Notification).order_by(col(m.Notification.person_id))
        if kind is not None:
            stmt = stmt.where(m.Notification.kind == kind)
        return list(s.exec(stmt).all())


def inbox(client: TestClient, token: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = gql(client, INBOX, token=token)["data"]["myNotifications"][
        "nodes"
    ]
    return nodes


def _signed_up_activity(
    client: TestClient, engine: sa.Engine, county: County
) -> tuple[m.Activity, list[int]]:
    """An activity at the service station tomorrow: the volunteer and a second person hold a
    place; a third signed up and withdrew."""
    start = utcnow() + timedelta(hours=20)
    act = f.activity(
        engine,
        county.quantang.id,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        venue_id=county.rows["station"].id,
    )
    aid = gid("Activity", act.id)
    second, third = f.person(engine, phone="13700000002"), f.person(engine)
    tokens = [
        county.token("volunteer"),
        f.token_for(f.account(engine, Role.VOLUNTEER, person_id=second.id)),
    ]
    for token in tokens:
        ok(mutate(client, "signUp", {"activityId": aid}, token))
    withdrawn = f.token_for(f.account(engine, Role.VOLUNTEER, person_id=third.id))
    place = ok(mutate(client, "signUp", {"activityId": aid}, withdrawn))["signUp"]
    ok(mutate(client, "cancelSignUp", {"signUpId": place["id"]}, withdrawn))
    return act, sorted([county.volunteer.id, second.id])


def test_cancelling_an_activity_tells_each_person_who_held_a_place(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    act, holders = _signed_up_activity(client, engine, county)
    cancel = {"activityId": gid("Activity", act.id), "reason": "暴雨预警"}
    ok(admin_call(client, "cancelActivity", cancel, county.token("coordinator")))
    told = notices(engine)
    assert [n.person_id for n in told] == holders
    assert {n.key for n in told} == {f"activity:{act.id}:cancelled:p{p}" for p in holders}
    first = told[0]
    assert first.kind is NotificationKind.ACTIVITY_CANCELLED and not first.urgent
    when = local_span(act.starts_at, act.ends_at)
    assert first.title == "【活动取消】义善庐陵·敬老助餐"
    for text in ("义善庐陵·敬老助餐", when, "泉塘社区燕京府小区党群服务站", "暴雨预警"):
        assert text in first.body, (text, first.body)
    assert first.data["activity_id"] == act.id and first.data["reason"] == "暴雨预警"
    # Each goes out by SMS to the phone on record, and shows in the person's inbox.
    with Session(engine) as s:
        sms = s.exec(select(m.NotificationDelivery.address)).all()
    assert sorted(sms) == ["13700000002", "13812345678"]
    (mine,) = inbox(client, county.token("volunteer"))
    assert mine["kind"] == "ACTIVITY_CANCELLED" and "暴雨预警" in mine["body"]


def test_a_cancel_that_fails_or_rolls_back_tells_nobody(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    act, _ = _signed_up_activity(client, engine, county)
    aid = gid("Activity", act.id)
    coordinator = county.token("coordinator")
    stale = {"activityId": aid, "reason": "x", "expectedVersion": 7}
    assert error_codes(admin_call(client, "cancelActivity", stale, coordinator)) == ["CONFLICT"]
    outsider = admin_call(
        client, "cancelActivity", {"activityId": aid, "reason": "x"}, county.token("outsider")
    )
    assert error_codes(outsider) == ["FORBIDDEN"]
    assert notices(engine) == []
    # The outbox refusing the write (a trigger standing in for a failing database) rolls the
    # whole cancel back: the activity stays planned, its places held, nobody told.
    with _outbox_refusing(engine):
        body = gql(
            client,
            "mutation($i: CancelActivityInput!) { cancelActivity(input: $i) { activity { id } } }",
            {"i": {"activityId": aid, "reason": "场地维修"}},
            token=coordinator,
            expect_errors=True,
        )
    assert body.get("errors") and not (body.get("data") or {}).get("cancelActivity")
    with Session(engine) as s:
        row = s.get(m.Activity, act.id)
        assert row is not None and row.status is ActivityStatus.PLANNED and row.version == 1
        held = s.exec(select(m.SignUp.status).where(m.SignUp.activity_id == act.id)).all()
    assert sorted(held).count(SignUpStatus.SIGNED_UP) == 2
    assert notices(engine) == []
    # Once the outbox works again the cancel goes through and tells them.
    ok(admin_call(client, "cancelActivity", {"activityId": aid, "reason": "场地维修"}, coordinator))
    assert len(notices(engine, NotificationKind.ACTIVITY_CANCELLED)) == 2


@contextmanager
def _outbox_refusing(engine: sa.Engine) -> Iterator[None]:
    """While active, inserting an activity-cancelled notification fails (a trigger)."""
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if pg:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_notice() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_notice BEFORE INSERT ON notification FOR EACH ROW "
                "WHEN (NEW.kind = 'activity_cancelled') EXECUTE FUNCTION refuse_notice()"
            )
        else:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_notice BEFORE INSERT ON notification "
                "WHEN NEW.kind = 'activity_cancelled' "
                "BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END"
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_notice" + (" ON notification" if pg else ""))
            if pg:
                conn.exec_driver_sql("DROP FUNCTION refuse_notice()")


def _tonight() -> datetime:
    """23:30 county time, the coming night (quiet hours), as the dispatcher's clock."""
    local = (utcnow() + timedelta(days=1)).astimezone(LOCAL_ZONE)
    return local.replace(hour=23, minute=30, second=0, microsecond=0).astimezone(UTC)


def test_commando_mobilised_urgently_and_stood_down(
    client: TestClient, engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    other = _flag_commandos(engine, county)
    members = sorted([county.volunteer.id, other.id])
    coordinator = county.token("coordinator")
    qt = gid("Community", county.quantang.id)
    ok(mutate(client, "setAreaMode", {"communityId": qt, "mode": "EMERGENCY"}, coordinator))
    team = ok(team_call(client, "formCommando", {"communityId": qt}, coordinator))["team"]
    mobilised = notices(engine, NotificationKind.COMMANDO_MOBILISED)
    assert [n.person_id for n in mobilised] == members
    assert all(n.urgent for n in mobilised)
    name = mobilised[0].data["team"]
    assert name.startswith("“吉先锋”党员突击队·泉塘社区") and mobilised[0].data["team_id"]
    assert mobilised[0].title == f"【紧急集结】{name}"
    assert "紧急" in mobilised[0].body and "泉塘社区" in mobilised[0].body
    assert name in mobilised[0].body
    (mine,) = inbox(client, county.token("volunteer"))
    assert mine["kind"] == "COMMANDO_MOBILISED" and mine["urgent"] is True
    # Forming again returns the same team and tells nobody again.
    again = ok(team_call(client, "formCommando", {"communityId": qt}, coordinator))["team"]
    assert again["id"] == team["id"]
    assert len(notices(engine)) == 2

    ok(mutate(client, "setAreaMode", {"communityId": qt, "mode": "NORMAL"}, coordinator))
    stood_down = notices(engine, NotificationKind.COMMANDO_STOOD_DOWN)
    assert [n.person_id for n in stood_down] == members
    assert not any(n.urgent for n in stood_down)
    assert stood_down[0].title == f"【突击队解散】{name}" and "恢复常态" in stood_down[0].body

    # At night the mobilisation goes out by SMS at once; the stand-down waits for the morning.
    out = run_round(dispatcher(engine, database_url, servers), Clock(_tonight()))
    assert len(out.sent) == 1 and len(out.deferred) == 1  # the other member has no phone
    with Session(engine) as s:
        rows = s.exec(
            select(m.NotificationDelivery.status, m.Notification.kind).join(
                m.Notification, col(m.Notification.id) == m.NotificationDelivery.notification_id
            )
        ).all()
    assert sorted((k.value, st.value) for st, k in rows) == [
        (NotificationKind.COMMANDO_MOBILISED.value, DeliveryStatus.SENT.value),
        (NotificationKind.COMMANDO_STOOD_DOWN.value, DeliveryStatus.PENDING.value),
    ]


def test_two_offices_forming_at_once_tell_each_member_once(
    client: TestClient, engine: sa.Engine, database_url: str, county: County
) -> None:
    _flag_commandos(engine, county)
    qt = gid("Community", county.quantang.id)
    coordinator = county.token("coordinator")
    ok(mutate(client, "setAreaMode", {"communityId": qt, "mode": "EMERGENCY"}, coordinator))
    tokens = [coordinator, county.token("county_coordinator")]
    results = race(
        database_url,
        [lambda c, t=t: team_call(c, "formCommando", {"communityId": qt}, t) for t in tokens],
    )
    assert len({r["team"]["id"] for r in results if not r["userErrors"]}) == 1, results
    told = notices(engine, NotificationKind.COMMANDO_MOBILISED)
    assert len(told) == 2 and len({n.person_id for n in told}) == 2
