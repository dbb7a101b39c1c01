"""The generator's fixed figures (demo accounts, hot spots, names of the centres) and the small
seeded random helpers every builder draws with: clamped positions, weighted picks, local times."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Generic

from faker.providers.person.zh_CN import Provider as ZhNames

from schema.base import COUNTY_LAT, COUNTY_LON
from schema.enums import NeedCategory, NeedTier, Role
from schema.passwords import hash_password
from seed.figures import DEMO_PASSWORD
from seed.reference.tables import T

# Demo accounts, one per role, in id order (ids 1..6 in the reference county).
DEMO_ACCOUNTS: tuple[tuple[str, Role], ...] = (
    ("demo-resident", Role.RESIDENT),
    ("demo-volunteer", Role.VOLUNTEER),
    ("demo-gridworker", Role.GRID_WORKER),
    ("demo-coordinator", Role.COORDINATOR),
    ("demo-helper", Role.ENTERPRISE_HELPER),
    ("demo-admin", Role.ADMIN),
    ("demo-business-office", Role.BUSINESS_OFFICE),
    # Linked to an enterprise, so made once the enterprises exist (build_enterprise_account).
    ("demo-enterprise", Role.ENTERPRISE),
)

# In-service party members living out in the villages (the rest live in the county town).
VILLAGE_PARTY_MEMBERS = 1200
HOT_VILLAGES, HOT_COMMUNITIES, HOT_SHARE = 12, 4, 0.35
BACKLOG_URBAN_WEIGHT = 12

LOCAL_OFFSET = timedelta(hours=8)  # Asia/Shanghai, no daylight saving
COMMAND_CENTRE = "数字庐陵指挥中心"
HOTLINE_CENTRE = "12345热线平台"
WEATHER_STATION = "营商气象站"
MEDIA_BASE = "https://media.luling.example/needs"

# Reports per local hour of the day (0..23): quiet at night, busy in the morning and afternoon.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 8, 9, 10, 10, 9, 9, 8, 7, 6, 4, 3, 2)


# --------------------------------------------------------------------------- small helpers


def _clamp(lat: float, lon: float) -> tuple[float, float]:
    m = 0.005
    lat = min(max(lat, COUNTY_LAT[0] + m), COUNTY_LAT[1] - m)
    lon = min(max(lon, COUNTY_LON[0] + m), COUNTY_LON[1] - m)
    return round(lat, 6), round(lon, 6)


def _near(rng: random.Random, lat: float, lon: float, radius: float) -> tuple[float, float]:
    return _clamp(lat + rng.uniform(-radius, radius), lon + rng.uniform(-radius, radius))


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainder), exactly."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _minutes(rng: random.Random, lo: float, hi: float) -> timedelta:
    """A random duration between lo and hi minutes, to the second."""
    return timedelta(seconds=rng.randint(int(lo * 60), int(hi * 60)))


def _days_ago_local(rng: random.Random, now: datetime, lo_days: int, hi_days: int) -> datetime:
    """A report time lo..hi days before now, at a plausible local hour."""
    local_midnight = (now + LOCAL_OFFSET).replace(hour=0, minute=0, second=0, microsecond=0)
    day = local_midnight - timedelta(days=rng.randint(lo_days, hi_days))
    hour = _HOURS.pick(rng)
    return day - LOCAL_OFFSET + timedelta(hours=hour, seconds=rng.randrange(3600))


def _local_slot(day_utc_midnight: datetime, minute_of_day: int) -> datetime:
    return day_utc_midnight - LOCAL_OFFSET + timedelta(minutes=minute_of_day)


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[rng.randrange(len(seq))]


class _Weighted(Generic[T]):
    """A weighted choice with its cumulative weights computed once (random.choices redoes it)."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = tuple(items)
        self.cum = tuple(accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cum, rng.random() * self.total)]


_HOURS = _Weighted(range(24), _HOUR_WEIGHTS)
_UNHAPPY = _Weighted((3, 2, 1), (6, 3, 1))
_TIERS = _Weighted((NeedTier.ORDINARY, NeedTier.COMPLEX, NeedTier.MAJOR), (70, 25, 5))
_HEADCOUNT_CLOSED = _Weighted((1, 2, 3), (70, 25, 5))
_HEADCOUNT_OPEN = _Weighted((1, 2, 3), (55, 32, 13))
# Availability windows (local minutes): evenings after work, weekend spans, part-time half-days.
_EVENINGS = ((18 * 60, 21 * 60), (18 * 60 + 30, 21 * 60), (19 * 60, 21 * 60 + 30))
_EVENING_COUNT = _Weighted((0, 1, 2, 3, 4), (10, 25, 30, 25, 10))
_WEEKEND_COUNT = _Weighted((0, 1, 2), (20, 50, 30))
_WEEKEND_SPANS = ((8 * 60 + 30, 12 * 60), (14 * 60, 17 * 60 + 30), (9 * 60, 17 * 60))
_PART_TIME_SPANS = (
    (8 * 60, 12 * 60),
    (14 * 60, 18 * 60),
    (8 * 60 + 30, 17 * 60 + 30),
    (18 * 60 + 30, 21 * 60),
)
_DUTY_SPANS = ((8 * 60 + 30, 12 * 60), (14 * 60, 17 * 60 + 30))
_CATEGORIES = _Weighted(list(NeedCategory), (18, 20, 12, 10, 8, 10, 4, 10, 2, 6))
_LAST_NAMES = _Weighted(list(ZhNames.last_names), list(ZhNames.last_names.values()))
_FIRST_NAMES: tuple[str, ...] = tuple(ZhNames.first_names)


def _rating(rng: random.Random, *, satisfied: bool) -> int:
    if satisfied:
        return 5 if rng.random() < 0.78 else 4
    return _UNHAPPY.pick(rng)


_COMMENTS_GOOD = ("处理及时，非常满意", "网格员态度好", "问题解决了，谢谢", "响应很快", "")
_COMMENTS_BAD = ("处理太慢", "问题没有彻底解决", "希望加强回访", "")


@lru_cache(maxsize=1)
def demo_password_hash() -> str:
    """`luling-demo` hashed once per process and shared by every demo account (argon2 is slow)."""
    return hash_password(DEMO_PASSWORD)
