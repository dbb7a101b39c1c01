"""Distances, travel times by mode, and how far away a volunteer may start for each 1341 tier.

All functions take scalars or numpy arrays, so candidate generation (arrays) and the evaluator
(a handful of pairs) compute travel the same way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088
# Roads are not straight lines: a county-scale average of road over crow-flies distance.
DETOUR_FACTOR = 1.3

# Indexed by travel-mode code (see MODE_CODE). Start-up covers leaving home, parking, stairs.
MODE_CODE: dict[str, int] = {"foot": 0, "ebike": 1, "car": 2}
SPEED_KMH = np.array([5.0, 18.0, 30.0])  # on foot; e-bike (riders); car in county-town traffic
STARTUP_MINUTES = np.array([1.0, 2.0, 5.0])

# How long a volunteer may take to reach the need (minutes), the hard "reach" constraint.
# The 1341 promise is "staff on site within 10 minutes" from dispatch. Volunteers start from home,
# not from a grid post, so only ordinary needs (which must also be solved within 30 minutes) keep
# the 10-minute arrival; complex needs (solved within 4 hours) accept a 30-minute trip; major needs
# (a plan within a day) accept two hours. An area in emergency mode always gets the 10 minutes.
REACH_LIMIT_MINUTES: dict[str, float] = {
    "ordinary": 10.0,
    "complex": 30.0,
    "major": 120.0,
    "emergency": 10.0,
}
# Resources are fetched or booked, not walked to: one generous radius for every kind.
RESOURCE_REACH_KM = 25.0


def haversine_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64]:
    """Great-circle distance in km."""
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.subtract(lon2, lon1))
    a = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    km: NDArray[np.float64] = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return km


def travel_minutes(distance_km: ArrayLike, mode_code: ArrayLike) -> NDArray[np.float64]:
    """Door-to-door minutes for a crow-flies distance, by travel-mode code."""
    mode = np.asarray(mode_code, dtype=np.int64)
    road_km = np.asarray(distance_km, dtype=np.float64) * DETOUR_FACTOR
    minutes: NDArray[np.float64] = STARTUP_MINUTES[mode] + road_km / SPEED_KMH[mode] * 60.0
    return minutes


def reach_limit_minutes(tier: str, emergency: bool) -> float:
    return REACH_LIMIT_MINUTES["emergency" if emergency else tier]


def reach_radius_km(limit_minutes: ArrayLike, mode_code: ArrayLike) -> NDArray[np.float64]:
    """Largest crow-flies distance that `travel_minutes` keeps within `limit_minutes`."""
    mode = np.asarray(mode_code, dtype=np.int64)
    spare = np.maximum(np.asarray(limit_minutes, dtype=np.float64) - STARTUP_MINUTES[mode], 0.0)
    km: NDArray[np.float64] = spare / 60.0 * SPEED_KMH[mode] / DETOUR_FACTOR
    return km
