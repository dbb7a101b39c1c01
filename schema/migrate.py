"""Alembic, driven from code: `luling db upgrade` and `luling serve` both come through here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from schema.db import make_engine, normalise_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic compares our models with the database; the job queue's tables (procrastinate_*,
    created by migration 0014 from procrastinate's own SQL) are not among our models."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', which URLs with escaped passwords contain.
    cfg.set_main_option(
        "sqlalchemy.url",
        normalise_url(url).render_as_string(hide_password=False).replace("%", "%%"),
    )
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def is_up_to_date(url: str) -> bool:
    return current_revision(url) == head_revision()


def is_behind(url: str) -> bool:
    """The database is at an older revision of ours (it needs `luling db upgrade`). A revision
    this code does not know is newer: a rolling upgrade migrated ahead of this process, and
    migrations only add (docs/deploy.md), so it still serves."""
    current = current_revision(url)
    if current == head_revision():
        return False
    known = {rev.revision for rev in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    return current is None or current in known
