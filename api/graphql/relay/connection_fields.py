"""One helper for every connection field: `@connection_field(Need, description=…)`.

The helper adds the page arguments (`first`, `after`, and unless `backward=False` also `last`,
`before`) to the field; the resolver takes only the field's own arguments and returns what to
page over (`RowsPage`, `ChildrenPage` or `SqlPage`); the helper checks the page arguments and
reads the page. So a root field is its filters and its ordering, nothing else:

    @connection_field(Need, description="…", permission_classes=can("need.read"))
    async def needs(self, filter: NeedFilter | None = None) -> PageQuery:
        return RowsPage(Need, ordering=NEEDS_BY_DATE, filters=need_conditions(filter))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions.field_extension import AsyncExtensionResolver, FieldExtension
from strawberry.permission import BasePermission
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField

from api.graphql.context import Info
from api.graphql.relay.connections import AFTER, BEFORE, FIRST, LAST, Connection, PageArgs
from api.graphql.relay.keyset import Ordering, paginate, select_page
from api.graphql.relay.loaders import child_connection
from api.graphql.relay.rows import RowRef, row_class


class PageQuery(Protocol):
    """What a connection field pages over."""

    async def fetch(self, info: Info, page: PageArgs) -> Connection[Any]: ...


@dataclass(frozen=True)
class RowsPage:
    """Rows of a row type matching `filters`: only the selected columns are read, and the
    to-one relations in the type's `__joins__` that are selected are joined in."""

    type_cls: RowRef
    ordering: Ordering
    filters: Sequence[Any] = ()

    async def fetch(self, info: Info, page: PageArgs) -> Connection[Any]:
        return await select_page(
            info,
            type_cls=row_class(self.type_cls),
            filters=self.filters,
            ordering=self.ordering,
            page=page,
        )


@dataclass(frozen=True)
class ChildrenPage:
    """Rows whose `fk` is `parent`, batched over the parents of the enclosing page; `name`
    tells this field (with its fixed filters) from the request's other loaders."""

    type_cls: RowRef
    fk: str
    parent: int
    ordering: Ordering
    name: str
    filters: Sequence[Any] = ()

    async def fetch(self, info: Info, page: PageArgs) -> Connection[Any]:
        return await child_connection(
            info,
            type_cls=self.type_cls,
            fk=self.fk,
            parent=self.parent,
            page=page,
            ordering=self.ordering,
            name=self.name,
            filters=self.filters,
        )


@dataclass(frozen=True)
class SqlPage:
    """Any statement: `columns` from `select_from` matching `filters`; `build` turns a page of
    rows into GraphQL objects."""

    columns: Sequence[Any]
    select_from: Any
    ordering: Ordering
    build: Callable[[Sequence[Any]], list[Any]]
    filters: Sequence[Any] = ()

    async def fetch(self, info: Info, page: PageArgs) -> Connection[Any]:
        return await paginate(
            info,
            columns=self.columns,
            select_from=self.select_from,
            filters=self.filters,
            ordering=self.ordering,
            page=page,
            build=self.build,
        )


def _argument(name: str, python_type: Any, description: str) -> StrawberryArgument:
    return StrawberryArgument(
        python_name=name,
        graphql_name=None,
        type_annotation=StrawberryAnnotation(python_type | None),
        description=description,
        default=None,
    )


class Paginated(FieldExtension):
    """Adds the page arguments to a field and pages the `PageQuery` its resolver returns."""

    def __init__(self, backward: bool = True) -> None:
        self.backward = backward

    def apply(self, field: StrawberryField) -> None:
        page_arguments = [_argument("first", int, FIRST), _argument("after", str, AFTER)]
        if self.backward:
            page_arguments += [_argument("last", int, LAST), _argument("before", str, BEFORE)]
        field.arguments = [*field.arguments, *page_arguments]

    async def resolve_async(
        self,
        next_: AsyncExtensionResolver,
        source: Any,
        info: Info,
        *,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        **kwargs: Any,
    ) -> Connection[Any]:
        query: PageQuery = await next_(source, info, **kwargs)
        return await query.fetch(info, PageArgs(first, after, last, before))


def connection_field(
    node: Any,
    *,
    description: str,
    permission_classes: Sequence[type[BasePermission]] = (),
    backward: bool = True,
) -> Callable[[Callable[..., Awaitable[PageQuery]]], Any]:
    """A `Connection[node]` field whose resolver returns a `PageQuery` (see module doc)."""

    def wrap(resolver: Callable[..., Awaitable[PageQuery]]) -> Any:
        return strawberry.field(
            resolver=resolver,
            graphql_type=Connection[node],
            description=description,
            permission_classes=list(permission_classes),
            extensions=[Paginated(backward)],
        )

    return wrap
