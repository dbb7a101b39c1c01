"""Relay cursor connections: `Connection`, `Edge`, `PageInfo`, and the page arguments.

Connections take `first`/`after` or `last`/`before`, at most `MAX_PAGE` items a page; a larger
request is an error, never a silent cut.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from api.graphql.errors import CodedError, ErrorCode

MAX_PAGE = 100
DEFAULT_PAGE = 20

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
    """A page: its items, where it sits, each item's cursor, and how to count every item."""
    conn: Connection[Any] = Connection.__new__(Connection)
    conn.__dict__.update(_nodes=nodes, page_info=page_info, _cursors=cursors, _count=count)
    return conn


# The page arguments: `connection_field` adds them to every connection; the annotations are
# for a resolver that takes them itself.
FIRST = "Return the first n items after `after` (at most 100)."
AFTER = "Cursor to start after (from `pageInfo`)."
LAST = "Return the last n items before `before` (at most 100)."
BEFORE = "Cursor to end before (from `pageInfo`)."

First = Annotated[int | None, strawberry.argument(description=FIRST)]
After = Annotated[str | None, strawberry.argument(description=AFTER)]
Last = Annotated[int | None, strawberry.argument(description=LAST)]
Before = Annotated[str | None, strawberry.argument(description=BEFORE)]


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
