"""Row plumbing: tables in foreign-key order, per-table row templates (defaults, checked keys)
and the id counters that let rows reference each other without database round-trips."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic_core import PydanticUndefined

import schema.models as models
from schema.base import LabelledEnum

Row = dict[str, Any]
Tables = dict[str, list[Row]]
T = TypeVar("T")

# Foreign-key order: a table comes after every table it references.
TABLE_ORDER: tuple[str, ...] = tuple(t.name for t in models.metadata.sorted_tables)


# --------------------------------------------------------------------------- row templates


@dataclass(frozen=True)
class _Template:
    columns: frozenset[str]
    defaults: dict[str, Any]
    required: frozenset[str]
    fresh: tuple[tuple[str, type], ...]  # JSON columns that get a new list/dict per row
    enums: tuple[str, ...]  # enum columns: members are stored as their string values
    checked: set[tuple[str, ...]] = field(default_factory=set)  # key sets already validated


def _plain(value: Any) -> Any:
    """Enum members become the strings the database stores."""
    return value._value_ if isinstance(value, LabelledEnum) else value


@lru_cache(maxsize=1)
def _templates() -> dict[str, _Template]:
    classes = [getattr(models, n) for n in models.__all__ if n != "metadata"]
    by_table = {c.__tablename__: c for c in classes}
    out: dict[str, _Template] = {}
    for table in models.metadata.sorted_tables:
        cls = by_table[table.name]
        defaults: dict[str, Any] = {}
        required: set[str] = set()
        fresh: list[tuple[str, type]] = []
        for col in table.columns:
            f = cls.model_fields[col.name]
            if col.name == "id":
                required.add("id")
            elif f.default_factory in (list, dict):
                fresh.append((col.name, f.default_factory))
            elif f.default_factory is not None or f.default is PydanticUndefined:
                required.add(col.name)
            else:
                defaults[col.name] = _plain(f.default)
        enums = tuple(c.name for c in table.columns if isinstance(c.type, sa.Enum))
        out[table.name] = _Template(
            frozenset(c.name for c in table.columns),
            defaults,
            frozenset(required),
            tuple(fresh),
            enums,
        )
    return out


class _Ids:
    """Explicit primary keys, continued across county copies."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def peek(self, table: str) -> int:
        """The id the next row of `table` will get."""
        return self._last.get(table, 0) + 1

    def next(self, table: str) -> int:
        n = self._last.get(table, 0) + 1
        self._last[table] = n
        return n


def _new_tables() -> Tables:
    return {name: [] for name in TABLE_ORDER}


def _add(tables: Tables, table: str, values: dict[str, Any]) -> Row:
    """Append a complete row: defaults filled, enums as their stored strings, columns checked."""
    tpl = _templates()[table]
    keys = tuple(values)
    if keys not in tpl.checked:
        unknown = values.keys() - tpl.columns
        if unknown:
            raise KeyError(f"{table}: unknown columns {sorted(unknown)}")
        missing = tpl.required - values.keys()
        if missing:
            raise KeyError(f"{table}: missing required columns {sorted(missing)}")
        tpl.checked.add(keys)
    row = dict(tpl.defaults)
    for name, factory in tpl.fresh:
        row[name] = factory()
    row.update(values)
    for name in tpl.enums:
        v = row[name]
        if v is not None and v.__class__ is not str:
            row[name] = v._value_
    tables[table].append(row)
    return row
