"""平急转换: switch a community or village between normal and emergency mode."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.areas.types import Community
from api.graphql.context import Info
from api.graphql.enums import AreaMode
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.writes import actor_of, pk, write
from schema.models import Community as CommunityRow
from schema.services.areas import set_area_mode


@strawberry.input(description="平急转换: the mode to switch an area to.")
class SetAreaModeInput:
    community_id: strawberry.ID = strawberry.field(description="The community or village.")
    mode: AreaMode = strawberry.field(description="NORMAL (平时) or EMERGENCY (急时).")
    reason: str = strawberry.field(default="", description="Why, for the audit log.")


@strawberry.type(description="The area whose mode was switched, or why it was not.")
class SetAreaModePayload:
    community: Community | None = strawberry.field(description="The community now; null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).",
        extensions=[MaxItems(100)],
    )


@strawberry.type
class AreasMutation:
    @strawberry.mutation(
        description="平急转换: switch an area to emergency mode (commandos are mobilised and "
        "matching favours speed) or back to normal; switching to the current mode is an "
        "ILLEGAL_TRANSITION.",
        permission_classes=can("area.set_mode"),
    )
    async def set_area_mode(
        self,
        info: Info,
        input: Annotated[SetAreaModeInput, strawberry.argument(description="The switch.")],
    ) -> SetAreaModePayload:
        async def work(session: AsyncSession) -> CommunityRow:
            return await set_area_mode(
                session=session,
                community_id=pk(input.community_id, "Community", "community_id"),
                mode=input.mode,
                actor=actor_of(info),
                reason=input.reason,
            )

        row, errors = await write(info, work)
        community = Community.from_row(row) if row is not None else None
        return SetAreaModePayload(community=community, user_errors=errors)
