"""The API's handle on the database: one async engine per process, a session per unit of work.

Reads of one HTTP request share one pooled connection (`request_scope`): the first read checks
it out, every later read of the request (every DataLoader, the caller's token check) reuses
it, and it goes back to the pool when the request ends. The connection runs in autocommit, so
a read is one statement on the wire — no BEGIN/ROLLBACK pair around it — and nothing holds a
transaction open between statements (which is also what PgBouncer's transaction mode needs).
Statements of one request run one at a time on that connection (a lock; a task that already
holds it, a nested read, goes straight through). Writes always take their own connection and
transaction (`transaction`). Outside a request scope (WebSockets, the CLI, tests calling
resolvers directly) every `session()` is its own, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from schema.db import async_session_factory, make_async_engine


class _RequestReads:
    """The connection one request's reads share, checked out on first use."""

    __slots__ = ("closed", "conn", "db", "lock", "owner")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: AsyncConnection | None = None
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[Any] | None = None
        # Set when the request has answered: a field still resolving after an error nulled its
        # parent (graphql-core does not cancel siblings) reads on a connection of its own.
        self.closed = False


_READS: ContextVar[_RequestReads | None] = ContextVar("luling_request_reads", default=None)


class Database:
    def __init__(self, url: str, **engine_options: Any) -> None:
        """`engine_options` go to `schema.db.make_async_engine` (pool size, pre-ping …)."""
        self.url = url
        self.engine: AsyncEngine = make_async_engine(url, **engine_options)
        self._sessions = async_session_factory(self.engine)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session: never shared between concurrently resolved fields."""
        reads = _READS.get()
        if reads is None or reads.db is not self:
            async with self._sessions() as session:
                yield session
            return
        task = asyncio.current_task()
        if reads.owner is task:  # a read inside a read of the same task: already serialised
            async with AsyncSession(bind=reads.conn, expire_on_commit=False) as session:
                yield session
            return
        async with reads.lock:
            if reads.closed:
                async with self._sessions() as session:
                    yield session
                return
            reads.owner = task
            try:
                if reads.conn is None:
                    conn = await self.engine.connect()
                    reads.conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                async with AsyncSession(bind=reads.conn, expire_on_commit=False) as session:
                    yield session
            finally:
                reads.owner = None

    @asynccontextmanager
    async def request_scope(self) -> AsyncIterator[None]:
        """Within this block (one HTTP request), `session()` reads share one connection."""
        reads = _RequestReads(self)
        token = _READS.set(reads)
        try:
            yield
        finally:
            _READS.reset(token)
            # Wait for a read in flight before the connection goes back to the pool.
            async with reads.lock:
                reads.closed = True
                if reads.conn is not None:
                    await reads.conn.close()
                    reads.conn = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write session: commits when the block succeeds, rolls everything back otherwise."""
        async with self._sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
