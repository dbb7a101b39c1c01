"""Relay conventions: the `Node` interface, opaque global IDs, cursor connections.

- Global IDs are base64("Type:pk"), opaque to clients; `from_global_id` refuses anything else
  with a coded BAD_USER_INPUT error.
- Connections take `first`/`after` or `last`/`before`, at most `MAX_PAGE` items a page; a larger
  request is an error, never a silent cut. Pages are read with keyset pagination in SQL
  (`WHERE (sort_key, id) > (:k, :id) ORDER BY sort_key, id LIMIT n + 1`), never by loading every
  row and slicing; `totalCount` is a separate COUNT run only when it is selected.
- Row types (`RowType`) are built straight from SQL rows (`from_row`), with only the columns a
  query selects when the caller asks for that (`columns_for`).
- DataLoaders live in `info.context.loaders`, one per request (`loader(info, key, batch_fn)`).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import math
import re
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

import sqlalchemy as sa
import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from sqlmodel import SQLModel
from strawberry.dataloader import DataLoader
from strawberry.utils.str_converters import to_camel_case

from api.auth.policy import allowed
from api.graphql.context import Context, Info
from api.graphql.errors import CodedError, ErrorCode
from api.inputs import MAX_ROW_ID, excerpt, parse_row_id, text_problem

MAX_PAGE = 100
DEFAULT_PAGE = 20

# --------------------------------------------------------------------------------------------
# Global IDs


# Type names as `__node_name__` spells them; with a 10-digit key, well under 128 characters.
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
_MAX_GLOBAL_ID = 128


def to_global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode("ascii")


def from_global_id(global_id: str) -> tuple[str, int]:
    """(type name, primary key) of a global ID; a coded BAD_USER_INPUT error unless it is
    exactly what `to_global_id` makes for a key in the database's range (one spelling per
    object: no padding tricks, spaces, signs, leading zeros or non-ASCII digits)."""
    bad = CodedError(f"malformed ID '{excerpt(global_id)}'", ErrorCode.BAD_USER_INPUT)
    if not isinstance(global_id, str) or len(global_id) > _MAX_GLOBAL_ID:
        raise bad
    try:
        raw = base64.b64decode(global_id, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    type_name, _, digits = raw.partition(":")
    pk = parse_row_id(digits)
    if pk is None or not _TYPE_NAME.fullmatch(type_name):
        raise bad
    if to_global_id(type_name, pk) != global_id:  # e.g. non-zero padding bits
        raise bad
    return type_name, pk


def decode_id(global_id: str, expected: str | Iterable[str]) -> int:
    """The primary key of a global ID that must name the `expected` type (or one of them)."""
    type_name, pk = from_global_id(global_id)
    names = (expected,) if isinstance(expected, str) else tuple(expected)
    if type_name not in names:
        raise CodedError(
            f"ID '{excerpt(global_id)}' is a {excerpt(type_name)}, expected {' or '.join(names)}",
            ErrorCode.BAD_USER_INPUT,
        )
    return pk


def decode_ids(global_ids: Iterable[str] | None, expected: str) -> list[int] | None:
    return None if global_ids is None else [decode_id(g, expected) for g in global_ids]


@strawberry.interface(description="An object with a globally unique, opaque ID (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID; pass it to `node(id:)` to fetch the object again."
    )


# --------------------------------------------------------------------------------------------
# Row types: GraphQL objects built straight from SQL rows


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only mapping, for class-level tables such as `__needs__` and `__joins__`."""
    return MappingProxyType(dict(mapping))


class RowType:
    """Mixin for GraphQL types backed by one table.

    `from_row` copies a row's columns into the object's attributes (no dataclass __init__, no
    validation: the database already validated them); `id` becomes the global ID and `pk` keeps
    the primary key. Resolvers needing columns that are not GraphQL fields list them in
    `__needs__` (python field name -> columns), so `columns_for` selects them.
    """

    __model__: ClassVar[type[SQLModel]]
    __node_name__: ClassVar[str | None] = None  # the Node type name, None if not a Node
    __needs__: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    __pk__: ClassVar[str] = "id"

    pk: Any

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """From a SQLAlchemy Row (any subset of the table's columns) or a SQLModel instance."""
        obj = cls.__new__(cls)
        if isinstance(row, SQLModel):
            data = {c: getattr(row, c) for c in _column_names(type(row))}
        else:
            data = dict(row._mapping)
        d = obj.__dict__
        d.update(data)
        pk = data.get(cls.__pk__)
        d["pk"] = pk
        if cls.__node_name__ is not None and pk is not None:
            d["id"] = to_global_id(cls.__node_name__, pk)
        return obj

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> list[Self]:
        return [cls.from_row(r) for r in rows]


