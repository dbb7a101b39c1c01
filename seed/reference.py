"""The reference county: a deterministic generator of plain row dicts, one list per table.

`generate_reference()` returns every table's rows (column name -> value) in foreign-key order,
with ids assigned here so that rows reference each other without database round-trips.
`iter_reference()` yields the same thing one county copy at a time (scale N = N copies), so that
a large synthetic county never has to sit in memory whole.

Everything is drawn from `random.Random` and a seeded `Faker('zh_CN')`, and every time is
computed from a fixed `now` (REFERENCE_NOW), so two runs give identical rows; the only exception
is the demo accounts' password hash (argon2 salts it), which callers may pin with
`password_hash=`. Copy 0 of a scaled county is the reference county itself; copies 1..N-1 are
synthetic counties with their own random draws and names suffixed "-2", "-3" … so that every
unique constraint holds. Skills and the demo accounts exist once, in copy 0.

The open backlog is drawn against the people who can serve it, by the reach rules matching
enforces (`matching.travel`): each need waiting for people is booked at a time when someone within
its tier's reach is free, and calls for skills somebody nearby holds (or none), so that a matching
job on the reference county fills most seats while volunteers still compete for their hours.
"""

from __future__ import annotations

import gc
import hashlib
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np
import sqlalchemy as sa
from faker import Faker
from faker.providers.person.zh_CN import Provider as ZhNames
from numpy.typing import NDArray
from pydantic_core import PydanticUndefined

import schema.models as models
from matching.travel import (
    MODE_CODE,
    REACH_LIMIT_MINUTES,
    haversine_km,
    reach_radius_km,
    travel_minutes,
)
from schema.base import COUNTY_LAT, COUNTY_LON, LabelledEnum
from schema.enums import (
    AreaKind,
    EnterpriseAction,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    GridKind,
    GridRole,
    NeedAction,
    NeedCategory,
    NeedSource,
    NeedStatus,
    NeedTier,
    PersonKind,
    ResourceKind,
    Role,
    SignUpStatus,
    TeamKind,
    TravelMode,
    UnitKind,
    VenueKind,
)
from schema.passwords import hash_password
from schema.people import SERVING_KINDS as PEOPLE_SENT_TO_NEEDS
from schema.sla import RESOLVE_WITHIN, enterprise_deadline, need_deadlines
from schema.workflow import escalated_tier, next_enterprise_status, next_need_status
from seed import vocab
from seed.figures import (
    COUNTY_SEAT,
    DEMO_PASSWORD,
    HENGXI,
    QUANTANG,
    REFERENCE,
    REFERENCE_NOW,
    REFERENCE_SEED,
    YANJINGFU,
)
from seed.identity import birth_date, credit_code, mobile_number, resident_id_number

Row = dict[str, Any]
Tables = dict[str, list[Row]]
T = TypeVar("T")

# Foreign-key order: a table comes after every table it references.
TABLE_ORDER: tuple[str, ...] = tuple(t.name for t in models.metadata.sorted_tables)

