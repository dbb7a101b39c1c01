"""What the passing of time does to the county's state, one tick at a time.

- Activities whose start has come are under way (ONGOING); those whose end has passed are
  FINISHED, and their sign-ups that never checked in become no-shows.
- Scheduled needs that are overdue (schema/sla.py: window passed unbooked, or booked slot missed)
  are flagged once (`overdue_flagged_at`), so the coordinator's board can tell what is new.
- Matching jobs queued or running well past their time limit are failed.
- People booked for a visit are reminded before its slot (`SLOT_REMINDER_LEAD`), and the
  coordinator handling a response need is warned before its 1341 deadline passes
  (`DEADLINE_WARNING_LEAD`, by tier): notifications into the outbox (schema/services/notify.py),
  whose keys make each reminder and warning once however often the tick runs.

Every step is idempotent (its WHERE names the state it leaves), so a tick run twice changes
nothing more. On PostgreSQL a tick first takes a transaction-scoped advisory lock and skips if
another API process holds it: one runner at a time however many processes serve. SQLite has one
writer at a time anyway; run one process on it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col

from schema.activities import Activity, SignUp
from schema.base import utcnow
from schema.enums import ActivityStatus, NeedKind, NeedStatus, NeedTier, SignUpStatus
from schema.needs import Need, NeedAssignment
from schema.notifications import Notification, NotificationKind
from schema.services.matching.jobs import fail_stale_jobs
from schema.services.notify import assignees_on, coordinators_on, need_data_on, notify_on
from schema.sla import need_overdue_clause

# pg_try_advisory_xact_lock key: "luling clock" (any constant the app uses for nothing else).
ADVISORY_LOCK_KEY = 0x4C756C696E67

# How long before a booked visit its people are reminded.
SLOT_REMINDER_LEAD = timedelta(hours=2)
# How long before a response need's 1341 deadline its coordinator is warned: a third of the
# time the tier allows, at most four hours.
DEADLINE_WARNING_LEAD: dict[NeedTier, timedelta] = {
    NeedTier.ORDINARY: timedelta(minutes=10),
    NeedTier.COMPLEX: timedelta(hours=1),
    NeedTier.MAJOR: timedelta(hours=4),
}


@dataclass
class Tick:
    """What one tick did (ids), or that another process had the lock."""

    ran: bool = True
    started: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    no_shows: int = 0
    flagged: list[int] = field(default_factory=list)
    failed_jobs: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)  # needs whose people were reminded
    warned: list[int] = field(default_factory=list)  # needs whose coordinator was warned
    notifications: list[Notification] = field(default_factory=list)


def take_lock(conn: sa.Connection) -> bool:
    """This process runs the tick (PostgreSQL: the advisory lock; SQLite: always)."""
    if conn.dialect.name != "postgresql":
        return True
    locked = conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(ADVISORY_LOCK_KEY)))
    return bool(locked.scalar_one())


def move_activities(conn: sa.Connection, now: datetime, tick: Tick) -> None:
    a = Activity.__table__.c  # type: ignore[attr-defined]
    started = conn.execute(
        sa.update(Activity)
        .where(a.status == ActivityStatus.PLANNED, a.starts_at <= now, a.ends_at > now)
        .values(status=ActivityStatus.ONGOING)
        .returning(a.id)
    )
    tick.started = sorted(started.scalars())
    finished = conn.execute(
        sa.update(Activity)
        .where(a.status.in_((ActivityStatus.PLANNED, ActivityStatus.ONGOING)), a.ends_at <= now)
        .values(status=ActivityStatus.FINISHED)
        .returning(a.id)
    )
    tick.finished = sorted(finished.scalars())
    ended = sa.select(a.id).where(a.status == ActivityStatus.FINISHED)
    no_shows = conn.execute(
        sa.update(SignUp)
        .where(col(SignUp.status) == SignUpStatus.SIGNED_UP, col(SignUp.activity_id).in_(ended))
        .values(status=SignUpStatus.NO_SHOW)
    )
    tick.no_shows = no_shows.rowcount or 0


def flag_overdue_needs(conn: sa.Connection, now: datetime, tick: Tick) -> None:
    flagged = conn.execute(
        sa.update(Need)
        .where(
            col(Need.kind) == NeedKind.SCHEDULED,
            col(Need.overdue_flagged_at).is_(None),
            need_overdue_clause(now),
        )
        .values(overdue_flagged_at=now)
        .returning(Need.__table__.c.id)  # type: ignore[attr-defined]
    )
    tick.flagged = sorted(flagged.scalars())


def remind_slots(conn: sa.Connection, now: datetime, tick: Tick) -> None:
    """Everyone sent to a booked visit that starts within the lead hears of it once; not when
    the booking itself came inside the lead (its dispatch notice said as much)."""
    n = Need.__table__.c  # type: ignore[attr-defined]
    soon = conn.execute(
        sa.select(n.id, n.arrive_by, n.dispatched_at).where(
            n.kind == NeedKind.SCHEDULED,
            n.status == NeedStatus.DISPATCHED,
            n.arrive_by > now,
            n.arrive_by <= now + SLOT_REMINDER_LEAD,
        )
    ).all()
    due = [
        (need_id, start)
        for need_id, start, dispatched in soon
        if dispatched is None or dispatched <= start - SLOT_REMINDER_LEAD
    ]
    people = assignees_on(conn, [need_id for need_id, _ in due])
    for need_id, slot_start in due:
        written = notify_on(
            conn,
            NotificationKind.SLOT_REMINDER,
            key=f"need:{need_id}:slot:{slot_start.isoformat()}:reminder",
            data=need_data_on(conn, need_id),
            person_ids=people.get(need_id, []),
            now=now,
        )
        if written:
            tick.reminded.append(need_id)
            tick.notifications += written


def _handling_coordinators(conn: sa.Connection, need_id: int, community_id: int) -> list[int]:
    """Whoever dispatched the need's current assignments; else the area's coordinators."""
    a = NeedAssignment.__table__.c  # type: ignore[attr-defined]
    by = conn.execute(
        sa.select(a.assigned_by_account_id)
        .where(a.need_id == need_id, a.active.is_(True), a.assigned_by_account_id.is_not(None))
        .distinct()
    ).scalars()
    return sorted(b for b in by if b is not None) or coordinators_on(conn, community_id)


def warn_deadlines(conn: sa.Connection, now: datetime, tick: Tick) -> None:
    """A response need still open when its 1341 deadline is near: its coordinator is warned."""
    n = Need.__table__.c  # type: ignore[attr-defined]
    near = sa.or_(
        *(
            sa.and_(n.tier == tier, n.resolve_by <= now + lead)
            for tier, lead in DEADLINE_WARNING_LEAD.items()
        )
    )
    due = conn.execute(
        sa.select(n.id, n.resolve_by, n.community_id).where(
            n.kind == NeedKind.RESPONSE,
            n.status.in_((NeedStatus.DISPATCHED, NeedStatus.ARRIVED)),
            n.resolve_by > now,
            near,
        )
    ).all()
    for need_id, resolve_by, community_id in due:
        written = notify_on(
            conn,
            NotificationKind.DEADLINE_WARNING,
            key=f"need:{need_id}:deadline:{resolve_by.isoformat()}:warning",
            data=need_data_on(conn, need_id),
            account_ids=_handling_coordinators(conn, need_id, community_id),
            now=now,
        )
        if written:
            tick.warned.append(need_id)
            tick.notifications += written


def tick(
    engine: sa.Engine,
    *,
    now: datetime | None = None,
    running_here: Collection[int] = (),
    sweep_jobs: Callable[[sa.Connection, datetime], list[int]] | None = None,
) -> Tick:
    """One tick, in one transaction. Jobs nobody will finish are found by `sweep_jobs` when
    given (a job queue knows which of its workers died), else by their age (`fail_stale_jobs`)."""
    now = now or utcnow()
    with engine.begin() as conn:
        if not take_lock(conn):
            return Tick(ran=False)
        out = Tick()
        move_activities(conn, now, out)
        flag_overdue_needs(conn, now, out)
        if sweep_jobs is not None:
            out.failed_jobs = sweep_jobs(conn, now)
        else:
            out.failed_jobs = fail_stale_jobs(conn, running_here=running_here, now=now)
        remind_slots(conn, now, out)
        warn_deadlines(conn, now, out)
        return out
