"""DataLoaders, one set per request in `info.context.loaders`: objects by primary key, children
by foreign key, objects through a link table, and pages of children batched over parents.

Every function takes a row type or a lazy reference to one (`RowRef`, see `rows`).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlalchemy.dialects.postgresql import ARRAY
from strawberry.dataloader import DataLoader

from api.graphql.context import Context, Info, current_context
from api.graphql.relay.connections import Connection, PageArgs, connection
from api.graphql.relay.keyset import Ordering, page_info, page_of, paginate
from api.graphql.relay.keyset import order_by as keyset_order
from api.graphql.relay.rows import (
    RowRef,
    RowType,
    make_row,
    make_rows,
    row_class,
    table_columns,
)
from api.graphql.relay.visible import visible

Batch = Callable[[Context, list[Any]], Awaitable[Sequence[Any]]]


def loader(info: Info, key: str, batch_fn: Batch) -> DataLoader[Any, Any]:
    """The request's DataLoader named `key`, created on first use around `batch_fn(ctx, keys)`."""
    return context_loader(info.context, key, batch_fn)


def context_loader(ctx: Context, key: str, batch_fn: Batch) -> DataLoader[Any, Any]:
    """`loader` for code that has the request context but no `info`."""
    loaders = ctx.loaders
    found = loaders.get(key)
    if found is None:
        # The context holds its loaders: through a weak reference back, the two make no cycle,
        # and a request's loaded rows are freed when it ends (not by the cyclic collector).
        ref = weakref.ref(ctx)

        async def load(keys: list[Any]) -> Sequence[Any]:
            alive = ref()
            assert alive is not None, "a loader outlived its request"
            return await batch_fn(alive, keys)

        found = loaders[key] = DataLoader(load)
    return found


# --------------------------------------------------------------------------------------------
# By primary key


def _by_pk_batch(type_cls: type[RowType]) -> Callable[[Context, list[int]], Awaitable[list[Any]]]:
    """Batch function: objects of `type_cls` by primary key (None where missing)."""
    model = type_cls.__model__
    pk = getattr(model, type_cls.__pk__)

    async def batch(ctx: Context, keys: list[int]) -> list[Any]:
        names, rows = await ctx.db.select(
            sa.select(*table_columns(model)).where(pk.in_(keys), *visible(ctx, model))
        )
        at = names.index(type_cls.__pk__)
        found = {r[at]: make_row(type_cls, names, r, at) for r in rows}
        return [found.get(k) for k in keys]

    return batch


_PK_BATCHES: dict[type, Callable[[Context, list[int]], Awaitable[list[Any]]]] = {}


def _pk_loader(ctx: Context, type_cls: type[RowType]) -> DataLoader[Any, Any]:
    name = f"pk:{type_cls.__name__}"
    found = ctx.loaders.get(name)
    if found is None:
        batch = _PK_BATCHES.get(type_cls)
        if batch is None:
            batch = _PK_BATCHES[type_cls] = _by_pk_batch(type_cls)
        found = context_loader(ctx, name, batch)
    return found


def one_future(info: Info, ref: RowRef, pk: int) -> Awaitable[Any]:
    """The DataLoader future of the object with primary key `pk` (batched per request).

    Queue several before awaiting any, so that they share one query."""
    return _pk_loader(info.context, row_class(ref)).load(pk)


async def load_one(info: Info, ref: RowRef, pk: int | None) -> Any:
    """The object with primary key `pk`, batched per request (None if pk is None)."""
    if pk is None:
        return None
    return await one_future(info, ref, pk)


def prime(info: Info, ref: RowRef, objects: Iterable[Any]) -> None:
    """Seed the request's by-pk loader with objects already read (saves a round-trip later)."""
    dl = _pk_loader(info.context, row_class(ref))
    for obj in objects:
        dl.prime(obj.pk, obj)


_MISSING = object()


