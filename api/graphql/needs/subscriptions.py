"""Live needs over graphql-transport-ws: a community's board and one need's progress.

Messages come from the broadcaster (`api/broadcast.py`) after each transaction commits; each
carries ids only, and the objects are read fresh from the database before they are sent, so
a subscriber sees exactly what a query would. Authenticate in `connection_init`
(`{"authorization": "Bearer <token>"}`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from sqlmodel import col, select

from api.auth.permissions import Can
from api.auth.scope import in_scope
from api.broadcast import community_needs_channel, need_channel
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.needs.types import Need, NeedEvent
from api.graphql.relay import decode_id
from api.graphql.writes import broadcaster_of
from schema import models as m


async def _event(info: Info, event_id: int) -> NeedEvent | None:
    async with info.context.db.session() as session:
        row = (
            await session.execute(select(m.NeedEvent).where(col(m.NeedEvent.id) == event_id))
        ).scalar_one_or_none()
    return NeedEvent.from_row(row) if row is not None else None


async def _need(info: Info, need_id: int) -> Need | None:
    async with info.context.db.session() as session:
        row = (
            await session.execute(select(m.Need).where(col(m.Need.id) == need_id))
        ).scalar_one_or_none()
    return Need.from_row(row) if row is not None else None


def _fresh(info: Info) -> None:
    # A WebSocket's context lives as long as the connection: drop cached loads before each
    # message, so nested fields (a need's events, its assignments) show the latest state.
    info.context.loaders.clear()


@strawberry.type
class NeedsSubscription:
    @strawberry.subscription(
        description="A community's board: every step of every need in the community, as it "
        "happens (staff of the community, or county-level staff).",
        permission_classes=[Can("need.watch")],
    )
    async def need_events(
        self,
        info: Info,
        community_id: Annotated[
            strawberry.ID, strawberry.argument(description="The community or village.")
        ],
    ) -> AsyncGenerator[NeedEvent, None]:
        cid = decode_id(community_id, "Community")
        if not in_scope(info, cid):
            raise CodedError("outside your area", ErrorCode.FORBIDDEN)
        async with broadcaster_of(info).subscribe(community_needs_channel(cid)) as messages:
            async for message in messages:
                event = await _event(info, message["eventId"])
                if event is not None:
                    _fresh(info)
                    yield event

    @strawberry.subscription(
        description="One need as it moves through the loop (e.g. a resident following their "
        "report): the need after each step.",
        permission_classes=[Can("need.read")],
    )
    async def need_updated(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The need's ID.")],
    ) -> AsyncGenerator[Need, None]:
        need_id = decode_id(id, "Need")
        if await _need(info, need_id) is None:
            raise CodedError(f"no need with ID '{id}'", ErrorCode.NOT_FOUND)
        async with broadcaster_of(info).subscribe(need_channel(need_id)) as messages:
            async for _ in messages:
                need = await _need(info, need_id)
                if need is not None:
                    _fresh(info)
                    yield need
