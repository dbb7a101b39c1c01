"""Root fields for sentinel posts (consultations are listed with the areas)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.governance.types import SentinelPost
from api.graphql.relay import Ordering, PageQuery, RowsPage, SortKey, connection_field, decode_id
from schema import models as m


@strawberry.type
class GovernanceQuery:
    @connection_field(
        SentinelPost,
        description="Sentinel posts (民声前哨点), by name.",
        permission_classes=can("reference.read"),
    )
    async def sentinel_posts(
        self,
        community: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Only in these communities."),
        ] = None,
        active: Annotated[
            bool | None, strawberry.argument(description="Only open (or only closed) posts.")
        ] = None,
    ) -> PageQuery:
        p = m.SentinelPost
        where: list[object] = []
        if community is not None:
            where.append(col(p.community_id).in_([decode_id(i, "Community") for i in community]))
        if active is not None:
            where.append(p.is_active == active)
        return RowsPage(SentinelPost, Ordering("NAME", (SortKey(p.name, "str"),), p.id), where)
