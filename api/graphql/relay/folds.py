"""To-many relations folded into one object's own statement (PostgreSQL).

`need(id:) { events { … } }` used to cost two statements: the need, then its events through
a DataLoader. A row type may declare such relations in `__folds__` (relation -> `Fold`); when
`select_one` reads an object whose selection names one of the fold's fields, on PostgreSQL the
children come in the same statement as a correlated subquery aggregated to JSON
(`json_agg(json_build_array(…) ORDER BY …)`, only the columns the selection needs), decoded by
the driver's JSON loader (orjson) and turned into row objects with the values the driver path
gives (`json_reader`: enums, UTC times, floats). The object keeps them under `folded_key(name)`;
the field's resolver (and the fast executor, `FOLDED_ATTRIBUTE`) answer from them instead of
loading. SQLite keeps the loader's second statement.

The children of a fold are reached through their parent only, so they carry no row rule of
their own beyond "of a parent the caller sees" (the parent's rule is in the statement's WHERE):
exactly what the loader path read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel.sql.sqltypes import AutoString

from api.database import result_processor
from api.graphql.relay.rows import RowRef, RowType, make_row, row_class
from api.graphql.relay.selection import Selection, columns_for, graphql_to_python
from schema.base import UTCDateTime

# On a field's resolver: the object attribute (`folded_key`) holding its folded children.
FOLDED_ATTRIBUTE = "__luling_folded__"


@dataclass(frozen=True)
class Fold:
    """The rows of `target` whose column `fk` is the parent's key, in `order_by` order (column
    names of `target`), serving the parent's fields `fields` (Python names)."""

    target: RowRef
    fk: str
    order_by: tuple[str, ...]
    fields: tuple[str, ...]


def folded_key(relation: str) -> str:
    return "_f_" + relation


def folded(relation: str) -> Callable[[Any], Any]:
    """Mark a resolver as answering from the fold `relation` when its object carries it (the
    fast executor then completes the field without calling it, when it has no arguments)."""

    def mark(resolver: Any) -> Any:
        setattr(resolver, FOLDED_ATTRIBUTE, folded_key(relation))
        return resolver

    return mark


def json_reader(column: Any, dialect: sa.Dialect) -> Callable[[Any], Any]:
    """What turns a column's value as PostgreSQL writes it in JSON into the value the driver
    path (`Database.select`) gives for the column itself. Types without a rule here are refused
    when the fold is planned, never guessed."""
    column_type = column.type
    if isinstance(column_type, UTCDateTime):
        # `timestamp` (naive UTC) is written as ISO 8601 without an offset.
        return _utc_time
    if isinstance(column_type, sa.Enum):
        return result_processor(column_type, dialect, None) or _same
    if isinstance(column_type, sa.Float):
        return _float
    if isinstance(column_type, (sa.Integer, sa.String, sa.Boolean, sa.JSON, AutoString)):
        return _same
    raise TypeError(f"{column}: no JSON reading rule for {column_type!r}")


def _same(value: Any) -> Any:
    return value


def _float(value: Any) -> Any:
    return None if value is None else float(value)  # 27.0 is written 27


def _utc_time(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def fold_columns(
    type_cls: type[RowType], selection: Selection, dialect: sa.Dialect
) -> tuple[list[Any], Callable[[Any, Sequence[Any]], None]]:
    """The extra columns of `type_cls`'s folds its selection asks for (PostgreSQL; none
    elsewhere), and what attaches their children to an object built from a row whose last
    values are those columns (`attach(obj, tail)`)."""
    folds: Mapping[str, Fold] = getattr(type_cls, "__folds__", {})
    if not folds or dialect.name != "postgresql":
        return [], _attach_none
    table = type_cls.__model__.__table__  # type: ignore[attr-defined]  # SQLModel tables have __table__
    to_gql = {v: k for k, v in graphql_to_python(type_cls).items()}
    columns: list[Any] = []
    attachers: list[Callable[[Any, Any], None]] = []
    for relation, fold in folds.items():
        wanted = [selection[to_gql[f]] for f in fold.fields if to_gql.get(f) in selection]
        if not wanted:
            continue
        target = row_class(fold.target)
        model = target.__model__
        names: set[str] = set()
        for sub in wanted:
            names.update(columns_for(target, sub) or ())
        child_table = model.__table__  # type: ignore[attr-defined]  # SQLModel tables have __table__
        cols = [c for c in child_table.columns if c.key in names]
        readers = [json_reader(c, dialect) for c in cols]
        order = [child_table.c[n] for n in fold.order_by]
        aggregated = sa.func.json_agg(aggregate_order_by(sa.func.json_build_array(*cols), *order))
        columns.append(
            sa.select(sa.func.coalesce(aggregated, sa.text("'[]'::json")))
            .where(child_table.c[fold.fk] == table.c[type_cls.__pk__])
            .scalar_subquery()
            .label(f"_fold_{relation}")
        )
        attachers.append(_attacher(folded_key(relation), target, [c.key for c in cols], readers))

    if not attachers:
        return [], _attach_none

    def attach(obj: Any, tail: Sequence[Any]) -> None:
        for attach_one, value in zip(attachers, tail, strict=True):
            attach_one(obj, value)

    return columns, attach


def _attach_none(obj: Any, tail: Sequence[Any]) -> None:
    return None


def _attacher(
    key: str, target: type[RowType], names: list[str], readers: list[Callable[[Any], Any]]
) -> Callable[[Any, Any], None]:
    pk_index = names.index(target.__pk__)
    converted = [i for i, r in enumerate(readers) if r is not _same]

    def attach(obj: Any, value: Any) -> None:
        children = []
        for raw in value or ():
            if converted:
                for i in converted:
                    raw[i] = readers[i](raw[i])
            children.append(make_row(target, names, raw, pk_index))
        obj.__dict__[key] = children

    return attach
