"""An offer (请缨) to take a need, as the API shows it."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.graphql.context import Info
from api.graphql.enums import OfferDecline, OfferStatus
from api.graphql.relay import Node, RowType, frozen, load_one, register_node
from api.graphql.type_refs import NeedT, PersonT
from schema import models as m


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

    @strawberry.field(description="The need offered for.")
    async def need(self, info: Info) -> NeedT | None:
        return await load_one(info, NeedT, self.need_id)

    @strawberry.field(description="The volunteer who offered (those who serve show their name).")
    async def person(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self.person_id)


register_node(NeedOffer, "need.read")
