"""The `node(id:)` and `nodes(ids:)` root fields (Relay object identification)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.relay.access import resolve_nodes
from api.graphql.relay.connections import MAX_PAGE
from api.graphql.relay.ids import Node


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
