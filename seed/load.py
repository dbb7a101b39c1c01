"""Bulk-loads the reference county (or an N-times larger synthetic county) into a database.

Tables go in foreign-key order, in chunks, all in one transaction: either the whole county is
there afterwards or nothing changed. Primary keys come from the generator, so rows reference each
other without round-trips; on PostgreSQL each table's sequence is then moved past the largest id
so that later inserts get fresh ids.

SQLite gets SQLAlchemy Core `executemany` inserts. PostgreSQL gets `COPY ... FROM STDIN` through
psycopg on the same connection and transaction (psycopg's executemany sends one statement per row,
about 7x slower); each value still goes through the column type's own bind processor, so what is
stored is exactly what a Core insert would store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schema.models import metadata
from seed.figures import REFERENCE_NOW, REFERENCE_SEED
from seed.reference import gc_paused, iter_reference

# progress(table, rows_done, rows_total): called after every chunk, per table. For scale > 1 the
# totals are estimated from the first county copy (copies differ by a few rows), so `done` may end
# slightly above or below `total`; the last call of a table always reports its final count.
ProgressCallback = Callable[[str, int, int], None]

CHUNK_ROWS = 5_000


class DatabaseNotEmptyError(ValueError):
    """The database already holds data and the caller did not ask to reset it."""


def first_table_with_rows(conn: Connection) -> str | None:
    """None when every Luling table is empty; otherwise the name of the first table with rows."""
    for table in metadata.sorted_tables:
        if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            return table.name
    return None


def reset_database(conn: Connection) -> None:
    """Delete every row of every Luling table (the Alembic version table is left alone)."""
    tables = metadata.sorted_tables
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.quote(t.name) for t in tables)
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            conn.execute(table.delete())


def reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each `id` sequence past the largest id, so new rows don't collide."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    for table in metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        name = quote(table.name)
        conn.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                f"COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)"
            ),
            {"t": name},
        )


def insert_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """SQLAlchemy Core executemany."""
    conn.execute(table.insert(), rows)


def copy_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY FROM STDIN, values prepared by each column type's bind processor."""
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    columns = list(table.columns)
    procs = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    plan = list(zip([c.name for c in columns], procs, strict=True))
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) FROM STDIN"
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[name] if p is None else p(row[name]) for name, p in plan])


def load_reference(
    engine: Engine,
    *,
    reset: bool,
    scale: int = 1,
    counties: int = 1,
    progress: ProgressCallback | None = None,
    seed: int = REFERENCE_SEED,
    now: datetime = REFERENCE_NOW,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, int]:
    """Load the reference county (scale 1) or N county copies; returns rows inserted per table.

    `counties` N: a province of N counties side by side, each `scale` copies big (its own areas,
    people, units, resources and backlog; `iter_reference`).

    `reset=True` empties every table first; otherwise a database that already holds data is
    refused with DatabaseNotEmptyError (a ValueError) and nothing is changed.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    copies = scale * counties
    tables = metadata.sorted_tables
    counts = {t.name: 0 for t in tables}
    with gc_paused(), engine.begin() as conn:
        if reset:
            reset_database(conn)
        else:
            busy = first_table_with_rows(conn)
            if busy is not None:
                raise DatabaseNotEmptyError(
                    f"the database already holds data (table '{busy}' has rows); "
                    "reset it to load the reference county again (luling seed --reset)"
                )
        use_copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
        insert = copy_rows if use_copy else insert_rows
        totals: dict[str, int] = {}
        parts = iter_reference(seed=seed, scale=scale, now=now, counties=counties)
        for copy, part in enumerate(parts):
            if copy == 0:
                totals = {name: len(rows) * copies for name, rows in part.items()}
            last_copy = copy == copies - 1
            for table in tables:
                rows = part[table.name]
                for start in range(0, len(rows), chunk_rows):
                    chunk = rows[start : start + chunk_rows]
                    insert(conn, table, chunk)
                    counts[table.name] += len(chunk)
                    if progress is not None:
                        done = counts[table.name]
                        total = max(totals.get(table.name, 0), done)
                        finished = last_copy and start + chunk_rows >= len(rows)
                        progress(table.name, done, done if finished else total)
            del part
        reset_sequences(conn)
    return counts
