"""The "1341" response promises and the business weather station's deadlines.

Measured from dispatch: staff on site within 10 minutes; an ordinary need solved within 30
minutes, a complex one within 4 hours, a special or major one given a solution plan within 1 day.
"Overdue" is written twice, side by side: a pure function for a row in hand and the SQL condition
that filters and counts (a test keeps each pair in agreement on a real database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from schema.enterprise import EnterpriseRequest
from schema.enums import EnterpriseRequestKind, EnterpriseRequestStatus, NeedStatus, NeedTier
from schema.needs import Need
from schema.workflow import OPEN_ENTERPRISE_STATUSES, OPEN_NEED_STATUSES

ARRIVE_WITHIN = timedelta(minutes=10)
RESOLVE_WITHIN: dict[NeedTier, timedelta] = {
    NeedTier.ORDINARY: timedelta(minutes=30),
    NeedTier.COMPLEX: timedelta(hours=4),
    NeedTier.MAJOR: timedelta(days=1),
}

# Working time a helper (小赣事) has to resolve an enterprise request, by kind.
ENTERPRISE_RESOLVE_WITHIN: dict[EnterpriseRequestKind, timedelta] = {
    EnterpriseRequestKind.POLICY: timedelta(days=1),
    EnterpriseRequestKind.UTILITIES: timedelta(days=2),
    EnterpriseRequestKind.LABOUR: timedelta(days=3),
    EnterpriseRequestKind.LEGAL: timedelta(days=3),
    EnterpriseRequestKind.APPROVAL: timedelta(days=5),
    EnterpriseRequestKind.FINANCING: timedelta(days=7),
    EnterpriseRequestKind.LAND: timedelta(days=10),
    EnterpriseRequestKind.OTHER: timedelta(days=3),
}

# Reports of the same category this close in space and time are flagged as likely duplicates.
DUPLICATE_RADIUS_M = 200.0
DUPLICATE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Deadlines:
    arrive_by: datetime
    resolve_by: datetime


def need_deadlines(tier: NeedTier, dispatched_at: datetime) -> Deadlines:
    if dispatched_at.tzinfo is None:
        raise ValueError("dispatched_at must be timezone-aware")
    return Deadlines(dispatched_at + ARRIVE_WITHIN, dispatched_at + RESOLVE_WITHIN[tier])


def enterprise_deadline(kind: EnterpriseRequestKind, submitted_at: datetime) -> datetime:
    return submitted_at + ENTERPRISE_RESOLVE_WITHIN[kind]


def need_overdue(
    *,
    status: NeedStatus,
    arrive_by: datetime | None,
    resolve_by: datetime | None,
    arrived_at: datetime | None,
    now: datetime,
) -> bool:
    """An open need is overdue once it misses the arrival or the resolution promise."""
    if status not in OPEN_NEED_STATUSES:
        return False
    if resolve_by is not None and now > resolve_by:
        return True
    return arrived_at is None and arrive_by is not None and now > arrive_by


def need_overdue_clause(now: datetime) -> sa.ColumnElement[bool]:
    """`need_overdue` in SQL, over the `need` table."""
    return sa.and_(
        col(Need.status).in_(OPEN_NEED_STATUSES),
        sa.or_(
            sa.and_(col(Need.resolve_by).is_not(None), col(Need.resolve_by) < now),
            sa.and_(
                col(Need.arrived_at).is_(None),
                col(Need.arrive_by).is_not(None),
                col(Need.arrive_by) < now,
            ),
        ),
    )


def enterprise_overdue(
    *, status: EnterpriseRequestStatus, deadline: datetime, now: datetime
) -> bool:
    """An open enterprise request is overdue once its deadline has passed."""
    return status in OPEN_ENTERPRISE_STATUSES and now > deadline


def enterprise_overdue_clause(now: datetime) -> sa.ColumnElement[bool]:
    """`enterprise_overdue` in SQL, over the `enterprise_request` table."""
    return sa.and_(
        col(EnterpriseRequest.status).in_(OPEN_ENTERPRISE_STATUSES),
        col(EnterpriseRequest.deadline) < now,
    )


def met(deadline: datetime | None, done_at: datetime | None) -> bool | None:
    """Whether a promise was kept: None while there is no deadline or nothing done yet."""
    if deadline is None or done_at is None:
        return None
    return done_at <= deadline


SATISFIED_AT_LEAST = 4  # ratings of 4 and 5 (满意, 非常满意) count as satisfied


def is_satisfied(rating: int) -> bool:
    return rating >= SATISFIED_AT_LEAST
