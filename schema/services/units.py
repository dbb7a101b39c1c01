"""结对共建, 资源联用: paired units, their twinning with communities, and the resources they lend.

Who: coordinators and administrators. A coordinator scoped to a community acts on its own
community's twinnings, and on a unit (and its resources) only while the unit is twinned with
that community; a unit shared with other communities is the county's to edit or twin further
(`require_sole_twin`); county-level staff act everywhere (`Actor.in_scope`).

Matching reads resources when a job starts (schema/services/matching/loader.py), so what is
added, changed or retired here counts from the next job on. A resource lent to a need that is
still open cannot be retired, nor cut below what is lent: the need keeps what it was promised.
Mark it unavailable instead (`is_available = False`): nothing more is lent, and it can be
retired once those needs are resolved. Retiring also turns matching proposals for it stale at
commit (schema/services/matching/proposals.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import Community, Venue
from schema.enums import ResourceKind, UnitKind
from schema.needs import Need, NeedAssignment
from schema.services.common import (
    Actor,
    check_version,
    clean_text,
    get_current,
    lock_row,
    now_or,
    versioned_update,
)
from schema.services.errors import Forbidden, Invalid, NotFound, Problems
from schema.services.locations import place_problem
from schema.units import PairedUnit, Pairing, Resource
from schema.workflow import OPEN_NEED_STATUSES

NAME_MAX = 96
ADDRESS_MAX = 200
LABEL_MAX = 16
QUANTITY_MAX = 1_000_000_000
PAIRINGS_MAX = 50


def require_coordination(actor: Actor, what: str) -> None:
    if not actor.is_coordination:
        raise Forbidden(f"only coordinators and administrators {what}")


async def twinned_communities(session: AsyncSession, unit_id: int) -> list[int]:
    stmt = select(Pairing.community_id).where(col(Pairing.unit_id) == unit_id)
    return list((await session.execute(stmt)).scalars())


async def require_unit_scope(session: AsyncSession, actor: Actor, unit_id: int) -> None:
    """A scoped coordinator acts on a unit twinned with their own community only."""
    if actor.in_scope(None):
        return
    if actor.community_id not in await twinned_communities(session, unit_id):
        raise Forbidden("the unit is not twinned with your community")


async def require_sole_twin(session: AsyncSession, actor: Actor, unit_id: int, what: str) -> None:
    """A unit twinned with other communities too is the county's to change or twin further: one
    community's coordinator neither edits its record nor pulls it into their community."""
    if actor.in_scope(None):
        return
    if any(c != actor.community_id for c in await twinned_communities(session, unit_id)):
        raise Forbidden(f"the unit is twinned with other communities too: the county office {what}")


async def get_unit(session: AsyncSession, unit_id: int, field: str = "unit_id") -> PairedUnit:
    return await get_current(session, PairedUnit, unit_id, kind="paired unit", field=field)


async def _check_place(
    session: AsyncSession, p: Problems, latitude: float | None, longitude: float | None
) -> None:
    """A unit or resource lies in one of the province's counties (`place_problem`)."""
    if latitude is None and longitude is None:
        return
    why = await place_problem(session, latitude, longitude)
    p.check(why is None, "location", why or "")


def _text(p: Problems, value: str | None, field: str, max_length: int, *, required: bool) -> str:
    try:
        return clean_text(value, field, max_length=max_length, required=required)
    except Invalid as exc:
        p.items.extend(exc.problems)
        return ""


async def _name_taken(session: AsyncSession, name: str, other_than: int | None = None) -> bool:
    stmt = select(PairedUnit.id).where(col(PairedUnit.name) == name)
    if other_than is not None:
        stmt = stmt.where(col(PairedUnit.id) != other_than)
    return (await session.execute(stmt.limit(1))).first() is not None


async def _communities_exist(session: AsyncSession, ids: Sequence[int], field: str) -> None:
    found = set(
        (await session.execute(select(Community.id).where(col(Community.id).in_(ids)))).scalars()
    )
    for i, community_id in enumerate(ids):
        if community_id not in found:
            raise NotFound("community", community_id, field=f"{field}.{i}")


# ---------------------------------------------------------------- units


