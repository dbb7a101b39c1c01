"""Helpers for the closed-loop tests: run a service in a transaction, read rows back, and check
that a need's event log replays legally through `schema.workflow`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.database import Database
from schema.accounts import Account, AuditLog
from schema.enums import EnterpriseAction, NeedAction, NeedStatus
from schema.models import EnterpriseRequest, EnterpriseRequestEvent, Need, NeedEvent
from schema.services.common import Actor
from schema.workflow import next_enterprise_status, next_need_status

T = TypeVar("T")


def run(url: str, fn: Callable[..., Awaitable[T]], /, **kwargs: Any) -> T:
    """`fn(session=…, **kwargs)` inside one transaction of a fresh Database, like a request."""

    async def go() -> T:
        db = Database(url)
        try:
            async with db.transaction() as session:
                return await fn(session=session, **kwargs)
        finally:
            await db.dispose()

    return asyncio.run(go())


def actor(account: Account) -> Actor:
    return Actor.of(account)


def audit_rows(engine: sa.Engine) -> list[AuditLog]:
    """The audit log, oldest first."""
    with Session(engine) as s:
        return list(s.exec(select(AuditLog).order_by(col(AuditLog.id))))


def need_row(engine: sa.Engine, need_id: int) -> Need:
    with Session(engine) as s:
        row = s.get(Need, need_id)
        assert row is not None
        s.expunge(row)
        return row


def need_events(engine: sa.Engine, need_id: int) -> list[NeedEvent]:
    with Session(engine) as s:
        rows = s.exec(
            select(NeedEvent).where(col(NeedEvent.need_id) == need_id).order_by(col(NeedEvent.id))
        ).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def request_row(engine: sa.Engine, request_id: int) -> EnterpriseRequest:
    with Session(engine) as s:
        row = s.get(EnterpriseRequest, request_id)
        assert row is not None
        s.expunge(row)
        return row


def request_events(engine: sa.Engine, request_id: int) -> list[EnterpriseRequestEvent]:
    with Session(engine) as s:
        rows = s.exec(
            select(EnterpriseRequestEvent)
            .where(col(EnterpriseRequestEvent.request_id) == request_id)
            .order_by(col(EnterpriseRequestEvent.id))
        ).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def assert_need_log_consistent(engine: sa.Engine, need_id: int) -> list[NeedEvent]:
    """The log starts with the report, each event follows legally from the one before, the
    last one is the need's status, and the version counts the changes (one per event)."""
    need, events = need_row(engine, need_id), need_events(engine, need_id)
    assert events and events[0].action is NeedAction.REPORT
    assert events[0].from_status is None and events[0].to_status is NeedStatus.REPORTED
    status = NeedStatus.REPORTED
    for e in events[1:]:
        assert e.from_status is status, (need_id, [(x.action, x.to_status) for x in events])
        assert next_need_status(status, e.action) is e.to_status
        status = e.to_status
    assert need.status is status
    assert need.version == len(events), (need.version, len(events))
    return events


def assert_request_log_consistent(engine: sa.Engine, request_id: int) -> None:
    row, events = request_row(engine, request_id), request_events(engine, request_id)
    assert events and events[0].action is EnterpriseAction.SUBMIT
    status = events[0].to_status
    for e in events[1:]:
        assert e.from_status is status
        legal = next_enterprise_status(status, e.action)
        assert e.to_status in (legal, status)  # a coordinator's note keeps the status
        status = e.to_status
    assert row.status is status
    assert row.version == len(events)
