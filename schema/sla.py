"""Every deadline of the county's work: the "1341" promises, booked visits, enterprise requests.

Two kinds of need run on one set of rules here (and nowhere else):
- a *response* need (a problem reported by 吹哨, 12345, a sentinel post or a patrol) runs on the
  1341 clock from dispatch: staff on site within 10 minutes; an ordinary need solved within 30
  minutes, a complex one within 4 hours, a special or major one given a plan within 1 day;
- a *scheduled* service (a visit, an escort, a class) has a service window and is booked for a
  slot inside it: on site by the slot's start, done by its end. Not yet booked, it is overdue once
  its window has passed; booked, once the slot has.
Dispatch, commit, the matcher's reach rule (through the loader), filters and the dashboard all
ask this module. "Overdue" is written twice, side by side: a pure function for a row in hand and
the SQL condition that filters and counts (a test keeps each pair in agreement on a real
database). Local time is Asia/Shanghai (`LOCAL_ZONE`): availability windows are local.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from schema.base import LOCAL_ZONE
from schema.enterprise import EnterpriseRequest
from schema.enums import (
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    NeedCategory,
    NeedKind,
    NeedSource,
    NeedStatus,
    NeedTier,
)
from schema.needs import Need
from schema.workflow import OPEN_ENTERPRISE_STATUSES, OPEN_NEED_STATUSES

ARRIVE_WITHIN = timedelta(minutes=10)
ARRIVE_WITHIN_MINUTES = ARRIVE_WITHIN.total_seconds() / 60
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


# A hazard or an emergency is never booked for later, and a patrol or team reports what it
# finds on the spot: these are response needs even when the report names a window.
RESPONSE_CATEGORIES = frozenset({NeedCategory.SAFETY, NeedCategory.EMERGENCY})
RESPONSE_SOURCES = frozenset({NeedSource.GRID_PATROL, NeedSource.TEAM_REPORT})


@dataclass(frozen=True)
class Deadlines:
    arrive_by: datetime
    resolve_by: datetime


@dataclass(frozen=True)
class Slot:
    """A booked visit (UTC): on site at `start`, done by `end`."""

    start: datetime
    end: datetime


def default_need_kind(source: NeedSource, category: NeedCategory, *, has_window: bool) -> NeedKind:
    """A report with a service window books a visit, unless its source or category says the
    problem is to be met at once; without a window there is nothing to book."""
    if not has_window or category in RESPONSE_CATEGORIES or source in RESPONSE_SOURCES:
        return NeedKind.RESPONSE
    return NeedKind.SCHEDULED


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return t.astimezone(UTC)


def need_deadlines(tier: NeedTier, dispatched_at: datetime) -> Deadlines:
    """A response need's 1341 deadlines, from its dispatch."""
    dispatched_at = _aware(dispatched_at)
    return Deadlines(dispatched_at + ARRIVE_WITHIN, dispatched_at + RESOLVE_WITHIN[tier])


def slot_deadlines(slot: Slot) -> Deadlines:
    """A scheduled need's deadlines: on site by the slot's start, done by its end."""
    return Deadlines(slot.start, slot.end)


def bookable(
    kind: NeedKind, window_end: datetime | None, duration_minutes: int, now: datetime
) -> bool:
    """A scheduled need with room left in its window for a visit that starts after now."""
    return (
        kind is NeedKind.SCHEDULED
        and window_end is not None
        and _aware(window_end) - timedelta(minutes=duration_minutes) >= _aware(now)
    )