# Demo accounts, one per role, in id order (ids 1..6 in the reference county).
DEMO_ACCOUNTS: tuple[tuple[str, Role], ...] = (
    ("demo-resident", Role.RESIDENT),
    ("demo-volunteer", Role.VOLUNTEER),
    ("demo-gridworker", Role.GRID_WORKER),
    ("demo-coordinator", Role.COORDINATOR),
    ("demo-helper", Role.ENTERPRISE_HELPER),
    ("demo-admin", Role.ADMIN),
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


# --------------------------------------------------------------------------- row templates


@dataclass(frozen=True)
class _Template:
    columns: frozenset[str]
    defaults: dict[str, Any]
    required: frozenset[str]
    fresh: tuple[tuple[str, type], ...]  # JSON columns that get a new list/dict per row
    enums: tuple[str, ...]  # enum columns: members are stored as their string values
    checked: set[tuple[str, ...]] = field(default_factory=set)  # key sets already validated


def _plain(value: Any) -> Any:
    """Enum members become the strings the database stores."""
    return value._value_ if isinstance(value, LabelledEnum) else value


@lru_cache(maxsize=1)
def _templates() -> dict[str, _Template]:
    classes = [getattr(models, n) for n in models.__all__ if n != "metadata"]
    by_table = {c.__tablename__: c for c in classes}
    out: dict[str, _Template] = {}
    for table in models.metadata.sorted_tables:
        cls = by_table[table.name]
        defaults: dict[str, Any] = {}
        required: set[str] = set()
        fresh: list[tuple[str, type]] = []
        for col in table.columns:
            f = cls.model_fields[col.name]
            if col.name == "id":
                required.add("id")
            elif f.default_factory in (list, dict):
                fresh.append((col.name, f.default_factory))
            elif f.default_factory is not None or f.default is PydanticUndefined:
                required.add(col.name)
            else:
                defaults[col.name] = _plain(f.default)
        enums = tuple(c.name for c in table.columns if isinstance(c.type, sa.Enum))
        out[table.name] = _Template(
            frozenset(c.name for c in table.columns),
            defaults,
            frozenset(required),
            tuple(fresh),
            enums,
        )
    return out


class _Ids:
    """Explicit primary keys, continued across county copies."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def peek(self, table: str) -> int:
        """The id the next row of `table` will get."""
        return self._last.get(table, 0) + 1

    def next(self, table: str) -> int:
        n = self._last.get(table, 0) + 1
        self._last[table] = n
        return n


def _new_tables() -> Tables:
    return {name: [] for name in TABLE_ORDER}


def _add(tables: Tables, table: str, values: dict[str, Any]) -> Row:
    """Append a complete row: defaults filled, enums as their stored strings, columns checked."""
    tpl = _templates()[table]
    keys = tuple(values)
    if keys not in tpl.checked:
        unknown = values.keys() - tpl.columns
        if unknown:
            raise KeyError(f"{table}: unknown columns {sorted(unknown)}")
        missing = tpl.required - values.keys()
        if missing:
            raise KeyError(f"{table}: missing required columns {sorted(missing)}")
        tpl.checked.add(keys)
    row = dict(tpl.defaults)
    for name, factory in tpl.fresh:
        row[name] = factory()
    row.update(values)
    for name in tpl.enums:
        v = row[name]
        if v is not None and v.__class__ is not str:
            row[name] = v._value_
    tables[table].append(row)
    return row


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


# --------------------------------------------------------------------------- state machines


class _Event(NamedTuple):
    action: Any  # NeedAction | EnterpriseAction
    from_status: Any  # NeedStatus | EnterpriseRequestStatus | None
    to_status: Any
    at: datetime
    actor: str
    note: str
    data: dict[str, Any]
    account: int | None


class _History:
    """A need's or request's events, each step checked by schema.workflow's transition rules,
    so every generated history replays legally; times never go backwards."""

    def __init__(
        self,
        transition: Callable[[Any, Any], Any],
        first: _Event,
    ) -> None:
        self.transition = transition
        self.events = [first]
        self.status = first.to_status

    @classmethod
    def reported(cls, at: datetime, actor: str, account: int | None = None) -> _History:
        first = _Event(NeedAction.REPORT, None, NeedStatus.REPORTED, at, actor, "", {}, account)
        return cls(next_need_status, first)

    @classmethod
    def submitted(cls, at: datetime, actor: str) -> _History:
        first = _Event(
            EnterpriseAction.SUBMIT,
            None,
            EnterpriseRequestStatus.SUBMITTED,
            at,
            actor,
            "",
            {},
            None,
        )
        return cls(next_enterprise_status, first)

    @property
    def last_at(self) -> datetime:
        return self.events[-1].at

    def step(
        self,
        action: NeedAction | EnterpriseAction,
        at: datetime,
        actor: str,
        note: str = "",
        data: dict[str, Any] | None = None,
        account: int | None = None,
    ) -> None:
        at = max(at, self.last_at + timedelta(seconds=1))
        to = self.transition(self.status, action)
        self.events.append(_Event(action, self.status, to, at, actor, note, data or {}, account))
        self.status = to


@dataclass
class _Grid:
    id: int
    kind: GridKind
    name: str
    community_id: int
    community: str
    township: str
    lat: float
    lon: float
    leader: int = 0
    full_time: int = 0
    part_time: list[int] = field(default_factory=list)


@dataclass
class _NeedSpec:
    source: NeedSource
    category: NeedCategory
    tier: NeedTier
    grid: _Grid
    reported_at: datetime
    history: _History
    title: str
    reporter_name: str
    headcount: int = 1
    duration: int = 30
    urgency: int = 3
    compound_id: int | None = None
    consultation_id: int | None = None
    reporter_account_id: int | None = None
    reporter_person_id: int | None = None
    reporter_phone: str | None = None
    lat: float = 0.0
    lon: float = 0.0
    address: str = ""
    description: str = ""
    media_urls: list[str] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
    satisfaction: int | None = None
    rating_comment: str = ""
    # (person_id, team_id, resource_id, quantity, active, at)
    assignments: list[tuple[int | None, int | None, int | None, int, bool, datetime]] = field(
        default_factory=list
    )
    skills: list[int] = field(default_factory=list)
    resources: list[tuple[ResourceKind, int]] = field(default_factory=list)
    duplicate_of: _NeedSpec | None = None
    merged_into: _NeedSpec | None = None
    id: int = 0


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


# --------------------------------------------------------------------------- the generator


class _County:
    """One county copy. Copy 0 is the reference county."""

    def __init__(
        self, copy: int, *, seed: int, now: datetime, ids: _Ids, password_hash: str | None
    ) -> None:
        self.copy = copy
        self.now = now
        self.ids = ids
        self.password_hash = password_hash
        self.rng = random.Random(f"luling:{seed}:{copy}")
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed * 1000 + copy)
        self.sfx = "" if copy == 0 else f"-{copy + 1}"
        self.code_prefix = "JA" if copy == 0 else f"JA{copy + 1}"
        self.t = _new_tables()
        self.today = (now + LOCAL_OFFSET).date()
        self._phones: set[str] = set()
        self._id_seq = 0
        self.skill_ids = {code: i + 1 for i, (code, _) in enumerate(vocab.SKILLS)}
        self.name_pool = [self.fake.name() for _ in range(2000)]

    # ---- plumbing
    def name(self) -> str:
        """A Chinese name from Faker's zh_CN lists (surnames by frequency), drawn fast."""
        return _LAST_NAMES.pick(self.rng) + _pick(self.rng, _FIRST_NAMES)

    def add(self, table: str, **values: Any) -> Row:
        if "id" in _templates()[table].required and "id" not in values:
            values["id"] = self.ids.next(table)
        return _add(self.t, table, values)

    def phone(self) -> str:
        while True:
            p = mobile_number(self.rng)
            if p not in self._phones:
                self._phones.add(p)
                return p

    def id_number(self, min_age: int = 22, max_age: int = 60) -> str:
        self._id_seq += 1
        born = birth_date(self.rng, today=self.today, min_age=min_age, max_age=max_age)
        return resident_id_number(self.rng, born=born, sequence=self._id_seq)

    def ago(self, lo_days: float, hi_days: float) -> datetime:
        return self.now - timedelta(
            seconds=self.rng.randint(int(lo_days * 86400), int(hi_days * 86400))
        )

    # ---- build order
    def build(self) -> Tables:
        if self.copy == 0:
            for code, name in vocab.SKILLS:
                row = self.add("skill", code=code, name=name)
                assert row["id"] == self.skill_ids[code]
        self.build_areas()
        self.build_units()
        self.build_compounds()
        self.build_grids()
        self.build_pairings()
        self.build_people()
        self.build_teams()
        self.build_venues()
        self.build_resources()
        self.build_accounts()
        self.build_consultations()
        self.build_enterprises()
        self.build_needs()
        self.build_activities()
        return self.t

    # ---- areas
    def build_areas(self) -> None:
        rng = self.rng
        centres: list[tuple[float, float]] = []
        for i, _ in enumerate(vocab.TOWNSHIPS):
            if i == 0:
                centres.append(_near(rng, 27.06, 114.92, 0.01))
                continue
            while True:
                lat, lon = rng.uniform(26.68, 27.32), rng.uniform(114.58, 115.22)
                if all(abs(lat - a) + abs(lon - b) > 0.12 for a, b in centres):
                    centres.append(_clamp(lat, lon))
                    break
        self.townships = [
            (name + self.sfx, lat, lon)
            for name, (lat, lon) in zip(vocab.TOWNSHIPS, centres, strict=True)
        ]
        town_at = {name: (lat, lon) for name, lat, lon in self.townships}
        created = self.now - timedelta(days=1000)

        self.urban: list[Row] = []
        self.urban_size: dict[int, int] = {}
        for name, town, size in vocab.URBAN_COMMUNITIES:
            tlat, tlon = town_at[town + self.sfx]
            lat, lon = _near(rng, tlat, tlon, 0.02 if town == COUNTY_SEAT else 0.008)
            row = self.add(
                "community",
                name=name + self.sfx,
                kind=AreaKind.URBAN_COMMUNITY,
                township=town + self.sfx,
                latitude=lat,
                longitude=lon,
                population=size * 1000 + rng.randint(0, 2000),
                created_at=created,
            )
            self.urban.append(row)
            self.urban_size[row["id"]] = size
        self.quantang = self.urban[0]

        per_town = _allocate(REFERENCE.villages, [0.93] + [1.0] * (len(self.townships) - 1))
        self.villages: list[Row] = []
        used: set[str] = set()
        for (town, tlat, tlon), n in zip(self.townships, per_town, strict=True):
            for j in range(n):
                if town == "永和镇" + self.sfx and j == 0:
                    base = HENGXI
                else:
                    while True:
                        base = (
                            _pick(rng, vocab.VILLAGE_FIRST)
                            + _pick(rng, vocab.VILLAGE_SECOND)
                            + "村"
                        )
                        if base not in used and base != HENGXI:
                            break
                used.add(base)
                lat, lon = _near(rng, tlat, tlon, 0.06)
                self.villages.append(
                    self.add(
                        "community",
                        name=base + self.sfx,
                        kind=AreaKind.VILLAGE,
                        township=town,
                        latitude=lat,
                        longitude=lon,
                        population=rng.randint(800, 3500),
                        created_at=created,
                    )
                )
        self.communities = self.urban + self.villages
        self.community_by_id = {c["id"]: c for c in self.communities}

    # ---- paired units
    def build_units(self) -> None:
        rng = self.rng
        seat = self.townships[0]
        roads = vocab.ROADS
        self.units: list[Row] = []

        def county(name: str) -> str:
            if name == "团县委":
                return "共青团吉安县委"
            return "吉安" + name if name.startswith("县") else name

        groups = (
            (UnitKind.GOVERNMENT, vocab.GOVERNMENT_UNITS),
            (UnitKind.INSTITUTION, vocab.INSTITUTIONS),
            (UnitKind.ENTERPRISE, vocab.ENTERPRISE_UNITS),
            (UnitKind.PROPERTY_COMPANY, vocab.PROPERTY_COMPANIES),
        )
        for kind, names in groups:
            for i, name in enumerate(names):
                full = county(name)
                at_seat = kind is not UnitKind.ENTERPRISE or rng.random() < 0.6
                town = seat if at_seat else _pick(rng, self.townships)
                lat, lon = _near(rng, town[1], town[2], 0.02)
                state_owned = (kind is UnitKind.PROPERTY_COMPANY and i == 0) or (
                    kind is UnitKind.ENTERPRISE and i < 30
                )
                self.units.append(
                    self.add(
                        "paired_unit",
                        name=full + self.sfx,
                        kind=kind,
                        has_party_org=kind is not UnitKind.ENTERPRISE or i < 36,
                        is_state_owned=state_owned,
                        address=f"吉安县{town[0]}{_pick(rng, roads)}{rng.randint(1, 399)}号",
                        latitude=lat,
                        longitude=lon,
                        created_at=self.ago(400, 1500),
                    )
                )
        self.unit_by_id = {u["id"]: u for u in self.units}
        self.property_units = [
            u for u in self.units if u["kind"] == UnitKind.PROPERTY_COMPANY.value
        ]
        self.service_units = [u for u in self.units if u["kind"] != UnitKind.PROPERTY_COMPANY.value]
        self.gov_units = [u for u in self.units if u["kind"] == UnitKind.GOVERNMENT.value]

    # ---- compounds (小区), each with a service station later
    def build_compounds(self) -> None:
        rng = self.rng
        sizes = [self.urban_size[c["id"]] for c in self.urban]
        per = _allocate(REFERENCE.compounds, [s * s for s in sizes])
        names = iter(vocab.COMPOUNDS)
        self.compounds: list[Row] = []
        fallback, market = self.property_units[0], self.property_units[1:]
        red_left = REFERENCE.red_property_compounds
        for community, n in zip(self.urban, per, strict=True):
            for _ in range(n):
                name = next(names)
                i = len(self.compounds)
                unit = fallback if i % 6 == 5 else market[i % len(market)]
                red = red_left > 0 and (name == YANJINGFU or i % 7 == 3)
                red_left -= red
                lat, lon = _near(rng, community["latitude"], community["longitude"], 0.006)
                self.compounds.append(
                    self.add(
                        "compound",
                        name=name + self.sfx,
                        community_id=community["id"],
                        property_unit_id=unit["id"],
                        is_red_property=red,
                        households=rng.randint(300, 2000),
                        latitude=lat,
                        longitude=lon,
                    )
                )
        assert red_left == 0, "red-property compounds not all placed"
        self.compounds_by_community: dict[int, list[Row]] = {}
        for c in self.compounds:
            self.compounds_by_community.setdefault(c["community_id"], []).append(c)

    # ---- grids
    def build_grids(self) -> None:
        rng = self.rng
        self.grids: list[_Grid] = []
        sizes = [self.urban_size[c["id"]] for c in self.urban]
        urban_per = _allocate(REFERENCE.urban_grids, sizes)
        base = REFERENCE.rural_grids // len(self.villages)
        extra = REFERENCE.rural_grids - base * len(self.villages)
        bonus = set(rng.sample(range(len(self.villages)), extra))
        rural_per = [base + (i in bonus) for i in range(len(self.villages))]
        plan = [
            (c, n, GridKind.URBAN, "U", 0.006) for c, n in zip(self.urban, urban_per, strict=True)
        ]
        plan += [
            (c, n, GridKind.RURAL, "V", 0.015)
            for c, n in zip(self.villages, rural_per, strict=True)
        ]
        index = {"U": 0, "V": 0}
        for community, n, kind, letter, radius in plan:
            index[letter] += 1
            for k in range(1, n + 1):
                lat, lon = _near(rng, community["latitude"], community["longitude"], radius)
                name = f"{community['name']}第{k}网格"
                row = self.add(
                    "grid",
                    code=f"{self.code_prefix}-{letter}{index[letter]:03d}-{k:02d}",
                    name=name,
                    kind=kind,
                    community_id=community["id"],
                    latitude=lat,
                    longitude=lon,
                )
                self.grids.append(
                    _Grid(
                        row["id"],
                        kind,
                        name,
                        community["id"],
                        community["name"],
                        community["township"],
                        lat,
                        lon,
                    )
                )
        self.grids_by_community: dict[int, list[_Grid]] = {}
        for g in self.grids:
            self.grids_by_community.setdefault(g.community_id, []).append(g)

    # ---- pairings (结对共建)
    def build_pairings(self) -> None:
        rng = self.rng
        self.unit_communities: dict[int, list[int]] = {}
        order = list(self.service_units)
        rng.shuffle(order)
        for i, unit in enumerate(order):
            if i < 8 * len(self.urban):
                first = self.urban[i % len(self.urban)]["id"]
            elif rng.random() < 0.7:
                first = _pick(rng, self.villages)["id"]
            else:
                first = _pick(rng, self.urban)["id"]
            chosen = [first]
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                other = (
                    _pick(rng, self.urban) if rng.random() < 0.5 else _pick(rng, self.villages)
                )["id"]
                if other not in chosen:
                    chosen.append(other)
            self.unit_communities[unit["id"]] = chosen
        for unit in self.property_units:
            managed = [
                c["community_id"] for c in self.compounds if c["property_unit_id"] == unit["id"]
            ]
            chosen = []
            for cid in managed:
                if cid not in chosen:
                    chosen.append(cid)
            self.unit_communities[unit["id"]] = chosen or [self.quantang["id"]]
        self.community_units: dict[int, list[int]] = {}
        self.pairing_since: dict[int, datetime] = {}
        for unit in self.units:
            since = self.ago(200, 1500)
            self.pairing_since[unit["id"]] = since
            for cid in self.unit_communities[unit["id"]]:
                self.add("pairing", unit_id=unit["id"], community_id=cid, since=since)
                self.community_units.setdefault(cid, []).append(unit["id"])

    # ---- people
    def person(
        self,
        kind: PersonKind,
        community: Row,
        *,
        radius: float,
        name: str | None = None,
        employer: int | None = None,
        travel: TravelMode = TravelMode.FOOT,
        capacity: int = 240,
        skills: Sequence[str] = (),
        windows: Sequence[tuple[int, int, int]] = (),
        commando: bool = False,
        max_open: int = 0,
        near: tuple[float, float] | None = None,
    ) -> Row:
        lat0, lon0 = near or (community["latitude"], community["longitude"])
        lat, lon = _near(self.rng, lat0, lon0, radius)
        row = self.add(
            "person",
            name=name or self.name(),
            kind=kind,
            is_party_member=kind is PersonKind.PARTY_MEMBER,
            phone=self.phone(),
            id_number=self.id_number(),
            registered_community_id=community["id"],
            employer_unit_id=employer,
            latitude=lat,
            longitude=lon,
            travel_mode=travel,
            weekly_capacity_minutes=capacity,
            is_commando=commando,
            max_open_requests=max_open,
            created_at=self.ago(60, 1200),
        )
        seen: list[str] = []
        for code in skills:
            if code not in seen:
                seen.append(code)
                self.add("person_skill", person_id=row["id"], skill_id=self.skill_ids[code])
        for weekday, start, end in windows:
            self.add(
                "availability",
                person_id=row["id"],
                weekday=weekday,
                start_minute=start,
                end_minute=end,
            )
        self.person_skills[row["id"]] = seen
        return row

    def volunteer_windows(self) -> list[tuple[int, int, int]]:
        """An in-service member's (cadre's, team member's) week, local time: a few weekday
        evenings after work and, for most, a weekend half-day or day; a few also give a weekday
        lunch break."""
        rng = self.rng
        out: list[tuple[int, int, int]] = []
        evening = _pick(rng, _EVENINGS)
        for day in sorted(rng.sample(range(5), _EVENING_COUNT.pick(rng))):
            out.append((day, *evening))
        for day in sorted(rng.sample((5, 6), _WEEKEND_COUNT.pick(rng))):
            out.append((day, *_pick(rng, _WEEKEND_SPANS)))
        if rng.random() < 0.1:
            out.append((rng.randint(0, 4), 12 * 60, 13 * 60 + 30))
        return out or [(rng.randint(5, 6), *_pick(rng, _WEEKEND_SPANS))]

    def part_time_windows(self) -> list[tuple[int, int, int]]:
        """A part-time grid worker (village cadre, shopkeeper, retiree): daytime half-days on
        a few days of the week, sometimes an evening."""
        rng = self.rng
        days = sorted(rng.sample(range(7), rng.randint(2, 4)))
        return [(day, *_pick(rng, _PART_TIME_SPANS)) for day in days]

    def office_windows(self) -> list[tuple[int, int, int]]:
        """Grid leaders and full-time grid workers: office hours, half of them also on weekend
        duty (值班) for half a day."""
        rng = self.rng
        out = [(d, 8 * 60 + 30, 17 * 60 + 30) for d in range(5)]
        if rng.random() < 0.5:
            out.append((rng.randint(5, 6), *_pick(rng, _DUTY_SPANS)))
        return out

    def build_people(self) -> None:
        rng = self.rng
        self.person_skills: dict[int, list[str]] = {}
        office = [(d, 8 * 60 + 30, 17 * 60 + 30) for d in range(5)]
        grid_skills = (
            "mediation",
            "policy_advice",
            "cleaning",
            "fire_safety",
            "first_aid",
            "elder_care",
            "electrician",
            "it_support",
        )
        # Grid workers: 1 leader + 1 full-time + N part-time per grid.
        self.person_names: dict[int, str] = {}
        for g in self.grids:
            community = self.community_by_id[g.community_id]
            n_part = rng.choice((2, 2, 3)) if g.kind is GridKind.URBAN else rng.choice((1, 1, 2))
            roles = [GridRole.LEADER, GridRole.FULL_TIME] + [GridRole.PART_TIME] * n_part
            for role in roles:
                name = (
                    "肖光明"
                    if (
                        role is GridRole.LEADER
                        and g.community == HENGXI
                        and g.name.endswith("第1网格")
                    )
                    else None
                )
                p = self.person(
                    PersonKind.GRID_WORKER,
                    community,
                    radius=0.008,
                    name=name,
                    near=(g.lat, g.lon),
                    travel=rng.choice((TravelMode.EBIKE, TravelMode.EBIKE, TravelMode.FOOT)),
                    capacity={
                        GridRole.LEADER: rng.choice((180, 240, 360)),
                        GridRole.FULL_TIME: rng.choice((360, 480, 600)),
                    }.get(role, rng.choice((90, 120, 180, 240))),
                    skills=rng.sample(grid_skills, rng.randint(1, 2)),
                    windows=self.office_windows()
                    if role is not GridRole.PART_TIME
                    else self.part_time_windows(),
                )
                self.add("grid_staff", grid_id=g.id, person_id=p["id"], role=role)
                self.person_names[p["id"]] = p["name"]
                if role is GridRole.LEADER:
                    g.leader = p["id"]
                elif role is GridRole.FULL_TIME:
                    g.full_time = p["id"]
                else:
                    g.part_time.append(p["id"])

        # In-service party members (在职党员), registered with communities.
        skill_codes = [c for c, _ in vocab.SKILLS]
        skill_weights = [
            1 if c in ("sign_language", "ecommerce", "agri_tech") else 4 for c in skill_codes
        ]
        # Most live in the county town; township staff, teachers and doctors live out in the
        # villages and register there, near the grids whose needs they can reach.
        n_village = VILLAGE_PARTY_MEMBERS
        n_quantang = 420
        rest = _allocate(
            REFERENCE.party_members - n_village - n_quantang,
            [self.urban_size[c["id"]] for c in self.urban[1:]],
        )
        homes: list[Row] = [self.quantang] * n_quantang
        for c, n in zip(self.urban[1:], rest, strict=True):
            homes += [c] * n
        homes += [_pick(rng, self.villages) for _ in range(n_village)]
        self.members: list[Row] = []
        self.members_by_community: dict[int, list[int]] = {}
        for community in homes:
            twinned = self.community_units.get(community["id"], [])
            twinned_service = [
                u for u in twinned if self.unit_kind(u) is not UnitKind.PROPERTY_COMPANY
            ]
            if twinned_service and rng.random() < 0.6:
                employer = _pick(rng, twinned_service)
            else:
                employer = _pick(rng, self.service_units)["id"]
            urban = community["kind"] == AreaKind.URBAN_COMMUNITY.value
            home = None if urban else _pick(rng, self.grids_by_community[community["id"]])
            p = self.person(
                PersonKind.PARTY_MEMBER,
                community,
                radius=0.015 if urban else 0.006,
                near=None if home is None else (home.lat, home.lon),
                employer=employer,
                travel=rng.choices(
                    (TravelMode.FOOT, TravelMode.EBIKE, TravelMode.CAR),
                    (35, 45, 20) if urban else (20, 50, 30),
                )[0],
                capacity=rng.choice((60, 60, 90, 120, 120, 180, 180, 240, 240, 360)),
                skills=rng.choices(skill_codes, skill_weights, k=rng.randint(1, 3)),
                windows=self.volunteer_windows(),
                commando=rng.random() < 0.1,
            )
            self.members.append(p)
            self.members_by_community.setdefault(community["id"], []).append(p["id"])
            self.person_names[p["id"]] = p["name"]

        # County-managed cadres (县管干部) serving as community committee members.
        self.cadres = []
        for community in self.urban[: REFERENCE.cadres]:
            p = self.person(
                PersonKind.CADRE,
                community,
                radius=0.01,
                employer=_pick(rng, self.gov_units)["id"],
                travel=TravelMode.CAR,
                capacity=180,
                skills=rng.sample(("policy_advice", "mediation", "legal_advice"), 2),
                windows=self.volunteer_windows(),
            )
            self.cadres.append(p)
            self.person_names[p["id"]] = p["name"]

        # Enterprise helpers (小赣事), each handling a few request kinds.
        business_units = [
            u["id"]
            for u in self.gov_units
            if any(
                w in u["name"]
                for w in (
                    "审批",
                    "商务",
                    "工业",
                    "发展",
                    "市场",
                    "税务",
                    "人力",
                    "自然资源",
                    "园区",
                )
            )
        ]
        kinds = list(EnterpriseRequestKind)
        self.helpers: list[Row] = []
        self.helper_kinds: dict[int, list[EnterpriseRequestKind]] = {}
        for i in range(REFERENCE.enterprise_helpers):
            p = self.person(
                PersonKind.ENTERPRISE_HELPER,
                _pick(rng, self.urban),
                radius=0.01,
                employer=_pick(rng, business_units),
                travel=rng.choice((TravelMode.CAR, TravelMode.EBIKE)),
                capacity=rng.choice((600, 900, 1200)),
                skills=rng.sample(
                    ("policy_advice", "legal_advice", "accounting"), rng.randint(1, 2)
                ),
                windows=office,
                max_open=rng.randint(3, 8),
            )
            ks = [kinds[i % len(kinds)]]
            for k in rng.sample(kinds, rng.randint(0, 2)):
                if k not in ks:
                    ks.append(k)
            for k in ks:
                self.add("helper_expertise", person_id=p["id"], kind=k)
            self.helpers.append(p)
            self.helper_kinds[p["id"]] = ks
            self.person_names[p["id"]] = p["name"]

        # The demo resident, who lives in 燕京府小区.
        yjf = self.compounds[0]
        self.resident = self.person(
            PersonKind.RESIDENT,
            self.quantang,
            radius=0.001,
            name="王秀英",
            near=(yjf["latitude"], yjf["longitude"]),
            capacity=0,
        )

    def unit_kind(self, unit_id: int) -> UnitKind:
        return UnitKind(self.unit_by_id[unit_id]["kind"])

    # ---- teams
    def build_teams(self) -> None:
        rng = self.rng
        team_skills = {
            "ant_action": ("first_aid", "driving", "photography"),
            "food_safety": ("food_safety", "driving"),
            "live_streaming": ("ecommerce", "agri_tech", "photography"),
        }
        other_skills = (
            ("moving", "driving"),
            ("driving", "first_aid"),
            ("driving", "moving"),
            ("housekeeping", "elder_care", "cleaning"),
        )
        travel = {
            "ant_action": (TravelMode.EBIKE,),
            "food_safety": (TravelMode.EBIKE,),
            "live_streaming": (TravelMode.FOOT, TravelMode.CAR),
        }
        other_travel = (
            (TravelMode.EBIKE,),
            (TravelMode.CAR,),
            (TravelMode.CAR,),
            (TravelMode.EBIKE, TravelMode.FOOT),
        )
        self.teams: list[tuple[Row, list[int], int]] = []
        other = 0
        for name, kind, n_members, solved in vocab.NEW_BUSINESS_TEAMS:
            team = self.add(
                "team",
                name=name + self.sfx,
                kind=TeamKind(kind),
                community_id=None,
                sales_yuan=REFERENCE.live_stream_sales_yuan if kind == "live_streaming" else 0,
                founded_at=datetime(2023 + len(self.teams) % 3, 3 + len(self.teams), 1, tzinfo=UTC),
            )
            if kind in team_skills:
                skills, modes = team_skills[kind], travel[kind]
            else:
                skills, modes = other_skills[other], other_travel[other]
                other += 1
            members: list[int] = []
            for j in range(n_members):
                home = (
                    _pick(rng, self.villages)
                    if kind == "live_streaming"
                    else _pick(rng, self.urban)
                )
                p = self.person(
                    PersonKind.TEAM_MEMBER,
                    home,
                    radius=0.015,
                    travel=_pick(rng, modes),
                    capacity=rng.choice((120, 180, 240, 360, 480)),
                    skills=rng.sample(skills, rng.randint(1, len(skills))),
                    windows=self.volunteer_windows(),
                )
                self.person_names[p["id"]] = p["name"]
                members.append(p["id"])
                self.add(
                    "team_membership",
                    team_id=team["id"],
                    person_id=p["id"],
                    is_leader=j == 0,
                    joined_at=team["founded_at"] + timedelta(days=rng.randint(0, 300)),
                )
            self.teams.append((team, members, solved))
        squad = self.add(
            "team",
            name=vocab.HELP_SQUAD + self.sfx,
            kind=TeamKind.HELP_SQUAD,
            community_id=None,
            founded_at=datetime(2024, 2, 1, tzinfo=UTC),
        )
        for j, h in enumerate(self.helpers):
            self.add(
                "team_membership",
                team_id=squad["id"],
                person_id=h["id"],
                is_leader=j == 0,
                joined_at=squad["founded_at"] + timedelta(days=rng.randint(0, 200)),
            )
        self.team_member_ids = [pid for _, members, _ in self.teams for pid in members]

    # ---- venues
    def build_venues(self) -> None:
        rng = self.rng
        self.venues_by_community: dict[int, list[Row]] = {}
        self.seat_resources: list[Row] = []

        def venue(
            kind: VenueKind,
            name: str,
            community: Row,
            capacity: int,
            services: list[str],
            compound: Row | None = None,
        ) -> Row:
            at = compound or community
            lat, lon = _near(rng, at["latitude"], at["longitude"], 0.002)
            v = self.add(
                "venue",
                name=name,
                kind=kind,
                community_id=community["id"],
                compound_id=compound["id"] if compound else None,
                capacity=capacity,
                services=services,
                latitude=lat,
                longitude=lon,
            )
            self.venues_by_community.setdefault(community["id"], []).append(v)
            return v

        def services(pool: Sequence[str], lo: int, hi: int) -> list[str]:
            idx = sorted(rng.sample(range(len(pool)), rng.randint(lo, hi)))
            return [pool[i] for i in idx]

        with_rooms: list[Row] = []
        for c in self.urban:
            with_rooms.append(
                venue(
                    VenueKind.COMMUNITY_CENTRE,
                    f"{c['name']}党群服务中心",
                    c,
                    rng.randint(100, 300),
                    services(vocab.STATION_SERVICES, 20, 26),
                )
            )
        for cp in self.compounds:
            c = self.community_by_id[cp["community_id"]]
            with_rooms.append(
                venue(
                    VenueKind.SERVICE_STATION,
                    f"{cp['name']}党群服务站",
                    c,
                    rng.randint(30, 120),
                    services(
                        vocab.STATION_SERVICES,
                        REFERENCE.station_services_min,
                        len(vocab.STATION_SERVICES),
                    ),
                    cp,
                )
            )
        for v in self.villages:
            with_rooms.append(
                venue(
                    VenueKind.VILLAGE_VENUE,
                    f"{v['name']}党群服务中心",
                    v,
                    rng.randint(50, 200),
                    services(vocab.STATION_SERVICES, 8, 12),
                )
            )
        elder_pool = ("老年助餐", "健康义诊", "血压测量", "文体活动", "爱心理发", "邻里互助")
        for v in sorted(
            rng.sample(self.villages, REFERENCE.elder_care_sites), key=lambda r: r["id"]
        ):
            venue(
                VenueKind.ELDER_CARE,
                f"{v['name']}互助养老服务点",
                v,
                rng.randint(10, 40),
                services(elder_pool, 3, 6),
            )
        for v in with_rooms:
            self.seat_resources.append(
                self.add(
                    "resource",
                    name=f"{v['name']}活动室",
                    kind=ResourceKind.VENUE,
                    unit_id=None,
                    venue_id=v["id"],
                    community_id=v["community_id"],
                    quantity=v["capacity"],
                    unit_label="座",
                    latitude=v["latitude"],
                    longitude=v["longitude"],
                    is_available=True,
                    available_from=self.now - timedelta(days=365),
                    available_until=None,
                )
            )

    # ---- resources paired units bring
    def build_resources(self) -> None:
        rng = self.rng
        for unit in self.units:
            offers = vocab.RESOURCE_OFFERS[unit["kind"]]
            for kind, label, unit_label, lo, hi in rng.sample(
                offers, min(len(offers), rng.randint(2, 3))
            ):
                qty = rng.randint(lo, hi)
                if kind is ResourceKind.FUNDS:
                    qty = qty // 1000 * 1000
                since = self.pairing_since[unit["id"]]
                self.add(
                    "resource",
                    name=f"{unit['name']}{label}",
                    kind=kind,
                    unit_id=unit["id"],
                    venue_id=None,
                    community_id=self.unit_communities[unit["id"]][0],
                    quantity=qty,
                    unit_label=unit_label,
                    latitude=unit["latitude"],
                    longitude=unit["longitude"],
                    is_available=rng.random() < 0.95,
                    available_from=since,
                    available_until=None
                    if rng.random() < 0.8
                    else self.now + timedelta(days=rng.randint(30, 365)),
                )

    # ---- demo accounts (copy 0 only)
    def build_accounts(self) -> None:
        self.account_ids: dict[str, int] = {}
        if self.copy != 0:
            return
        pw = self.password_hash or demo_password_hash()
        q = self.quantang
        q_grid = self.grids_by_community[q["id"]][0]
        links: dict[str, tuple[int | None, int | None, str]] = {
            "demo-resident": (self.resident["id"], None, self.resident["name"]),
            "demo-volunteer": (
                self.members_by_community[q["id"]][0],
                None,
                self.person_names[self.members_by_community[q["id"]][0]],
            ),
            "demo-gridworker": (q_grid.full_time, q["id"], self.person_names[q_grid.full_time]),
            "demo-coordinator": (None, q["id"], f"{QUANTANG}协调员"),
            "demo-helper": (self.helpers[0]["id"], None, self.helpers[0]["name"]),
            "demo-admin": (None, None, "系统管理员"),
        }
        for username, role in DEMO_ACCOUNTS:
            person_id, community_id, display = links[username]
            row = self.add(
                "account",
                username=username,
                password_hash=pw,
                role=role,
                display_name=display,
                person_id=person_id,
                community_id=community_id,
                is_active=True,
                created_at=self.now - timedelta(days=200),
            )
            self.account_ids[username] = row["id"]

    # ---- consultations (赣事好商量·吉事广议)
    def build_consultations(self) -> None:
        rng = self.rng
        n = REFERENCE.consultations
        places = [self.quantang] * 4 + [_pick(rng, self.urban[1:]) for _ in range(14)]
        places += [_pick(rng, self.villages) for _ in range(n - len(places))]
        settled = [1] * n
        for i in rng.choices(range(n), k=REFERENCE.disputes_settled - n):
            settled[i] += 1
        self.consultations: list[tuple[Row, Row]] = []
        for i, (community, k) in enumerate(zip(places, settled, strict=True)):
            topic = (
                vocab.CONSULTATION_TOPICS[0] if i == 4 else _pick(rng, vocab.CONSULTATION_TOPICS)
            )
            held = _days_ago_local(rng, self.now, 12, 360)
            row = self.add(
                "consultation",
                community_id=community["id"],
                topic=f"{community['name']}{topic}协商会",
                held_at=held,
                participants=rng.randint(12, 80),
                disputes_settled=k,
                outcome=f"经业主、物业、共建单位三方协商，就{topic}达成一致意见，化解矛盾{k}个，形成办理事项转网格落实。",
            )
            self.consultations.append((row, community))

    # ---- enterprises and the business weather station (营商气象站)
    def build_enterprises(self) -> None:
        rng = self.rng
        park = self.urban[10]
        self.enterprises: list[Row] = []
        used: set[str] = set()
        for _ in range(320):
            industry = _pick(rng, vocab.ENTERPRISE_INDUSTRIES)
            while True:
                brand = _pick(rng, vocab.ENTERPRISE_BRANDS) + _pick(rng, vocab.ENTERPRISE_BRANDS)
                name = f"吉安县{brand}{industry}有限公司"
                if name not in used and brand[0] != brand[1]:
                    used.add(name)
                    break
            r = rng.random()
            community = (
                park
                if r < 0.45
                else _pick(rng, self.urban)
                if r < 0.7
                else _pick(rng, self.villages)
            )
            lat, lon = _near(rng, community["latitude"], community["longitude"], 0.01)
            serial = self.ids.peek("enterprise")
            self.enterprises.append(
                self.add(
                    "enterprise",
                    name=name + self.sfx,
                    credit_code=credit_code(serial),
                    industry=industry,
                    community_id=community["id"],
                    contact_name=self.name(),
                    contact_phone=self.phone(),
                    latitude=lat,
                    longitude=lon,
                )
            )

        kinds = list(EnterpriseRequestKind)
        kind_weights = (22, 16, 12, 6, 14, 12, 10, 8)
        by_kind: dict[EnterpriseRequestKind, list[Row]] = {k: [] for k in kinds}
        for h in self.helpers:
            for k in self.helper_kinds[h["id"]]:
                by_kind[k].append(h)
        n_total = REFERENCE.enterprise_requests
        n_open = REFERENCE.open_enterprise_requests
        n_resolved = 15
        statuses = (
            [EnterpriseRequestStatus.SUBMITTED] * 12
            + [EnterpriseRequestStatus.ASSIGNED] * 18
            + [EnterpriseRequestStatus.IN_PROGRESS] * (n_open - 30)
            + [EnterpriseRequestStatus.RESOLVED] * n_resolved
            + [EnterpriseRequestStatus.CLOSED] * (n_total - n_open - n_resolved)
        )
        load: dict[int, int] = {h["id"]: 0 for h in self.helpers}
        demo_helper = self.helpers[0]["id"]
        helper_account = self.account_ids.get("demo-helper")
        specs = []
        for i, final in enumerate(statuses):
            kind = rng.choices(kinds, kind_weights)[0]
            if final is EnterpriseRequestStatus.SUBMITTED:
                submitted = self.ago(0.05, 3)
            elif final in (EnterpriseRequestStatus.ASSIGNED, EnterpriseRequestStatus.IN_PROGRESS):
                submitted = self.ago(0.5, 20)
            elif final is EnterpriseRequestStatus.RESOLVED:
                submitted = self.ago(4, 15)
            else:
                submitted = self.ago(25, 364)
            # The demo helper carries three open requests of a kind they handle.
            if i in (12, 30, 31):
                kind = self.helper_kinds[demo_helper][0]
            specs.append((submitted, kind, final, i))
        specs.sort(key=lambda s: (s[0], s[3]))
        events: list[tuple[datetime, int, int, Row]] = []
        for submitted, kind, final, i in specs:
            enterprise = _pick(rng, self.enterprises)
            deadline = enterprise_deadline(kind, submitted)
            hist = _History.submitted(submitted, enterprise["contact_name"])
            helper: Row | None = None
            assigned_at = resolved_at = closed_at = None
            satisfaction = None
            comment = ""
            if final is not EnterpriseRequestStatus.SUBMITTED:
                if i in (12, 30, 31):
                    helper = self.helpers[0]
                else:
                    pool = by_kind[kind]
                    if final in (
                        EnterpriseRequestStatus.ASSIGNED,
                        EnterpriseRequestStatus.IN_PROGRESS,
                    ):
                        pool = [h for h in pool if load[h["id"]] < h["max_open_requests"]] or pool
                    helper = _pick(rng, pool)
                open_now = final in (
                    EnterpriseRequestStatus.ASSIGNED,
                    EnterpriseRequestStatus.IN_PROGRESS,
                )
                if open_now:
                    load[helper["id"]] += 1
                latest = self.now - timedelta(minutes=30)
                assigned_at = min(submitted + _minutes(rng, 30, 24 * 60), latest)
                account = helper_account if helper["id"] == demo_helper else None
                hist.step(
                    EnterpriseAction.ASSIGN,
                    assigned_at,
                    WEATHER_STATION,
                    f"分派给小赣事{helper['name']}",
                    {"helper_id": helper["id"]},
                )
                assigned_at = hist.last_at
                if final is not EnterpriseRequestStatus.ASSIGNED:
                    on_time = rng.random() < 0.93
                    if final is EnterpriseRequestStatus.IN_PROGRESS:
                        end = self.now - timedelta(minutes=5)
                    elif on_time:
                        end = max(deadline, assigned_at + timedelta(hours=2))
                    else:
                        end = deadline + _minutes(rng, 60, 5 * 24 * 60)
                    span = max((end - assigned_at).total_seconds(), 120)
                    if final is EnterpriseRequestStatus.RESOLVED:
                        end = min(end, self.now - timedelta(hours=2))
                        span = max((end - assigned_at).total_seconds(), 120)
                    notes = sorted(rng.uniform(0.05, 0.6) * span for _ in range(rng.randint(1, 3)))
                    for off in notes:
                        hist.step(
                            EnterpriseAction.NOTE,
                            assigned_at + timedelta(seconds=int(off)),
                            helper["name"],
                            "已联系企业，正在协调相关部门办理",
                            account=account,
                        )
                    if final is not EnterpriseRequestStatus.IN_PROGRESS:
                        at = assigned_at + timedelta(seconds=int(rng.uniform(0.65, 1.0) * span))
                        hist.step(
                            EnterpriseAction.RESOLVE,
                            at,
                            helper["name"],
                            "诉求已办结，企业确认",
                            account=account,
                        )
                        resolved_at = hist.last_at
                if final is EnterpriseRequestStatus.CLOSED:
                    satisfaction = rng.choices((5, 4, 3, 2), (70, 26, 3, 1))[0]
                    comment = "服务贴心，办事高效" if satisfaction >= 4 else "办理周期偏长"
                    at = min(
                        resolved_at + _minutes(rng, 60, 5 * 24 * 60), self.now - timedelta(hours=1)
                    )
                    hist.step(
                        EnterpriseAction.RATE,
                        at,
                        enterprise["contact_name"],
                        comment,
                        {"satisfaction": satisfaction},
                    )
                    closed_at = hist.last_at
            assert hist.status is final
            rid = self.ids.next("enterprise_request")
            title = f"{enterprise['name']}：{_pick(rng, vocab.ENTERPRISE_ISSUES[kind])}"
            self.add(
                "enterprise_request",
                id=rid,
                enterprise_id=enterprise["id"],
                kind=kind,
                title=title,
                description=f"{enterprise['contact_name']}通过营商气象站反映：{title}。",
                status=final,
                urgency=rng.choices((1, 2, 3, 4, 5), (5, 20, 45, 20, 10))[0],
                helper_id=helper["id"] if helper else None,
                submitted_by_account_id=None,
                idempotency_key=None,
                submitted_at=submitted,
                assigned_at=assigned_at,
                deadline=deadline,
                resolved_at=resolved_at,
                closed_at=closed_at,
                satisfaction=satisfaction,
                rating_comment=comment,
                version=len(hist.events),
                updated_at=hist.last_at,
            )
            for seq, (action, frm, to, at, actor, note, data, account) in enumerate(hist.events):
                events.append(
                    (
                        at,
                        rid,
                        seq,
                        {
                            "request_id": rid,
                            "action": action,
                            "from_status": frm,
                            "to_status": to,
                            "actor_account_id": account,
                            "actor_name": actor,
                            "note": note,
                            "data": data,
                            "at": at,
                        },
                    )
                )
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for *_, values in events:
            self.add("enterprise_request_event", **values)

    # ---- needs: a year of the closed loop, plus the open backlog
    def build_needs(self) -> None:
        rng = self.rng
        q = self.quantang
        self.grid_weights = [6 if g.kind is GridKind.URBAN else 1 for g in self.grids]
        q_grids = self.grids_by_community[q["id"]]
        non_q = [g for g in self.grids if g.community_id != q["id"]]
        non_q_weights = [6 if g.kind is GridKind.URBAN else 1 for g in non_q]
        specs: list[_NeedSpec] = []
        resident_account = self.account_ids.get("demo-resident")

        def grids(
            k: int, pool: list[_Grid] | None = None, weights: list[int] | None = None
        ) -> list[_Grid]:
            if pool is None:
                return rng.choices(self.grids, self.grid_weights, k=k)
            return (
                rng.choices(pool, weights, k=k) if weights else [_pick(rng, pool) for _ in range(k)]
            )

        # 12345 hotline: every ticket rated; exactly REFERENCE's satisfied count, the
        # dissatisfied ones outside 泉塘社区.
        n_hot = REFERENCE.hotline_tickets_rated
        hot_grids = grids(n_hot)
        unhappy_idx = set(
            rng.sample(
                [i for i, g in enumerate(hot_grids) if g.community_id != q["id"]],
                n_hot - REFERENCE.hotline_tickets_satisfied,
            )
        )
        for i, g in enumerate(hot_grids):
            specs.append(
                self.closed_need(NeedSource.HOTLINE_12345, g, satisfied=i not in unhappy_idx)
            )

        # 泉塘社区's "吹哨报到" requests handled, and its sentinel-post suggestions.
        n_q = REFERENCE.quantang_requests_handled
        unhappy_q = set(rng.sample(range(n_q), n_q - REFERENCE.quantang_requests_satisfied))
        for i in range(n_q):
            demo = i < 4 and resident_account is not None
            specs.append(
                self.closed_need(
                    NeedSource.RESIDENT_APP,
                    _pick(rng, q_grids),
                    satisfied=i not in unhappy_q,
                    reporter_account=resident_account if demo else None,
                )
            )
        for _ in range(REFERENCE.sentinel_suggestions):
            specs.append(
                self.closed_need(NeedSource.SENTINEL_POST, _pick(rng, q_grids), satisfied=True)
            )

        # Problems solved by the 7 new-business teams (reported by their members).
        for team, members, solved in self.teams:
            for _ in range(solved):
                g = grids(1, non_q, non_q_weights)[0] if rng.random() < 0.9 else _pick(rng, q_grids)
                specs.append(
                    self.closed_need(
                        NeedSource.TEAM_REPORT,
                        g,
                        satisfied=rng.random() < 0.97 or g.community_id == q["id"],
                        team=(team, members),
                    )
                )

        # Needs that came out of consultations: one per dispute settled.
        for consultation, community in self.consultations:
            for _ in range(consultation["disputes_settled"]):
                g = _pick(rng, self.grids_by_community[community["id"]])
                specs.append(
                    self.closed_need(
                        NeedSource.CONSULTATION, g, satisfied=True, consultation=consultation
                    )
                )

        # Grid patrols and residents elsewhere; Ant Action reports handled by the grid.
        for g in grids(3600):
            specs.append(self.closed_need(NeedSource.GRID_PATROL, g, satisfied=True, rated=False))
        for g in grids(1850, non_q, non_q_weights):
            specs.append(
                self.closed_need(NeedSource.RESIDENT_APP, g, satisfied=rng.random() < 0.955)
            )
        ant_members = self.teams[0][1]
        for g in grids(320, non_q, non_q_weights):
            specs.append(
                self.closed_need(
                    NeedSource.TEAM_REPORT, g, satisfied=True, rated=False, reporter=ant_members
                )
            )

        # Resolved recently, waiting for the resident's rating.
        for g in grids(90, non_q, non_q_weights):
            specs.append(
                self.closed_need(
                    NeedSource.RESIDENT_APP, g, satisfied=True, stop_at=NeedStatus.RESOLVED
                )
            )

        # Duplicates merged into the need they repeat.
        originals = [
            s
            for s in specs
            if s.source is NeedSource.RESIDENT_APP
            and s.grid.community_id != q["id"]
            and s.history.status is NeedStatus.CLOSED
        ]
        for orig in rng.sample(originals, 18):
            specs.append(self.merged_need(orig))

        specs += self.backlog()

        specs.sort(key=lambda s: (s.reported_at, s.grid.id, s.title))
        for s in specs:
            s.id = self.ids.next("need")
        self.emit_needs(specs)

    def reporter(self, source: NeedSource, g: _Grid) -> tuple[str, str | None, int | None]:
        rng = self.rng
        if source is NeedSource.GRID_PATROL:
            pid = _pick(rng, [g.full_time, g.leader, *g.part_time])
            return self.person_names[pid], None, pid
        if source is NeedSource.CONSULTATION:
            return "协商议事会", None, None
        return _pick(rng, self.name_pool), self.phone() if rng.random() < 0.9 else None, None

    def need_texts(
        self, source: NeedSource, category: NeedCategory, g: _Grid
    ) -> tuple[str, str, str, int | None, float, float]:
        rng = self.rng
        compounds = self.compounds_by_community.get(g.community_id, [])
        compound = _pick(rng, compounds) if compounds and rng.random() < 0.6 else None
        if compound is not None:
            place = f"{compound['name']}{rng.randint(1, 24)}栋"
            lat, lon = _near(rng, compound["latitude"], compound["longitude"], 0.002)
        else:
            place = f"{g.name}{rng.randint(1, 12)}组" if g.kind is GridKind.RURAL else g.name
            lat, lon = _near(rng, g.lat, g.lon, 0.004)
        issue = (
            _pick(rng, vocab.SUGGESTIONS)
            if source is NeedSource.SENTINEL_POST
            else _pick(rng, vocab.NEED_ISSUES[category])
        )
        title = f"{place}{issue}"
        description = f"{source.label}：{g.community}{place}{issue}，请尽快安排人员处理。"
        address = f"吉安县{g.township}{g.community}{place}"
        return title, description, address, compound["id"] if compound else None, lat, lon

    def pick_category(self, source: NeedSource, team_kind: str | None = None) -> NeedCategory:
        rng = self.rng
        if team_kind == "food_safety":
            return NeedCategory.FOOD_SAFETY
        if team_kind == "live_streaming":
            return rng.choice((NeedCategory.POLICY, NeedCategory.OTHER))
        if source is NeedSource.CONSULTATION:
            return rng.choice(
                (
                    NeedCategory.DISPUTE,
                    NeedCategory.DISPUTE,
                    NeedCategory.ENVIRONMENT,
                    NeedCategory.PROPERTY,
                )
            )
        if source is NeedSource.SENTINEL_POST:
            return rng.choice(
                (NeedCategory.OTHER, NeedCategory.ELDER_CARE, NeedCategory.INFRASTRUCTURE)
            )
        return _CATEGORIES.pick(rng)

    def pick_tier(self) -> NeedTier:
        return _TIERS.pick(self.rng)

    def staff_for(self, g: _Grid, n: int) -> list[int]:
        rng = self.rng
        crew = [g.full_time, *g.part_time, g.leader]
        out = crew[: max(1, min(n, len(crew)))]
        members = self.members_by_community.get(g.community_id, [])
        if members and n > 1 and rng.random() < 0.5:
            out[-1] = _pick(rng, members)
        return out

    def need_skills(self, category: NeedCategory, k: int) -> list[int]:
        codes = vocab.CATEGORY_SKILLS[category]
        picked = self.rng.sample(codes, min(k, len(codes)))
        return sorted(self.skill_ids[c] for c in picked)

    def closed_need(
        self,
        source: NeedSource,
        g: _Grid,
        *,
        satisfied: bool,
        rated: bool = True,
        reporter_account: int | None = None,
        team: tuple[Row, list[int]] | None = None,
        consultation: Row | None = None,
        reporter: list[int] | None = None,
        stop_at: NeedStatus = NeedStatus.CLOSED,
    ) -> _NeedSpec:
        """A need that went round the loop in the year before now (or up to `stop_at`)."""
        rng = self.rng
        tier = self.pick_tier()
        category = self.pick_category(source, team[0]["kind"] if team else None)
        if consultation is not None:
            reported = consultation["held_at"] + _minutes(rng, 60, 48 * 60)
        elif stop_at is NeedStatus.RESOLVED:
            reported = _days_ago_local(rng, self.now, 2, 3)
            tier = NeedTier.ORDINARY
        else:
            reported = _days_ago_local(rng, self.now, 8, 364)
        name, phone, person_id = self.reporter(source, g)
        if reporter:
            person_id = _pick(rng, reporter)
            name, phone = self.person_names[person_id], None
        if team is not None:
            person_id = _pick(rng, team[1])
            name, phone = self.person_names[person_id], None
        if reporter_account is not None:
            name, phone, person_id = (
                self.resident["name"],
                self.resident["phone"],
                self.resident["id"],
            )
        title, description, address, compound_id, lat, lon = self.need_texts(source, category, g)
        platform = HOTLINE_CENTRE if source is NeedSource.HOTLINE_12345 else COMMAND_CENTRE
        h = _History.reported(
            reported,
            name if source is not NeedSource.HOTLINE_12345 else HOTLINE_CENTRE,
            reporter_account,
        )
        h.step(NeedAction.ACCEPT, reported + _minutes(rng, 1, 20), platform)
        if tier is not NeedTier.ORDINARY and rng.random() < 0.08:
            lower = NeedTier.ORDINARY if tier is NeedTier.COMPLEX else NeedTier.COMPLEX
            assert escalated_tier(lower) is tier
            h.step(
                NeedAction.ESCALATE,
                h.last_at + _minutes(rng, 1, 10),
                COMMAND_CENTRE,
                "情况复杂，升级处理",
                {"from_tier": lower.value, "to_tier": tier.value},
            )
        headcount = _HEADCOUNT_CLOSED.pick(rng)
        spec = _NeedSpec(
            source=source,
            category=category,
            tier=tier,
            grid=g,
            reported_at=reported,
            history=h,
            title=title,
            reporter_name=name,
            headcount=headcount,
            duration=self.duration_for(tier),
            urgency=self.urgency_for(tier),
            compound_id=compound_id,
            consultation_id=consultation["id"] if consultation else None,
            reporter_account_id=reporter_account,
            reporter_person_id=person_id,
            reporter_phone=phone,
            lat=lat,
            lon=lon,
            address=address,
            description=description,
            media_urls=self.media(source),
        )
        if rng.random() < 0.5:
            spec.skills = self.need_skills(category, rng.randint(1, 2))

        def crew() -> tuple[list[tuple[int | None, int | None]], str, dict[str, Any]]:
            if team is not None:
                t, members = team
                people = rng.sample(members, min(headcount, len(members)))
                who: list[tuple[int | None, int | None]] = [(None, t["id"])] + [
                    (p, None) for p in people
                ]
                return who, t["name"], {"team_id": t["id"], "person_ids": people}
            people = self.staff_for(g, headcount)
            return [(p, None) for p in people], self.person_names[people[0]], {"person_ids": people}

        # Returned once (退回) and dispatched again, for a few.
        if rng.random() < 0.03:
            who, _, data = crew()
            at = h.last_at + _minutes(rng, 1, 15)
            h.step(NeedAction.DISPATCH, at, COMMAND_CENTRE, "派单至网格", data)
            for p, t in who:
                spec.assignments.append((p, t, None, 1, False, h.last_at))
            h.step(
                NeedAction.RETURN,
                h.last_at + _minutes(rng, 3, 20),
                self.person_names[who[-1][0]] if who[-1][0] else COMMAND_CENTRE,
                "不属于本网格职责，申请退回",
            )
        who, lead, data = crew()
        h.step(NeedAction.DISPATCH, h.last_at + _minutes(rng, 1, 15), COMMAND_CENTRE, "派单", data)
        dispatched = h.last_at
        for p, t in who:
            spec.assignments.append((p, t, None, 1, True, dispatched))
        spec.headcount = max(1, sum(1 for p, _ in who if p is not None))
        arrive_late = rng.random() >= 0.95
        resolve_late = rng.random() >= 0.93
        arrive_off = _minutes(rng, 11, 40) if arrive_late else _minutes(rng, 2, 10)
        limit = RESOLVE_WITHIN[tier]
        min_work = {NeedTier.ORDINARY: 3, NeedTier.COMPLEX: 15, NeedTier.MAJOR: 60}[tier]
        lo = arrive_off + timedelta(minutes=min_work)
        if resolve_late or lo >= limit:
            extra = {
                NeedTier.ORDINARY: (5, 120),
                NeedTier.COMPLEX: (20, 8 * 60),
                NeedTier.MAJOR: (120, 48 * 60),
            }[tier]
            resolve_off = max(limit, lo) + _minutes(rng, *extra)
        else:
            resolve_off = lo + timedelta(seconds=rng.randint(0, int((limit - lo).total_seconds())))
        h.step(NeedAction.ARRIVE, dispatched + arrive_off, lead)
        h.step(NeedAction.RESOLVE, dispatched + resolve_off, lead, "已办结")
        if stop_at is NeedStatus.CLOSED:
            at = h.last_at + _minutes(rng, 10, 48 * 60)
            if rated:
                spec.satisfaction = _rating(rng, satisfied=satisfied)
                spec.rating_comment = _pick(rng, _COMMENTS_GOOD if satisfied else _COMMENTS_BAD)
                h.step(
                    NeedAction.RATE,
                    at,
                    name,
                    spec.rating_comment,
                    {"satisfaction": spec.satisfaction},
                    reporter_account,
                )
            else:
                h.step(NeedAction.CLOSE, at, COMMAND_CENTRE, "核查办结，关闭工单")
        assert h.last_at < self.now, "a closed need ends after now"
        return spec

    def merged_need(self, orig: _NeedSpec) -> _NeedSpec:
        rng = self.rng
        reported = orig.reported_at + _minutes(rng, 2, 20)
        name, phone, _ = self.reporter(NeedSource.RESIDENT_APP, orig.grid)
        h = _History.reported(reported, name)
        h.step(NeedAction.ACCEPT, reported + _minutes(rng, 1, 5), COMMAND_CENTRE)
        h.step(
            NeedAction.MERGE, h.last_at + _minutes(rng, 1, 5), COMMAND_CENTRE, "重复上报，合并处理"
        )
        lat, lon = _near(rng, orig.lat, orig.lon, 0.0008)
        return _NeedSpec(
            source=NeedSource.RESIDENT_APP,
            category=orig.category,
            tier=orig.tier,
            grid=orig.grid,
            reported_at=reported,
            history=h,
            title=orig.title,
            reporter_name=name,
            reporter_phone=phone,
            headcount=orig.headcount,
            duration=orig.duration,
            urgency=orig.urgency,
            compound_id=orig.compound_id,
            lat=lat,
            lon=lon,
            address=orig.address,
            description=orig.description,
            duplicate_of=orig,
            merged_into=orig,
        )

    def duration_for(self, tier: NeedTier) -> int:
        lo, hi = {
            NeedTier.ORDINARY: (15, 30),
            NeedTier.COMPLEX: (30, 240),
            NeedTier.MAJOR: (60, 480),
        }[tier]
        return self.rng.randint(lo // 5, hi // 5) * 5

    def urgency_for(self, tier: NeedTier) -> int:
        lo, hi = {NeedTier.ORDINARY: (1, 3), NeedTier.COMPLEX: (2, 4), NeedTier.MAJOR: (4, 5)}[tier]
        return self.rng.randint(lo, hi)

    def media(self, source: NeedSource) -> list[str]:
        if (
            source in (NeedSource.RESIDENT_APP, NeedSource.TEAM_REPORT, NeedSource.GRID_PATROL)
            and self.rng.random() < 0.6
        ):
            return [f"{MEDIA_BASE}/{self.copy}/{self.rng.getrandbits(48):012x}.jpg"]
        return []

    def backlog_grids(self, n: int) -> list[_Grid]:
        """Where the open needs are: a backlog builds up where reports outrun the people on
        hand, so a share of it sits in a few hot spots (villages after a storm, old compounds
        with failing pipes), the rest spread over the county like the year's reports."""
        rng = self.rng
        hot = rng.sample(self.villages, HOT_VILLAGES) + rng.sample(self.urban, HOT_COMMUNITIES)
        n_hot = round(n * HOT_SHARE)
        out = [_pick(rng, self.grids_by_community[_pick(rng, hot)["id"]]) for _ in range(n_hot)]
        weights = [BACKLOG_URBAN_WEIGHT if g.kind is GridKind.URBAN else 1 for g in self.grids]
        out += rng.choices(self.grids, weights, k=n - n_hot)
        rng.shuffle(out)
        return out

    def backlog(self) -> list[_NeedSpec]:
        """About 3,000 open needs across the grids, for matching to work on: those already
        dispatched keep their grid crew; those waiting for people are booked for a visit in the
        coming week (see `appointment`), so that a matching job finds people who can go."""
        rng = self.rng
        n = REFERENCE.open_needs
        tiers = (
            [NeedTier.ORDINARY] * REFERENCE.open_needs_ordinary
            + [NeedTier.COMPLEX] * REFERENCE.open_needs_complex
            + [NeedTier.MAJOR] * REFERENCE.open_needs_major
        )
        statuses = (
            [NeedStatus.REPORTED] * 900
            + [NeedStatus.ACCEPTED] * 1350
            + [NeedStatus.DISPATCHED] * 450
        )
        statuses += [NeedStatus.ARRIVED] * (n - len(statuses))
        rng.shuffle(tiers)
        rng.shuffle(statuses)
        chosen = self.backlog_grids(n)
        sources = rng.choices(
            (
                NeedSource.RESIDENT_APP,
                NeedSource.HOTLINE_12345,
                NeedSource.GRID_PATROL,
                NeedSource.TEAM_REPORT,
            ),
            (35, 25, 30, 10),
            k=n,
        )
        q_grids = self.grids_by_community[self.quantang["id"]]
        resident_account = self.account_ids.get("demo-resident")
        ant_members = self.teams[0][1]
        servers = self.servers()
        out: list[_NeedSpec] = []
        for i in range(n):
            tier, status, g, source = tiers[i], statuses[i], chosen[i], sources[i]
            account = None
            if i < 2 and resident_account is not None:
                # The demo resident follows two open reports of their own.
                g, source, account = q_grids[0], NeedSource.RESIDENT_APP, resident_account
                status = (NeedStatus.REPORTED, NeedStatus.DISPATCHED)[i]
            category = self.pick_category(source)
            name, phone, person_id = self.reporter(source, g)
            if source is NeedSource.TEAM_REPORT:
                person_id = _pick(rng, ant_members)
                name, phone = self.person_names[person_id], None
            if account is not None:
                name, phone, person_id = (
                    self.resident["name"],
                    self.resident["phone"],
                    self.resident["id"],
                )
            title, description, address, compound_id, lat, lon = self.need_texts(
                source, category, g
            )
            limit = RESOLVE_WITHIN[tier]
            dispatch_at = self.now
            if status in (NeedStatus.REPORTED, NeedStatus.ACCEPTED):
                reported = self.now - timedelta(seconds=int(10 * 86400 * rng.random() ** 2) + 300)
            else:
                ago = rng.randint(180, int(limit.total_seconds() * 1.4))
                dispatch_at = self.now - timedelta(seconds=ago)
                reported = dispatch_at - _minutes(rng, 5, 120)
            platform = HOTLINE_CENTRE if source is NeedSource.HOTLINE_12345 else COMMAND_CENTRE
            h = _History.reported(
                reported,
                name if source is not NeedSource.HOTLINE_12345 else HOTLINE_CENTRE,
                account,
            )
            headcount = _HEADCOUNT_OPEN.pick(rng)
            spec = _NeedSpec(
                source=source,
                category=category,
                tier=tier,
                grid=g,
                reported_at=reported,
                history=h,
                title=title,
                reporter_name=name,
                headcount=headcount,
                duration=self.duration_for(tier),
                urgency=self.urgency_for(tier),
                compound_id=compound_id,
                reporter_account_id=account,
                reporter_person_id=person_id,
                reporter_phone=phone,
                lat=lat,
                lon=lon,
                address=address,
                description=description,
                media_urls=self.media(source),
            )
            if status in (NeedStatus.REPORTED, NeedStatus.ACCEPTED):
                # Waiting for people: a visit booked in the coming days (预约上门).
                spec.window, spec.skills = self.appointment(servers, spec)
            else:
                spec.skills = self.need_skills(category, rng.choices((1, 2), (65, 35))[0])
            if rng.random() < 0.08:
                kind = rng.choice(
                    (
                        ResourceKind.VENUE,
                        ResourceKind.VEHICLE,
                        ResourceKind.EQUIPMENT,
                        ResourceKind.SUPPLIES,
                    )
                )
                qty = {
                    ResourceKind.VENUE: rng.randint(20, 60),
                    ResourceKind.VEHICLE: rng.randint(1, 2),
                    ResourceKind.EQUIPMENT: rng.randint(1, 4),
                    ResourceKind.SUPPLIES: rng.randint(10, 50),
                }[kind]
                spec.resources.append((kind, qty))
            if status is not NeedStatus.REPORTED:
                span = (min(dispatch_at, self.now) - reported).total_seconds()
                accept_at = reported + timedelta(seconds=int(span * rng.uniform(0.1, 0.6)))
                h.step(
                    NeedAction.ACCEPT, min(accept_at, reported + timedelta(minutes=30)), platform
                )
            if status in (NeedStatus.DISPATCHED, NeedStatus.ARRIVED):
                people = self.staff_for(g, headcount)
                spec.headcount = max(headcount, len(people))
                h.step(
                    NeedAction.DISPATCH, dispatch_at, COMMAND_CENTRE, "派单", {"person_ids": people}
                )
                for p in people:
                    spec.assignments.append((p, None, None, 1, True, h.last_at))
                if status is NeedStatus.ARRIVED:
                    at = h.last_at + _minutes(rng, 2, 14)
                    if at >= self.now:
                        at = h.last_at + (self.now - h.last_at) / 2
                    h.step(NeedAction.ARRIVE, at, self.person_names[people[0]])
            assert h.status is status and h.last_at < self.now
            out.append(spec)
        # A few fresh reports look like repeats of another open one nearby: flagged, not merged.
        reported_only = [
            s
            for s in out
            if s.history.status is NeedStatus.REPORTED and s.reporter_account_id is None
        ]
        for dup, orig in zip(reported_only[:20], reported_only[20:40], strict=True):
            if orig.reported_at < dup.reported_at:
                orig, dup = dup, orig
            dup.category, dup.grid, dup.title = orig.category, orig.grid, orig.title
            dup.lat, dup.lon = _near(rng, orig.lat, orig.lon, 0.0008)
            dup.compound_id, dup.address = orig.compound_id, orig.address
            dup.skills = list(orig.skills)
            if orig.window is not None:  # booked like the report it repeats
                start = orig.window[0]
                dup.window = (start, start + timedelta(minutes=dup.duration + 60))
            dup.duplicate_of = orig
            dup.reported_at = min(
                orig.reported_at + _minutes(rng, 5, 600), self.now - timedelta(minutes=1)
            )
            dup.history = _History.reported(dup.reported_at, dup.history.events[0].actor)
        return out

    def servers(self) -> _Servers:
        """Everyone who may be sent to a need, with their skills and weekly windows."""
        windows: dict[int, list[tuple[int, int, int]]] = {}
        for w in self.t["availability"]:
            windows.setdefault(w["person_id"], []).append(
                (w["weekday"], w["start_minute"], w["end_minute"])
            )
        people = [p for p in self.t["person"] if p["kind"] in SERVING_KINDS]
        return _Servers(people, self.person_skills, windows, self.skill_ids)

    def appointment(
        self, servers: _Servers, spec: _NeedSpec
    ) -> tuple[tuple[datetime, datetime], list[int]]:
        """When an open need is booked, and the skills it calls for.

        The command centre books the visit in the coming week (from tomorrow, local time) at a
        time when someone within the tier's reach is on duty or free: office hours with a grid
        worker, or, for the categories residents want seen after work, a member's evening or
        weekend. A good share of needs (rubbish, patrols, visits) call for no skill; the rest
        call for skills of their category that somebody nearby and free then actually holds.
        """
        rng = self.rng
        reach = servers.reach(spec.lat, spec.lon, spec.tier)
        after_hours = rng.random() < _AFTER_HOURS[spec.category]
        anchors = reach[servers.after_hours[reach] if after_hours else servers.office[reach]]
        if not anchors.size:
            anchors, after_hours = reach, not after_hours
        if anchors.size:
            own = servers.windows[int(_pick(rng, anchors))]
            fits = [w for w in own if _after_hours(w) == after_hours] or own
            weekday, lo, hi = _pick(rng, fits)
        else:  # nobody within reach: office hours, whoever can come
            weekday, lo, hi = rng.randint(0, 4), 8 * 60 + 30, 17 * 60 + 30
        room = max(0, hi - lo - spec.duration)
        minute = lo + 15 * rng.randint(0, room // 15)
        today = (self.now + LOCAL_OFFSET).date()
        ahead = (weekday - today.weekday() - 1) % 7 + 1  # tomorrow .. a week today
        day = datetime.combine(today + timedelta(days=ahead), time(), tzinfo=UTC)
        start = _local_slot(day, minute)
        window = (start, start + timedelta(minutes=spec.duration + rng.choice((30, 60, 120))))
        if rng.random() < _SKILL_FREE[spec.category]:
            return window, []
        free = servers.free_at(reach, weekday * MINUTES_PER_DAY + minute)
        bits = {c: 1 << (self.skill_ids[c] - 1) for c in vocab.CATEGORY_SKILLS[spec.category]}
        held = {c: servers.holders(free, b) for c, b in bits.items()}
        if not any(held.values()):
            return window, []
        first = _pick(rng, [c for c, k in held.items() if k])
        skills = [first]
        if rng.random() < _SECOND_SKILL:
            both = {
                c: servers.holders(free, bits[first] | b) for c, b in bits.items() if c != first
            }
            if any(both.values()):
                skills.append(_pick(rng, [c for c, k in both.items() if k]))
        return window, sorted(self.skill_ids[c] for c in skills)

    def emit_needs(self, specs: list[_NeedSpec]) -> None:
        now = self.now
        events: list[tuple[datetime, int, int, dict[str, Any]]] = []
        for s in specs:
            h = s.history
            times: dict[NeedAction, datetime] = {}
            for action, _frm, _to, at, *_ in h.events:
                times[action] = at  # the latest of each action
            dispatched = (
                times.get(NeedAction.DISPATCH)
                if h.status not in (NeedStatus.REPORTED, NeedStatus.ACCEPTED, NeedStatus.MERGED)
                else None
            )
            deadlines = need_deadlines(s.tier, dispatched) if dispatched else None
            arrived = times.get(NeedAction.ARRIVE) if dispatched else None
            resolved = times.get(NeedAction.RESOLVE)
            closed = times.get(NeedAction.RATE) or times.get(NeedAction.CLOSE)
            self.add(
                "need",
                id=s.id,
                title=s.title,
                description=s.description,
                category=s.category,
                source=s.source,
                tier=s.tier,
                status=h.status,
                urgency=s.urgency,
                community_id=s.grid.community_id,
                grid_id=s.grid.id,
                compound_id=s.compound_id,
                consultation_id=s.consultation_id,
                reporter_account_id=s.reporter_account_id,
                reporter_person_id=s.reporter_person_id,
                reporter_name=s.reporter_name,
                reporter_phone=s.reporter_phone,
                latitude=s.lat,
                longitude=s.lon,
                address=s.address,
                media_urls=s.media_urls,
                headcount=s.headcount,
                duration_minutes=s.duration,
                window_start=s.window[0] if s.window else None,
                window_end=s.window[1] if s.window else None,
                idempotency_key=None,
                duplicate_of_id=s.duplicate_of.id if s.duplicate_of else None,
                merged_into_id=s.merged_into.id if s.merged_into else None,
                reported_at=s.reported_at,
                accepted_at=times.get(NeedAction.ACCEPT),
                dispatched_at=dispatched,
                arrive_by=deadlines.arrive_by if deadlines else None,
                resolve_by=deadlines.resolve_by if deadlines else None,
                arrived_at=arrived,
                resolved_at=resolved,
                closed_at=closed,
                satisfaction=s.satisfaction,
                rating_comment=s.rating_comment,
                version=len(h.events),
                updated_at=h.last_at,
            )
            for skill_id in s.skills:
                self.add("need_skill", need_id=s.id, skill_id=skill_id)
            for kind, qty in s.resources:
                self.add("need_resource", need_id=s.id, kind=kind, quantity=qty)
            for person_id, team_id, resource_id, qty, active, at in s.assignments:
                self.add(
                    "need_assignment",
                    need_id=s.id,
                    person_id=person_id,
                    team_id=team_id,
                    resource_id=resource_id,
                    quantity=qty,
                    active=active,
                    assigned_at=at,
                    assigned_by_account_id=None,
                )
            for seq, (action, frm, to, at, actor, note, data, account) in enumerate(h.events):
                assert at < now
                events.append(
                    (
                        at,
                        s.id,
                        seq,
                        {
                            "need_id": s.id,
                            "action": action,
                            "from_status": frm,
                            "to_status": to,
                            "actor_account_id": account,
                            "actor_name": actor[:64],
                            "note": note,
                            "data": data,
                            "at": at,
                        },
                    )
                )
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for *_, values in events:
            self.add("need_event", **values)

    # ---- volunteer activities ("1+6+12+N" 志愿服务体系, 义善庐陵)
    def build_activities(self) -> None:
        rng = self.rng
        volunteers = (
            [m["id"] for m in self.members] + [c["id"] for c in self.cadres] + self.team_member_ids
        )
        local: dict[int, list[int]] = {}
        for pid, cid in ((m["id"], m["registered_community_id"]) for m in self.members):
            local.setdefault(cid, []).append(pid)
        team_by_theme = {"义善庐陵·爱心助农直播": self.teams[2][0]["id"]}
        n_done = REFERENCE.activities
        day0 = (self.now + LOCAL_OFFSET).replace(
            hour=0, minute=0, second=0, microsecond=0
        ) - LOCAL_OFFSET

        def place() -> tuple[Row, Row | None]:
            community = _pick(rng, self.urban) if rng.random() < 0.6 else _pick(rng, self.villages)
            venues = self.venues_by_community.get(community["id"], [])
            return community, (_pick(rng, venues) if venues else None)

        plans: list[dict[str, Any]] = []
        yjf_station = next(
            v
            for v in self.venues_by_community[self.quantang["id"]]
            if v["compound_id"] == self.compounds[0]["id"]
        )
        # Finished in the year: the first one is 燕京府小区's New Year's Day gathering.
        for i in range(n_done):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            start = _local_slot(
                day0 - timedelta(days=rng.randint(3, 362)),
                rng.choice((8, 9, 9, 14, 15, 19)) * 60 + rng.choice((0, 30)),
            )
            if i == 0:
                theme, skills = "邻里同心·元旦启新", ("performance",)
                community, venue = self.quantang, yjf_station
                year = (self.now + LOCAL_OFFSET).year
                start = datetime(year, 1, 1, 1, 30, tzinfo=UTC)  # 09:30 local on New Year's Day
                if start > self.now - timedelta(days=2):
                    start = start.replace(year=year - 1)
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": start,
                    "status": "finished",
                }
            )
        for _ in range(4):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            start = _local_slot(day0 - timedelta(days=rng.randint(3, 300)), 9 * 60)
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": start,
                    "status": "cancelled",
                }
            )
        for _ in range(2):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": self.now - timedelta(hours=1),
                    "status": "ongoing",
                }
            )
        for _ in range(24):
            theme, skills = _pick(rng, vocab.ACTIVITY_THEMES)
            community, venue = place()
            start = _local_slot(
                day0 + timedelta(days=rng.randint(1, 40)), rng.choice((9, 14, 19)) * 60
            )
            plans.append(
                {
                    "theme": theme,
                    "skills": skills,
                    "community": community,
                    "venue": venue,
                    "start": start,
                    "status": "planned",
                }
            )

        per = _allocate(REFERENCE.activity_signups, [rng.uniform(0.4, 1.6) for _ in range(n_done)])
        statuses = (
            [SignUpStatus.CHECKED_OUT] * REFERENCE.activity_person_times
            + [SignUpStatus.SIGNED_UP] * 1250
            + [SignUpStatus.CANCELLED]
            * (REFERENCE.activity_signups - REFERENCE.activity_person_times - 1250)
        )
        rng.shuffle(statuses)
        status_iter = iter(statuses)
        for i, p in enumerate(plans):
            community, venue = p["community"], p["venue"]
            hours = rng.choice((1, 2, 2, 3, 4))
            start: datetime = p["start"]
            end = start + timedelta(hours=hours)
            if p["status"] == "finished":
                n_sign = per[i]
                capacity = n_sign + rng.randint(0, 40)
            elif p["status"] == "planned":
                capacity = rng.randint(20, 80)
                n_sign = rng.randint(0, int(capacity * 0.6))
            elif p["status"] == "ongoing":
                capacity = rng.randint(20, 60)
                n_sign = rng.randint(10, 20)
            else:
                capacity, n_sign = rng.randint(20, 60), 0
            title = (
                p["theme"]
                if p["theme"] == "邻里同心·元旦启新"
                else f"{community['name']}{p['theme']}"
            )
            at = venue or community
            lat, lon = _near(rng, at["latitude"], at["longitude"], 0.0005)
            activity = self.add(
                "activity",
                title=title,
                description=f"“义善庐陵”志愿服务：{p['theme']}，欢迎在职党员和志愿者报名参加。",
                community_id=community["id"],
                venue_id=venue["id"] if venue else None,
                organiser_team_id=team_by_theme.get(p["theme"]),
                status=p["status"],
                starts_at=start,
                ends_at=end,
                capacity=capacity,
                latitude=lat,
                longitude=lon,
                created_at=start - timedelta(days=rng.randint(3, 20)),
            )
            for code in p["skills"]:
                self.add(
                    "activity_skill", activity_id=activity["id"], skill_id=self.skill_ids[code]
                )
            if n_sign == 0:
                continue
            near = local.get(community["id"], [])
            k_local = min(len(near), n_sign // 2)
            chosen = rng.sample(near, k_local)
            taken = set(chosen)
            while len(chosen) < n_sign:
                pid = _pick(rng, volunteers)
                if pid not in taken:
                    taken.add(pid)
                    chosen.append(pid)
            for pid in chosen:
                signed = min(
                    start - _minutes(rng, 60, 10 * 24 * 60), self.now - timedelta(minutes=5)
                )
                checked_in = checked_out = None
                minutes = None
                if p["status"] == "finished":
                    status = next(status_iter)
                elif p["status"] == "ongoing":
                    status = SignUpStatus.CHECKED_IN
                else:
                    status = SignUpStatus.SIGNED_UP
                if status in (SignUpStatus.CHECKED_IN, SignUpStatus.CHECKED_OUT):
                    checked_in = start + _minutes(rng, -15, 20)
                    if checked_in >= self.now:
                        checked_in = self.now - timedelta(minutes=1)
                if status is SignUpStatus.CHECKED_OUT:
                    assert checked_in is not None
                    checked_out = end + _minutes(rng, -20, 15)
                    minutes = int((checked_out - checked_in).total_seconds() // 60)
                self.add(
                    "sign_up",
                    person_id=pid,
                    activity_id=activity["id"],
                    need_id=None,
                    status=status,
                    signed_up_at=signed,
                    checked_in_at=checked_in,
                    checked_out_at=checked_out,
                    minutes=minutes,
                )
        assert next(status_iter, None) is None


# --------------------------------------------------------------------------- public API


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the rows hold no cycles, and with hundreds of
    thousands of fresh dicts its repeated full scans cost about a third of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def iter_reference(
    *,
    seed: int = REFERENCE_SEED,
    scale: int = 1,
    now: datetime = REFERENCE_NOW,
    password_hash: str | None = None,
) -> Iterator[Tables]:
    """Yields one county copy's tables at a time (FK order within each); ids continue across."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ids = _Ids()
    for copy in range(scale):
        with gc_paused():
            tables = _County(copy, seed=seed, now=now, ids=ids, password_hash=password_hash).build()
        yield tables
        del tables  # let the copy go before the next one is built


def generate_reference(
    *,
    seed: int = REFERENCE_SEED,
    scale: int = 1,
    now: datetime = REFERENCE_NOW,
    password_hash: str | None = None,
) -> Tables:
    """Every table's rows (FK order); scale N concatenates N county copies."""
    out = _new_tables()
    for part in iter_reference(seed=seed, scale=scale, now=now, password_hash=password_hash):
        for name, rows in part.items():
            out[name].extend(rows)
    return out


def row_counts(tables: Tables) -> dict[str, int]:
    return {name: len(rows) for name, rows in tables.items()}


def tables_digest(tables: Tables) -> str:
    """A SHA-256 over every row of every table, in order: equal digests mean equal data.

    Rows hold only str, int, float, bool, None, aware datetimes and JSON lists/dicts, whose
    reprs are exact and stable across processes.
    """
    h = hashlib.sha256()
    for name in TABLE_ORDER:
        h.update(f"\x00{name}\x00".encode())
        rows = tables.get(name, [])
        for start in range(0, len(rows), 10_000):
            h.update(repr(rows[start : start + 10_000]).encode())
    return h.hexdigest()


__all__ = [
    "DEMO_ACCOUNTS",
    "TABLE_ORDER",
    "Row",
    "Tables",
    "demo_password_hash",
    "generate_reference",
    "iter_reference",
    "row_counts",
    "tables_digest",
]
