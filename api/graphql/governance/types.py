"""Consultations' parties, sessions and settled disputes (the consultation itself is an area's:
api/graphql/areas/types.py), and sentinel posts (民声前哨点) with their keepers."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.lists import MaxItems
from api.graphql.relay import Node, RowType, frozen, load_children, load_one, register_node
from api.graphql.type_refs import CommunityT, NeedT, PairedUnitT, PersonT
from schema import models as m


@strawberry.type(description="A party to a consultation (业主代表, 物业公司, 共建单位 …).")
class ConsultationParty(RowType):
    __model__ = m.ConsultationParty
    __needs__ = frozen({"person": ("person_id",), "unit": ("unit_id",)})

    name: str = strawberry.field(description="Who, as the minutes name them.")
    role: str = strawberry.field(description="Their part in it (申请方, 被申请方, 调解方 …).")
    person_id: strawberry.Private[int | None]
    unit_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The person the party is, if one.", permission_classes=can("person.read")
    )
    async def person(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self.person_id)

    @strawberry.field(description="The paired unit the party is, if one.")
    async def unit(self, info: Info) -> PairedUnitT | None:
        return await load_one(info, PairedUnitT, self.unit_id)


@strawberry.type(description="One sitting of a consultation (议事会).")
class ConsultationSession(RowType):
    __model__ = m.ConsultationSession

    held_at: datetime = strawberry.field(description="When it sat.")
    place: str = strawberry.field(description="Where.")
    attendees: int = strawberry.field(description="How many came.")
    minutes: str = strawberry.field(description="The minutes.")
    recorded_at: datetime = strawberry.field(description="When it was recorded.")


@strawberry.type(description="A dispute (矛盾纠纷) a consultation settled.")
class SettledDispute(RowType):
    __model__ = m.SettledDispute

    summary: str = strawberry.field(description="What it was and how it was settled.")
    settled_at: datetime = strawberry.field(description="When it was recorded settled.")


@strawberry.type(
    description="民声前哨点: a place whose keeper passes residents' suggestions into the closed "
    "loop as needs from the post."
)
class SentinelPost(RowType, Node):
    __model__ = m.SentinelPost
    __node_name__ = "SentinelPost"
    __needs__ = frozen({"community": ("community_id",), "keeper": ("keeper_person_id",)})

    name: str = strawberry.field(description="Name (a shop, a gate, a square …).")
    address: str = strawberry.field(description="Address.")
    latitude: float = strawberry.field(description="Latitude.")
    longitude: float = strawberry.field(description="Longitude.")
    is_active: bool = strawberry.field(description="Open: suggestions are taken from it.")
    created_at: datetime = strawberry.field(description="When it was set up.")
    version: int = strawberry.field(
        description="Bumped by every change; pass it as `expectedVersion` to refuse stale edits."
    )
    community_id: strawberry.Private[int]
    keeper_person_id: strawberry.Private[int]

    @strawberry.field(description="The community it is in.")
    async def community(self, info: Info) -> CommunityT:
        return await load_one(info, CommunityT, self.community_id)

    @strawberry.field(
        description="Its keeper; null for a caller who may not see that person (a resident "
        "keeper is seen by staff of the area, see the privacy table).",
        permission_classes=can("person.read"),
    )
    async def keeper(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self.keeper_person_id)

    @strawberry.field(
        description="Needs suggested from it, newest first.",
        permission_classes=can("need.read"),
        extensions=[MaxItems(200)],
    )
    async def suggestions(self, info: Info) -> list[NeedT]:
        return await load_children(
            info, NeedT, "sentinel_post_id", self.pk, order_by=[col(m.Need.reported_at).desc()]
        )


register_node(SentinelPost, "reference.read")
