"""Batched reads for activities and needs: places taken and places left (`schema.places`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from sqlmodel import col

from api.graphql.context import Context, Info
from api.graphql.relay import loader
from schema import models as m
from schema.places import HOLDING_A_PLACE, places_left_sql


async def _taken(ctx: Context, keys: list[int]) -> list[int]:
    su = m.SignUp
    stmt = (
        sa.select(col(su.activity_id), sa.func.count())
        .where(col(su.activity_id).in_(keys), col(su.status).in_(HOLDING_A_PLACE))
        .group_by(col(su.activity_id))
    )
    async with ctx.db.session() as session:
        found = {r[0]: r[1] for r in (await session.execute(stmt)).all()}
    return [int(found.get(k, 0)) for k in keys]


async def taken_places(info: Info, activity_id: int) -> int:
    """Sign-ups holding a place in the activity (batched per request)."""
    return await loader(info, "activity.taken", _taken).load(activity_id)


def _places_left_of(
    model: type[m.Activity] | type[m.Need],
) -> Callable[[Context, list[int]], Awaitable[list[int]]]:
    async def load(ctx: Context, keys: list[int]) -> list[int]:
        key = col(model.id)
        stmt = sa.select(key, places_left_sql(model)).where(key.in_(keys))
        async with ctx.db.session() as session:
            found = {r[0]: r[1] for r in (await session.execute(stmt)).all()}
        return [int(found.get(k, 0)) for k in keys]

    return load


async def places_left(info: Info, model: type[m.Activity] | type[m.Need], pk: int) -> int:
    """Places left on the activity or need (batched per request and table)."""
    batch = _places_left_of(model)
    return await loader(info, f"{model.__tablename__}.places_left", batch).load(pk)
