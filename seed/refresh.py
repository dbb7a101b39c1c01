"""`luling seed --refresh`: move an existing demo county forward in time, keeping everything
users did in it.

Every stored time of every table moves by the same whole number of weeks, chosen so that the
latest thing that happened (an event of a need or an enterprise request, a sign-up, a matching
job, an audited request) lands at most a week before now, never after it. One shift for every
time keeps the order of everything: a need a user dispatched still comes after its report, and
the booked visits and planned activities that lay ahead of the seed lie ahead again. Whole
weeks keep each time's weekday and local hour, to which people's weekly windows are tied.
(A time-dependent shift could refresh further, but would have to tell the seed's future from
users' past, which both lie after the anchor; it cannot.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schema.base import UTCDateTime
from schema.models import metadata

WEEK = timedelta(days=7)
# Columns that say when something happened (not when it is due).
HAPPENED = (
    ("need_event", "at"),
    ("enterprise_request_event", "at"),
    ("sign_up", "signed_up_at"),
    ("matching_job", "created_at"),
    ("audit_log", "at"),
)


def last_happened(conn: Connection) -> datetime | None:
    latest = [
        conn.execute(sa.select(sa.func.max(metadata.tables[t].c[c]))).scalar()
        for t, c in HAPPENED
        if t in metadata.tables and c in metadata.tables[t].c
    ]
    found = [t for t in latest if t is not None]
    return max(found) if found else None


def refresh_shift(last: datetime, now: datetime) -> timedelta:
    """The whole weeks to move by: the most that keeps `last` at or before `now`."""
    return WEEK * max(0, (now - last) // WEEK)


def _shifted(conn: Connection, column: sa.Column[datetime], seconds: int) -> sa.ColumnElement:
    if conn.dialect.name == "postgresql":
        return column + sa.text(f"interval '{seconds} seconds'")
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff': move the whole seconds, keep the fraction.
    whole = sa.func.strftime("%Y-%m-%d %H:%M:%S", column, f"{seconds:+d} seconds")
    return whole.concat(sa.func.substr(column, 20))


def shift_times(conn: Connection, by: timedelta) -> int:
    """Move every UTC time column of every table by `by`; the number of columns moved."""
    seconds = int(by.total_seconds())
    moved = 0
    for table in metadata.sorted_tables:
        columns = [c for c in table.c if isinstance(c.type, UTCDateTime)]
        if not columns or not seconds:
            continue
        values = {c.name: _shifted(conn, c, seconds) for c in columns}
        conn.execute(table.update().values(values))
        moved += len(columns)
    return moved


def refresh(engine: Engine, now: datetime) -> timedelta:
    """Re-anchor the county at `now` (see the module doc); the shift applied (zero: nothing to
    do, the county is less than a week old or empty)."""
    with engine.begin() as conn:
        last = last_happened(conn)
        if last is None:
            return timedelta(0)
        by = refresh_shift(last, now)
        shift_times(conn, by)
        return by
