"""The closed loop of residents' needs: report → accept → dispatch → arrive → resolve → rate.

Every function takes the version the caller read (`expected_version`, or the one read here when
None), decides the step with `schema.workflow`, updates the need with a version check and adds
its `NeedEvent` in the caller's transaction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import Community, Compound, Grid, GridStaff
from schema.enums import GridRole, NeedAction, NeedCategory, NeedSource, NeedStatus, NeedTier, Role
from schema.geo import haversine_m, in_county
from schema.needs import Need, NeedAssignment, NeedEvent
from schema.people import Person, Team, TeamMembership
from schema.services.common import (
    Actor,
    Loop,
    by_idempotency_key,
    check_rating,
    check_version,
    clean_text,
    get_current,
    insert_once,
    lock_row,
    now_or,
    record_event,
    step,
)
from schema.services.errors import Conflict, Forbidden, Invalid, NotFound, Problems
from schema.sla import DUPLICATE_RADIUS_M, DUPLICATE_WINDOW, need_deadlines
from schema.units import Resource
from schema.workflow import OPEN_NEED_STATUSES, escalated_tier, next_need_status

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
ADDRESS_MAX = 200
MEDIA_MAX = 9
MEDIA_URL_MAX = 500
NOTE_MAX = 1000
KEY_MAX = 64
PHONE_MAX = 20
DISPATCH_MAX_PEOPLE = 50
MERGE_MAX = 50
_MEDIA_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{2,19}$")
_METRES_PER_DEGREE = 111_320.0

# Which sources each role may claim: residents blow the whistle from the app, team members also
# report for their team; hotline, sentinel-post, patrol and consultation tickets come from staff.
_SELF_SOURCES = frozenset({NeedSource.RESIDENT_APP, NeedSource.TEAM_REPORT})
SOURCES_BY_ROLE: dict[Role, frozenset[NeedSource]] = {
    Role.RESIDENT: frozenset({NeedSource.RESIDENT_APP}),
    Role.VOLUNTEER: _SELF_SOURCES,
    Role.ENTERPRISE_HELPER: _SELF_SOURCES,
    Role.GRID_WORKER: frozenset(NeedSource),
    Role.COORDINATOR: frozenset(NeedSource),
    Role.ADMIN: frozenset(NeedSource),
}


# ---------------------------------------------------------------- shared steps


async def get_need(session: AsyncSession, need_id: int, *, field: str = "need_id") -> Need:
    return await get_current(session, Need, need_id, kind="need", field=field)


async def is_assignee(session: AsyncSession, need_id: int, person_id: int | None) -> bool:
    """Whether the person is actively dispatched to the need, in person or through a team."""
    if person_id is None:
        return False
    teams = select(TeamMembership.team_id).where(col(TeamMembership.person_id) == person_id)
    stmt = select(sa.literal(1)).where(
        col(NeedAssignment.need_id) == need_id,
        col(NeedAssignment.active).is_(True),
        sa.or_(
            col(NeedAssignment.person_id) == person_id,
            col(NeedAssignment.team_id).in_(teams),
        ),
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def _require_handler(session: AsyncSession, need: Need, actor: Actor) -> None:
    """Arrive/resolve/return: the dispatched people themselves, or staff of the need's area."""
    assert need.id is not None
    if actor.is_staff and actor.in_scope(need.community_id):
        return
    if await is_assignee(session, need.id, actor.person_id):
        return
    raise Forbidden("only the people dispatched to this need or staff of its area may do this")


