"""Where a report belongs (its grid, community and compound), which property company a property
matter goes to, and whether it repeats an open need nearby."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import COMPOUND_RADIUS_M, Community, Compound, Grid
from schema.enums import NeedCategory, UnitKind
from schema.geo import haversine_m
from schema.needs import Need
from schema.services.errors import Invalid, NotFound
from schema.services.needs.limits import _METRES_PER_DEGREE
from schema.sla import DUPLICATE_RADIUS_M, DUPLICATE_WINDOW
from schema.units import PairedUnit
from schema.workflow import OPEN_NEED_STATUSES

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


async def compound_at(
    session: AsyncSession, lat: float, lon: float, *, community_id: int | None = None
) -> Compound | None:
    """The compound the point is inside (the nearest centre within COMPOUND_RADIUS_M), if any;
    only in the community, when given."""
    lat0, lat1, lon0, lon1 = _box(lat, lon, COMPOUND_RADIUS_M)
    stmt = select(Compound).where(
        col(Compound.latitude).between(lat0, lat1), col(Compound.longitude).between(lon0, lon1)
    )
    if community_id is not None:
        stmt = stmt.where(col(Compound.community_id) == community_id)
    near = [
        (haversine_m(lat, lon, c.latitude, c.longitude), c.id or 0, c)
        for c in (await session.execute(stmt)).scalars()
    ]
    inside = [n for n in near if n[0] <= COMPOUND_RADIUS_M]
    return min(inside, key=lambda n: n[:2])[2] if inside else None


async def _locate(
    session: AsyncSession,
    lat: float,
    lon: float,
    community_id: int | None,
    grid_id: int | None,
    compound_id: int | None,
) -> tuple[int, int | None, int | None]:
    """(community id, grid id, compound id) of a report: as given, else from its location (the
    compound it is inside, the nearest grid). A report placed on a grid is not put in a
    compound the caller did not name."""
    if compound_id is None and grid_id is None:
        inside = await compound_at(session, lat, lon, community_id=community_id)
        compound_id = inside.id if inside is not None else None
    community, grid = await _community_and_grid(
        session, lat, lon, community_id, grid_id, compound_id
    )
    return community, grid, compound_id


async def _community_and_grid(
    session: AsyncSession,
    lat: float,
    lon: float,
    community_id: int | None,
    grid_id: int | None,
    compound_id: int | None,
) -> tuple[int, int | None]:
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


# Why a property matter went to the company it did (recorded on the report's event).
ROUTED_RED_PROPERTY = "red_property"  # the compound's red-property (红色物业) company
ROUTED_OWN_COMPANY = "property_company"  # the compound's own company
ROUTED_STATE_FALLBACK = "state_owned_fallback"  # no company: the state-owned one (兜底)


async def route_property_matter(
    session: AsyncSession, category: NeedCategory, compound_id: int | None
) -> tuple[PairedUnit, str] | None:
    """The property company a report goes to, and why; None unless it is a property matter
    (物业服务) inside a compound. The compound's own company first (its red-property company
    where it has one); a compound without a company falls to the state-owned company (兜底)."""
    if category is not NeedCategory.PROPERTY or compound_id is None:
        return None
    compound = await session.get(Compound, compound_id)
    if compound is not None and compound.property_unit_id is not None:
        own = await session.get(PairedUnit, compound.property_unit_id)
        if own is not None:
            why = ROUTED_RED_PROPERTY if compound.is_red_property else ROUTED_OWN_COMPANY
            return own, why
    fallback = (
        await session.execute(
            select(PairedUnit)
            .where(
                col(PairedUnit.kind) == UnitKind.PROPERTY_COMPANY,
                col(PairedUnit.is_state_owned).is_(True),
            )
            .order_by(col(PairedUnit.id))
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if fallback is None else (fallback, ROUTED_STATE_FALLBACK)


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
