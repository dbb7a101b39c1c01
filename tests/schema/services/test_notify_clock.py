"""The clock's notices: a reminder before a booked slot and a warning to the handling
coordinator before a 1341 deadline, each once however often the tick runs, and published to
the recipients' inboxes by the serving process's clock (api/clock.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from api.clock import Clock
from schema.base import utcnow
from schema.enums import NeedKind, NeedStatus, NeedTier
from schema.notifications import NotificationKind
from schema.services import clock
from tests import factories as f
from tests.county import County
from tests.schema.services.test_notify import notifications

pytestmark = pytest.mark.county()


def booked(engine: sa.Engine, county: County, starts_in: timedelta, **kw: Any) -> int:
    now = utcnow()
    need = f.need(
        engine,
        county.quantang.id,
        title="上门理发",
        kind=NeedKind.SCHEDULED,
        status=NeedStatus.DISPATCHED,
        dispatched_at=now - timedelta(days=1),
        window_start=now - timedelta(days=1),
        window_end=now + starts_in + timedelta(hours=3),
        arrive_by=now + starts_in,
        resolve_by=now + starts_in + timedelta(hours=1),
        **kw,
    )
    f.assignment(engine, need.id, person_id=county.volunteer.id)
    assert need.id is not None
    return need.id


def test_people_are_reminded_once_before_their_slot(engine: sa.Engine, county: County) -> None:
    soon = booked(engine, county, timedelta(minutes=90))
    booked(engine, county, timedelta(hours=5))  # not yet
    first = clock.tick(engine)
    assert first.reminded == [soon]
    assert clock.tick(engine).reminded == []  # once
    (notice,) = notifications(engine)
    assert notice.kind is NotificationKind.SLOT_REMINDER
    assert notice.person_id == county.volunteer.id
    assert "上门理发" in notice.body and notice.data["slot"] in notice.body


def test_a_slot_booked_inside_the_lead_gets_no_separate_reminder(
    engine: sa.Engine, county: County
) -> None:
    need = booked(engine, county, timedelta(minutes=30))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE need SET dispatched_at = :t WHERE id = :id"),
            {"t": utcnow().replace(tzinfo=None), "id": need},
        )
    assert clock.tick(engine).reminded == []


def test_the_dispatching_coordinator_is_warned_before_the_deadline(
    engine: sa.Engine, county: County
) -> None:
    now = utcnow()
    coordinator = county.account("coordinator")
    late = f.need(
        engine,
        county.quantang.id,
        title="井盖缺失",
        tier=NeedTier.ORDINARY,
        status=NeedStatus.DISPATCHED,
        dispatched_at=now - timedelta(minutes=25),
        arrive_by=now - timedelta(minutes=15),
        resolve_by=now + timedelta(minutes=5),
    )
    f.assignment(engine, late.id, person_id=county.worker.id, assigned_by_account_id=coordinator.id)
    f.need(  # 20 minutes left of 30: no warning yet
        engine,
        county.quantang.id,
        title="树枝挡路",
        status=NeedStatus.DISPATCHED,
        dispatched_at=now - timedelta(minutes=10),
        resolve_by=now + timedelta(minutes=20),
    )
    out = clock.tick(engine)
    assert out.warned == [late.id]
    assert clock.tick(engine).warned == []
    (notice,) = notifications(engine)
    assert notice.kind is NotificationKind.DEADLINE_WARNING
    assert notice.account_id == coordinator.id and "井盖缺失" in notice.body
    assert "1341" in notice.body


def test_the_serving_clock_publishes_new_notices_to_inboxes(
    engine: sa.Engine, county: County
) -> None:
    booked(engine, county, timedelta(minutes=90))
    sent: list[list[tuple[str, dict[str, Any]]]] = []

    async def publish(messages: list[tuple[str, dict[str, Any]]]) -> None:
        sent.append(messages)

    asyncio.run(Clock(lambda: engine, 60, publish=publish).tick())
    (notice,) = notifications(engine)
    assert sent == [[(f"inbox:person:{county.volunteer.id}", {"notificationId": notice.id})]]
