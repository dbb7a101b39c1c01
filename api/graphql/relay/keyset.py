"""Keyset pagination: orderings, opaque cursors, and pages read in SQL.

Pages are read with `WHERE (sort_key, id) > (:k, :id) ORDER BY sort_key, id LIMIT n + 1`,
never by loading every row and slicing; `totalCount` is a separate COUNT run only when it is
selected. `select_page` reads only the columns a query selects and joins the to-one
relations it selects into the same statement.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
import strawberry

from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.relay.connections import Connection, PageArgs, PageInfo, connection
from api.graphql.relay.cursors import BadCursor, seal, unseal
from api.graphql.relay.folds import fold_columns
from api.graphql.relay.rows import RowType, column_names, make_row, row_class, table_columns
from api.graphql.relay.selection import (
    Selection,
    columns_for,
    field_selection,
    frozen_selection,
    graphql_to_python,
    node_selection,
)
from api.graphql.relay.visible import visible
from api.inputs import MAX_ROW_ID, excerpt, text_problem
from schema.base import aware
from schema.db import table_of
from schema.visibility import rule_for


@dataclass(frozen=True)
class SortKey:
    """A sort expression and how its cursor value is (de)serialised: int, str, dt or float."""

    expr: Any
    kind: str = "int"
    label: str = ""


@dataclass(frozen=True)
class Ordering:
    """A total order for keyset pagination: the keys, then the primary key, all one direction."""

    name: str
    keys: tuple[SortKey, ...]
    pk: Any
    descending: bool = False


@strawberry.enum(description="Sort direction.")
class OrderDirection(enum.Enum):
    ASC = strawberry.enum_value("ASC", description="Ascending: smallest, oldest first.")
    DESC = strawberry.enum_value("DESC", description="Descending: largest, newest first.")


def ordering(name: str, keys: Sequence[SortKey], pk: Any, direction: OrderDirection) -> Ordering:
    """An `Ordering` named after its field and direction (cursors are bound to it)."""
    return Ordering(
        f"{name}_{direction.value}", tuple(keys), pk, descending=direction is OrderDirection.DESC
    )


def as_utc(value: datetime | None) -> datetime | None:
    """A datetime argument in aware UTC (a time without an offset is read as the county's
    local time, Asia/Shanghai)."""
    return None if value is None else aware(value)


# --------------------------------------------------------------------------------------------
# Cursors: the ordering's name and the row's key values as JSON, sealed (`cursors`)


def _encode_cursor(ordering: str, values: Sequence[Any], secret: str) -> str:
    out: list[Any] = [ordering]
    for v in values:
        out.append(v.isoformat() if isinstance(v, datetime) else v)
    raw = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
    return seal(raw, secret)


def _decode_cursor(cursor: str, ordering: Ordering, secret: str) -> list[Any]:
    bad = CodedError(
        f"invalid cursor '{excerpt(cursor)}' for this ordering", ErrorCode.BAD_USER_INPUT
    )
    try:
        data = json.loads(unseal(cursor, secret))
    except (BadCursor, ValueError, UnicodeError, RecursionError):
        raise bad from None
    kinds = [k.kind for k in ordering.keys] + ["int"]
    if not isinstance(data, list) or len(data) != len(kinds) + 1 or data[0] != ordering.name:
        raise bad
    values: list[Any] = []
    try:
        for kind, v in zip(kinds, data[1:], strict=True):
            if v is None:
                values.append(None)
            elif kind == "dt":
                values.append(datetime.fromisoformat(v))
            elif kind == "int":
                values.append(_cursor_int(v))
            elif kind == "float":
                values.append(_cursor_float(v))
            else:
                values.append(_cursor_str(v))
    except (TypeError, ValueError, OverflowError):
        raise bad from None
    return values


def _cursor_int(v: Any) -> int:
    # Sort keys and row keys are INTEGER columns: anything wider would fail in the database.
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or abs(v) > MAX_ROW_ID:
        raise ValueError("not a cursor integer")
    return v


def _cursor_float(v: Any) -> float:
    value = float(v)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _cursor_str(v: Any) -> str:
    if not isinstance(v, str) or text_problem(v) is not None:
        raise ValueError("not storable text")
    return v


def _keyset_condition(ordering: Ordering, values: list[Any], after: bool) -> Any:
    exprs = [k.expr for k in ordering.keys] + [ordering.pk]
    binds = [
        sa.bindparam(None, v, type_=getattr(e, "type", None))
        for e, v in zip(exprs, values, strict=True)
    ]
    left, right = sa.tuple_(*exprs), sa.tuple_(*binds)
    forward = after != ordering.descending
    return left > right if forward else left < right


def order_by(ordering: Ordering, reverse: bool) -> list[Any]:
    desc = ordering.descending != reverse
    exprs = [k.expr for k in ordering.keys] + [ordering.pk]
    return [e.desc() if desc else e.asc() for e in exprs]


def page_of(
    rows: Sequence[Any],
    size: int,
    backward: bool,
    ordering: Ordering,
    secret: str,
    keys: Sequence[str] | None = None,
) -> tuple[list[Any], bool, Callable[[int], str]]:
    """From the rows of a page read one over its size (sort keys labelled as
    `page_statement` labels them): the page's rows in order, whether more rows follow, and
    the cursor of the row at each position. `keys` names the columns of plain tuples (rows
    of `Database.select`); without it the rows are SQLAlchemy rows."""
    more = len(rows) > size
    page = list(rows[:size])
    if backward:
        page.reverse()
    labels = [f"_k{i}" for i in range(len(ordering.keys))]
    pk_label = ordering.pk.key
    if keys is not None and page:
        at = [keys.index(lbl) for lbl in labels] + [keys.index(pk_label)]
        values = list(map(itemgetter(*at), page))  # at least two positions: tuples
    elif keys is not None:
        values = []
    else:
        values = [(*(r._mapping[lbl] for lbl in labels), r._mapping[pk_label]) for r in page]

    def cursor_at(i: int) -> str:
        return _encode_cursor(ordering.name, values[i], secret)

    return page, more, cursor_at


def page_info(
    n: int, cursor_at: Callable[[int], str], *, has_next: bool, has_previous: bool
) -> PageInfo:
    """`PageInfo` of a page of `n` items."""
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        start_cursor=cursor_at(0) if n else None,
        end_cursor=cursor_at(n - 1) if n else None,
    )


def page_statement(
    columns: Sequence[Any], select_from: Any, ordering: Ordering, backward: bool
) -> Any:
    """`SELECT columns, sort keys FROM select_from ORDER BY …` (WHERE and LIMIT come later)."""
    labelled = (k.expr.label(f"_k{i}") for i, k in enumerate(ordering.keys))
    return (
        sa.select(*columns, *labelled)
        .select_from(select_from)
        .order_by(*order_by(ordering, backward))
    )


# --------------------------------------------------------------------------------------------
# Pages


async def paginate(
    info: Info,
    *,
    columns: Sequence[Any],
    select_from: Any,
    filters: Sequence[Any],
    ordering: Ordering,
    page: PageArgs,
    build: Callable[[Sequence[Sequence[Any]]], list[Any]],
    count_from: Any | None = None,
    base: Any | None = None,
    build_raw: Callable[[Sequence[str], Sequence[tuple[Any, ...]]], list[Any]] | None = None,
) -> Connection[Any]:
    """One keyset-paginated page: `SELECT columns FROM select_from WHERE filters AND keyset
    ORDER BY keys LIMIT n + 1`; `build` turns the rows into GraphQL objects.

    `count_from` is what `totalCount` counts over with the same filters (default: select_from).
    `base` is that statement already built (`page_statement`) without WHERE and LIMIT.
    `build_raw(keys, tuples)`, when given, builds from plain tuples read without the ORM
    (`Database.select`) instead.
    """
    size, backward = page.checked()
    secret = info.context.settings.secret_key
    cursor = page.before if backward else page.after
    where = list(filters)
    if cursor is not None:
        where.append(
            _keyset_condition(ordering, _decode_cursor(cursor, ordering, secret), not backward)
        )
    if base is None:
        base = page_statement(columns, select_from, ordering, backward)
    stmt = base.where(*where).limit(size + 1) if where else base.limit(size + 1)
    db = info.context.db
    if build_raw is not None:
        found = await db.select(stmt) if size else None
        keys = found.keys if found is not None else ()
        rows, more, cursor_at = page_of(
            found.rows if found is not None else [], size, backward, ordering, secret, keys
        )
        nodes = build_raw(keys, rows)
    else:
        if size:
            async with db.session() as session:
                rows = list((await session.execute(stmt)).all())
        else:
            rows = []
        rows, more, cursor_at = page_of(rows, size, backward, ordering, secret)
        nodes = build(rows)
    info_ = page_info(
        len(rows),
        cursor_at,
        has_next=more if not backward else page.before is not None,
        has_previous=more if backward else page.after is not None,
    )

    async def count() -> int:
        count_stmt = (
            sa.select(sa.func.count())
            .select_from(count_from if count_from is not None else select_from)
            .where(*filters)
        )
        return int((await db.select(count_stmt)).rows[0][0])

    return connection(nodes, info_, cursor_at, count)


async def select_page(
    info: Info,
    *,
    type_cls: type[RowType],
    filters: Sequence[Any],
    ordering: Ordering,
    page: PageArgs,
) -> Connection[Any]:
    """A keyset page of `type_cls` reading only the columns the query selects, with the to-one
    relations of `type_cls.__joins__` that the query selects LEFT JOINed into the same
    statement: one statement for the page and its parents."""
    _, backward = page.checked()
    selection = node_selection(info)
    # The key holds the sort expressions, so their identity hashes stay theirs.
    key: Hashable = (
        type_cls,
        frozen_selection(selection),
        ordering.keys,
        ordering.pk,
        ordering.descending,
        backward,
    )
    plan = _PAGE_PLANS.get(key)
    if plan is None:
        if len(_PAGE_PLANS) > 1024:
            _PAGE_PLANS.clear()
        plan = _PAGE_PLANS[key] = _page_plan(type_cls, selection, ordering, backward)
    base, build, select_from, model = plan
    return await paginate(
        info,
        columns=(),
        select_from=select_from,
        filters=[*filters, *visible(info.context, model)],
        ordering=ordering,
        page=page,
        build=build,
        count_from=model,
        base=base,
        build_raw=lambda _keys, rows: build(rows),
    )


# Statement and row builder of a page, per row type, selection, sort keys and direction:
# built once, reused by every request that selects the same fields.
_PAGE_PLANS: dict[
    Hashable, tuple[Any, Callable[[Sequence[Sequence[Any]]], list[Any]], Any, Any]
] = {}


def _page_plan(
    type_cls: type[RowType], selection: Selection, ordering: Ordering, backward: bool
) -> tuple[Any, Callable[[Sequence[Sequence[Any]]], list[Any]], Any, Any]:
    columns, select_from, build = joined_select(type_cls, selection)
    base = page_statement(columns, select_from, ordering, backward)
    return base, build, select_from, type_cls.__model__


def joined_select(
    type_cls: type[RowType], selection: Selection | None
) -> tuple[list[Any], Any, Callable[[Sequence[Sequence[Any]]], list[Any]]]:
    """The columns a selection of `type_cls` needs, with the to-one relations of its
    `__joins__` that the selection asks for LEFT JOINed in: (columns, FROM clause, a builder
    of objects from the rows, joined objects attached)."""
    model = type_cls.__model__
    table = table_of(model)
    names = columns_for(type_cls, selection) if selection else None
    base_cols = table_columns(model, names)
    columns: list[Any] = list(base_cols)
    select_from: Any = table
    parts: list[tuple[str, type[RowType], list[str], int, int, int]] = []
    joins: Mapping[str, tuple[Any, str]] = type_cls.__joins__
    py_to_gql = {v: k for k, v in graphql_to_python(type_cls).items()}
    for relation, (ref, fk) in joins.items():
        sub = selection.get(py_to_gql.get(relation, relation)) if selection else None
        if sub is None:
            continue
        target = row_class(ref)
        target_model = target.__model__
        # A joined row skips the by-key loader and its row rule: only reference data joins.
        assert rule_for(target_model) is None, f"{relation}: a ruled table cannot be joined"
        alias = table_of(target_model).alias(f"j_{relation}")
        target_names = columns_for(target, sub) or list(column_names(target_model))
        start = len(columns)
        columns.extend(alias.c[c].label(f"{relation}__{c}") for c in target_names)
        select_from = select_from.outerjoin(alias, alias.c[target.__pk__] == table.c[fk])
        tpk_index = target_names.index(target.__pk__)
        parts.append((relation, target, target_names, start, start + len(target_names), tpk_index))
    base_names = [c.key for c in base_cols]
    n_base = len(base_names)
    pk_index = base_names.index(type_cls.__pk__)

    def build(rows: Sequence[Sequence[Any]]) -> list[Any]:
        out = []
        seen: dict[str, dict[Any, Any]] = {part[0]: {} for part in parts}
        for row in rows:
            obj = make_row(type_cls, base_names, row[:n_base], pk_index)
            d = obj.__dict__
            for relation, target, tnames, a, b, tpk_index in parts:
                values = row[a:b]
                tpk = values[tpk_index]
                if tpk is None:
                    d["_j_" + relation] = None
                    continue
                cache = seen[relation]
                joined = cache.get(tpk)
                if joined is None:
                    joined = cache[tpk] = make_row(target, tnames, values, tpk_index)
                d["_j_" + relation] = joined
            out.append(obj)
        return out

    return columns, select_from, build


def _with_folds(
    build: Callable[[Sequence[Any]], list[Any]],
    width: int,
    attach: Callable[[Any, Sequence[Any]], None],
) -> Callable[[Sequence[Any]], list[Any]]:
    """`build` for rows whose values past `width` are fold columns, attached to the objects."""

    def build_folded(rows: Sequence[Any]) -> list[Any]:
        objects = build([row[:width] for row in rows])
        for obj, row in zip(objects, rows, strict=True):
            attach(obj, row[width:])
        return objects

    return build_folded


# Statement and row builder of one object by key, per row type, selection and dialect.
_ONE_PLANS: dict[Hashable, tuple[Any, Callable[[Sequence[Sequence[Any]]], list[Any]]]] = {}


# The statement of a plan with a reader's row rule, per (plan key, reader).
_ONE_RULED: dict[Hashable, Any] = {}


async def select_one(info: Info, type_cls: type[RowType], pk: int) -> Any:
    """The object of `type_cls` with primary key `pk` (None if there is none), reading only
    the columns the query selects, its selected to-one relations joined in: one statement."""
    selection = field_selection(info)
    dialect = info.context.db.engine.dialect
    key: Hashable = (type_cls, frozen_selection(selection), dialect.name)
    plan = _ONE_PLANS.get(key)
    if plan is None:
        if len(_ONE_PLANS) > 1024:
            _ONE_PLANS.clear()
        columns, select_from, build = joined_select(type_cls, selection)
        folds, attach = fold_columns(type_cls, selection, dialect)
        if folds:  # to-many relations aggregated into the same statement (PostgreSQL)
            build = _with_folds(build, len(columns), attach)
        pk_col = table_of(type_cls.__model__).c[type_cls.__pk__]
        stmt = (
            sa.select(*columns, *folds).select_from(select_from).where(pk_col == sa.bindparam("pk"))
        )
        plan = _ONE_PLANS[key] = (stmt, build)
    stmt, build = plan
    # The plan is shared by every caller; the row rule is the caller's own: the statement with
    # it is kept per plan and reader, so the same object is read again (compiled once).
    viewer = info.context.viewer
    ruled_key = (key, viewer)
    ruled = _ONE_RULED.get(ruled_key)
    if ruled is None:
        if len(_ONE_RULED) > 4096:
            _ONE_RULED.clear()
        rule = visible(info.context, type_cls.__model__)
        ruled = _ONE_RULED[ruled_key] = stmt.where(*rule) if rule else stmt
    found = build((await info.context.db.select(ruled, {"pk": pk})).rows)
    return found[0] if found else None