_COLUMNS: dict[type, tuple[str, ...]] = {}


def _column_names(model: type[SQLModel]) -> tuple[str, ...]:
    names = _COLUMNS.get(model)
    if names is None:
        names = _COLUMNS[model] = tuple(c.key for c in sa.inspect(model).columns)
    return names


def table_columns(model: type[SQLModel], names: Iterable[str] | None = None) -> list[Any]:
    """SQLAlchemy column objects of a model, all or the named ones (in table order)."""
    table = model.__table__  # type: ignore[attr-defined]
    if names is None:
        return list(table.columns)
    wanted = set(names)
    return [c for c in table.columns if c.key in wanted]


_GQL_TO_PY: dict[type, dict[str, str]] = {}


def _graphql_to_python(type_cls: type) -> dict[str, str]:
    mapping = _GQL_TO_PY.get(type_cls)
    if mapping is None:
        definition = type_cls.__strawberry_definition__  # type: ignore[attr-defined]
        mapping = {
            (f.graphql_name or to_camel_case(f.python_name)): f.python_name
            for f in definition.fields
        }
        _GQL_TO_PY[type_cls] = mapping
    return mapping


def columns_for(type_cls: type[RowType], selection: Selection | None) -> list[str] | None:
    """Column names a selection of `type_cls` needs; None means every column."""
    if selection is None:
        return None
    model = type_cls.__model__
    table_cols = set(_column_names(model))
    to_py = _graphql_to_python(type_cls)
    wanted = {type_cls.__pk__}
    for name in selection:
        py = to_py.get(name)
        if py is None:
            continue  # __typename
        if py in table_cols:
            wanted.add(py)
        wanted.update(type_cls.__needs__.get(py, ()))
    return [c for c in _column_names(model) if c in wanted]


# --------------------------------------------------------------------------------------------
# Selections: which fields a query asks for, merged over fragments

Selection = dict[str, "Selection"]
_SELECTION_CACHE: dict[int, tuple[Any, Selection]] = {}


def _merge(target: Selection, sel: SelectionSetNode | None, fragments: Mapping[str, Any]) -> None:
    if sel is None:
        return
    for node in sel.selections:
        if isinstance(node, FieldNode):
            child = target.setdefault(node.name.value, {})
            _merge(child, node.selection_set, fragments)
        elif isinstance(node, InlineFragmentNode):
            _merge(target, node.selection_set, fragments)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                _merge(target, fragment.selection_set, fragments)


def field_selection(info: Info) -> Selection:
    """The selection tree below the current field (names, not aliases), cached per document.

    Directives (@include/@skip) are ignored: the tree is a superset, which is what column
    pruning needs. Parsed documents are cached by Strawberry, so the nodes are stable.
    """
    raw = info._raw_info
    nodes = raw.field_nodes
    key = id(nodes[0])
    hit = _SELECTION_CACHE.get(key)
    if hit is not None and hit[0] is nodes[0] and len(nodes) == 1:
        return hit[1]
    tree: Selection = {}
    for node in nodes:
        _merge(tree, node.selection_set, raw.fragments)
    if len(nodes) == 1:
        if len(_SELECTION_CACHE) > 4096:
            _SELECTION_CACHE.clear()
        _SELECTION_CACHE[key] = (nodes[0], tree)  # holding the node keeps its id unique
    return tree


def node_selection(info: Info) -> Selection:
    """For a connection field: the fields selected on its items (`nodes` and `edges.node`)."""
    tree = field_selection(info)
    merged: Selection = {}
    for part in (tree.get("nodes"), tree.get("edges", {}).get("node")):
        if part:
            _deep_merge(merged, part)
    return merged


def _deep_merge(target: Selection, other: Selection) -> None:
    for k, v in other.items():
        _deep_merge(target.setdefault(k, {}), v)


# --------------------------------------------------------------------------------------------
# Connections

NodeT = TypeVar("NodeT")


