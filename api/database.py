"""The API's handle on the database: one async engine per process, a session per unit of work.

Reads of one HTTP request share one pooled connection (`request_scope`): the first read checks
it out, every later read of the request (every DataLoader, the caller's token check) reuses
it, and it goes back to the pool when the request ends. The connection runs in autocommit, so
a read is one statement on the wire — no BEGIN/ROLLBACK pair around it — and nothing holds a
transaction open between statements (which is also what PgBouncer's transaction mode needs).
Statements of one request run one at a time on that connection (a lock; a task that already
holds it, a nested read, goes straight through). On PostgreSQL the connection a request used
is kept, still in autocommit, for the next request (`_kept`, at most `keep_reads`, by default
three quarters of the pool): taking it costs a list pop instead of a pool checkout and two
isolation-level switches (~100 µs of CPU); one that is not idle (a read cut short, a dropped
server) goes back to the pool, which resets or discards it. Writes always take their own
connection and transaction (`transaction`). Outside a request scope (WebSockets, the CLI,
tests calling resolvers directly) every `session()` is its own, as before.

`select(stmt)` reads without the ORM: the statement is compiled once per shape (SQLAlchemy's
cache key of the statement, which also extracts its values) and its SQL text, bind order and
type processors kept; each call runs that text on the driver's own cursor (psycopg, or
aiosqlite's) of the same connection and returns plain tuples with the type processing
SQLAlchemy would do (enums, SQLite's times). No Session, no Result objects, no per-call
compiled-context set-up. The engine's `before_cursor_execute` listeners still see each
statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from sqlalchemy import Enum
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from schema.base import UTCDateTime, aware_utc
from schema.db import async_session_factory, make_async_engine


class _RequestReads:
    """The connection one request's reads share, checked out on first use."""

    __slots__ = ("closed", "conn", "db", "driver", "lock", "owner")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: AsyncConnection | None = None
        self.driver: Any = None  # the DBAPI driver's own connection under `conn`
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[Any] | None = None
        # Set when the request has answered: a field still resolving after an error nulled its
        # parent (graphql-core does not cancel siblings) reads on a connection of its own.
        self.closed = False


class Rows(NamedTuple):
    """A read's column names and its rows as plain tuples."""

    keys: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class _Compiled:
    """One statement shape compiled for one dialect: what each execution reuses."""

    __slots__ = (
        "bind_processors",
        "compiled",
        "dialect",
        "expands",
        "keys",
        "positiontup",
        "result_processors",
        "sql",
    )

    def __init__(self, stmt: Any, dialect: Dialect, cache_key: Any) -> None:
        compiled: Any = dialect.statement_compiler(dialect, stmt, cache_key=cache_key)
        self.compiled = compiled
        self.sql: str = compiled.string
        self.keys = tuple(c.keyname for c in compiled._result_columns)
        self.dialect = dialect
        # Built on the first execution: some processors depend on the driver's column types.
        self.result_processors: list[tuple[int, Any]] | None = None
        self.bind_processors: dict[str, Any] = dict(compiled._bind_processors)
        self.expands = bool(compiled.literal_execute_params or compiled.post_compile_params)
        self.positiontup: list[str] | None = (
            list(compiled.positiontup) if compiled.positional else None
        )

    def arguments(self, params: dict[str, Any] | None, extracted: Any) -> tuple[str, Any]:
        """The SQL text and the driver's parameters for one execution."""
        compiled = self.compiled
        values = compiled.construct_params(
            params, extracted_parameters=extracted, escape_names=False
        )
        sql, processors, order = self.sql, self.bind_processors, self.positiontup
        if self.expands:
            state = compiled._process_parameters_for_postcompile(values)
            sql, order = state.statement, state.positiontup
            processors = {**processors, **state.processors}
        if order is not None:
            return sql, tuple(
                processors[k](values[k]) if k in processors else values[k] for k in order
            )
        escaped = compiled.escaped_bind_names
        return sql, {
            escaped.get(k, k): (processors[k](v) if k in processors else v)
            for k, v in values.items()
        }

    def result(self, rows: list[Any], description: Any) -> Rows:
        procs = self.result_processors
        if procs is None:
            columns = self.compiled._result_columns
            codes = [d[1] for d in description] if description else [None] * len(columns)
            found = [
                result_processor(c.type, self.dialect, code)
                for c, code in zip(columns, codes, strict=False)
            ]
            procs = self.result_processors = [(i, p) for i, p in enumerate(found) if p is not None]
        if procs and rows:
            out = []
            for row in rows:
                values = list(row)
                for i, p in procs:
                    values[i] = p(values[i])
                out.append(tuple(values))
            rows = out
        return Rows(self.keys, rows)


