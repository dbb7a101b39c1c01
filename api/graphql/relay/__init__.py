"""Relay conventions: the `Node` interface, opaque global IDs, cursor connections.

- `ids`: global IDs are base64("Type:pk"), opaque to clients; anything else is refused with
  a coded BAD_USER_INPUT error.
- `connections`, `connection_fields`: `Connection`/`Edge`/`PageInfo`, the page arguments
  (`first`/`after`, `last`/`before`, at most `MAX_PAGE` a page: a larger request is an error,
  never a silent cut) and the one helper every connection field is declared with.
- `keyset`: orderings, cursors and pages read with keyset pagination in SQL.
- `rows`, `selection`: row types built straight from SQL rows, with only the columns a query
  selects.
- `folds`: to-many relations aggregated into one object's own statement (PostgreSQL).
- `loaders`: DataLoaders in `info.context.loaders`, one set per request.
- `access`, `nodes`: which types `node(id:)` may fetch, the shared access checks, the root
  fields `node` and `nodes`.

The names below are the package's public surface: import them from `api.graphql.relay`.
"""

from api.graphql.relay.access import NODE_TYPES, may, register_node, require
from api.graphql.relay.connection_fields import (
    ChildrenPage,
    PageQuery,
    RowsPage,
    SqlPage,
    connection_field,
)
from api.graphql.relay.connections import (
    DEFAULT_PAGE,
    MAX_PAGE,
    After,
    Before,
    Connection,
    Edge,
    First,
    Last,
    PageArgs,
    PageInfo,
)
from api.graphql.relay.folds import Fold, folded, folded_key
from api.graphql.relay.ids import Node, decode_id, from_global_id, to_global_id
from api.graphql.relay.keyset import (
    OrderDirection,
    Ordering,
    SortKey,
    as_utc,
    ordering,
    paginate,
    select_one,
    select_page,
)
from api.graphql.relay.loaders import (
    Children,
    ToOne,
    child_connection,
    children_field,
    load_children,
    load_linked,
    load_one,
    loader,
    one_future,
    prime,
)
from api.graphql.relay.nodes import NodeQuery
from api.graphql.relay.rows import RowType, frozen, make_row, make_rows, row_class, table_columns

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "NODE_TYPES",
    "After",
    "Before",
    "Children",
    "ChildrenPage",
    "Connection",
    "Edge",
    "First",
    "Fold",
    "Last",
    "Node",
    "NodeQuery",
    "OrderDirection",
    "Ordering",
    "PageArgs",
    "PageInfo",
    "PageQuery",
    "RowType",
    "RowsPage",
    "SortKey",
    "SqlPage",
    "ToOne",
    "as_utc",
    "child_connection",
    "children_field",
    "connection_field",
    "decode_id",
    "folded",
    "folded_key",
    "from_global_id",
    "frozen",
    "load_children",
    "load_linked",
    "load_one",
    "loader",
    "make_row",
    "make_rows",
    "may",
    "one_future",
    "ordering",
    "paginate",
    "prime",
    "register_node",
    "require",
    "row_class",
    "select_one",
    "select_page",
    "table_columns",
    "to_global_id",
]