@strawberry.type(description="Where a page sits in its connection (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the page's first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the page's last item.")


@strawberry.type(description="One item of a page, with the cursor to page from it.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Opaque cursor of this item.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="A page of items (Relay cursor connection), at most 100 a page.")
class Connection(Generic[NodeT]):
    page_info: PageInfo = strawberry.field(description="Pagination state of this page.")
    _nodes: strawberry.Private[list[Any]]
    _cursors: strawberry.Private[Callable[[int], str]]
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The page's items, each with its cursor.")
    def edges(self) -> list[Edge[NodeT]]:
        cursor = self._cursors
        return [Edge(cursor=cursor(i), node=n) for i, n in enumerate(self._nodes)]

    @strawberry.field(description="The page's items (shortcut for `edges { node }`).")
    def nodes(self) -> list[NodeT]:
        return self._nodes

    @strawberry.field(description="How many items match, over all pages.")
    async def total_count(self) -> int:
        return await self._count()


def connection(
    nodes: list[Any],
    page_info: PageInfo,
    cursors: Callable[[int], str],
    count: Callable[[], Awaitable[int]],
) -> Connection[Any]:
    conn: Connection[Any] = Connection.__new__(Connection)
    conn.__dict__.update(_nodes=nodes, page_info=page_info, _cursors=cursors, _count=count)
    return conn


def list_connection(nodes: list[Any], cursor_of: Callable[[Any], str]) -> Connection[Any]:
    """A single, complete page (for short lists shown as connections)."""
    info = PageInfo(
        has_next_page=False,
        has_previous_page=False,
        start_cursor=cursor_of(nodes[0]) if nodes else None,
        end_cursor=cursor_of(nodes[-1]) if nodes else None,
    )

    async def count() -> int:
        return len(nodes)

    return connection(nodes, info, lambda i: cursor_of(nodes[i]), count)


First = Annotated[
    int | None,
    strawberry.argument(description="Return the first n items after `after` (at most 100)."),
]
After = Annotated[
    str | None, strawberry.argument(description="Cursor to start after (from `pageInfo`).")
]
Last = Annotated[
    int | None,
    strawberry.argument(description="Return the last n items before `before` (at most 100)."),
]
Before = Annotated[
    str | None, strawberry.argument(description="Cursor to end before (from `pageInfo`).")
]


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def checked(self) -> tuple[int, bool]:
        """(page size, backward?) or a coded BAD_USER_INPUT error."""
        if self.first is not None and self.last is not None:
            raise CodedError("pass either `first` or `last`, not both", ErrorCode.BAD_USER_INPUT)
        backward = self.last is not None or (self.before is not None and self.first is None)
        if backward and self.after is not None:
            raise CodedError("`after` goes with `first`, not `last`", ErrorCode.BAD_USER_INPUT)
        if not backward and self.before is not None:
            raise CodedError("`before` goes with `last`, not `first`", ErrorCode.BAD_USER_INPUT)
        size = self.last if backward else self.first
        if size is None:
            size = DEFAULT_PAGE
        if size < 0:
            raise CodedError("page size must not be negative", ErrorCode.BAD_USER_INPUT)
        if size > MAX_PAGE:
            arg = "last" if backward else "first"
            raise CodedError(
                f"`{arg}: {size}` exceeds the maximum page size of {MAX_PAGE}",
                ErrorCode.BAD_USER_INPUT,
            )
        return size, backward


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


def _encode_cursor(ordering: str, values: Sequence[Any]) -> str:
    out: list[Any] = [ordering]
    for v in values:
        out.append(v.isoformat() if isinstance(v, datetime) else v)
    raw = json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_cursor(cursor: str, ordering: Ordering) -> list[Any]:
    bad = CodedError(
        f"invalid cursor '{excerpt(cursor)}' for this ordering", ErrorCode.BAD_USER_INPUT
    )
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
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


def _order_by(ordering: Ordering, reverse: bool) -> list[Any]:
    desc = ordering.descending != reverse
    exprs = [k.expr for k in ordering.keys] + [ordering.pk]
    return [e.desc() if desc else e.asc() for e in exprs]


async def paginate(
    info: Info,
    *,
    columns: Sequence[Any],
    select_from: Any,
    filters: Sequence[Any],
    ordering: Ordering,
    page: PageArgs,
    build: Callable[[Sequence[sa.Row[Any]]], list[Any]],
    count_from: Any | None = None,
    base: Any | None = None,
) -> Connection[Any]:
    """One keyset-paginated page: `SELECT columns FROM select_from WHERE filters AND keyset
    ORDER BY keys LIMIT n + 1`; `build` turns the rows into GraphQL objects.

    `count_from` is what `totalCount` counts over with the same filters (default: select_from).
    `base` is that statement already built (`page_statement`) without WHERE and LIMIT.
    """
    size, backward = page.checked()
    cursor = page.before if backward else page.after
    where = list(filters)
    if cursor is not None:
        where.append(_keyset_condition(ordering, _decode_cursor(cursor, ordering), not backward))
    key_labels = [f"_k{i}" for i in range(len(ordering.keys))]
    if base is None:
        base = page_statement(columns, select_from, ordering, backward)
    stmt = base.where(*where).limit(size + 1) if where else base.limit(size + 1)
    db = info.context.db
    if size:
        async with db.session() as session:
            rows = list((await session.execute(stmt)).all())
    else:
        rows = []
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
    pk_label = ordering.pk.key
    keys = [(*(r._mapping[lbl] for lbl in key_labels), r._mapping[pk_label]) for r in rows]
    nodes = build(rows)

    def cursor_at(i: int) -> str:
        return _encode_cursor(ordering.name, keys[i])

    page_info = PageInfo(
        has_next_page=more if not backward else page.before is not None,
        has_previous_page=more if backward else page.after is not None,
        start_cursor=cursor_at(0) if keys else None,
        end_cursor=cursor_at(len(keys) - 1) if keys else None,
    )

    async def count() -> int:
        count_stmt = (
            sa.select(sa.func.count())
            .select_from(count_from if count_from is not None else select_from)
            .where(*filters)
        )
        async with db.session() as session:
            return int((await session.execute(count_stmt)).scalar_one())

    return connection(nodes, page_info, cursor_at, count)


def page_statement(
    columns: Sequence[Any], select_from: Any, ordering: Ordering, backward: bool
) -> Any:
    """`SELECT columns, sort keys FROM select_from ORDER BY …` (WHERE and LIMIT come later)."""
    labelled = (k.expr.label(f"_k{i}") for i, k in enumerate(ordering.keys))
    return (
        sa.select(*columns, *labelled)
        .select_from(select_from)
        .order_by(*_order_by(ordering, backward))
    )


# --------------------------------------------------------------------------------------------
# DataLoaders, per request

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def loader(
    info: Info,
    key: str,
    batch_fn: Callable[[Context, list[Any]], Awaitable[Sequence[Any]]],
) -> DataLoader[Any, Any]:
    """The request's DataLoader named `key`, created on first use around `batch_fn(ctx, keys)`."""
    return context_loader(info.context, key, batch_fn)


def context_loader(
    ctx: Context,
    key: str,
    batch_fn: Callable[[Context, list[Any]], Awaitable[Sequence[Any]]],
) -> DataLoader[Any, Any]:
    """`loader` for code that has the request context but no `info`."""
    loaders = ctx.loaders
    found = loaders.get(key)
    if found is None:

        async def load(keys: list[Any]) -> Sequence[Any]:
            return await batch_fn(ctx, keys)

        found = loaders[key] = DataLoader(load)
    return found


def by_pk_batch(
    type_cls: type[RowType],
) -> Callable[[Context, list[int]], Awaitable[list[Any]]]:
    """Batch function: objects of `type_cls` by primary key (None where missing)."""
    model = type_cls.__model__
    pk = getattr(model, type_cls.__pk__)

    async def batch(ctx: Context, keys: list[int]) -> list[Any]:
        async with ctx.db.session() as session:
            rows = (
                await session.execute(sa.select(*table_columns(model)).where(pk.in_(keys)))
            ).all()
        found = {r._mapping[type_cls.__pk__]: type_cls.from_row(r) for r in rows}
        return [found.get(k) for k in keys]

    return batch


def by_fk_batch(
    type_cls: type[RowType],
    fk: str,
    *,
    order_by: Sequence[Any] = (),
    where: Sequence[Any] = (),
) -> Callable[[Context, list[int]], Awaitable[list[list[Any]]]]:
    """Batch function: lists of `type_cls` whose column `fk` is each key."""
    model = type_cls.__model__
    fk_col = getattr(model, fk)
    order = list(order_by) or [getattr(model, type_cls.__pk__)]

    async def batch(ctx: Context, keys: list[int]) -> list[list[Any]]:
        stmt = sa.select(*table_columns(model)).where(fk_col.in_(keys), *where).order_by(*order)
        async with ctx.db.session() as session:
            rows = (await session.execute(stmt)).all()
        grouped: dict[int, list[Any]] = {k: [] for k in keys}
        for r in rows:
            grouped[r._mapping[fk]].append(type_cls.from_row(r))
        return [grouped[k] for k in keys]

    return batch


def one_future(info: Info, type_cls: type[RowType], pk: int) -> Awaitable[Any]:
    """The DataLoader future of the `type_cls` object with primary key `pk` (batched per request).

    Queue several before awaiting any, so that they share one query."""
    dl = info.context.loaders.get(f"pk:{type_cls.__name__}")
    if dl is None:
        dl = loader(info, f"pk:{type_cls.__name__}", _pk_batches(type_cls))
    return dl.load(pk)


async def load_one(info: Info, type_cls: type[RowType], pk: int | None) -> Any:
    """The object of `type_cls` with primary key `pk`, batched per request (None if pk is None)."""
    if pk is None:
        return None
    return await one_future(info, type_cls, pk)


_PK_BATCHES: dict[type, Callable[[Context, list[int]], Awaitable[list[Any]]]] = {}


def _pk_batches(type_cls: type[RowType]) -> Callable[[Context, list[int]], Awaitable[list[Any]]]:
    fn = _PK_BATCHES.get(type_cls)
    if fn is None:
        fn = _PK_BATCHES[type_cls] = by_pk_batch(type_cls)
    return fn


async def load_children(
    info: Info,
    type_cls: type[RowType],
    fk: str,
    key: int,
    *,
    order_by: Sequence[Any] = (),
    where: Sequence[Any] = (),
    name: str | None = None,
) -> list[Any]:
    """Objects of `type_cls` whose `fk` equals `key`, batched per request under `name`
    (an awaitable list)."""
    loader_name = name or f"fk:{type_cls.__name__}.{fk}"
    found = info.context.loaders.get(loader_name)
    if found is None:
        found = loader(info, loader_name, by_fk_batch(type_cls, fk, order_by=order_by, where=where))
    return await found.load(key)


def prime(info: Info, type_cls: type[RowType], objects: Iterable[Any]) -> None:
    """Seed the request's by-pk loader with objects already read (saves a round-trip later)."""
    dl = loader(info, f"pk:{type_cls.__name__}", _pk_batches(type_cls))
    for obj in objects:
        dl.prime(obj.pk, obj)


# --------------------------------------------------------------------------------------------
# Node registry and access checks


@dataclass(frozen=True)
class NodeSpec:
    type_cls: type[RowType]
    operation: str | None  # policy operation required to read it; None: public


NODE_TYPES: dict[str, NodeSpec] = {}


def register_node(type_cls: type[RowType], operation: str | None = None) -> None:
    """Make `type_cls` fetchable by `node(id:)`; `operation` guards reads (None: public)."""
    name = type_cls.__node_name__
    assert name is not None, f"{type_cls.__name__} is not a Node"
    NODE_TYPES[name] = NodeSpec(type_cls, operation)


def require(info: Info, operation: str) -> None:
    """Raise a coded UNAUTHENTICATED/FORBIDDEN error unless the caller may perform `operation`."""
    account = info.context.account
    role = account.role if account is not None else None
    if allowed(operation, role):
        return
    if account is None:
        raise CodedError("authentication required", ErrorCode.UNAUTHENTICATED)
    raise CodedError(f"not allowed: {operation}", ErrorCode.FORBIDDEN)


def may(info: Info, operation: str) -> bool:
    account = info.context.account
    return allowed(operation, account.role if account is not None else None)


async def resolve_nodes(info: Info, global_ids: Sequence[str]) -> list[Any]:
    """Objects for global IDs, in order (None for unknown); checks each type's operation."""
    parsed = [from_global_id(g) for g in global_ids]
    for type_name, _ in parsed:
        spec = NODE_TYPES.get(type_name)
        if spec is not None and spec.operation is not None:
            require(info, spec.operation)
    pending = [
        one_future(info, NODE_TYPES[t].type_cls, pk) if t in NODE_TYPES else None
        for t, pk in parsed
    ]  # every load is queued before the first await, so each type costs one query
    return [None if p is None else await p for p in pending]


__all__ = [
    "MAX_PAGE",
    "After",
    "Before",
    "Connection",
    "Edge",
    "First",
    "Last",
    "Node",
    "NodeSpec",
    "Ordering",
    "PageArgs",
    "PageInfo",
    "RowType",
    "Selection",
    "SortKey",
    "columns_for",
    "connection",
    "decode_id",
    "from_global_id",
    "load_children",
    "load_one",
    "loader",
    "node_selection",
    "one_future",
    "paginate",
    "prime",
    "register_node",
    "require",
    "resolve_nodes",
    "table_columns",
    "to_global_id",
]


# --------------------------------------------------------------------------------------------
# Connections nested under a parent (a community's members, a job's proposals …)


def child_connection(
    info: Info,
    *,
    type_cls: type[RowType],
    fk: str,
    parent: int,
    page: PageArgs,
    ordering: Ordering,
    name: str,
    filters: Sequence[Any] = (),
) -> Awaitable[Connection[Any]]:
    """A page of `type_cls` rows whose `fk` is `parent`, batched over the parents of a page.

    Without a cursor, one statement serves every parent of the request (ROW_NUMBER() OVER
    (PARTITION BY fk ...) <= n + 1); with a cursor it is an ordinary keyset page of one parent.
    `name` identifies the field (and its fixed filters) among the request's loaders.
    """
    model = type_cls.__model__
    fk_col = getattr(model, fk)
    size, backward = page.checked()
    if page.after is not None or page.before is not None:
        return paginate(
            info,
            columns=table_columns(model),
            select_from=model,
            filters=[*filters, fk_col == parent],
            ordering=ordering,
            page=page,
            build=type_cls.from_rows,
        )
    counts = loader(info, f"{name}:count", _count_batch(model, fk_col, filters))
    pages = loader(
        info,
        f"{name}:{size}:{backward}",
        _window_batch(type_cls, fk, ordering, filters, size, backward),
    )

    async def build() -> Connection[Any]:
        rows = await pages.load(parent)
        more = len(rows) > size
        rows = rows[:size]
        if backward:
            rows.reverse()
        key_labels = [f"_k{i}" for i in range(len(ordering.keys))]
        pk_label = ordering.pk.key
        keys = [(*(r._mapping[lbl] for lbl in key_labels), r._mapping[pk_label]) for r in rows]

        def cursor_at(i: int) -> str:
            return _encode_cursor(ordering.name, keys[i])

        info_ = PageInfo(
            has_next_page=more and not backward,
            has_previous_page=more and backward,
            start_cursor=cursor_at(0) if keys else None,
            end_cursor=cursor_at(len(keys) - 1) if keys else None,
        )

        async def count() -> int:
            return await counts.load(parent)

        return connection(type_cls.from_rows(rows), info_, cursor_at, count)

    return build()


def _count_batch(
    model: Any, fk_col: Any, filters: Sequence[Any]
) -> Callable[[Context, list[int]], Awaitable[list[int]]]:
    async def batch(ctx: Context, keys: list[int]) -> list[int]:
        stmt = (
            sa.select(fk_col, sa.func.count())
            .select_from(model)
            .where(fk_col.in_(keys), *filters)
            .group_by(fk_col)
        )
        async with ctx.db.session() as session:
            found = {r[0]: r[1] for r in (await session.execute(stmt)).all()}
        return [int(found.get(k, 0)) for k in keys]

    return batch


def _window_batch(
    type_cls: type[RowType],
    fk: str,
    ordering: Ordering,
    filters: Sequence[Any],
    size: int,
    backward: bool,
) -> Callable[[Context, list[int]], Awaitable[list[list[sa.Row[Any]]]]]:
    model = type_cls.__model__
    fk_col = getattr(model, fk)

    async def batch(ctx: Context, keys: list[int]) -> list[list[sa.Row[Any]]]:
        if size == 0:
            return [[] for _ in keys]
        rn = sa.func.row_number().over(partition_by=fk_col, order_by=_order_by(ordering, backward))
        inner = (
            sa.select(
                *table_columns(model),
                *(k.expr.label(f"_k{i}") for i, k in enumerate(ordering.keys)),
                rn.label("_rn"),
            )
            .where(fk_col.in_(keys), *filters)
            .subquery()
        )
        stmt = sa.select(inner).where(inner.c._rn <= size + 1).order_by(inner.c[fk], inner.c._rn)
        async with ctx.db.session() as session:
            rows = (await session.execute(stmt)).all()
        grouped: dict[int, list[sa.Row[Any]]] = {k: [] for k in keys}
        for r in rows:
            grouped[r._mapping[fk]].append(r)
        return [grouped[k] for k in keys]

    return batch


def _link_batch(
    type_cls: type[RowType], link_model: Any, parent: str, target: str, order_by: Sequence[Any]
) -> Callable[[Context, list[int]], Awaitable[list[list[Any]]]]:
    model = type_cls.__model__
    parent_col, target_col = getattr(link_model, parent), getattr(link_model, target)
    pk = getattr(model, type_cls.__pk__)

    async def batch(ctx: Context, keys: list[int]) -> list[list[Any]]:
        stmt = (
            sa.select(*table_columns(model), parent_col.label("_parent"))
            .join(link_model, target_col == pk)
            .where(parent_col.in_(keys))
            .order_by(*(list(order_by) or [pk]))
        )
        async with ctx.db.session() as session:
            rows = (await session.execute(stmt)).all()
        grouped: dict[int, list[Any]] = {k: [] for k in keys}
        for r in rows:
            grouped[r._mapping["_parent"]].append(type_cls.from_row(r))
        return [grouped[k] for k in keys]

    return batch


async def load_linked(
    info: Info,
    type_cls: type[RowType],
    link_model: Any,
    *,
    parent: str,
    target: str,
    key: int,
    order_by: Sequence[Any] = (),
) -> list[Any]:
    """Objects of `type_cls` linked to `key` through a link table (`link.parent = key AND
    link.target = type_cls.pk`), batched per request."""
    name = f"link:{type_cls.__name__}:{link_model.__name__}.{parent}"
    found = info.context.loaders.get(name)
    if found is None:
        found = loader(info, name, _link_batch(type_cls, link_model, parent, target, order_by))
    return await found.load(key)


# --------------------------------------------------------------------------------------------
# Pages of a row type: only the selected columns, to-one relations joined into the same query


def to_one(obj: Any, relation: str, info: Info, type_cls: type[RowType], fk: int | None) -> Any:
    """A to-one relation: the object joined into the page's query if there was one (no extra
    statement), else the batched by-pk loader's future. Resolvers return this directly."""
    joined = obj.__dict__.get("_j_" + relation, _MISSING)
    if joined is not _MISSING:
        return joined
    if fk is None:
        return None
    return one_future(info, type_cls, fk)


# The request's context, for relation attributes read without `info` (see `ToOne`). Set when
# an operation starts executing (api.graphql.executor.FastExecutor); tasks the execution
# spawns copy it, and each request runs in its own task.
_REQUEST_CONTEXT: ContextVar[Context | None] = ContextVar("luling_request_context", default=None)


def set_request_context(ctx: Context | None) -> None:
    _REQUEST_CONTEXT.set(ctx)


class ToOne:
    """A to-one relation read as a plain attribute (so GraphQL resolves it as a plain field).

    Declared on a mixin base of a row type, e.g. `community = ToOne(lambda: Community,
    "community_id")`, with the GraphQL field declared without a resolver on the type itself.
    Reading it returns the object joined into the page's query when there was one (no extra
    statement), None when the key is None, else the request's batched by-pk loader future.
    """

    def __init__(self, target: Callable[[], type[RowType]], fk: str) -> None:
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
        ctx = _REQUEST_CONTEXT.get()
        if ctx is None:
            raise RuntimeError("relation read outside a GraphQL request")
        type_cls = self.target()
        name = f"pk:{type_cls.__name__}"
        dl = ctx.loaders.get(name) or context_loader(ctx, name, _pk_batches(type_cls))
        return dl.load(fk)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value


_MISSING = object()


def _make(cls: type[RowType], names: Sequence[str], values: Sequence[Any], pk_index: int) -> Any:
    obj = cls.__new__(cls)
    d = obj.__dict__
    d.update(zip(names, values, strict=True))
    pk = values[pk_index]
    d["pk"] = pk
    if cls.__node_name__ is not None:
        d["id"] = to_global_id(cls.__node_name__, pk)
    return obj


async def select_page(
    info: Info,
    *,
    type_cls: type[RowType],
    filters: Sequence[Any],
    ordering: Ordering,
    page: PageArgs,
) -> Connection[Any]:
    """A keyset page of `type_cls` reading only the columns the query selects, with the to-one
    relations listed in `type_cls.__joins__` (relation -> (type, fk column)) that the query
    selects LEFT JOINed into the same statement: one statement for the page and its parents."""
    tree = field_selection(info)
    _, backward = page.checked()
    plan_key = (type_cls, id(tree), ordering.name, *(id(k.expr) for k in ordering.keys), backward)
    hit = _PAGE_PLANS.get(plan_key)
    if hit is not None and hit[0] is tree:
        base, build, select_from, model = hit[1]
    else:
        base, build, select_from, model = _page_plan(
            type_cls, node_selection(info), ordering, backward
        )
        if len(_PAGE_PLANS) > 1024:
            _PAGE_PLANS.clear()
        _PAGE_PLANS[plan_key] = (tree, (base, build, select_from, model))
    return await paginate(
        info,
        columns=(),
        select_from=select_from,
        filters=filters,
        ordering=ordering,
        page=page,
        build=build,
        count_from=model,
        base=base,
    )


# Statement and row builder of a page, per row type, selection (its document's parsed field),
# ordering and direction: built once, reused by every request with the same query text.
_PAGE_PLANS: dict[tuple[Any, ...], tuple[Any, tuple[Any, Any, Any, Any]]] = {}


def _page_plan(
    type_cls: type[RowType], selection: Selection, ordering: Ordering, backward: bool
) -> tuple[Any, Callable[[Sequence[sa.Row[Any]]], list[Any]], Any, Any]:
    model = type_cls.__model__
    table = model.__table__  # type: ignore[attr-defined]
    names = columns_for(type_cls, selection) if selection else None
    base_cols = table_columns(model, names)
    columns: list[Any] = list(base_cols)
    select_from: Any = table
    parts: list[tuple[str, type[RowType], list[str], int, int, int]] = []
    joins: Mapping[str, tuple[type[RowType], str]] = getattr(type_cls, "__joins__", {})
    py_to_gql = {v: k for k, v in _graphql_to_python(type_cls).items()}
    for relation, (target, fk) in joins.items():
        sub = selection.get(py_to_gql.get(relation, relation)) if selection else None
        if sub is None:
            continue
        target_model = target.__model__
        alias = target_model.__table__.alias(f"j_{relation}")  # type: ignore[attr-defined]
        target_names = columns_for(target, sub) or list(_column_names(target_model))
        start = len(columns)
        columns.extend(alias.c[c].label(f"{relation}__{c}") for c in target_names)
        select_from = select_from.outerjoin(alias, alias.c[target.__pk__] == table.c[fk])
        tpk_index = target_names.index(target.__pk__)
        parts.append((relation, target, target_names, start, start + len(target_names), tpk_index))
    base_names = [c.key for c in base_cols]
    n_base = len(base_names)
    pk_index = base_names.index(type_cls.__pk__)

    def build(rows: Sequence[sa.Row[Any]]) -> list[Any]:
        out = []
        seen: dict[str, dict[Any, Any]] = {part[0]: {} for part in parts}
        for row in rows:
            obj = _make(type_cls, base_names, row[:n_base], pk_index)
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
                    joined = cache[tpk] = _make(target, tnames, values, tpk_index)
                d["_j_" + relation] = joined
            out.append(obj)
        return out

    base = page_statement(columns, select_from, ordering, backward)
    return base, build, select_from, model


# --------------------------------------------------------------------------------------------
# Root fields


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object by its global ID (null if there is none); types that need a "
        "role (needs, people, enterprise requests, matching) check it."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")],
    ) -> Node | None:
        return (await resolve_nodes(info, [id]))[0]

    @strawberry.field(description="Objects by global IDs, in order (null where there is none).")
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Global IDs, at most 100.")
        ],
    ) -> list[Node | None]:
        if len(ids) > MAX_PAGE:
            raise CodedError(f"at most {MAX_PAGE} IDs at once", ErrorCode.BAD_USER_INPUT)
        return await resolve_nodes(info, ids)


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
    """A datetime argument in aware UTC (a time without an offset is read as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
