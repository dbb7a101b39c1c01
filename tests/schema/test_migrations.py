"""The Alembic head builds exactly the tables the SQLModel models describe, on this database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from schema.db import make_engine
from schema.migrate import current_revision, downgrade, head_revision, include_name, upgrade
from schema.models import metadata
from tests.dbutil import fresh_database


@pytest.fixture
def empty_url(tmp_path: Path):
    with fresh_database(tmp_path, "mig") as url:
        yield url


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            return compare_metadata(ctx, metadata)
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_models(empty_url: str) -> None:
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision()
    assert _diff(empty_url) == []


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert _diff(empty_url) == []
