"""Where a place may lie: in one of the province's counties, and in its community's county.

One database may hold a province of counties (`luling seed --counties N`), county k in its own
box of the grid (`schema.base.county_offset`, `schema.geo.county_box`). A place (a reported need,
an activity, a unit, a sentinel post …) must lie inside the box of a county the database holds
(one with communities, `community.county`); a place that belongs to a community (a need
reported in community X, an activity of X, a post of X) must lie in X's county. A point between
two counties' boxes, or in the box of a county the database does not hold, is refused.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.areas import Community
from schema.base import REFERENCE_COUNTY
from schema.geo import county_problem, grid_county, held_counties


async def place_problem(
    session: AsyncSession, lat: float | None, lon: float | None, *, community_id: int | None = None
) -> str | None:
    """Why a place is refused, or None (`schema.geo.county_problem`, with the database's
    counties). With `community_id`, the place must lie in that community's county; without
    (or when no such community exists: the caller's own lookup says so), in any of the
    database's counties."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return "give both coordinates, as numbers"
    if community_id is not None:
        home = (
            await session.execute(
                sa.select(col(Community.county)).where(col(Community.id) == community_id)
            )
        ).scalar_one_or_none()
        if home is not None:
            return county_problem(lat, lon, (), home)
    county = grid_county(lat, lon)
    held = () if county is None or not await _holds(session, county) else (county,)
    return county_problem(lat, lon, held)


async def _holds(session: AsyncSession, county: str) -> bool:
    """Whether `county` is one of the database's (`schema.geo.held_counties`)."""

    async def first(stmt: sa.Select[Any]) -> str | None:
        found = (await session.execute(stmt.limit(1))).scalar_one_or_none()
        return None if found is None else str(found)

    counties = sa.select(col(Community.county))
    found = await first(counties.where(col(Community.county) == county))
    if found is None and county == REFERENCE_COUNTY:  # held while the database has none
        found = await first(counties)
        return county in held_counties([] if found is None else [found])
    return found is not None