def booking_slot(
    *,
    window_start: datetime | None,
    window_end: datetime | None,
    duration_minutes: int,
    earliest: datetime,
    availability: Iterable[tuple[int, int, int]] = (),
) -> Slot:
    """The first slot of `duration_minutes` that starts at or after `earliest` and inside the
    need's window, and lies inside one of the person's weekly windows (weekday 0=Monday, local
    start and end minute; none: always free). Where no window of the person fits, the first
    slot of the need's window; where the need's window has no room left, a visit at `earliest`.
    """
    duration = timedelta(minutes=duration_minutes)
    lo = max(_aware(earliest), _aware(window_start) if window_start is not None else earliest)
    hi = _aware(window_end) if window_end is not None else None
    default = Slot(lo, lo + duration)
    windows = list(availability)
    if not windows or hi is None or lo + duration > hi:
        return default
    day = lo.astimezone(LOCAL_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    while day <= hi:
        for weekday, start_min, end_min in sorted(windows, key=lambda w: w[1]):
            if weekday != day.weekday():
                continue
            w_lo = (day + timedelta(minutes=start_min)).astimezone(UTC)
            w_hi = (day + timedelta(minutes=end_min)).astimezone(UTC)
            start = max(lo, w_lo)
            if start + duration <= min(w_hi, hi):
                return Slot(start, start + duration)
        day += timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    return default


def arrival_after(now: datetime, travel_minutes: float) -> datetime:
    """The earliest a person leaving now can be on site, on the whole minute after."""
    at = _aware(now) + timedelta(minutes=travel_minutes)
    return datetime.fromtimestamp(math.ceil(at.timestamp() / 60) * 60, UTC)


def local(t: datetime) -> datetime:
    """A time as the county reads it (Asia/Shanghai)."""
    return _aware(t).astimezone(LOCAL_ZONE)


WEEKS_AHEAD = 8  # how far ahead a person's weekly windows are laid out as concrete times


def weekly_windows(
    windows: Iterable[tuple[int, int, int]], now: datetime, weeks: int = WEEKS_AHEAD
) -> list[tuple[datetime, datetime]]:
    """A person's weekly availability (weekday 0 = Monday, start and end minute, county local
    time) laid out as concrete UTC intervals from this week on, for `weeks` weeks; intervals
    that have already ended are left out. Across a change of offset the wall-clock times hold."""
    today = local(now).date()
    monday = today - timedelta(days=today.weekday())
    out: list[tuple[datetime, datetime]] = []
    for week in range(weeks + 1):
        for weekday, start_minute, end_minute in windows:
            day = monday + timedelta(days=7 * week + weekday)
            midnight = datetime(day.year, day.month, day.day, tzinfo=LOCAL_ZONE)
            start = (midnight + timedelta(minutes=start_minute)).astimezone(UTC)
            end = (midnight + timedelta(minutes=end_minute)).astimezone(UTC)
            if end > now:
                out.append((start, end))
    return sorted(out)


def promise_words(slot: Slot | None) -> str:
    """What dispatch will promise, in the words explanations use."""
    if slot is None:
        return f"on site within {ARRIVE_WITHIN.seconds // 60} min of dispatch (1341)"
    start, end = local(slot.start), local(slot.end)
    return f"booked {start:%m-%d %H:%M}–{end:%H:%M}: on site by its start, done by its end"


def promise_data(slot: Slot | None) -> tuple[tuple[str, object], ...]:
    if slot is None:
        return (("arrive_within_minutes", ARRIVE_WITHIN.seconds // 60),)
    return (
        ("slot_start", local(slot.start).isoformat()),
        ("slot_end", local(slot.end).isoformat()),
    )


def dispatch_deadlines(
    *,
    kind: NeedKind,
    tier: NeedTier,
    window_start: datetime | None,
    window_end: datetime | None,
    duration_minutes: int,
    now: datetime,
    slot: Slot | None = None,
) -> tuple[Deadlines, Slot | None]:
    """What a dispatch at `now` promises, and the slot it books (None for the 1341 clock).

    A scheduled need is booked for `slot` (the matcher's, or the coordinator's) or else the first
    slot in its window reachable from now; once its window has no room left it is served like a
    response need, on the 1341 clock from this dispatch.
    """
    now = _aware(now)
    if slot is None and bookable(kind, window_end, duration_minutes, now):
        slot = booking_slot(
            window_start=window_start,
            window_end=window_end,
            duration_minutes=duration_minutes,
            earliest=now + ARRIVE_WITHIN,
        )
    if kind is NeedKind.SCHEDULED and slot is not None:
        return slot_deadlines(slot), slot
    return need_deadlines(tier, now), None


def escalated_resolve_by(
    *, kind: NeedKind, tier: NeedTier, dispatched_at: datetime, resolve_by: datetime | None
) -> datetime | None:
    """An escalated need's resolution deadline: a scheduled need keeps what its dispatch set (the
    booked slot); the 1341 clock gives the new tier's time from the original dispatch."""
    if kind is NeedKind.SCHEDULED and resolve_by is not None:
        return resolve_by
    return need_deadlines(tier, dispatched_at).resolve_by


def reach_limit_minutes(
    *,
    kind: NeedKind,
    window_end: datetime | None,
    duration_minutes: int,
    now: datetime,
    tier_default: float,
) -> float:
    """How far (in minutes of travel from now) the matcher may look for someone, so that whoever
    it proposes can keep the deadline dispatch will set: the 10 minutes of the 1341 clock for a
    response need (or a scheduled one whose window has no room left); for a visit still to be
    booked, the tier's usual reach, but never beyond the window's last possible start."""
    if not bookable(kind, window_end, duration_minutes, now):
        return ARRIVE_WITHIN_MINUTES
    assert window_end is not None
    last_start = _aware(window_end) - timedelta(minutes=duration_minutes)
    # Whole minutes, so that whoever is within reach is on site (arrival_after) by the last start.
    return min(tier_default, math.floor((last_start - _aware(now)).total_seconds() / 60))


def enterprise_deadline(kind: EnterpriseRequestKind, submitted_at: datetime) -> datetime:
    return submitted_at + ENTERPRISE_RESOLVE_WITHIN[kind]


def need_overdue(
    *,
    status: NeedStatus,
    arrive_by: datetime | None,
    resolve_by: datetime | None,
    arrived_at: datetime | None,
    now: datetime,
    kind: NeedKind = NeedKind.RESPONSE,
    window_end: datetime | None = None,
) -> bool:
    """An open need is overdue once it misses the arrival or the resolution promise; a scheduled
    need never booked, once its window has passed."""
    if status not in OPEN_NEED_STATUSES:
        return False
    if resolve_by is not None and now > resolve_by:
        return True
    if arrived_at is None and arrive_by is not None and now > arrive_by:
        return True
    return (
        kind is NeedKind.SCHEDULED
        and arrive_by is None
        and window_end is not None
        and now > window_end
    )


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
            sa.and_(
                col(Need.kind) == NeedKind.SCHEDULED,
                col(Need.arrive_by).is_(None),
                col(Need.window_end).is_not(None),
                col(Need.window_end) < now,
            ),
        ),
    )


# The columns `need_overdue` reads, for callers that select only what they use.
NEED_OVERDUE_COLUMNS = ("status", "arrive_by", "resolve_by", "arrived_at", "kind", "window_end")


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