class ToOne:
    """A to-one relation read as a plain attribute (so GraphQL resolves it as a plain field).

    Declared on a mixin base of a row type, e.g. `community = ToOne(CommunityT,
    "community_id")`, with the GraphQL field declared without a resolver on the type itself.
    Reading it returns the object joined into the page's query when there was one (no extra
    statement), None when the key is None, else the request's batched by-pk loader future
    (the request is the one `api.graphql.context.current_context` names).
    """

    def __init__(self, target: RowRef, fk: str) -> None:
        self.target, self.fk, self.key = target, fk, ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = "_j_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        joined = d.get(self.key, _MISSING)
        if joined is not _MISSING:
            return joined
        fk = d.get(self.fk)
        if fk is None:
            return None
        return _pk_loader(current_context(), row_class(self.target)).load(fk)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value


# --------------------------------------------------------------------------------------------
# Children by foreign key, objects through a link table


def _by_fk_batch(
    type_cls: type[RowType], fk: str, order: Sequence[Any], where: Sequence[Any]
) -> Callable[[Context, list[int]], Awaitable[list[list[Any]]]]:
    """Batch function: lists of `type_cls` whose column `fk` is each key."""
    model = type_cls.__model__
    fk_col = getattr(model, fk)
    order = list(order) or [getattr(model, type_cls.__pk__)]

    # On PostgreSQL, for rows every caller may see (reference data), one statement object
    # with the keys as one array parameter: compiled once, no cache key or IN-list expansion
    # per request.
    by_array: list[Any] = []

    async def batch(ctx: Context, keys: list[int]) -> list[list[Any]]:
        rule = visible(ctx, model)
        if not rule and ctx.db.engine.dialect.name == "postgresql":
            if not by_array:
                any_key = fk_col == sa.any_(sa.bindparam("keys", type_=ARRAY(fk_col.type)))
                by_array.append(
                    sa.select(*table_columns(model)).where(any_key, *where).order_by(*order)
                )
            names, rows = await ctx.db.select(by_array[0], {"keys": keys})
        else:
            stmt = (
                sa.select(*table_columns(model))
                .where(fk_col.in_(keys), *where, *rule)
                .order_by(*order)
            )
            names, rows = await ctx.db.select(stmt)
        grouped: dict[int, list[Any]] = {k: [] for k in keys}
        if rows:
            at, pk_at = names.index(fk), names.index(type_cls.__pk__)
            for r in rows:
                grouped[r[at]].append(make_row(type_cls, names, r, pk_at))
        return [grouped[k] for k in keys]

    return batch


class Children:
    """What a to-many field of a row type reads: the rows of `target` whose column `fk` is the
    parent's key (`load_children`). Fields declared with `children_field` carry it, so the
    fast executor (api/graphql/executor.py) can read a whole page's children at once."""

    __slots__ = ("_batch", "fk", "order_by", "target", "where")

    def __init__(self, target: RowRef, fk: str, order_by: Sequence[Any], where: Sequence[Any]):
        self.target, self.fk = target, fk
        self.order_by, self.where = tuple(order_by), tuple(where)
        self._batch: Callable[[Context, list[int]], Awaitable[list[list[Any]]]] | None = None

    def batch(self) -> Callable[[Context, list[int]], Awaitable[list[list[Any]]]]:
        if self._batch is None:
            type_cls = row_class(self.target)
            self._batch = _by_fk_batch(type_cls, self.fk, self.order_by, self.where)
        return self._batch

    def loader(self, ctx: Context) -> DataLoader[Any, Any]:
        """The request's DataLoader of these children by parent key (the one `load_children`
        uses: both share its cache)."""
        name = f"fk:{row_class(self.target).__name__}.{self.fk}"
        found = ctx.loaders.get(name)
        if found is None:
            found = context_loader(ctx, name, self.batch())
        return found

    async def load_all(self, ctx: Context, keys: list[Any]) -> list[list[Any]]:
        """What `loader(ctx).load_many(keys)` answers, without a future and task per key when
        none of them is cached yet: one batch call, its answers primed into the loader."""
        dl = self.loader(ctx)
        cache = dl.cache_map if dl.cache else None
        if cache is None or any(cache.get(k) is not None for k in keys):
            return await dl.load_many(keys)
        unique = list(dict.fromkeys(keys))
        found = dict(zip(unique, await self.batch()(ctx, unique), strict=True))
        dl.prime_many(found)
        return [found[k] for k in keys]


