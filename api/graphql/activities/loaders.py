"""Batched reads for activities: places taken per activity."""

from __future__ import annotations

import sqlalchemy as sa

from api.graphql.context import Context, Info
from api.graphql.relay import loader
from schema import models as m
from schema.enums import SignUpStatus

# Sign-ups that hold a place (a cancelled one frees it).
HOLDING_STATUSES = (SignUpStatus.SIGNED_UP, SignUpStatus.CHECKED_IN, SignUpStatus.CHECKED_OUT)


def _holding() -> sa.ColumnElement[bool]:
    return m.SignUp.status.in_(HOLDING_STATUSES)


async def _taken(ctx: Context, keys: list[int]) -> list[int]:
    su = m.SignUp
    stmt = (
        sa.select(su.activity_id, sa.func.count())
        .where(su.activity_id.in_(keys), _holding())
        .group_by(su.activity_id)
    )
    async with ctx.db.session() as session:
        found = {r[0]: r[1] for r in (await session.execute(stmt)).all()}
    return [int(found.get(k, 0)) for k in keys]


async def taken_places(info: Info, activity_id: int) -> int:
    """Sign-ups holding a place in the activity (batched per request)."""
    return await loader(info, "activity.taken", _taken).load(activity_id)
