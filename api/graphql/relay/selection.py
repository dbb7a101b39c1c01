"""Which fields a query asks for below the current field, and the columns that needs.

The tree comes from Strawberry's `info.selected_fields` (fragments expanded; the document's
size is bounded before validation, `api.graphql.cost`). Directives (@include/@skip) are
ignored: the tree is a superset, which is what column pruning needs.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable

from strawberry.types import get_object_definition
from strawberry.types.nodes import SelectedField
from strawberry.types.nodes import Selection as StrawberrySelection
from strawberry.types.private import is_private
from strawberry.utils.str_converters import to_camel_case

from api.graphql.context import Info
from api.graphql.relay.rows import RowType, column_names

# Field name (not alias) -> the selection below it.
Selection = dict[str, "Selection"]
# The same, hashable: sorted (name, below) pairs.
FrozenSelection = tuple[tuple[str, "FrozenSelection"], ...]


def field_selection(info: Info) -> Selection:
    """The selection tree below the current field, merged over its fragments and aliases.
    Read-only: it is remembered per field node (see `_remembered`)."""
    return _remembered(info, False)


def _remembered(info: Info, items: bool) -> Selection:
    """The tree of `field_selection` (or of `node_selection` when `items`), built once per
    set of field nodes: it depends on the document's nodes alone (names, not values or
    directives), and the parser cache hands out the same document, so its nodes, for the same
    text. Holding the nodes keeps their ids theirs."""
    nodes = info._raw_info.field_nodes  # graphql-core's: Strawberry's Info does not expose them
    key = (items, *map(id, nodes))
    hit = _TREES.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], nodes, strict=True)):
        return hit[1]
    if items:
        tree = _items(field_selection(info))
    else:
        tree = {}
        for field in info.selected_fields:
            _merge(tree, field.selections)
    if len(_TREES) >= _TREES_MAX:
        del _TREES[next(iter(_TREES))]  # the oldest
    _TREES[key] = (tuple(nodes), tree)
    return tree


_TREES: dict[tuple[object, ...], tuple[tuple[object, ...], Selection]] = {}
_TREES_MAX = 4096


def _merge(target: Selection, selections: Iterable[StrawberrySelection]) -> None:
    for node in selections:
        if isinstance(node, SelectedField):
            _merge(target.setdefault(node.name, {}), node.selections)
        else:  # a fragment spread or an inline fragment: its fields belong here
            _merge(target, node.selections)


def node_selection(info: Info) -> Selection:
    """For a connection field: the fields selected on its items (`nodes` and `edges.node`).
    Read-only, remembered as `field_selection` is."""
    return _remembered(info, True)


def _items(tree: Selection) -> Selection:
    merged: Selection = {}
    for part in (tree.get("nodes"), tree.get("edges", {}).get("node")):
        if part:
            _deep_merge(merged, part)
    return merged


def _deep_merge(target: Selection, other: Selection) -> None:
    for k, v in other.items():
        _deep_merge(target.setdefault(k, {}), v)


def freeze(selection: Selection) -> FrozenSelection:
    return tuple(sorted((k, freeze(v)) for k, v in selection.items()))


def frozen_selection(selection: Selection) -> FrozenSelection:
    """`freeze` of a tree `field_selection` remembered (the same object for the same field
    nodes): frozen once, then looked up by identity."""
    hit = _FROZEN.get(id(selection))
    if hit is not None and hit[0] is selection:
        return hit[1]
    if len(_FROZEN) >= _TREES_MAX:
        del _FROZEN[next(iter(_FROZEN))]  # the oldest
    found = freeze(selection)
    _FROZEN[id(selection)] = (selection, found)  # holding the tree keeps its id unique
    return found


_FROZEN: dict[int, tuple[Selection, FrozenSelection]] = {}


_GQL_TO_PY: dict[type, dict[str, str]] = {}


def graphql_to_python(type_cls: type) -> dict[str, str]:
    """GraphQL field name -> Python attribute name, for a Strawberry type."""
    mapping = _GQL_TO_PY.get(type_cls)
    if mapping is None:
        definition = get_object_definition(type_cls, strict=True)
        mapping = {
            (f.graphql_name or to_camel_case(f.python_name)): f.python_name
            for f in definition.fields
        }
        _GQL_TO_PY[type_cls] = mapping
    return mapping


_PRIVATE_COLUMNS: dict[type, frozenset[str]] = {}


def private_columns(type_cls: type[RowType]) -> frozenset[str]:
    """The table columns a type keeps as `strawberry.Private` attributes: its resolvers read
    them (a relation's key, a flag), so every selection reads them, whatever fields it names
    (a page of organisers selecting only `community` failed on a missing `community_id`)."""
    found = _PRIVATE_COLUMNS.get(type_cls)
    if found is None:
        hints = typing.get_type_hints(type_cls, include_extras=True)
        table_cols = set(column_names(type_cls.__model__))
        found = frozenset(n for n, h in hints.items() if is_private(h) and n in table_cols)
        _PRIVATE_COLUMNS[type_cls] = found
    return found


def columns_for(type_cls: type[RowType], selection: Selection | None) -> list[str] | None:
    """Column names a selection of `type_cls` needs; None means every column."""
    if selection is None:
        return None
    model = type_cls.__model__
    table_cols = set(column_names(model))
    to_py = graphql_to_python(type_cls)
    wanted = {type_cls.__pk__, *private_columns(type_cls)}
    for name in selection:
        py = to_py.get(name)
        if py is None:
            continue  # __typename
        if py in table_cols:
            wanted.add(py)
        wanted.update(type_cls.__needs__.get(py, ()))
    return [c for c in column_names(model) if c in wanted]
