"""A database loaded with the reference county, once for the tests in tests/seed.

SQLite (a temporary file) by default; when DATABASE_URL points at PostgreSQL, a brand-new database
`luling_seedtest_<pid>_<n>` on that server, created with AUTOCOMMIT and dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from schema.db import is_sqlite, make_engine
from schema.migrate import upgrade
from schema.models import metadata
from seed.figures import REFERENCE_NOW
from seed.load import DatabaseNotEmptyError, first_table_with_rows, load_reference

_serial = itertools.count(1)


@contextmanager
def fresh_seed_database(tmp_dir: Path) -> Iterator[str]:
    """The URL of a new, empty database; dropped (PostgreSQL) or left in tmp (SQLite) after."""
    base = os.environ.get("DATABASE_URL", "")
    if not base or is_sqlite(base):
        yield f"sqlite:///{tmp_dir / f'seed_{next(_serial)}.db'}"
        return
    name = f"luling_seedtest_{os.getpid()}_{next(_serial)}"
    url = make_url(base)
    admin = make_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class SeededDatabase:
    url: str
    engine: sa.Engine
    counts: dict[str, int]
    progress: list[tuple[str, int, int]]
    rows_before: str | None  # first table with rows right after the migration (None: empty)
    refused: DatabaseNotEmptyError | None  # what loading over stale data without reset raised


STALE_COMMUNITY = "旧数据社区"


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededDatabase]:
    """A fresh database, migrated, with the reference county loaded once for tests/seed (the
    tests only read it).

    Before loading, a stale row is planted: loading without reset must refuse it, and the
    reset load must replace it, so one load covers both.
    """
    with fresh_seed_database(tmp_path_factory.mktemp("seed")) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                rows_before = first_table_with_rows(conn)
            with engine.begin() as conn:
                conn.execute(
                    metadata.tables["community"].insert(),
                    {
                        "id": 900_001,
                        "name": STALE_COMMUNITY,
                        "kind": "village",
                        "township": "敦厚镇",
                        "latitude": 27.0,
                        "longitude": 114.9,
                        "population": 1,
                        "mode": "normal",
                        "created_at": REFERENCE_NOW,
                    },
                )
            refused = None
            try:
                load_reference(engine, reset=False)
            except DatabaseNotEmptyError as exc:
                refused = exc
            calls: list[tuple[str, int, int]] = []
            counts = load_reference(
                engine, reset=True, progress=lambda *a: calls.append((a[0], a[1], a[2]))
            )
            yield SeededDatabase(url, engine, counts, calls, rows_before, refused)
        finally:
            engine.dispose()
