"""Paired units (结对共建单位), their twinning with communities, and the resources they lend."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enums import ResourceKind, UnitKind
from api.graphql.lists import MaxItems
from api.graphql.relay import (
    Node,
    RowType,
    frozen,
    load_children,
    load_linked,
    load_one,
    register_node,
)
from api.graphql.type_refs import CommunityT, CompoundT, PersonT, VenueT
from schema import models as m


@strawberry.type(
    description="A government body, enterprise, institution or property company twinned with "
    "communities (结对共建单位); it brings resources."
)
class PairedUnit(RowType, Node):
    __model__ = m.PairedUnit
    __node_name__ = "PairedUnit"

    name: str = strawberry.field(description="Name.")
    kind: UnitKind = strawberry.field(description="Government body, enterprise, institution …")
    has_party_org: bool = strawberry.field(description="Has its own party organisation.")
    is_state_owned: bool = strawberry.field(
        description="State-owned (the fallback 兜底 property company is)."
    )
    address: str = strawberry.field(description="Postal address.")
    latitude: float = strawberry.field(description="Latitude.")
    longitude: float = strawberry.field(description="Longitude.")
    created_at: datetime = strawberry.field(description="When the record was created.")
    version: int = strawberry.field(
        description="Bumped by every change; pass it as `expectedVersion` to refuse stale edits."
    )

    @strawberry.field(
        description="Communities it is twinned with; its resources go there first.",
        extensions=[MaxItems(100)],
    )
    async def communities(self, info: Info) -> list[CommunityT]:
        return await load_linked(
            info, CommunityT, m.Pairing, parent="unit_id", target="community_id", key=self.pk
        )

    @strawberry.field(
        description="Its twinnings, with the date each began.", extensions=[MaxItems(100)]
    )
    async def pairings(self, info: Info) -> list[Pairing]:
        return await load_children(info, Pairing, "unit_id", self.pk)

    @strawberry.field(
        description="Resources it lends (venues, vehicles, funds, equipment …).",
        extensions=[MaxItems(1000)],
    )
    async def resources(self, info: Info) -> list[Resource]:
        return await load_children(info, Resource, "unit_id", self.pk)

    @strawberry.field(
        description="Compounds it manages as property company (物业公司).",
        extensions=[MaxItems(100)],
    )
    async def managed_compounds(self, info: Info) -> list[CompoundT]:
        return await load_children(info, CompoundT, "property_unit_id", self.pk)

    @strawberry.field(
        description="People it employs (its in-service party members).",
        permission_classes=can("person.read"),
        extensions=[MaxItems(500)],
    )
    async def employees(self, info: Info) -> list[PersonT]:
        return await load_children(info, PersonT, "employer_unit_id", self.pk)


@strawberry.type(description="结对共建: a paired unit twinned with a community since a date.")
class Pairing(RowType):
    __model__ = m.Pairing
    __pk__ = "community_id"

    since: datetime = strawberry.field(description="When the twinning began.")
    unit_id: strawberry.Private[int]
    community_id: strawberry.Private[int]

    @strawberry.field(description="The paired unit.")
    async def unit(self, info: Info) -> PairedUnit:
        return await load_one(info, PairedUnit, self.unit_id)

    @strawberry.field(description="The community.")
    async def community(self, info: Info) -> CommunityT:
        return await load_one(info, CommunityT, self.community_id)


@strawberry.type(description="Something a unit or venue lends: seats, vehicles, funds, equipment.")
class Resource(RowType, Node):
    __model__ = m.Resource
    __node_name__ = "Resource"
    __needs__ = frozen(
        {
            "unit": ("unit_id",),
            "venue": ("venue_id",),
            "community": ("community_id",),
        }
    )

    name: str = strawberry.field(description="Name.")
    kind: ResourceKind = strawberry.field(description="Kind of resource.")
    quantity: int = strawberry.field(description="How many are available.")
    unit_label: str = strawberry.field(description="Counting word of the quantity (件, 辆, 元 …).")
    latitude: float = strawberry.field(description="Where it is (latitude).")
    longitude: float = strawberry.field(description="Where it is (longitude).")
    is_available: bool = strawberry.field(description="Available for matching now.")
    available_from: datetime = strawberry.field(description="Available from.")
    available_until: datetime | None = strawberry.field(
        description="Available until (UTC); null means open-ended."
    )
    retired_at: datetime | None = strawberry.field(
        description="When it was retired (退出): never lent again; null while in service."
    )
    version: int = strawberry.field(
        description="Bumped by every change; pass it as `expectedVersion` to refuse stale edits."
    )
    unit_id: strawberry.Private[int | None]
    venue_id: strawberry.Private[int | None]
    community_id: strawberry.Private[int | None]

    @strawberry.field(description="The paired unit that lends it, if any.")
    async def unit(self, info: Info) -> PairedUnit | None:
        return await load_one(info, PairedUnit, self.unit_id)

    @strawberry.field(description="The venue that lends it, if any.")
    async def venue(self, info: Info) -> VenueT | None:
        return await load_one(info, VenueT, self.venue_id)

    @strawberry.field(description="The community it belongs to, if any.")
    async def community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.community_id)


for _t in (PairedUnit, Resource):
    register_node(_t, "reference.read")
