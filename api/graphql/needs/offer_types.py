"""An offer (请缨) to take a need, as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.graphql.context import Context, Info
from api.graphql.enums import NeedCategory, OfferDecline, OfferStatus
from api.graphql.relay import Node, RowType, frozen, load_one, register_node
from api.graphql.relay.loaders import loader
from api.graphql.type_refs import CommunityT, NeedT, PersonT
from schema import models as m
from schema.disclosure import public_need_title
from schema.workflow import OPEN_NEED_STATUSES


@strawberry.type(
    description="What an offer is for, as a volunteer may see it whatever became of the offer: "
    "what the need's opportunity showed (a title made from its category, no personal "
    "circumstances or exact place), and whether it is still open."
)
class OfferedNeed:
    title: str = strawberry.field(description="A title made from the need's category.")
    category: NeedCategory = strawberry.field(description="What the need is about.")
    urgency: int = strawberry.field(description="Urgency, 1 to 5.")
    window_start: datetime | None = strawberry.field(
        description="When its service window opens (null for a need to go to now), UTC."
    )
    window_end: datetime | None = strawberry.field(
        description="When its service window closes, UTC."
    )
    is_open: bool = strawberry.field(
        description="Still in the closed loop (not resolved, closed or merged)."
    )
    community_id: strawberry.Private[int | None]

    @strawberry.field(description="The community it is in.")
    async def community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.community_id)


async def _offered_batch(ctx: Context, keys: list[int]) -> list[OfferedNeed | None]:
    """The public facts of the offers' needs, read without the need's row rule: whoever may see
    the offer saw them as an opportunity (`volunteerOpportunities`) before offering."""
    n = m.Need
    stmt = sa.select(
        col(n.id),
        col(n.category),
        col(n.urgency),
        col(n.window_start),
        col(n.window_end),
        col(n.status),
        col(n.community_id),
    ).where(col(n.id).in_(keys))
    found: dict[int, Any] = {r[0]: r for r in (await ctx.db.select(stmt)).rows}
    out: list[OfferedNeed | None] = []
    for k in keys:
        r = found.get(k)
        if r is None:
            out.append(None)
            continue
        category = r[1]
        out.append(
            OfferedNeed(
                title=public_need_title(category),
                category=category,
                urgency=r[2],
                window_start=r[3],
                window_end=r[4],
                is_open=r[5] in OPEN_NEED_STATUSES,
                community_id=r[6],
            )
        )
    return out


@strawberry.type(
    description="A volunteer's offer to take a need (请缨); accepting it dispatches them."
)
class NeedOffer(RowType, Node):
    __model__ = m.NeedOffer
    __node_name__ = "NeedOffer"
    __needs__ = frozen({"need": ("need_id",), "person": ("person_id",)})

    status: OfferStatus = strawberry.field(description="Offered, withdrawn, accepted or declined.")
    note: str = strawberry.field(description="What the volunteer said with it.")
    declined_because: OfferDecline | None = strawberry.field(
        description="Why it was declined (null unless DECLINED): by its coordinator (final for "
        "that need), or answered because the need was full (a new offer is taken once a place "
        "frees) or had ended (resolved, or merged into another need)."
    )
    answer: str = strawberry.field(
        description="What the coordinator said declining it, or the answer given for a full or "
        "ended need."
    )
    offered_at: datetime = strawberry.field(description="When it was (last) offered.")
    decided_at: datetime | None = strawberry.field(
        description="When it was accepted, declined or withdrawn."
    )
    need_id: strawberry.Private[int]
    person_id: strawberry.Private[int]

    @strawberry.field(
        description="The need offered for, while it is yours to read (pending or accepted, or "
        "you handle its area); `offeredFor` tells what it was in any case."
    )
    async def need(self, info: Info) -> NeedT | None:
        return await load_one(info, NeedT, self.need_id)

    @strawberry.field(
        description="What the offer is for, shown to whoever sees the offer even once it is "
        "answered and the need itself is no longer theirs to read."
    )
    async def offered_for(self, info: Info) -> OfferedNeed | None:
        found: OfferedNeed | None = await loader(info, "offer.need", _offered_batch).load(
            self.need_id
        )
        return found

    @strawberry.field(description="The volunteer who offered (those who serve show their name).")
    async def person(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self.person_id)


register_node(NeedOffer, "need.read")
