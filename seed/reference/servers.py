"""Who serves needs, as arrays: the people the open backlog is drawn against, by the reach and
free-time rules matching enforces (`matching.travel`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from matching.travel import (
    MODE_CODE,
    REACH_LIMIT_MINUTES,
    haversine_km,
    reach_radius_km,
    travel_minutes,
)
from schema.enums import NeedCategory, NeedTier
from schema.people import SERVING_KINDS as PEOPLE_SENT_TO_NEEDS
from seed.reference.tables import Row

# --------------------------------------------------------------------------- who serves needs

# People who are sent to needs, as the matcher loads them (`schema.people.SERVING_KINDS`).
SERVING_KINDS = frozenset(k.value for k in PEOPLE_SENT_TO_NEEDS)
MINUTES_PER_DAY = 24 * 60
_KM_PER_DEGREE_LAT = 110.5  # under the 111.2 km of matching's sphere: the band errs wide

# Share of open needs, by category, that call for no particular skill: clearing rubbish,
# patrolling a hazard, visiting an elder, explaining a notice - any volunteer will do.
_SKILL_FREE: dict[NeedCategory, float] = {
    NeedCategory.INFRASTRUCTURE: 0.2,
    NeedCategory.ENVIRONMENT: 0.65,
    NeedCategory.SAFETY: 0.45,
    NeedCategory.DISPUTE: 0.2,
    NeedCategory.ELDER_CARE: 0.45,
    NeedCategory.PROPERTY: 0.3,
    NeedCategory.FOOD_SAFETY: 0.2,
    NeedCategory.POLICY: 0.45,
    NeedCategory.EMERGENCY: 0.3,
    NeedCategory.OTHER: 0.6,
}
_SECOND_SKILL = 0.2  # of the needs that call for skills, these call for two
# Share of open needs, by category, booked after office hours (an evening or the weekend), when
# residents are at home: disputes with both parties, visits to families, talks about policy.
_AFTER_HOURS: dict[NeedCategory, float] = {
    NeedCategory.INFRASTRUCTURE: 0.2,
    NeedCategory.ENVIRONMENT: 0.3,
    NeedCategory.SAFETY: 0.25,
    NeedCategory.DISPUTE: 0.6,
    NeedCategory.ELDER_CARE: 0.5,
    NeedCategory.PROPERTY: 0.5,
    NeedCategory.FOOD_SAFETY: 0.2,
    NeedCategory.POLICY: 0.5,
    NeedCategory.EMERGENCY: 0.3,
    NeedCategory.OTHER: 0.5,
}


def _after_hours(window: tuple[int, int, int]) -> bool:
    """A window on the weekend or reaching into the evening."""
    weekday, _, end = window
    return weekday >= 5 or end > 18 * 60


class _Servers:
    """The people who serve needs, as arrays: who reaches a point within a 1341 tier's limit
    (by `matching.travel`'s rules, the ones matching enforces), who is free at a minute of the
    week (local time), and which skills they hold. The open backlog is drawn against them."""

    def __init__(
        self,
        people: Sequence[Row],
        skills: dict[int, list[str]],
        windows: dict[int, list[tuple[int, int, int]]],
        skill_ids: dict[str, int],
    ) -> None:
        people = sorted(people, key=lambda p: (p["latitude"], p["id"]))  # to slice by latitude
        self.lat = np.array([p["latitude"] for p in people], dtype=np.float64)
        self.lon = np.array([p["longitude"] for p in people], dtype=np.float64)
        self.mode = np.array([MODE_CODE[p["travel_mode"]] for p in people], dtype=np.int64)
        self.skills = np.array(
            [sum(1 << (skill_ids[c] - 1) for c in skills.get(p["id"], ())) for p in people],
            dtype=np.int64,
        )
        self.windows = [windows.get(p["id"], []) for p in people]
        self.after_hours = np.array([any(map(_after_hours, w)) for w in self.windows], bool)
        self.office = np.array([not all(map(_after_hours, w)) for w in self.windows], bool)
        width = max((len(w) for w in self.windows), default=0) or 1
        self.win_lo = np.zeros((len(people), width), dtype=np.int64)
        self.win_hi = np.zeros((len(people), width), dtype=np.int64)  # [0, 0): nothing
        for i, ws in enumerate(self.windows):
            for j, (day, lo, hi) in enumerate(ws):
                self.win_lo[i, j] = day * MINUTES_PER_DAY + lo
                self.win_hi[i, j] = day * MINUTES_PER_DAY + hi

    def reach(self, lat: float, lon: float, tier: NeedTier) -> NDArray[np.int64]:
        """Indexes of everyone who gets to (lat, lon) within the tier's arrival limit."""
        limit = REACH_LIMIT_MINUTES[tier.value]
        km = float(reach_radius_km(limit, np.arange(len(MODE_CODE))).max())
        band = km / _KM_PER_DEGREE_LAT * 1.01 + 1e-6  # no one farther north or south gets there
        lo, hi = np.searchsorted(self.lat, (lat - band, lat + band), side="left")
        d = haversine_km(self.lat[lo:hi], self.lon[lo:hi], lat, lon)
        return lo + np.flatnonzero(travel_minutes(d, self.mode[lo:hi]) <= limit)

    def free_at(self, who: NDArray[np.int64], minute_of_week: int) -> NDArray[np.int64]:
        """Those of `who` with a window covering the minute of the week."""
        m = minute_of_week
        inside = (self.win_lo[who] <= m) & (m < self.win_hi[who])
        return who[inside.any(axis=1)]

    def holders(self, who: NDArray[np.int64], mask: int) -> int:
        """How many of `who` hold every skill of the bit mask."""
        return int(np.count_nonzero((self.skills[who] & mask) == mask))