CHILDREN_ATTRIBUTE = "__luling_children__"


def children_field(
    target: RowRef,
    fk: str,
    *,
    cap: int,
    description: str,
    order_by: Sequence[Any] = (),
    where: Sequence[Any] = (),
    permission_classes: Sequence[Any] = (),
) -> Any:
    """A field listing the rows of `target` whose `fk` is the parent's key, at most `cap`:

        grids: list[Grid] = children_field(GridT, "community_id", cap=200, ...)

    Resolved through the request's batched loader (`load_children`), with the permission
    classes and the cap (`MaxItems`) of an ordinary field; the fast executor reads it for a
    whole list of parents at once (one permission check per request, one load_many)."""
    from api.graphql.lists import MaxItems

    spec = Children(target, fk, order_by, where)

    # No return annotation: Strawberry would take it over the class annotation that types it.
    async def resolve(root: Any, info: Info):  # type: ignore[no-untyped-def]
        return await spec.loader(info.context).load(root.pk)

    setattr(resolve, CHILDREN_ATTRIBUTE, spec)
    return strawberry.field(
        resolver=resolve,
        description=description,
        permission_classes=list(permission_classes),
        extensions=[MaxItems(cap)],
    )


async def load_children(
    info: Info,
    ref: RowRef,
    fk: str,
    key: int,
    *,
    order_by: Sequence[Any] = (),
    where: Sequence[Any] = (),
    name: str | None = None,
) -> list[Any]:
    """Objects whose `fk` equals `key`, batched per request under `name`."""
    type_cls = row_class(ref)
    loader_name = name or f"fk:{type_cls.__name__}.{fk}"
    found = info.context.loaders.get(loader_name)
    if found is None:
        found = loader(info, loader_name, _by_fk_batch(type_cls, fk, order_by, where))
    return await found.load(key)


def _link_batch(
    type_cls: type[RowType], link_model: Any, parent: str, target: str, order: Sequence[Any]
) -> Callable[[Context, list[int]], Awaitable[list[list[Any]]]]:
    model = type_cls.__model__
    parent_col, target_col = getattr(link_model, parent), getattr(link_model, target)
    pk = getattr(model, type_cls.__pk__)

    async def batch(ctx: Context, keys: list[int]) -> list[list[Any]]:
        stmt = (
            sa.select(*table_columns(model), parent_col.label("_parent"))
            .join(link_model, target_col == pk)
            .where(parent_col.in_(keys), *visible(ctx, model))
            .order_by(*(list(order) or [pk]))
        )
        names, rows = await ctx.db.select(stmt)
        grouped: dict[int, list[Any]] = {k: [] for k in keys}
        if rows:
            own = names[:-1]  # the last column is the parent's key
            pk_at = own.index(type_cls.__pk__)
            for r in rows:
                grouped[r[-1]].append(make_row(type_cls, own, r[:-1], pk_at))
        return [grouped[k] for k in keys]

    return batch


async def load_linked(
    info: Info,
    ref: RowRef,
    link_model: Any,
    *,
    parent: str,
    target: str,
    key: int,
    order_by: Sequence[Any] = (),
) -> list[Any]:
    """Objects linked to `key` through a link table (`link.parent = key AND link.target =
    pk`), batched per request."""
    type_cls = row_class(ref)
    name = f"link:{type_cls.__name__}:{link_model.__name__}.{parent}"
    found = info.context.loaders.get(name)
    if found is None:
        found = loader(info, name, _link_batch(type_cls, link_model, parent, target, order_by))
    return await found.load(key)


