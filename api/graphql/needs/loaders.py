"""Batched reads for needs: event histories (all or the n latest per need), open-need pages."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from api.graphql.context import Context, Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.relay import (
    MAX_PAGE,
    ChildrenPage,
    Fold,
    Ordering,
    SortKey,
    folded_key,
    loader,
    make_row,
    row_class,
    table_columns,
)
from api.graphql.type_refs import NeedEventT, NeedT
from schema import models as m
from schema.workflow import OPEN_NEED_STATUSES

N = m.Need
MOST_URGENT = Ordering(
    "URGENCY_DESC",
    (SortKey(N.urgency, "int"), SortKey(N.reported_at, "dt")),
    N.id,
    descending=True,
)


@functools.cache  # `last` is at most MAX_PAGE: a bounded number of shapes
def _events_statement(last: int | None, many: bool) -> Any:
    """The events of the needs `:keys` (`many`) or of the need `:key`: all, or the `last`
    latest of each. Built once per shape and kept, so each read reuses its compiled form
    (one need's events, the common case, need no expanding IN)."""
    e = m.NeedEvent
    cols = table_columns(e)
    match = (
        col(e.need_id).in_(sa.bindparam("keys", expanding=True))
        if many
        else (col(e.need_id) == sa.bindparam("key"))
    )
    if last is None:
        return sa.select(*cols).where(match).order_by(col(e.need_id), col(e.at), col(e.id))
    rn = sa.func.row_number().over(
        partition_by=col(e.need_id), order_by=(col(e.at).desc(), col(e.id).desc())
    )
    inner = sa.select(*cols, rn.label("_rn")).where(match).subquery()
    return (
        sa.select(*(inner.c[c.key] for c in cols))
        .where(inner.c._rn <= last)
        .order_by(inner.c.need_id, inner.c.at, inner.c.id)
    )


def _events_batch(last: int | None) -> Callable[[Context, list[int]], Awaitable[list[list[Any]]]]:
    one, many = _events_statement(last, False), _events_statement(last, True)

    async def batch(ctx: Context, keys: list[int]) -> list[list[Any]]:
        params: dict[str, Any]
        if len(keys) == 1:
            stmt, params = one, {"key": keys[0]}
        else:
            stmt, params = many, {"keys": keys}
        names, rows = await ctx.db.select(stmt, params)
        grouped: dict[int, list[Any]] = {k: [] for k in keys}
        if rows:
            event = row_class(NeedEventT)
            at, pk_at = names.index("need_id"), names.index("id")
            for r in rows:
                grouped[r[at]].append(make_row(event, names, r, pk_at))
        return [grouped[k] for k in keys]

    return batch


EVENTS = Fold(NeedEventT, "need_id", ("at", "id"), ("events", "latest_event"))
FOLDED_EVENTS = folded_key("events")


async def latest_events(info: Info, need: Any, last: int | None) -> list[Any]:
    """A need's events, oldest first: all of them, or only the `last` latest ones. Read with
    the need itself where it was read by key on PostgreSQL (`EVENTS`, a fold), else batched."""
    if last is not None and not 0 <= last <= MAX_PAGE:
        raise CodedError(f"`last` must be between 0 and {MAX_PAGE}", ErrorCode.BAD_USER_INPUT)
    if last == 0:
        return []
    folded: list[Any] | None = need.__dict__.get(FOLDED_EVENTS)
    if folded is not None:  # every event, in the loader's order: the latest are the tail
        return folded if last is None else folded[-last:]
    name = f"need.events:{last}"
    found = info.context.loaders.get(name) or loader(info, name, _events_batch(last))
    return await found.load(need.pk)


def open_needs_of_community(community_id: int) -> ChildrenPage:
    return ChildrenPage(
        NeedT,
        fk="community_id",
        parent=community_id,
        ordering=MOST_URGENT,
        name="community.open_needs",
        filters=[col(N.status).in_(OPEN_NEED_STATUSES)],
    )
