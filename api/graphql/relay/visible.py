"""The row rules of `schema.visibility`, applied for the caller of a request.

Every loader and page of `api.graphql.relay` adds `visible(ctx, model)` to its WHERE clause, so
each path to a row — by key (`node`, nested relations), by parent, a page, its `totalCount` —
shows exactly the rows the caller may see, whatever field asked for them: a new field cannot
forget the rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any

import sqlalchemy as sa

from api.graphql.context import Context
from schema.visibility import rule_for, visible_sql


def visible(ctx: Context, model: Any) -> list[Any]:
    """The rule of `model` for the caller as WHERE conditions (empty for reference data)."""
    condition = visible_sql(model, ctx.viewer)
    return [] if condition is None else [condition]


async def visible_row(
    ctx: Context,
    model: Any,
    pk: int,
    row: Mapping[str, Any],
    share: Callable[[Hashable, Callable[[], Awaitable[bool]]], Awaitable[bool]] | None = None,
) -> bool:
    """Whether the caller may see one row read without a loader (a broadcast's row): the rule's
    check on the row's own columns, else the rule's SQL for that row (grants through other
    rows, e.g. a need the caller is dispatched to). `share(key, load)` lets the subscribers of
    one broadcast who are the same reader share that query (`api.ws.shared`)."""
    rule = rule_for(model)
    if rule is None:
        return True
    v = ctx.viewer
    if rule.check(v, row):
        return True
    pk_col = model.__table__.c[sa.inspect(model).primary_key[0].key]
    stmt = sa.select(pk_col).where(pk_col == pk, rule.sql(v))

    async def probe() -> bool:
        async with ctx.db.session() as session:
            return (await session.execute(stmt)).first() is not None

    if share is None:
        return await probe()
    return await share(("visible", rule.table, pk, row.get("version"), v), probe)
