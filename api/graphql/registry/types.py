"""A shared-registry record, masked by the same rules as people (`api.auth.privacy`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.auth.privacy import coarse_coordinate, mask_id_number, mask_name, mask_phone, viewer
from api.graphql.context import Info
from api.graphql.relay import Node, RowType, frozen, load_children, load_one, register_node
from api.graphql.type_refs import CommunityT, EnterpriseT, PersonT
from schema import models as m
from schema.disclosure import sees_id_number
from schema.registry import RegistryKind

strawberry.enum(
    RegistryKind,
    description="What a shared-registry (一表同享) record describes.",
)
for _value in RegistryKind.__strawberry_definition__.values:  # type: ignore[attr-defined]  # set by strawberry.enum
    _value.description = {"person": "人口", "house": "房屋", "enterprise": "法人"}[_value.value]


@strawberry.type(
    description="A record of the shared registry (一表同享) from one of the county's source "
    "systems. People's names, ID numbers, phones, addresses and exact locations are masked unless "
    "you may see personal data in the record's community (as for people); enterprises show their "
    "name and credit code, which are public."
)
class RegistryRecord(RowType, Node):
    __model__ = m.RegistryRecord
    __node_name__ = "RegistryRecord"
    __needs__ = frozen(
        {
            "kind": ("kind",),
            "natural_key": ("natural_key", "kind"),
            "name": ("name", "kind", "community_id"),
            "phone": ("phone", "community_id"),
            "address": ("address", "kind", "community_id"),
            "latitude": ("latitude", "kind", "community_id"),
            "longitude": ("longitude", "kind", "community_id"),
            "community": ("community_id",),
            "resident": ("natural_key", "kind"),
            "enterprise": ("natural_key", "kind"),
        }
    )

    source: str = strawberry.field(description="The source system it came from (来源系统).")
    source_key: str = strawberry.field(description="Its key in the source system (来源编号).")
    imported_at: datetime = strawberry.field(description="When it was first imported (UTC).")
    updated_at: datetime = strawberry.field(description="When an import last changed it (UTC).")
    community_id: strawberry.Private[int | None]

    def _private(self, info: Info) -> bool:
        """A registry person is seen as a resident is (`schema.disclosure`): by staff of their
        community (county-level staff everywhere)."""
        return viewer(info).staff_of(self.community_id)

    def _shown(self, info: Info) -> bool:
        """Whether identity and place are shown in full: houses' and enterprises' always (an
        enterprise's name and code are public), people's as people's personal data."""
        return self.__dict__["kind"] != RegistryKind.PERSON or self._private(info)

    @strawberry.field(description="Person, house or enterprise.")
    def kind(self) -> RegistryKind:
        return RegistryKind(self.__dict__["kind"])

    @strawberry.field(
        description="Its natural key: ID number (masked except for administrators), house code "
        "or unified social credit code."
    )
    def natural_key(self, info: Info) -> str:
        raw: str = self.__dict__["natural_key"]
        if self.__dict__["kind"] != RegistryKind.PERSON:
            return raw
        # ID numbers: administrators only, as for people.
        return raw if sees_id_number(viewer(info)) else mask_id_number(raw) or ""

    @strawberry.field(
        description="Name of the person (masked 王** unless you may see it) or enterprise; a "
        "house's address."
    )
    def name(self, info: Info) -> str:
        raw: str = self.__dict__["name"]
        return raw if self._shown(info) else mask_name(raw) or ""

    @strawberry.field(description="Phone; masked (138****5678) unless you may see it.")
    def phone(self, info: Info) -> str | None:
        raw: str | None = self.__dict__["phone"]
        return raw if self._private(info) else mask_phone(raw)

    @strawberry.field(description="Address; a person's is hidden unless you may see it.")
    def address(self, info: Info) -> str | None:
        raw: str = self.__dict__["address"]
        return raw if self._shown(info) else None

    @strawberry.field(description="Latitude; a person's is rounded to about 1 km unless you may.")
    def latitude(self, info: Info) -> float | None:
        raw: float | None = self.__dict__["latitude"]
        return raw if self._shown(info) else coarse_coordinate(raw)

    @strawberry.field(description="Longitude; a person's is rounded to about 1 km unless you may.")
    def longitude(self, info: Info) -> float | None:
        raw: float | None = self.__dict__["longitude"]
        return raw if self._shown(info) else coarse_coordinate(raw)

    @strawberry.field(description="The community it belongs to, if the source said.")
    async def community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.community_id)

    @strawberry.field(
        description="People records: the person (resident, member, worker) with this ID number."
    )
    async def resident(self, info: Info) -> PersonT | None:
        if self.__dict__["kind"] != RegistryKind.PERSON:
            return None
        found = await load_children(info, PersonT, "id_number", self.__dict__["natural_key"])
        return found[0] if found else None

    @strawberry.field(description="Enterprise records: the enterprise with this credit code.")
    async def enterprise(self, info: Info) -> EnterpriseT | None:
        if self.__dict__["kind"] != RegistryKind.ENTERPRISE:
            return None
        found = await load_children(info, EnterpriseT, "credit_code", self.__dict__["natural_key"])
        return found[0] if found else None


register_node(RegistryRecord, "registry.read")