# --------------------------------------------------------------------------------------------
# Pages of children (a community's members, a job's proposals …)


async def child_connection(
    info: Info,
    *,
    type_cls: RowRef,
    fk: str,
    parent: int,
    page: PageArgs,
    ordering: Ordering,
    name: str,
    filters: Sequence[Any] = (),
) -> Connection[Any]:
    """A page of rows whose `fk` is `parent`, batched over the parents of a page.

    Without a cursor, one statement serves every parent of the request (ROW_NUMBER() OVER
    (PARTITION BY fk ...) <= n + 1); with a cursor it is an ordinary keyset page of one parent.
    `name` identifies the field (and its fixed filters) among the request's loaders.
    """
    row_cls = row_class(type_cls)
    model = row_cls.__model__
    fk_col = getattr(model, fk)
    size, backward = page.checked()
    if page.after is not None or page.before is not None:
        return await paginate(
            info,
            columns=table_columns(model),
            select_from=model,
            filters=[*filters, fk_col == parent, *visible(info.context, model)],
            ordering=ordering,
            page=page,
            build=row_cls.from_rows,
            build_raw=lambda names, rows: make_rows(row_cls, names, rows),
        )
    counts = loader(info, f"{name}:count", _count_batch(model, fk_col, filters))
    pages = loader(
        info,
        f"{name}:{size}:{backward}",
        _window_batch(row_cls, fk, ordering, filters, size, backward),
    )
    found, names = await pages.load(parent)
    rows, more, cursor_at = page_of(
        found, size, backward, ordering, info.context.settings.secret_key, names
    )
    info_ = page_info(
        len(rows), cursor_at, has_next=more and not backward, has_previous=more and backward
    )

    async def count() -> int:
        return await counts.load(parent)

    return connection(make_rows(row_cls, names, rows), info_, cursor_at, count)


def _count_batch(
    model: Any, fk_col: Any, filters: Sequence[Any]
) -> Callable[[Context, list[int]], Awaitable[list[int]]]:
    async def batch(ctx: Context, keys: list[int]) -> list[int]:
        stmt = (
            sa.select(fk_col, sa.func.count())
            .select_from(model)
            .where(fk_col.in_(keys), *filters, *visible(ctx, model))
            .group_by(fk_col)
        )
        found = {r[0]: r[1] for r in (await ctx.db.select(stmt)).rows}
        return [int(found.get(k, 0)) for k in keys]

    return batch


def _window_batch(
    type_cls: type[RowType],
    fk: str,
    ordering: Ordering,
    filters: Sequence[Any],
    size: int,
    backward: bool,
) -> Callable[[Context, list[int]], Awaitable[list[tuple[list[Any], Sequence[str]]]]]:
    model = type_cls.__model__
    fk_col = getattr(model, fk)

    async def batch(ctx: Context, keys: list[int]) -> list[tuple[list[Any], Sequence[str]]]:
        if size == 0:
            return [([], ()) for _ in keys]
        rn = sa.func.row_number().over(
            partition_by=fk_col, order_by=keyset_order(ordering, backward)
        )
        inner = (
            sa.select(
                *table_columns(model),
                *(k.expr.label(f"_k{i}") for i, k in enumerate(ordering.keys)),
                rn.label("_rn"),
            )
            .where(fk_col.in_(keys), *filters, *visible(ctx, model))
            .subquery()
        )
        stmt = sa.select(inner).where(inner.c._rn <= size + 1).order_by(inner.c[fk], inner.c._rn)
        names, rows = await ctx.db.select(stmt)
        grouped: dict[int, list[Any]] = {k: [] for k in keys}
        if rows:
            at = names.index(fk)
            for r in rows:
                grouped[r[at]].append(r)
        return [(grouped[k], names) for k in keys]

    return batch
