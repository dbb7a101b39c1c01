"""What the passing of time does to the county's state, one tick at a time.

- Activities whose start has come are under way (ONGOING); those whose end has passed are
  FINISHED, and their sign-ups that never checked in become no-shows.
- Scheduled needs that are overdue (schema/sla.py: window passed unbooked, or booked slot missed)
  are flagged once (`overdue_flagged_at`), so the coordinator's board can tell what is new.
- Matching jobs queued or running well past their time limit are failed.

Every step is idempotent (its WHERE names the state it leaves), so a tick run twice changes
nothing more. On PostgreSQL a tick first takes a transaction-scoped advisory lock and skips if
another API process holds it: one runner at a time however many processes serve. SQLite has one
writer at a time anyway; run one process on it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from schema.activities import Activity, SignUp
from schema.base import utcnow
from schema.enums import ActivityStatus, NeedKind, SignUpStatus
from schema.needs import Need
from schema.services.matching.jobs import fail_stale_jobs
from schema.sla import need_overdue_clause

# pg_try_advisory_xact_lock key: "luling clock" (any constant the app uses for nothing else).
ADVISORY_LOCK_KEY = 0x4C756C696E67


@dataclass
class Tick:
    """What one tick did (ids), or that another process had the lock."""

    ran: bool = True
    started: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    no_shows: int = 0
    flagged: list[int] = field(default_factory=list)
    failed_jobs: list[int] = field(default_factory=list)


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
        return out
