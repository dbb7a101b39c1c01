"""Distances, and which of the province's county boxes a point lies in."""

from __future__ import annotations

import math
from collections.abc import Container, Iterable

from schema.base import (
    COUNTIES_PER_ROW,
    COUNTY_LAT,
    COUNTY_LON,
    COUNTY_PITCH_DEG,
    PROVINCE_ROWS,
    REFERENCE_COUNTY,
    county_name,
    county_offset,
)

EARTH_RADIUS_M = 6_371_000.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def county_box(index: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """((south, north), (west, east)) of the province's county number `index`: the reference
    county's box moved by `county_offset(index)` (the seed places county k there)."""
    dlat, dlon = county_offset(index)
    return (
        (round(COUNTY_LAT[0] + dlat, 6), round(COUNTY_LAT[1] + dlat, 6)),
        (round(COUNTY_LON[0] + dlon, 6), round(COUNTY_LON[1] + dlon, 6)),
    )


def grid_county(lat: float, lon: float) -> str | None:
    """The name of the grid's county whose box holds the point, or None: between two boxes,
    off the grid, or not a number. Whether that county exists in a database is the
    database's to say (`schema.services.locations.place_problem`)."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    row = math.floor((lat - COUNTY_LAT[0]) / COUNTY_PITCH_DEG)
    column = math.floor((lon - COUNTY_LON[0]) / COUNTY_PITCH_DEG)
    # The neighbours too: a point on a box's edge may divide to just below its row or column.
    for r in range(max(row - 1, 0), min(row + 2, PROVINCE_ROWS)):
        for c in range(max(column - 1, 0), min(column + 2, COUNTIES_PER_ROW)):
            (south, north), (west, east) = county_box(r * COUNTIES_PER_ROW + c)
            if south <= lat <= north and west <= lon <= east:
                return county_name(r * COUNTIES_PER_ROW + c)
    return None


def held_counties(community_counties: Iterable[str]) -> frozenset[str]:
    """The counties a database holds: those of its communities; with none yet, the reference
    county alone (a community's county by default)."""
    return frozenset(community_counties) or frozenset({REFERENCE_COUNTY})


def county_problem(
    lat: float, lon: float, counties: Container[str], home: str | None = None
) -> str | None:
    """Why a place is refused, or None: the rule of where a place may lie in a province. It
    lies in the box of one of `counties` (those the database holds) and, when it belongs to a
    community (a need reported in X, an activity of X), in `home`, that community's county.
    (`schema.services.locations.place_problem` asks the database.)"""
    county = grid_county(lat, lon)
    if home is not None:
        if county == home:
            return None
        where = "outside every county" if county is None else f"in {county}"
        return f"the place is {where}, not in {home}, the community's county"
    if county is not None and county in counties:
        return None
    return "the place is outside the province's counties"


def point_problem(lat: float, lon: float) -> str | None:
    """Why (latitude, longitude) is no point on the Earth, or None: a search far off the county
    is an empty answer, but one off the globe is a mistake (and overflows distance sums)."""
    if not -90.0 <= lat <= 90.0:
        return f"latitude must be between -90 and 90 (got {lat:g})"
    if not -180.0 <= lon <= 180.0:
        return f"longitude must be between -180 and 180 (got {lon:g})"
    return None