def _require_staff_in_scope(need: Need, actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("only grid workers, coordinators and administrators may do this")
    actor.require_scope(need.community_id)


def _about(need: Need) -> dict[str, Any]:
    return {"kind": "need", "need_id": need.id, "community_id": need.community_id}


_NEEDS = Loop(
    kind="need",
    table=Need,
    event_table=NeedEvent,
    row_key="need_id",
    next_status=next_need_status,
    message_about=_about,
)


async def _deactivate_assignments(session: AsyncSession, need_id: int) -> None:
    await session.execute(
        sa.update(NeedAssignment)
        .where(col(NeedAssignment.need_id) == need_id, col(NeedAssignment.active).is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------- where a report belongs


def _box(lat: float, lon: float, metres: float) -> tuple[float, float, float, float]:
    dlat = metres / _METRES_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


async def nearest_grid(
    session: AsyncSession, lat: float, lon: float, *, community_id: int | None = None
) -> Grid | None:
    """The grid whose centre is nearest to the point (within the community, when given)."""
    base = select(Grid)
    if community_id is not None:
        base = base.where(col(Grid.community_id) == community_id)
    for metres in (3_000.0, 15_000.0, None):
        stmt = base
        if metres is not None:
            lat0, lat1, lon0, lon1 = _box(lat, lon, metres)
            stmt = stmt.where(
                col(Grid.latitude).between(lat0, lat1), col(Grid.longitude).between(lon0, lon1)
            )
        grids = (await session.execute(stmt)).scalars().all()
        if grids:
            return min(grids, key=lambda g: haversine_m(lat, lon, g.latitude, g.longitude))
    return None


async def _nearest_community(session: AsyncSession, lat: float, lon: float) -> Community | None:
    communities = (await session.execute(select(Community))).scalars().all()
    if not communities:
        return None
    return min(communities, key=lambda c: haversine_m(lat, lon, c.latitude, c.longitude))


async def _locate(
    session: AsyncSession,
    lat: float,
    lon: float,
    community_id: int | None,
    grid_id: int | None,
    compound_id: int | None,
) -> tuple[int, int | None]:
    """(community id, grid id) of a report: as given, else from its location (nearest grid)."""
    if compound_id is not None:
        compound = await session.get(Compound, compound_id)
        if compound is None:
            raise NotFound("compound", compound_id, field="compound_id")
        if community_id is not None and compound.community_id != community_id:
            raise Invalid("compound_id", "the compound is not in the given community")
        community_id = compound.community_id
    if grid_id is not None:
        grid = await session.get(Grid, grid_id)
        if grid is None:
            raise NotFound("grid", grid_id, field="grid_id")
        if community_id is not None and grid.community_id != community_id:
            raise Invalid("grid_id", "the grid is not in the given community")
        return grid.community_id, grid.id
    if community_id is not None:
        if await session.get(Community, community_id) is None:
            raise NotFound("community", community_id, field="community_id")
        nearest = await nearest_grid(session, lat, lon, community_id=community_id)
        return community_id, nearest.id if nearest else None
    nearest = await nearest_grid(session, lat, lon)
    if nearest is not None:
        return nearest.community_id, nearest.id
    community = await _nearest_community(session, lat, lon)
    if community is None or community.id is None:
        raise Invalid("location", "no community is registered near this location")
    return community.id, None


async def find_duplicate(
    session: AsyncSession,
    *,
    category: NeedCategory,
    lat: float,
    lon: float,
    now: datetime,
    exclude_id: int | None = None,
) -> Need | None:
    """The earliest open need of the same category within the radius and the time window."""
    lat0, lat1, lon0, lon1 = _box(lat, lon, DUPLICATE_RADIUS_M)
    stmt = (
        select(Need)
        .where(
            col(Need.category) == category,
            col(Need.status).in_(list(OPEN_NEED_STATUSES)),
            col(Need.reported_at) >= now - DUPLICATE_WINDOW,
            col(Need.reported_at) <= now,
            col(Need.latitude).between(lat0, lat1),
            col(Need.longitude).between(lon0, lon1),
        )
        .order_by(col(Need.reported_at), col(Need.id))
    )
    if exclude_id is not None:
        stmt = stmt.where(col(Need.id) != exclude_id)
    for need in (await session.execute(stmt)).scalars():
        if haversine_m(lat, lon, need.latitude, need.longitude) <= DUPLICATE_RADIUS_M:
            return need
    return None


# ---------------------------------------------------------------- report


def _validate_report(
    *,
    actor: Actor,
    title: str,
    description: str,
    source: NeedSource,
    latitude: float,
    longitude: float,
    media_urls: Sequence[str],
    address: str,
    urgency: int,
    idempotency_key: str | None,
    reporter_phone: str | None,
) -> Problems:
    p = Problems()
    text = title.strip()
    p.check(bool(text), "title", "title must not be empty")
    p.check(len(text) <= TITLE_MAX, "title", f"title is longer than {TITLE_MAX} characters")
    p.check(
        len(description) <= DESCRIPTION_MAX,
        "description",
        f"description is longer than {DESCRIPTION_MAX} characters",
    )
    p.check(len(address) <= ADDRESS_MAX, "address", f"address is longer than {ADDRESS_MAX}")
    finite = math.isfinite(latitude) and math.isfinite(longitude)
    p.check(
        finite and in_county(latitude, longitude),
        "location",
        "the location is outside Ji'an County",
    )
    if p.check(len(media_urls) <= MEDIA_MAX, "media_urls", f"at most {MEDIA_MAX} media links"):
        for i, url in enumerate(media_urls):
            p.check(
                len(url) <= MEDIA_URL_MAX and bool(_MEDIA_URL.match(url)),
                f"media_urls.{i}",
                f"not an http(s) link of at most {MEDIA_URL_MAX} characters",
            )
    p.check(1 <= urgency <= 5, "urgency", "urgency must be between 1 and 5")
    if idempotency_key is not None:
        p.check(
            0 < len(idempotency_key) <= KEY_MAX,
            "idempotency_key",
            f"idempotency key must have 1 to {KEY_MAX} characters",
        )
    if reporter_phone:
        p.check(bool(_PHONE.match(reporter_phone)), "reporter_phone", "not a phone number")
    if source not in SOURCES_BY_ROLE.get(actor.role, frozenset()):
        p.add("source", f"your role may not report needs from source '{source.value}'")
    return p


async def _by_key(session: AsyncSession, key: str, actor: Actor) -> Need | None:
    return await by_idempotency_key(
        session, Need, key, actor=actor, owner="reporter_account_id", others="another reporter"
    )


async def report_need(
    *,
    session: AsyncSession,
    actor: Actor,
    title: str,
    category: NeedCategory,
    latitude: float,
    longitude: float,
    description: str = "",
    source: NeedSource = NeedSource.RESIDENT_APP,
    media_urls: Sequence[str] = (),
    address: str = "",
    urgency: int = 3,
    community_id: int | None = None,
    grid_id: int | None = None,
    compound_id: int | None = None,
    idempotency_key: str | None = None,
    reporter_phone: str | None = None,
    now: datetime | None = None,
) -> Need:
    """吹哨: a new need, or the one already reported with the same idempotency key.

    Its community and grid come from the location (the nearest grid) when not given; a nearby
    open need of the same category reported within the window is flagged as `duplicate_of_id`.
    """
    now = now_or(now)
    if idempotency_key is not None and 0 < len(idempotency_key) <= KEY_MAX:
        existing = await _by_key(session, idempotency_key, actor)
        if existing is not None:
            return existing
    description, address = description.strip(), address.strip()
    _validate_report(
        actor=actor,
        title=title,
        description=description,
        source=source,
        latitude=latitude,
        longitude=longitude,
        media_urls=media_urls,
        address=address,
        urgency=urgency,
        idempotency_key=idempotency_key,
        reporter_phone=reporter_phone,
    ).raise_if_any()
    community, grid = await _locate(
        session, latitude, longitude, community_id, grid_id, compound_id
    )
    duplicate = await find_duplicate(
        session, category=category, lat=latitude, lon=longitude, now=now
    )
    need = Need(
        title=title.strip(),
        description=description,
        category=category,
        source=source,
        tier=NeedTier.ORDINARY,
        status=NeedStatus.REPORTED,
        urgency=urgency,
        community_id=community,
        grid_id=grid,
        compound_id=compound_id,
        reporter_account_id=actor.account_id,
        reporter_person_id=actor.person_id,
        reporter_name=actor.name[:32],
        reporter_phone=reporter_phone or None,
        latitude=latitude,
        longitude=longitude,
        address=address,
        media_urls=list(media_urls),
        idempotency_key=idempotency_key,
        duplicate_of_id=duplicate.id if duplicate else None,
        reported_at=now,
        updated_at=now,
    )
    need, inserted = await insert_once(
        session, need, idempotency_key, lambda key: _by_key(session, key, actor)
    )
    if not inserted:
        return need
    note = f"疑似重复: #{duplicate.id}" if duplicate else ""
    data = {"duplicate_of_id": duplicate.id} if duplicate else {}
    record_event(session, _NEEDS, need, NeedAction.REPORT, None, actor, now, note, data)
    await session.flush()
    return need


# ---------------------------------------------------------------- the loop


async def accept_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    tier: NeedTier | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """受理: staff of the need's area take it on, optionally classifying its 1341 tier."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    need = await get_need(session, need_id)
    _require_staff_in_scope(need, actor)
    values: dict[str, Any] = {"accepted_at": now}
    data: dict[str, Any] = {}
    if tier is not None and tier is not need.tier:
        values["tier"] = tier
        data = {"from_tier": need.tier.value, "to_tier": tier.value}
    return await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.ACCEPT,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values=values,
        note=note,
        data=data,
    )


async def _grid_worker(session: AsyncSession, grid_id: int | None) -> int:
    """The grid's full-time worker (专职网格员), or its leader when it has none."""
    if grid_id is None:
        raise Invalid("to_grid_worker", "the need has no grid to take a grid worker from")
    rows = (
        await session.execute(select(GridStaff).where(col(GridStaff.grid_id) == grid_id))
    ).scalars()
    by_role = {row.role: row.person_id for row in rows}
    for role in (GridRole.FULL_TIME, GridRole.LEADER):
        if role in by_role:
            return by_role[role]
    raise Invalid("to_grid_worker", "the need's grid has no full-time worker or leader")


async def allocate_resources(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    allocations: Sequence[tuple[int, int]],
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """调配资源: lend quantities of resources (resource id, quantity) to an open need.

    Recorded as its own event, so that what was lent, by whom and when stays in the history.
    """
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    if not allocations:
        raise Invalid("allocations", "allocate at least one resource")
    if any(quantity <= 0 for _, quantity in allocations):
        raise Invalid("allocations", "quantities must be positive")
    need = await get_need(session, need_id)
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators allocate resources")
    actor.require_scope(need.community_id)
    ids = [resource_id for resource_id, _ in allocations]
    found = set(
        (await session.execute(select(Resource.id).where(col(Resource.id).in_(ids)))).scalars()
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound("resource", missing[0], field="allocations")
    updated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.ALLOCATE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        note=note,
        data={"resources": [{"resource_id": r, "quantity": q} for r, q in allocations]},
    )
    session.add_all(
        NeedAssignment(
            need_id=need_id,
            resource_id=resource_id,
            quantity=quantity,
            assigned_at=now,
            assigned_by_account_id=actor.account_id,
        )
        for resource_id, quantity in allocations
    )
    await session.flush()
    return updated


async def dispatch_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    to_person_ids: Sequence[int] = (),
    to_team_id: int | None = None,
    to_grid_worker: bool = False,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """派单/转派: to people, a team and/or the grid's worker; sets the 1341 deadlines.

    Dispatching again deactivates the earlier assignments; the deadlines run from this dispatch.
    """
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    person_ids = list(dict.fromkeys(to_person_ids))
    if not person_ids and to_team_id is None and not to_grid_worker:
        raise Invalid("to_person_ids", "dispatch to at least one person, a team or the grid worker")
    if len(person_ids) > DISPATCH_MAX_PEOPLE:
        raise Invalid("to_person_ids", f"at most {DISPATCH_MAX_PEOPLE} people per dispatch")
    need = await get_need(session, need_id)
    _require_staff_in_scope(need, actor)
    if person_ids:
        found = set(
            (
                await session.execute(select(Person.id).where(col(Person.id).in_(person_ids)))
            ).scalars()
        )
        missing = [i for i in person_ids if i not in found]
        if missing:
            raise NotFound("person", missing[0], field="to_person_ids")
    if to_team_id is not None and await session.get(Team, to_team_id) is None:
        raise NotFound("team", to_team_id, field="to_team_id")
    if to_grid_worker:
        worker = await _grid_worker(session, need.grid_id)
        if worker not in person_ids:
            person_ids.append(worker)
    deadlines = need_deadlines(need.tier, now)
    updated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.DISPATCH,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={
            "dispatched_at": now,
            "arrive_by": deadlines.arrive_by,
            "resolve_by": deadlines.resolve_by,
            "arrived_at": None,
        },
        note=note,
        data={
            "person_ids": person_ids,
            "team_id": to_team_id,
            "arrive_by": deadlines.arrive_by.isoformat(),
            "resolve_by": deadlines.resolve_by.isoformat(),
        },
    )
    await _deactivate_assignments(session, need_id)
    rows = [
        NeedAssignment(
            need_id=need_id, person_id=p, assigned_at=now, assigned_by_account_id=actor.account_id
        )
        for p in person_ids
    ]
    if to_team_id is not None:
        rows.append(
            NeedAssignment(
                need_id=need_id,
                team_id=to_team_id,
                assigned_at=now,
                assigned_by_account_id=actor.account_id,
            )
        )
    session.add_all(rows)
    await session.flush()
    return updated


async def _handler_step(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    action: NeedAction,
    stamp: str,
    expected_version: int | None,
    note: str,
    now: datetime | None,
) -> Need:
    """A step by someone dispatched (or staff of the area), its time recorded in `stamp`."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    need = await get_need(session, need_id)
    await _require_handler(session, need, actor)
    return await step(
        session,
        _NEEDS,
        need,
        action=action,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={stamp: now},
        note=note,
    )


async def arrive_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """到场: someone dispatched is on site (the 10-minute promise)."""
    return await _handler_step(
        session=session,
        need_id=need_id,
        actor=actor,
        action=NeedAction.ARRIVE,
        stamp="arrived_at",
        expected_version=expected_version,
        note=note,
        now=now,
    )


async def resolve_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """办结: the problem is solved (or, for a major need, a plan is made)."""
    return await _handler_step(
        session=session,
        need_id=need_id,
        actor=actor,
        action=NeedAction.RESOLVE,
        stamp="resolved_at",
        expected_version=expected_version,
        note=note,
        now=now,
    )


async def rate_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    satisfaction: int,
    comment: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Need:
    """评价: the reporter rates the result (1–5) and the need is closed."""
    now = now_or(now)
    comment = check_rating(satisfaction, comment)
    need = await get_need(session, need_id)
    if actor.account_id is None or need.reporter_account_id != actor.account_id:
        raise Forbidden("only the person who reported this need may rate it")
    return await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.RATE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={"satisfaction": satisfaction, "rating_comment": comment, "closed_at": now},
        note=comment,
        data={"satisfaction": satisfaction},
    )


async def escalate_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Need:
    """升级: one tier up; a dispatched need's deadline is recomputed from its dispatch time."""
    now = now_or(now)
    reason = clean_text(reason, "reason", max_length=NOTE_MAX, required=True)
    need = await get_need(session, need_id)
    _require_staff_in_scope(need, actor)
    assert need.id is not None
    check_version("need", need.id, need.version, expected_version)
    next_need_status(need.status, NeedAction.ESCALATE)  # status first: a closed need stays put
    tier = escalated_tier(need.tier)
    values: dict[str, Any] = {"tier": tier}
    data: dict[str, Any] = {"from_tier": need.tier.value, "to_tier": tier.value}
    if need.dispatched_at is not None and need.status in (
        NeedStatus.DISPATCHED,
        NeedStatus.ARRIVED,
    ):
        deadlines = need_deadlines(tier, need.dispatched_at)
        values["resolve_by"] = deadlines.resolve_by
        data["resolve_by"] = deadlines.resolve_by.isoformat()
    return await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.ESCALATE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values=values,
        note=reason,
        data=data,
    )


async def return_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Need:
    """退回: the dispatched work goes back to the coordinator's desk, with the reason.

    The assignments end; the deadlines stay, so a need waiting to be dispatched again still
    shows as overdue once they pass.
    """
    now = now_or(now)
    reason = clean_text(reason, "reason", max_length=NOTE_MAX, required=True)
    need = await get_need(session, need_id)
    await _require_handler(session, need, actor)
    updated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.RETURN,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={"arrived_at": None},
        note=reason,
    )
    await _deactivate_assignments(session, need_id)
    return updated


async def merge_needs(
    *,
    session: AsyncSession,
    survivor_id: int,
    duplicates: Sequence[tuple[int, int | None]],
    actor: Actor,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """合并: each duplicate (id, expected version) is folded into the open survivor.

    The duplicates keep their reporters and point at the survivor (`merged_into_id`); their
    active assignments end. The survivor itself is locked for the transaction but not changed.
    """
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    ids = [d for d, _ in duplicates]
    if not ids:
        raise Invalid("duplicates", "name at least one duplicate to merge")
    if len(ids) > MERGE_MAX:
        raise Invalid("duplicates", f"at most {MERGE_MAX} needs per merge")
    if len(set(ids)) != len(ids):
        raise Invalid("duplicates", "a need is named twice")
    if survivor_id in ids:
        raise Invalid("duplicates", "a need cannot be merged into itself")
    survivor = await get_need(session, survivor_id, field="survivor_id")
    _require_staff_in_scope(survivor, actor)
    if survivor.status not in OPEN_NEED_STATUSES:
        raise Invalid(
            "survivor_id", f"the surviving need is {survivor.status.value}; it must be open"
        )
    # Lock every need involved in id order, so two merges over the same needs cannot deadlock.
    for locked in sorted({survivor_id, *ids}):
        await lock_row(session, Need, locked)
    survivor = await get_need(session, survivor_id, field="survivor_id")
    if survivor.status not in OPEN_NEED_STATUSES:
        raise Conflict("the surviving need was closed meanwhile; reload and retry")
    for i, (dup_id, expected) in enumerate(duplicates):
        dup = await get_need(session, dup_id, field=f"duplicates.{i}.id")
        _require_staff_in_scope(dup, actor)
        await _deactivate_assignments(session, dup_id)
        await step(
            session,
            _NEEDS,
            dup,
            action=NeedAction.MERGE,
            expected_version=expected,
            actor=actor,
            now=now,
            values={"merged_into_id": survivor_id},
            note=note or f"合并至 #{survivor_id}",
            data={"merged_into_id": survivor_id},
        )
    return survivor
