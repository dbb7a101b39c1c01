"""Row types: GraphQL objects built straight from SQL rows, and references to them.

A reference (`RowRef`) is a row type class or one of the lazy aliases of
`api.graphql.type_refs` (`CommunityT` …): loaders accept either, so a type module can load
another module's objects without importing it (the type modules stay free of import cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar, ForwardRef, Self, TypeAlias, get_args

import sqlalchemy as sa
from sqlmodel import SQLModel
from strawberry.types.lazy_type import LazyType, StrawberryLazyReference

from api.graphql.relay.ids import id_speller
from schema.db import table_of


def frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only mapping, for class-level tables such as `__needs__` and `__joins__`."""
    return MappingProxyType(dict(mapping))


class RowType:
    """Mixin for GraphQL types backed by one table.

    `from_row` copies a row's columns into the object's attributes (no dataclass __init__, no
    validation: the database already validated them); `id` becomes the global ID and `pk` keeps
    the primary key. Resolvers needing columns that are not GraphQL fields list them in
    `__needs__` (python field name -> columns), so `columns_for` selects them. `__joins__`
    (relation -> (row type reference, fk column)) lists the to-one relations a page may join
    into its own statement (`select_page`).
    """

    __model__: ClassVar[type[SQLModel]]
    __node_name__: ClassVar[str | None] = None  # the Node type name, None if not a Node
    __needs__: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    __joins__: ClassVar[Mapping[str, tuple[Any, str]]] = {}
    __folds__: ClassVar[Mapping[str, Any]] = {}  # relation -> relay.folds.Fold
    __pk__: ClassVar[str] = "id"

    pk: Any

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """From a SQLAlchemy Row (any subset of the table's columns) or a SQLModel instance."""
        obj = cls.__new__(cls)
        d = obj.__dict__
        if isinstance(row, SQLModel):
            d.update({c: getattr(row, c) for c in column_names(type(row))})
        elif isinstance(row, sa.Row):  # its names are shared by the result's rows: no mapping
            d.update(zip(row._fields, row, strict=True))
        else:  # anything with a `_mapping` (a RowMapping's owner …)
            d.update(row._mapping)
        pk = d.get(cls.__pk__)
        d["pk"] = pk
        if cls.__node_name__ is not None and pk is not None:
            d["id"] = _speller(cls)(pk)
        return obj

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> list[Self]:
        return [cls.from_row(r) for r in rows]


def make_row(cls: type[RowType], names: Sequence[str], values: Sequence[Any], pk_index: int) -> Any:
    """`cls.from_row` for values already in column order (a slice of a joined row); `names`
    and `values` come from the same read, so they have the same length (not checked again:
    this runs once per object of every page)."""
    obj = _new(cls)
    d = obj.__dict__
    d.update(zip(names, values))  # noqa: B905  # same length by construction (above)
    pk = values[pk_index]
    d["pk"] = pk
    if cls.__node_name__ is not None:
        d["id"] = (_SPELLERS.get(cls) or _speller(cls))(pk)
    return obj


_new = object.__new__  # row types define no __new__ of their own (`from_row` uses cls.__new__)


_SPELLERS: dict[type, Callable[[Any], str]] = {}


def _speller(cls: type[RowType]) -> Callable[[Any], str]:
    """The global ID speller of a Node row type (`id_speller`), made once per class."""
    found = _SPELLERS.get(cls)
    if found is None:
        assert cls.__node_name__ is not None
        found = _SPELLERS[cls] = id_speller(cls.__node_name__)
    return found


def make_rows(cls: type[RowType], names: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[Any]:
    """`make_row` for each of the plain tuples of a read (`Database.select`)."""
    pk_index = names.index(cls.__pk__) if rows else 0
    return [make_row(cls, names, r, pk_index) for r in rows]


# A row type, or a lazy alias of one (Annotated["Community", strawberry.lazy(module)]).
RowRef: TypeAlias = Any
_RESOLVED: dict[Hashable, type[RowType]] = {}


def row_class(ref: RowRef) -> type[RowType]:
    """The row type a reference names (resolved once, then remembered)."""
    if isinstance(ref, type):
        return ref
    found = _RESOLVED.get(ref)
    if found is None:
        found = _RESOLVED[ref] = _resolve(ref)
    return found


def _resolve(ref: Any) -> type[RowType]:
    if isinstance(ref, LazyType):
        return ref.resolve_type()
    target, *metadata = get_args(ref)
    for meta in metadata:
        if isinstance(meta, StrawberryLazyReference):
            name = target if isinstance(target, ForwardRef) else ForwardRef(str(target))
            return meta.resolve_forward_ref(name).resolve_type()
    raise TypeError(f"not a row type reference: {ref!r}")


_COLUMNS: dict[type, tuple[str, ...]] = {}


def column_names(model: type[SQLModel]) -> tuple[str, ...]:
    names = _COLUMNS.get(model)
    if names is None:
        names = _COLUMNS[model] = tuple(c.key for c in sa.inspect(model).columns)
    return names


def table_columns(model: type[SQLModel], names: Iterable[str] | None = None) -> list[Any]:
    """SQLAlchemy column objects of a model, all or the named ones (in table order)."""
    table = table_of(model)
    if names is None:
        return list(table.columns)
    wanted = set(names)
    return [c for c in table.columns if c.key in wanted]