async def create_paired_unit(
    *,
    session: AsyncSession,
    actor: Actor,
    name: str,
    kind: UnitKind,
    latitude: float,
    longitude: float,
    address: str = "",
    has_party_org: bool = True,
    is_state_owned: bool = False,
    community_ids: Sequence[int] = (),
    now: datetime | None = None,
) -> PairedUnit:
    """A new paired unit, twinned at once with `community_ids` (a scoped coordinator must twin
    it with their own community: a unit nobody's area holds is nobody's to look after)."""
    now = now_or(now)
    require_coordination(actor, "register paired units")
    p = Problems()
    name = _text(p, name, "name", NAME_MAX, required=True)
    address = _text(p, address, "address", ADDRESS_MAX, required=False)
    await _check_place(session, p, latitude, longitude)
    p.check(len(community_ids) <= PAIRINGS_MAX, "community_ids", "too many communities")
    p.check(
        len(set(community_ids)) == len(community_ids), "community_ids", "a community is repeated"
    )
    if not actor.in_scope(None):
        p.check(
            actor.community_id in community_ids,
            "community_ids",
            "twin the unit with your own community",
        )
    p.raise_if_any()
    for i, community_id in enumerate(community_ids):
        if not actor.in_scope(community_id):
            raise Forbidden("outside your area", field=f"community_ids.{i}")
    await _communities_exist(session, community_ids, "community_ids")
    if await _name_taken(session, name):
        raise Invalid("name", f"a paired unit named {name} already exists")
    unit = PairedUnit(
        name=name,
        kind=kind,
        latitude=latitude,
        longitude=longitude,
        address=address,
        has_party_org=has_party_org,
        is_state_owned=is_state_owned,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(unit)
            await session.flush()
    except IntegrityError:  # another office registered the same name at the same moment
        raise Invalid("name", f"a paired unit named {name} already exists") from None
    assert unit.id is not None
    session.add_all(Pairing(unit_id=unit.id, community_id=c, since=now) for c in community_ids)
    await session.flush()
    return unit


async def update_paired_unit(
    *,
    session: AsyncSession,
    actor: Actor,
    unit_id: int,
    expected_version: int | None = None,
    name: str | None = None,
    kind: UnitKind | None = None,
    address: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    has_party_org: bool | None = None,
    is_state_owned: bool | None = None,
) -> PairedUnit:
    """Changes what is given (None: unchanged), checked against the version the caller read."""
    require_coordination(actor, "change paired units")
    unit = await get_unit(session, unit_id)
    await require_unit_scope(session, actor, unit_id)
    await require_sole_twin(session, actor, unit_id, "changes its record")
    version = check_version("paired unit", unit_id, unit.version, expected_version)
    p = Problems()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _text(p, name, "name", NAME_MAX, required=True)
    if address is not None:
        values["address"] = _text(p, address, "address", ADDRESS_MAX, required=False)
    if latitude is not None or longitude is not None:
        await _check_place(session, p, latitude, longitude)
        values |= {"latitude": latitude, "longitude": longitude}
    p.raise_if_any()
    if "name" in values and await _name_taken(session, values["name"], other_than=unit_id):
        raise Invalid("name", f"a paired unit named {values['name']} already exists")
    values |= {
        k: v
        for k, v in (
            ("kind", kind),
            ("has_party_org", has_party_org),
            ("is_state_owned", is_state_owned),
        )
        if v is not None
    }
    if not values:
        raise Invalid(None, "nothing to change")
    try:
        async with session.begin_nested():
            return await versioned_update(
                session, PairedUnit, unit_id, version, values, kind="paired unit"
            )
    except IntegrityError:
        raise Invalid("name", f"a paired unit named {values.get('name')} already exists") from None


async def pair_unit(
    *,
    session: AsyncSession,
    actor: Actor,
    unit_id: int,
    community_id: int,
    now: datetime | None = None,
) -> Pairing:
    """结对: twins a unit with a community (in the actor's area); twinning twice is refused."""
    now = now_or(now)
    require_coordination(actor, "twin units with communities")
    await get_unit(session, unit_id)
    actor.require_scope(community_id)
    await require_sole_twin(session, actor, unit_id, "twins it with more")
    await _communities_exist(session, [community_id], "community_id")
    existing = await session.get(Pairing, (unit_id, community_id))
    already = Invalid("community_id", "the unit is already twinned with this community")
    if existing is not None:
        raise already
    pairing = Pairing(unit_id=unit_id, community_id=community_id, since=now)
    try:
        async with session.begin_nested():
            session.add(pairing)
            await session.flush()
    except IntegrityError:  # twinned by another office at the same moment
        raise already from None
    return pairing


async def unpair_unit(
    *, session: AsyncSession, actor: Actor, unit_id: int, community_id: int
) -> PairedUnit:
    """Ends a twinning; the unit and its resources stay (they no longer go there first)."""
    require_coordination(actor, "end twinnings")
    unit = await get_unit(session, unit_id)
    actor.require_scope(community_id)
    result = await session.execute(
        sa.delete(Pairing).where(
            col(Pairing.unit_id) == unit_id, col(Pairing.community_id) == community_id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]  # a DELETE's result is a cursor
        raise NotFound(
            "twinning of this unit with this community", community_id, field="community_id"
        )
    return unit


# ---------------------------------------------------------------- resources


@dataclass(frozen=True)
class Availability:
    """When a resource may be lent: `is_available` now, within [from, until)."""

    is_available: bool | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    clear_until: bool = False  # make the window open-ended


def _check_resource_fields(
    p: Problems,
    *,
    quantity: int | None,
    window: tuple[datetime | None, datetime | None],
) -> None:
    if quantity is not None:
        p.check(0 <= quantity <= QUANTITY_MAX, "quantity", "quantity must be 0 or more")
    start, end = window
    for field, t in (("available_from", start), ("available_until", end)):
        if t is not None:
            p.check(t.tzinfo is not None, field, "give the time with its offset")
    if start is not None and end is not None and start.tzinfo and end.tzinfo:
        p.check(end > start, "available_until", "availability must end after it starts")


async def _resource_scope(session: AsyncSession, actor: Actor, resource: Resource) -> None:
    """A community's or venue's resource is that community's; a unit's, the unit's."""
    if resource.community_id is not None:
        actor.require_scope(resource.community_id)
    elif resource.venue_id is not None:
        venue = await session.get(Venue, resource.venue_id)
        actor.require_scope(venue.community_id if venue else None)
    if resource.unit_id is not None:
        await require_unit_scope(session, actor, resource.unit_id)
    elif resource.community_id is None and resource.venue_id is None:
        actor.require_scope(None)


async def lent_to_open_needs(session: AsyncSession, resource_id: int) -> dict[int, int]:
    """Open need id → quantity of this resource lent to it (active allocations)."""
    a = NeedAssignment
    stmt = (
        sa.select(col(a.need_id), sa.func.sum(col(a.quantity)))
        .join(Need, col(Need.id) == col(a.need_id))
        .where(
            col(a.resource_id) == resource_id,
            col(a.active),
            col(Need.status).in_(OPEN_NEED_STATUSES),
        )
        .group_by(col(a.need_id))
        .order_by(col(a.need_id))
    )
    return {int(n): int(q) for n, q in (await session.execute(stmt)).all()}


def _needs_named(lent: dict[int, int]) -> str:
    shown = ", ".join(f"#{n} ({q})" for n, q in list(lent.items())[:10])
    return shown + (" …" if len(lent) > 10 else "")


async def add_resource(
    *,
    session: AsyncSession,
    actor: Actor,
    unit_id: int,
    name: str,
    kind: ResourceKind,
    quantity: int,
    unit_label: str = "件",
    latitude: float | None = None,
    longitude: float | None = None,
    community_id: int | None = None,
    availability: Availability = Availability(),
    now: datetime | None = None,
) -> Resource:
    """资源联用: a unit's new resource; where it is defaults to the unit's address, and
    `community_id` (a community the unit is twinned with) keeps it for that community."""
    now = now_or(now)
    require_coordination(actor, "record resources")
    unit = await get_unit(session, unit_id)
    await require_unit_scope(session, actor, unit_id)
    p = Problems()
    name = _text(p, name, "name", NAME_MAX, required=True)
    unit_label = _text(p, unit_label, "unit_label", LABEL_MAX, required=True)
    await _check_place(session, p, latitude, longitude)
    window = (availability.available_from, availability.available_until)
    _check_resource_fields(p, quantity=quantity, window=window)
    start = availability.available_from or now
    if availability.available_until is not None and availability.available_from is None:
        p.check(availability.available_until > now, "available_until", "that time has passed")
    p.raise_if_any()
    if community_id is not None:
        actor.require_scope(community_id)
        if community_id not in await twinned_communities(session, unit_id):
            raise Invalid("community_id", "the unit is not twinned with this community")
    resource = Resource(
        name=name,
        kind=kind,
        unit_id=unit_id,
        community_id=community_id,
        quantity=quantity,
        unit_label=unit_label,
        latitude=unit.latitude if latitude is None else latitude,
        longitude=unit.longitude if longitude is None else longitude,
        is_available=True if availability.is_available is None else availability.is_available,
        available_from=start,
        available_until=availability.available_until,
    )
    session.add(resource)
    await session.flush()
    return resource


async def get_resource(session: AsyncSession, resource_id: int) -> Resource:
    return await get_current(session, Resource, resource_id, kind="resource", field="resource_id")


async def _locked_resource(session: AsyncSession, actor: Actor, resource_id: int) -> Resource:
    """The resource, write-locked for the rest of the transaction (allocations wait), after
    checking role and scope; a retired resource is refused."""
    require_coordination(actor, "change resources")
    if not await lock_row(session, Resource, resource_id):
        raise NotFound("resource", resource_id, field="resource_id")
    resource = await get_resource(session, resource_id)
    await _resource_scope(session, actor, resource)
    if resource.retired_at is not None:
        raise Invalid("resource_id", "the resource was retired; record a new one instead")
    return resource


async def update_resource(
    *,
    session: AsyncSession,
    actor: Actor,
    resource_id: int,
    expected_version: int | None = None,
    name: str | None = None,
    quantity: int | None = None,
    unit_label: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    availability: Availability = Availability(),
) -> Resource:
    """Changes what is given (None: unchanged). The quantity may not fall below what open needs
    hold of it."""
    resource = await _locked_resource(session, actor, resource_id)
    version = check_version("resource", resource_id, resource.version, expected_version)
    p = Problems()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _text(p, name, "name", NAME_MAX, required=True)
    if unit_label is not None:
        values["unit_label"] = _text(p, unit_label, "unit_label", LABEL_MAX, required=True)
    if latitude is not None or longitude is not None:
        await _check_place(session, p, latitude, longitude)
        values |= {"latitude": latitude, "longitude": longitude}
    start = availability.available_from or resource.available_from
    end = None if availability.clear_until else availability.available_until
    end = end if end is not None or availability.clear_until else resource.available_until
    _check_resource_fields(
        p, quantity=quantity, window=(availability.available_from, availability.available_until)
    )
    if end is not None and start.tzinfo is not None and end.tzinfo is not None:
        p.check(end > start, "available_until", "availability must end after it starts")
    p.raise_if_any()
    if quantity is not None:
        lent = await lent_to_open_needs(session, resource_id)
        if quantity < sum(lent.values()):
            raise Invalid(
                "quantity",
                f"{sum(lent.values())} are lent to open needs {_needs_named(lent)}; "
                "the quantity cannot fall below that until they are resolved",
            )
        values["quantity"] = quantity
    if availability.is_available is not None:
        values["is_available"] = availability.is_available
    if availability.available_from is not None:
        values["available_from"] = start
    if availability.available_until is not None or availability.clear_until:
        values["available_until"] = end
    if not values:
        raise Invalid(None, "nothing to change")
    return await versioned_update(session, Resource, resource_id, version, values, kind="resource")


async def retire_resource(
    *,
    session: AsyncSession,
    actor: Actor,
    resource_id: int,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Resource:
    """退出: never lent again, kept for the history. Refused while open needs hold it (see the
    module doc): the message names them."""
    now = now_or(now)
    resource = await _locked_resource(session, actor, resource_id)
    version = check_version("resource", resource_id, resource.version, expected_version)
    lent = await lent_to_open_needs(session, resource_id)
    if lent:
        raise Invalid(
            "resource_id",
            f"the resource is lent to open needs {_needs_named(lent)}: mark it unavailable "
            "(isAvailable: false) so nothing more is lent, and retire it once they are resolved",
        )
    values = {"retired_at": now, "is_available": False}
    return await versioned_update(session, Resource, resource_id, version, values, kind="resource")
