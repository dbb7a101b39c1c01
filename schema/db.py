"""Engines and sessions from a DATABASE_URL written the ordinary way.

`sqlite:///luling.db` and `postgresql://user@host:5432/name` are what users write; the driver
(pysqlite/aiosqlite, psycopg 3) is chosen here so nobody has to know dialect+driver spellings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import Session, SQLModel

DEFAULT_DATABASE_URL = "sqlite:///luling.db"


def table_of(model: type[SQLModel]) -> sa.Table:
    """The table of a `table=True` model: its `__table__`, which SQLModel's types do not declare."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table), model
    return table


def normalise_url(url: str | URL, *, is_async: bool = False) -> URL:
    """Pick the driver for a plain URL; refuse schemes Luling does not support."""
    u = make_url(url) if isinstance(url, str) else url
    backend = u.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return u.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite" if is_async else "sqlite+pysqlite")
    raise ValueError(f"unsupported database '{backend}': use sqlite:/// or postgresql://")


def is_sqlite(url: str | URL) -> bool:
    return normalise_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside one writer.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str | URL, **kw: Any) -> Engine:
    u = normalise_url(url)
    engine = sa.create_engine(u, **kw)
    if u.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_async_engine(
    url: str | URL, *, prepared_statements: bool = False, **kw: Any
) -> AsyncEngine:
    """The API's engine. On PostgreSQL the pool keeps `pool_size` connections open (size it
    to the requests one process serves at once, so steady load opens none); no pre-ping
    round trip per checkout unless asked for (a connection the server dropped fails one
    request, and the pool is refreshed); and no server-side prepared statements unless
    `prepared_statements` (they break behind PgBouncer in transaction mode)."""
    u = normalise_url(url, is_async=True)
    if u.get_backend_name() == "postgresql":
        kw.setdefault("pool_size", 20)
        kw.setdefault("max_overflow", 10)
        kw.setdefault("pool_pre_ping", False)
        if not prepared_statements:
            kw.setdefault("connect_args", {}).setdefault("prepare_threshold", None)
        kw.setdefault("json_deserializer", json_loads)
    else:
        for key in ("pool_size", "max_overflow"):
            kw.pop(key, None)
    engine = create_async_engine(u, **kw)
    if u.get_backend_name() == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def json_loads(data: bytes | str) -> Any:
    """A JSON column's value as psycopg hands it over: by orjson (a few times faster than
    `json.loads`, the same values), except where a run of 19 digits or more could be an
    integer past 64 bits (orjson would make it a float): those by the standard decoder."""
    if _LONG_DIGITS.search(data if isinstance(data, bytes) else data.encode()) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard decoder decides (and words the error)
    return json.loads(data)


_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A sync session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
