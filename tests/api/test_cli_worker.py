"""`luling worker` refuses what it cannot serve: a SQLite database (the queue is PostgreSQL's)
and a database that is not migrated (the queue's tables come with migration 0014)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from schema.db import make_engine
from schema.migrate import downgrade, upgrade
from tests.dbutil import fresh_database

runner = CliRunner()


@pytest.fixture
def settings_from_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_worker_refuses_sqlite(settings_from_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings_from_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 1 and "needs PostgreSQL" in result.output


def test_worker_refuses_unmigrated_database(
    settings_from_env: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the job queue is PostgreSQL's")
    with fresh_database(tmp_path, "worker") as url:
        upgrade(url, "0009")  # before the queue's tables
        settings_from_env.setenv("DATABASE_URL", url)
        result = runner.invoke(app, ["worker"])
        assert result.exit_code == 1 and "not migrated" in result.output


def test_queue_tables_come_and_go_with_migration_0014(tmp_path: Path, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the job queue is PostgreSQL's; on SQLite migration 0014 does nothing")
    query = sa.text(
        "SELECT (SELECT count(*) FROM pg_tables WHERE tablename LIKE 'procrastinate%'), "
        "(SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%'), "
        "(SELECT count(*) FROM pg_type "
        " WHERE typname LIKE 'procrastinate%' AND typtype IN ('e', 'c'))"
    )
    with fresh_database(tmp_path, "q") as url:
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            tables, functions, types = conn.execute(query).one()
        assert tables >= 4 and functions >= 10 and types >= 2
        downgrade(url, "0009")
        with engine.connect() as conn:
            assert tuple(conn.execute(query).one()) == (0, 0, 0)
        engine.dispose()