_COMPILED_LIMIT = 2048
_PQ_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE


def result_processor(column_type: Any, dialect: Dialect, code: Any) -> Any:
    """SQLAlchemy's result processor of a column; for a `UTCDateTime` the driver already
    returns as a datetime (psycopg), its rule itself, without the TypeDecorator's wrapper;
    for an enum, SQLAlchemy's answers remembered per stored value (a dictionary lookup)."""
    if (
        isinstance(column_type, UTCDateTime)
        and column_type.impl_instance._cached_result_processor(dialect, code) is None
    ):
        return aware_utc
    found = column_type._cached_result_processor(dialect, code)
    if found is not None and isinstance(column_type, Enum):
        return _Remembered(found).__getitem__
    return found


class _Remembered(dict[Any, Any]):
    """A processor's answers by value, asked once per value (an enum's few stored strings):
    a hit is one C-level dictionary lookup; a value the processor refuses raises each time."""

    def __init__(self, process: Any) -> None:
        super().__init__()
        self.process = process

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.process(key)
        return value


_READS: ContextVar[_RequestReads | None] = ContextVar("luling_request_reads", default=None)


class Database:
    def __init__(self, url: str, *, keep_reads: int | None = None, **engine_options: Any) -> None:
        """`engine_options` go to `schema.db.make_async_engine` (pool size, pre-ping …);
        `keep_reads`: request connections kept between requests (PostgreSQL only; default
        three quarters of the pool, so writes and WebSockets still find pooled ones)."""
        self.url = url
        self.engine: AsyncEngine = make_async_engine(url, **engine_options)
        self._sessions = async_session_factory(self.engine)
        self._dialect: Dialect = self.engine.dialect
        self._psycopg = self._dialect.driver == "psycopg"
        if keep_reads is None:
            size = getattr(self.engine.sync_engine.pool, "size", lambda: 0)()
            keep_reads = size - max(2, size // 4)
        self._keep = max(0, keep_reads) if self._psycopg else 0
        # Idle request connections, in autocommit, with their psycopg connections.
        self._kept: list[tuple[AsyncConnection, Any]] = []
        self._compiled: dict[Any, _Compiled] = {}
        self._held: dict[int, tuple[Any, _Compiled]] = {}  # by statement object (see _compiled_for)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[tuple[AsyncConnection, _RequestReads | None]]:
        """A connection for reads: the request's shared one (under its lock), else its own."""
        reads = _READS.get()
        if reads is None or reads.db is not self or reads.closed:
            async with self.engine.connect() as conn:
                yield conn, None
            return
        task = asyncio.current_task()
        if reads.owner is task:  # a read inside a read of the same task: already serialised
            assert reads.conn is not None
            yield reads.conn, reads
            return
        async with reads.lock:
            if reads.closed:
                async with self.engine.connect() as conn:
                    yield conn, None
                return
            reads.owner = task
            try:
                if reads.conn is None:
                    reads.conn, reads.driver = await self._checkout()
                yield reads.conn, reads
            finally:
                reads.owner = None

    def _compiled_for(self, stmt: Any) -> tuple[_Compiled, Any]:
        # A statement object read again (one a caller keeps, e.g. `select_one`'s per shape and
        # reader) needs no cache key: its own values are those it was compiled with.
        held = self._held.get(id(stmt))
        if held is not None and held[0] is stmt:
            return held[1], None
        cache_key = stmt._generate_cache_key()
        if cache_key is None:  # not cacheable: compile for this call only
            return _Compiled(stmt, self._dialect, None), None
        found = self._compiled.get(cache_key.key)
        if found is None:
            if len(self._compiled) >= _COMPILED_LIMIT:
                self._compiled.clear()
            found = self._compiled[cache_key.key] = _Compiled(stmt, self._dialect, cache_key)
        if found.compiled.statement is stmt:  # compiled from this very object: remember it
            if len(self._held) >= _COMPILED_LIMIT:
                self._held.clear()
            self._held[id(stmt)] = (stmt, found)
        return found, cache_key.bindparams

    async def select(self, stmt: Any, params: dict[str, Any] | None = None) -> Rows:
        """Run a SELECT on the request's connection without the ORM: names and tuples."""
        compiled, extracted = self._compiled_for(stmt)
        sql, args = compiled.arguments(params, extracted)
        async with self._connection() as (conn, reads):
            driver: Any = reads.driver if reads is not None else None
            if driver is None:
                driver = (await conn.get_raw_connection()).driver_connection
                if reads is not None:
                    reads.driver = driver
            listeners = self.engine.sync_engine.dispatch.before_cursor_execute
            if listeners:  # instrumentation (statement counts in tests) sees these reads too
                for listen in listeners:
                    listen(conn.sync_connection, None, sql, args, None, False)
            if self._psycopg:
                async with driver.cursor() as cur:
                    await cur.execute(sql, args)
                    # psycopg builds the description anew on each access: only the first
                    # execution of a shape needs it (its result processors).
                    if compiled.result_processors is None:
                        description = cur.description
                        rows = await cur.fetchall() if description is not None else []
                    else:
                        description, rows = None, await cur.fetchall()
            else:  # aiosqlite: one trip to its thread (SQLite reports no column types)
                rows, description = list(await driver.execute_fetchall(sql, args)), None
        return compiled.result(rows, description)

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
                    reads.conn, reads.driver = await self._checkout()
                async with AsyncSession(bind=reads.conn, expire_on_commit=False) as session:
                    yield session
            finally:
                reads.owner = None

    async def _checkout(self) -> tuple[AsyncConnection, Any]:
        """A connection in autocommit for a request's reads (and its driver connection, when
        known): a kept one, else one from the pool."""
        if self._kept:
            return self._kept.pop()  # idle when it was kept (`_release`)
        conn = await self.engine.connect()
        return await conn.execution_options(isolation_level="AUTOCOMMIT"), None

    async def _release(self, conn: AsyncConnection, driver: Any) -> None:
        """Keep a request's connection for the next request while it is idle and there is
        room; else give it back to the pool (which leaves autocommit, or discards it)."""
        if len(self._kept) < self._keep:
            if driver is None:
                driver = _driver(conn)
            if driver is not None and _idle(conn, driver):
                self._kept.append((conn, driver))
                return
        await conn.close()

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
                    conn, driver, reads.conn, reads.driver = reads.conn, reads.driver, None, None
                    await self._release(conn, driver)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write session: commits when the block succeeds, rolls everything back otherwise."""
        async with self._sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        kept, self._kept = self._kept, []
        for conn, _ in kept:
            await conn.close()
        await self.engine.dispose()


def _driver(conn: AsyncConnection) -> Any:
    """The psycopg connection under an open SQLAlchemy one (None if there is none)."""
    try:
        return conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]  # open: a request's own
    except Exception:
        return None


def _idle(conn: AsyncConnection, driver: Any) -> bool:
    """Whether a psycopg connection can serve another request as it is: open, valid, and not
    inside a statement or transaction (a read cancelled half-way leaves it active)."""
    return bool(
        not conn.closed
        and not conn.invalidated
        and not driver.closed
        and driver.pgconn.transaction_status == _PQ_IDLE
    )
