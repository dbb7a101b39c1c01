"""Overdue in SQL (`schema.sla.*_overdue_clause`) agrees with the pure rules row by row, on a
real database: every status, a deadline long past, just past, just ahead, and none."""

from __future__ import annotations

import itertools
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from schema.base import utcnow
from schema.enums import EnterpriseRequestKind, EnterpriseRequestStatus, NeedKind, NeedStatus
from schema.models import EnterpriseRequest, Need
from schema.sla import (
    enterprise_overdue,
    enterprise_overdue_clause,
    need_overdue,
    need_overdue_clause,
)
from tests import factories as f

OFFSETS = (timedelta(days=-2), timedelta(seconds=-1), timedelta(seconds=1), None)


def test_need_overdue_clause_agrees_with_rule(engine: sa.Engine) -> None:
    now = utcnow()
    home = f.community(engine)
    rows = itertools.product(
        NeedStatus, OFFSETS, OFFSETS, (None, now - timedelta(hours=1)), NeedKind, OFFSETS
    )
    for status, arrive, resolve, arrived_at, kind, window_end in rows:
        f.need(
            engine,
            home.id,
            status=status,
            arrive_by=None if arrive is None else now + arrive,
            resolve_by=None if resolve is None else now + resolve,
            arrived_at=arrived_at,
            kind=kind,
            window_start=None if window_end is None else now - timedelta(days=3),
            window_end=None if window_end is None else now + window_end,
        )
    with Session(engine) as s:
        needs = s.exec(select(Need)).all()
        in_sql = set(s.exec(select(Need.id).where(need_overdue_clause(now))).all())
    by_rule = {
        n.id
        for n in needs
        if need_overdue(
            status=n.status,
            arrive_by=n.arrive_by,
            resolve_by=n.resolve_by,
            arrived_at=n.arrived_at,
            now=now,
            kind=n.kind,
            window_end=n.window_end,
        )
    }
    assert in_sql == by_rule
    assert 0 < len(by_rule) < len(needs)
    # Some are overdue only because a scheduled need's window passed unbooked.
    assert any(n.arrive_by is None and n.resolve_by is None for n in needs if n.id in by_rule)


def test_enterprise_overdue_clause_agrees_with_rule(engine: sa.Engine) -> None:
    now = utcnow()
    firm = f.enterprise(engine)
    with Session(engine) as s:
        for status, offset in itertools.product(EnterpriseRequestStatus, OFFSETS[:3]):
            s.add(
                EnterpriseRequest(
                    enterprise_id=firm.id,
                    kind=EnterpriseRequestKind.POLICY,
                    title="政策咨询",
                    status=status,
                    deadline=now + offset,
                )
            )
        s.commit()
        requests = s.exec(select(EnterpriseRequest)).all()
        in_sql = set(s.exec(select(EnterpriseRequest.id).where(enterprise_overdue_clause(now))))
    by_rule = {
        r.id for r in requests if enterprise_overdue(status=r.status, deadline=r.deadline, now=now)
    }
    assert in_sql == by_rule
    assert 0 < len(by_rule) < len(requests)
