"""Alembic environment: Luling's metadata, the URL from the config `schema.migrate` builds."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import schema.models  # noqa: F401  (registers every table)
from schema.db import make_engine
from schema.migrate import include_name
from schema.models import metadata

config = context.config
MIGRATION_LOCK_KEY = 0x4C756C6D6967  # "Lulmig": any constant the app uses for nothing else


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        if connection.dialect.name == "postgresql":
            # API processes and workers may start together: one migrates, the others wait for
            # it and then find nothing to do (held until this connection closes).
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            connection.commit()
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
