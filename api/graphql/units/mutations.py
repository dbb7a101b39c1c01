"""结对共建, 资源联用: register and change paired units, twin them with communities, and record,
change and retire the resources they lend. The rules live in `schema/services/units.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enums import ResourceKind, UnitKind
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.relay import load_one
from api.graphql.type_refs import CommunityT
from api.graphql.units.types import PairedUnit, Resource
from api.graphql.writes import actor_of, opt_pk, pk, pks, write
from schema.base import aware
from schema.models import PairedUnit as UnitRow
from schema.models import Resource as ResourceRow
from schema.services import units as svc

EXPECTED_VERSION = (
    "The `version` you read; when it is no longer current nothing changes and the answer is "
    "CONFLICT. Omit it to change whatever version is current."
)
ERRORS = "Why nothing was changed (empty on success)."
UNCHANGED = "Leave out to keep it as it is."


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else aware(t)


@strawberry.input(description="结对共建: a new paired unit, twinned at once with communities.")
class CreatePairedUnitInput:
    name: str = strawberry.field(description="Its name, unique in the county (1–96 chars).")
    kind: UnitKind = strawberry.field(description="Government body, enterprise, institution …")
    latitude: float = strawberry.field(description="Where it is (latitude, in the county).")
    longitude: float = strawberry.field(description="Where it is (longitude).")
    address: str = strawberry.field(default="", description="Postal address.")
    has_party_org: bool = strawberry.field(default=True, description="Has a party organisation.")
    is_state_owned: bool = strawberry.field(default=False, description="State-owned.")
    community_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Communities to twin it with; a community coordinator must name their own.",
    )


@strawberry.input(description="Changes to a paired unit; what is left out stays as it is.")
class UpdatePairedUnitInput:
    unit_id: strawberry.ID = strawberry.field(description="The unit.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    name: str | None = strawberry.field(default=None, description=UNCHANGED)
    kind: UnitKind | None = strawberry.field(default=None, description=UNCHANGED)
    address: str | None = strawberry.field(default=None, description=UNCHANGED)
    latitude: float | None = strawberry.field(default=None, description="With longitude.")
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    has_party_org: bool | None = strawberry.field(default=None, description=UNCHANGED)
    is_state_owned: bool | None = strawberry.field(default=None, description=UNCHANGED)


@strawberry.input(description="A unit and a community, to twin or to part.")
class PairingInput:
    unit_id: strawberry.ID = strawberry.field(description="The paired unit.")
    community_id: strawberry.ID = strawberry.field(description="The community (in your area).")


@strawberry.input(description="资源联用: a resource a paired unit lends.")
class AddResourceInput:
    unit_id: strawberry.ID = strawberry.field(description="The unit that lends it.")
    name: str = strawberry.field(description="Name (1–96 chars).")
    kind: ResourceKind = strawberry.field(description="Venue, vehicle, funds, equipment …")
    quantity: int = strawberry.field(description="How many (0 or more).")
    unit_label: str = strawberry.field(default="件", description="Counting word (辆, 座, 元 …).")
    latitude: float | None = strawberry.field(default=None, description="Default: the unit's.")
    longitude: float | None = strawberry.field(default=None, description="Default: the unit's.")
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="Keep it for this twinned community (optional)."
    )
    is_available: bool = strawberry.field(default=True, description="Lendable now.")
    available_from: datetime | None = strawberry.field(default=None, description="Default: now.")
    available_until: datetime | None = strawberry.field(
        default=None, description="Default: open-ended."
    )


@strawberry.input(description="Changes to a resource; what is left out stays as it is.")
class UpdateResourceInput:
    resource_id: strawberry.ID = strawberry.field(description="The resource.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    name: str | None = strawberry.field(default=None, description=UNCHANGED)
    quantity: int | None = strawberry.field(
        default=None, description="Not below what open needs hold of it."
    )
    unit_label: str | None = strawberry.field(default=None, description=UNCHANGED)
    latitude: float | None = strawberry.field(default=None, description="With longitude.")
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    is_available: bool | None = strawberry.field(
        default=None, description="false: lend no more (what is lent stays lent)."
    )
    available_from: datetime | None = strawberry.field(default=None, description=UNCHANGED)
    available_until: datetime | None = strawberry.field(default=None, description=UNCHANGED)
    clear_available_until: bool = strawberry.field(
        default=False, description="Make the availability open-ended."
    )


@strawberry.input(description="退出: a resource to retire.")
class RetireResourceInput:
    resource_id: strawberry.ID = strawberry.field(description="The resource.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)


@strawberry.type(description="The paired unit, or why nothing changed.")
class PairedUnitPayload:
    unit: PairedUnit | None = strawberry.field(description="The unit now; null on error.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS, extensions=[MaxItems(100)])


@strawberry.type(description="The unit and community twinned or parted, or why not.")
class PairingPayload:
    unit: PairedUnit | None = strawberry.field(description="The unit now; null on error.")
    community: CommunityT | None = strawberry.field(description="The community; null on error.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS, extensions=[MaxItems(100)])


@strawberry.type(description="The resource, or why nothing changed.")
class ResourcePayload:
    resource: Resource | None = strawberry.field(description="The resource now; null on error.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS, extensions=[MaxItems(100)])


def _unit(row: UnitRow | None, errors: list[UserError]) -> PairedUnitPayload:
    return PairedUnitPayload(unit=PairedUnit.from_row(row) if row else None, user_errors=errors)


def _resource(row: ResourceRow | None, errors: list[UserError]) -> ResourcePayload:
    return ResourcePayload(resource=Resource.from_row(row) if row else None, user_errors=errors)


async def _pairing(info: Info, input: PairingInput, *, pair: bool) -> PairingPayload:
    ids: list[int] = []

    async def work(session: AsyncSession) -> UnitRow:
        unit_id = pk(input.unit_id, "PairedUnit", "unit_id")
        community_id = pk(input.community_id, "Community", "community_id")
        ids[:] = [community_id]
        actor = actor_of(info)
        if pair:
            await svc.pair_unit(
                session=session, actor=actor, unit_id=unit_id, community_id=community_id
            )
            return await svc.get_unit(session, unit_id)
        return await svc.unpair_unit(
            session=session, actor=actor, unit_id=unit_id, community_id=community_id
        )

    row, errors = await write(info, work)
    if row is None:
        return PairingPayload(unit=None, community=None, user_errors=errors)
    community = await load_one(info, CommunityT, ids[0])
    return PairingPayload(unit=PairedUnit.from_row(row), community=community, user_errors=[])


@strawberry.type
class UnitsMutation:
    @strawberry.mutation(
        description="结对共建: register a paired unit and twin it with communities (a community "
        "coordinator twins it with their own).",
        permission_classes=can("unit.manage"),
    )
    async def create_paired_unit(
        self,
        info: Info,
        input: Annotated[CreatePairedUnitInput, strawberry.argument(description="The unit.")],
    ) -> PairedUnitPayload:
        async def work(session: AsyncSession) -> UnitRow:
            return await svc.create_paired_unit(
                session=session,
                actor=actor_of(info),
                name=input.name,
                kind=input.kind,
                latitude=input.latitude,
                longitude=input.longitude,
                address=input.address,
                has_party_org=input.has_party_org,
                is_state_owned=input.is_state_owned,
                community_ids=pks(input.community_ids, "Community", "community_ids"),
            )

        return _unit(*await write(info, work))

    @strawberry.mutation(
        description="Change a paired unit (one twinned with your community, if you are a "
        "community coordinator).",
        permission_classes=can("unit.manage"),
    )
    async def update_paired_unit(
        self,
        info: Info,
        input: Annotated[UpdatePairedUnitInput, strawberry.argument(description="The changes.")],
    ) -> PairedUnitPayload:
        async def work(session: AsyncSession) -> UnitRow:
            return await svc.update_paired_unit(
                session=session,
                actor=actor_of(info),
                unit_id=pk(input.unit_id, "PairedUnit", "unit_id"),
                expected_version=input.expected_version,
                name=input.name,
                kind=input.kind,
                address=input.address,
                latitude=input.latitude,
                longitude=input.longitude,
                has_party_org=input.has_party_org,
                is_state_owned=input.is_state_owned,
            )

        return _unit(*await write(info, work))

    @strawberry.mutation(
        description="结对: twin a paired unit with a community in your area (its resources go "
        "there first in matching).",
        permission_classes=can("unit.manage"),
    )
    async def pair_unit(
        self,
        info: Info,
        input: Annotated[PairingInput, strawberry.argument(description="Unit and community.")],
    ) -> PairingPayload:
        return await _pairing(info, input, pair=True)

    @strawberry.mutation(
        description="End a twinning of a unit with a community in your area.",
        permission_classes=can("unit.manage"),
    )
    async def unpair_unit(
        self,
        info: Info,
        input: Annotated[PairingInput, strawberry.argument(description="Unit and community.")],
    ) -> PairingPayload:
        return await _pairing(info, input, pair=False)

    @strawberry.mutation(
        description="资源联用: record a resource a paired unit lends; matching uses it from the "
        "next job on.",
        permission_classes=can("unit.manage"),
    )
    async def add_resource(
        self,
        info: Info,
        input: Annotated[AddResourceInput, strawberry.argument(description="The resource.")],
    ) -> ResourcePayload:
        async def work(session: AsyncSession) -> ResourceRow:
            return await svc.add_resource(
                session=session,
                actor=actor_of(info),
                unit_id=pk(input.unit_id, "PairedUnit", "unit_id"),
                name=input.name,
                kind=input.kind,
                quantity=input.quantity,
                unit_label=input.unit_label,
                latitude=input.latitude,
                longitude=input.longitude,
                community_id=opt_pk(input.community_id, "Community", "community_id"),
                availability=svc.Availability(
                    is_available=input.is_available,
                    available_from=_aware(input.available_from),
                    available_until=_aware(input.available_until),
                ),
            )

        return _resource(*await write(info, work))

    @strawberry.mutation(
        description="Change a resource: quantity (not below what open needs hold), place, "
        "availability.",
        permission_classes=can("unit.manage"),
    )
    async def update_resource(
        self,
        info: Info,
        input: Annotated[UpdateResourceInput, strawberry.argument(description="The changes.")],
    ) -> ResourcePayload:
        async def work(session: AsyncSession) -> ResourceRow:
            return await svc.update_resource(
                session=session,
                actor=actor_of(info),
                resource_id=pk(input.resource_id, "Resource", "resource_id"),
                expected_version=input.expected_version,
                name=input.name,
                quantity=input.quantity,
                unit_label=input.unit_label,
                latitude=input.latitude,
                longitude=input.longitude,
                availability=svc.Availability(
                    is_available=input.is_available,
                    available_from=_aware(input.available_from),
                    available_until=_aware(input.available_until),
                    clear_until=input.clear_available_until,
                ),
            )

        return _resource(*await write(info, work))

    @strawberry.mutation(
        description="退出: retire a resource (never lent again). Refused while open needs hold "
        "it: mark it unavailable, and retire it once they are resolved.",
        permission_classes=can("unit.manage"),
    )
    async def retire_resource(
        self,
        info: Info,
        input: Annotated[RetireResourceInput, strawberry.argument(description="The resource.")],
    ) -> ResourcePayload:
        async def work(session: AsyncSession) -> ResourceRow:
            return await svc.retire_resource(
                session=session,
                actor=actor_of(info),
                resource_id=pk(input.resource_id, "Resource", "resource_id"),
                expected_version=input.expected_version,
            )

        return _resource(*await write(info, work))
