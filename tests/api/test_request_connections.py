"""On PostgreSQL a request's read connection is kept, in autocommit, for the next request
(`Database.request_scope`): the next request reads on the same backend without a pool checkout.
A connection left busy (a transaction open, a read cut short) is never kept: it goes back to the
pool, which resets it, so no request ever inherits another's transaction. SQLite keeps none."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from api.database import Database


async def _backend(db: Database) -> tuple[int, bool]:
    """(the backend pid, whether it is inside a transaction) as a request's read sees them."""
    async with db.request_scope():
        pid = (await db.select(sa.select(sa.func.pg_backend_pid()))).rows[0][0]
        now = (await db.select(sa.select(sa.func.now()))).rows[0][0]
        later = (await db.select(sa.select(sa.func.now()))).rows[0][0]
    return pid, now == later  # now() is the transaction's start: equal inside one


def _postgres(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("connections are kept on PostgreSQL only")


def test_the_next_request_reads_on_the_same_connection_in_autocommit(database_url: str) -> None:
    _postgres(database_url)

    async def run() -> None:
        db = Database(database_url)
        try:
            first, in_transaction = await _backend(db)
            assert not in_transaction
            assert len(db._kept) == 1
            second, in_transaction = await _backend(db)
            assert (second, in_transaction) == (first, False)
        finally:
            await db.dispose()
        assert db._kept == []

    asyncio.run(run())


def test_a_connection_left_in_a_transaction_is_not_kept(database_url: str) -> None:
    _postgres(database_url)

    async def run() -> None:
        db = Database(database_url)
        try:
            async with db.request_scope():
                await db.select(sa.select(1))
                async with db._connection() as (conn, _):
                    await conn.exec_driver_sql("BEGIN")  # as a read cut short would leave it
            assert db._kept == []
            _, in_transaction = await _backend(db)
            assert not in_transaction
        finally:
            await db.dispose()

    asyncio.run(run())


def test_no_connection_kept_beyond_the_limit_nor_on_sqlite(database_url: str) -> None:
    async def run() -> None:
        db = Database(database_url, keep_reads=1)
        try:

            async def one_request(started: asyncio.Event, go: asyncio.Event) -> None:
                async with db.request_scope():
                    await db.select(sa.select(1))
                    started.set()
                    await go.wait()

            events = [(asyncio.Event(), asyncio.Event()) for _ in range(3)]
            tasks = [asyncio.create_task(one_request(*pair)) for pair in events]
            for started, _ in events:
                await started.wait()  # three requests hold three connections at once
            for _, go in events:
                go.set()
            await asyncio.gather(*tasks)
            expected = 1 if database_url.startswith("postgresql") else 0
            assert len(db._kept) == expected
        finally:
            await db.dispose()

    asyncio.run(run())
