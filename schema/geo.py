"""Distances and the county boundary."""

from __future__ import annotations

import math

from schema.base import COUNTY_LAT, COUNTY_LON

EARTH_RADIUS_M = 6_371_000.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def in_county(lat: float, lon: float) -> bool:
    return COUNTY_LAT[0] <= lat <= COUNTY_LAT[1] and COUNTY_LON[0] <= lon <= COUNTY_LON[1]


def point_problem(lat: float, lon: float) -> str | None:
    """Why (latitude, longitude) is no point on the Earth, or None: a search far off the county
    is an empty answer, but one off the globe is a mistake (and overflows distance sums)."""
    if not -90.0 <= lat <= 90.0:
        return f"latitude must be between -90 and 90 (got {lat:g})"
    if not -180.0 <= lon <= 180.0:
        return f"longitude must be between -180 and 180 (got {lon:g})"
    return None
