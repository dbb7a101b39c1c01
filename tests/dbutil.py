"""Test databases: a fresh one per test session (SQLite file or PostgreSQL database), emptied
between tests. DATABASE_URL chooses the server; SQLite is the default."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from schema.db import is_sqlite, make_engine
from schema.models import metadata


@contextmanager
def fresh_database(tmp_dir: Path, label: str = "t") -> Iterator[str]:
    """Yields the URL of a brand-new empty database and drops it afterwards."""
    base = os.environ.get("DATABASE_URL", "")
    if not base or is_sqlite(base):
        path = tmp_dir / f"luling_{label}_{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        return
    name = f"luling_{label}_{uuid.uuid4().hex[:10]}"
    url = make_url(base)
    admin = make_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_all_tables(engine: sa.Engine) -> None:
    tables = list(metadata.sorted_tables)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Most tests fill a few tables: empty only those, then restart every sequence (a
            # rolled-back insert advances it even when its table stays empty).
            probe = " UNION ALL ".join(
                f"SELECT '{t.name}' WHERE EXISTS (SELECT 1 FROM \"{t.name}\")" for t in tables
            )
            filled = {row[0] for row in conn.execute(sa.text(probe))}
            # DELETE, children first: a test leaves a few rows a table, and deleting them costs
            # far less than TRUNCATE's new files (~30 ms a table).
            for table in reversed(tables):
                if table.name in filled:
                    conn.execute(table.delete())
            conn.execute(
                sa.text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c "
                    "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
                )
            )
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
            conn.execute(sa.text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence(
                conn
            ) else None


def _has_sqlite_sequence(conn: sa.Connection) -> bool:
    return bool(
        conn.execute(
            sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
        ).scalar()
    )
