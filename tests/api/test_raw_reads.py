"""`Database.select` reads without the ORM (the statement's SQL compiled once per shape, run on
the driver's own cursor): it must give the same values SQLAlchemy gives through a session —
enums, aware times, JSON, floats, NULLs — for statements with IN lists of any length, in and
out of a request scope, and the engine's statement listeners must still see each read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from api.database import Database
from schema import models as m
from schema.enums import NeedAction, NeedStatus
from tests import factories as f


def _seed(engine: sa.Engine) -> tuple[int, list[int]]:
    c = f.community(engine)
    assert c.id is not None
    at = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
    needs = [
        f.need(engine, c.id, status=s, resolve_by=at + timedelta(hours=i) if i % 2 else None)
        for i, s in enumerate([NeedStatus.REPORTED, NeedStatus.ACCEPTED, NeedStatus.CLOSED])
    ]
    with Session(engine) as s:
        for n in needs:
            s.add(
                m.NeedEvent(
                    need_id=n.id,
                    action=NeedAction.REPORT,
                    to_status=NeedStatus.REPORTED,
                    actor_name="张三",
                    data={"tier": "ordinary", "n": [1, 2]},
                    at=at,
                )
            )
        s.commit()
    return c.id, [n.id for n in needs if n.id is not None]


async def _both(url: str, stmt: Any, scoped: bool) -> tuple[Any, list[tuple[Any, ...]], list[str]]:
    db = Database(url)
    try:
        if scoped:
            async with db.request_scope():
                raw = await db.select(stmt)
        else:
            raw = await db.select(stmt)
        async with db.session() as session:
            orm = [tuple(r) for r in (await session.execute(stmt)).all()]
        async with db.engine.connect() as conn:  # Core names anonymous columns (count_1)
            keys = list((await conn.execute(stmt)).keys())
    finally:
        await db.dispose()
    return raw, orm, keys


def test_read_the_same_values_as_the_orm(engine: sa.Engine, database_url: str) -> None:
    community_id, need_ids = _seed(engine)
    n, e = m.Need, m.NeedEvent
    statements = [
        sa.select(n.id, n.status, n.resolve_by, n.latitude, n.title)
        .where(n.id.in_(need_ids), n.status.in_([NeedStatus.REPORTED, NeedStatus.ACCEPTED]))
        .order_by(n.id),
        sa.select(n.id, n.status).where(n.id.in_(need_ids[:1])).order_by(n.id),  # another length
        sa.select(e.need_id, e.action, e.to_status, e.from_status, e.data, e.at)
        .where(e.need_id.in_(need_ids))
        .order_by(e.id),
        sa.select(sa.func.count()).select_from(n).where(n.community_id == community_id),
        sa.select(n.id).where(n.id.in_([-1])),  # no rows
    ]
    for scoped in (True, False):
        for stmt in statements:
            raw, orm, keys = asyncio.run(_both(database_url, stmt, scoped))
            assert raw.rows == orm, stmt
            assert list(raw.keys) == keys, stmt
    raw, _, _ = asyncio.run(_both(database_url, statements[0], True))
    status, resolve_by = raw.rows[1][1], raw.rows[1][2]
    assert status is NeedStatus.ACCEPTED  # an enum member, not its stored text
    assert resolve_by == datetime(2026, 5, 1, 9, 30, tzinfo=UTC) and resolve_by.tzinfo
    events, _, _ = asyncio.run(_both(database_url, statements[2], True))
    assert events.rows[0][4] == {"tier": "ordinary", "n": [1, 2]}
    assert events.rows[0][3] is None


def test_statement_listeners_see_raw_reads(engine: sa.Engine, database_url: str) -> None:
    _, need_ids = _seed(engine)
    db = Database(database_url)
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", before)

    async def read() -> None:
        async with db.request_scope():
            await db.select(sa.select(m.Need.id).where(m.Need.id.in_(need_ids)))
            await db.select(sa.select(m.Need.title).where(m.Need.id == need_ids[0]))
        await db.dispose()

    asyncio.run(read())
    selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2 and "FROM need" in selects[0], seen
