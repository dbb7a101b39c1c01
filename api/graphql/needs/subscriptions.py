"""Live needs over graphql-transport-ws: a community's board and one need's progress.

Messages come from the broadcaster (`api/broadcast.py`) after each transaction commits; each
carries ids only, and the objects are read fresh from the database before they are sent, so
a subscriber sees exactly what a query would. The read is shared by every subscriber of this
process (`api.ws.shared`): one per event (a board's event comes with its need), whatever the
number of subscribers; each builds its own objects, masked for its own caller. Authenticate in
`connection_init` (`{"authorization": "Bearer <token>"}`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from functools import partial
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.auth.privacy import share_dispatched
from api.auth.scope import in_scope
from api.broadcast import community_needs_channel, need_channel
from api.database import Database
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.needs.types import Need, NeedEvent
from api.graphql.relay import decode_id, load_one, prime, table_columns
from api.graphql.relay.visible import visible_row
from api.graphql.writes import broadcaster_of
from api.ws.shared import Columns, shared_reads_of
from schema import models as m

_EVENT_COLUMNS = table_columns(m.NeedEvent)
_NEED_COLUMNS = table_columns(m.Need)
_EVENT_WITH_NEED = sa.select(*_EVENT_COLUMNS, *_NEED_COLUMNS).join_from(
    m.NeedEvent, m.Need, col(m.NeedEvent.need_id) == col(m.Need.id)
)

Row = dict[str, Any]


async def _read_event_with_need(db: Database, event_id: int) -> tuple[Row, Row] | None:
    """An event and its need, as column values, in one statement."""
    stmt = _EVENT_WITH_NEED.where(col(m.NeedEvent.id) == event_id)
    async with db.session() as session:
        row = (await session.execute(stmt)).first()
    if row is None:
        return None
    values, n = tuple(row), len(_EVENT_COLUMNS)
    event = {c.key: v for c, v in zip(_EVENT_COLUMNS, values[:n], strict=True)}
    need = {c.key: v for c, v in zip(_NEED_COLUMNS, values[n:], strict=True)}
    return event, need


async def _read_need(db: Database, need_id: int) -> Row | None:
    async with db.session() as session:
        row = (
            await session.execute(sa.select(*_NEED_COLUMNS).where(col(m.Need.id) == need_id))
        ).first()
    return dict(row._mapping) if row is not None else None


def _fresh(info: Info) -> None:
    # A WebSocket's context lives as long as the connection: drop cached loads before each
    # message, so nested fields (a need's events, its assignments) show the latest state.
    info.context.loaders.clear()


@strawberry.type
class NeedsSubscription:
    @strawberry.subscription(
        description="A community's board: every step of every need in the community, as it "
        "happens (staff of the community, or county-level staff).",
        permission_classes=can("need.watch"),
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
        shared, db = shared_reads_of(info), info.context.db
        async with broadcaster_of(info).subscribe(community_needs_channel(cid)) as messages:
            async for message in messages:
                event_id = message["eventId"]
                found = await shared.get(
                    ("need-event", event_id), partial(_read_event_with_need, db, event_id)
                )
                if found is None:
                    continue
                event, need = found
                if not await visible_row(info.context, m.Need, need["id"], need, shared.get):
                    continue
                _fresh(info)
                # The event's need (its `need` field, the masking of `actorName`) is the one
                # read with it: no further statement for it.
                prime(info, Need, [Need.from_row(Columns(need))])
                yield NeedEvent.from_row(Columns(event))

    @strawberry.subscription(
        description="One need as it moves through the loop (e.g. a resident following their "
        "report): the need after each step.",
        permission_classes=can("need.read"),
    )
    async def need_updated(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The need's ID.")],
    ) -> AsyncGenerator[Need, None]:
        need_id = decode_id(id, "Need")
        # Through the need's row rule: one the caller may not see is "not found" too.
        if await load_one(info, Need, need_id) is None:
            raise CodedError(f"no need with ID '{id}'", ErrorCode.NOT_FOUND)
        shared, db = shared_reads_of(info), info.context.db
        async with broadcaster_of(info).subscribe(need_channel(need_id)) as messages:
            async for message in messages:
                event_id = message.get("eventId")
                load = partial(_read_need, db, need_id)
                row = await (load() if event_id is None else shared.get(("need", event_id), load))
                # Visibility can change while subscribed (a volunteer taken off the need).
                visible = row is not None and await visible_row(
                    info.context, m.Need, need_id, row, shared.get
                )
                if visible:
                    _fresh(info)
                    assert row is not None
                    await share_dispatched(info, need_id, row["version"], shared.get)
                    yield Need.from_row(Columns(row))
