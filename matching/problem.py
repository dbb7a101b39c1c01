"""The matching problem as plain, frozen data: who can help, what needs doing, and the weights.

Nothing here knows about databases or OR-Tools. The loader turns rows into these objects and the
solver turns them into a `Result`; ids are the database ids so results map straight back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

TravelMode = Literal["foot", "ebike", "car"]
Tier = Literal["ordinary", "complex", "major"]

TRAVEL_MODES: tuple[TravelMode, ...] = ("foot", "ebike", "car")
TIERS: tuple[Tier, ...] = ("ordinary", "complex", "major")

# The 1341 promise for solving a need, measured from dispatch (minutes). Arrival limits used for
# matching live in `travel.REACH_LIMIT_MINUTES`.
RESOLVE_WITHIN_MINUTES: dict[Tier, int] = {"ordinary": 30, "complex": 4 * 60, "major": 24 * 60}

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

# (weekday 0=Monday..6, start minute, end minute) in Asia/Shanghai local time; end is exclusive.
Window = tuple[int, int, int]
# (need_id, volunteer_id) for volunteer pairs, (task_id, volunteer_id) for helper pairs.
Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Busy:
    """Time a person is already booked (an active assignment, a checked-in or signed-up
    activity), UTC. With a place, travel to and from it is counted too."""

    start: datetime
    end: datetime
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A person who can be sent: party member, team member, commando member or enterprise helper."""

    id: int
    lat: float
    lon: float
    skills: frozenset[str] = frozenset()
    travel_mode: TravelMode = "foot"
    weekly_capacity_minutes: int = 240
    committed_minutes: int = 0
    availability: tuple[Window, ...] = ()  # empty: always available
    home_community_id: int | None = None
    team_ids: frozenset[int] = frozenset()
    is_commando: bool = False
    current_need_ids: frozenset[int] = frozenset()  # needs they already serve (continuity)
    is_helper: bool = False
    expertise: frozenset[str] = frozenset()  # enterprise request kinds a helper handles
    max_open_requests: int = 0
    open_requests: int = 0
    busy: tuple[Busy, ...] = ()  # existing work: no new visit may overlap it

    @property
    def remaining_minutes(self) -> int:
        return max(0, self.weekly_capacity_minutes - self.committed_minutes)

    @property
    def helper_slots(self) -> int:
        return max(0, self.max_open_requests - self.open_requests) if self.is_helper else 0


@dataclass(frozen=True, slots=True)
class Need:
    """An outstanding need: `headcount` seats, each filled by a different volunteer."""

    id: int
    lat: float
    lon: float
    community_id: int | None = None
    tier: Tier = "ordinary"
    urgency: int = 3  # 1 (can wait) .. 5 (most urgent)
    required_skills: frozenset[str] = frozenset()
    headcount: int = 1
    duration_minutes: int = 60
    starts_at: datetime | None = None  # UTC (naive taken as UTC); None or past: at once
    # A scheduled service's window ends here (UTC): the visit (duration_minutes) is a slot chosen
    # inside [starts_at, window_end]. None: a response need, served as soon as someone arrives.
    window_end: datetime | None = None
    # The arrival limit the caller's deadline rules give this need (minutes from now); None: the
    # default by tier (travel.REACH_LIMIT_MINUTES).
    reach_limit_minutes: float | None = None
    emergency: bool = False  # in an area switched to emergency mode
    required_resources: tuple[tuple[str, int], ...] = ()  # (kind, quantity)
    related_need_ids: frozenset[int] = frozenset()  # earlier needs of the same case (continuity)

    @property
    def respond_within_minutes(self) -> int:
        """The 1341 resolution promise for this need's tier."""
        return RESOLVE_WITHIN_MINUTES[self.tier]


@dataclass(frozen=True, slots=True)
class EnterpriseTask:
    """A request from the business weather station; needs one helper whose expertise fits."""

    id: int
    lat: float
    lon: float
    kind: str
    urgency: int = 3
    deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """A pool of one kind of resource (venue places, vehicles, funds, equipment) at a location."""

    id: int
    kind: str
    quantity: int
    lat: float
    lon: float
    paired_unit_id: int | None = None
    twinned_community_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Weights:
    """Soft weights a coordinator may set, in points (1 point ~ one minute of a volunteer's travel
    at the default travel weight of 10 per minute, i.e. 0.1 minute).

    Bonuses are discounts off a per-seat "away" cost, so every term is >= 0 and the objective (a
    cost, lower is better) stays non-negative, which keeps the relative gap meaningful.
    """

    unserved_ordinary: float = 1000.0  # per open seat
    unserved_complex: float = 2500.0
    unserved_major: float = 8000.0
    unserved_urgency_step: float = 0.25  # +25% of the tier's penalty per urgency level above 1
    unserved_emergency_factor: float = 2.0
    travel_per_minute: float = 10.0
    home_community: float = 150.0  # member serves the community they registered with
    continuity: float = 200.0  # already on this case or a related one
    commando: float = 0.0  # commando member (emergency mode)
    fairness: float = 60.0  # k-th assignment of one person in a batch costs fairness * (k - 1)
    pairing: float = 150.0  # resource from a unit twinned with the need's community, per unit
    resource_per_km: float = 5.0  # per unit of resource per km
    resource_shortfall: float = 600.0  # per missing unit, scaled like unserved seats by tier
    helper_unserved: float = 1500.0  # enterprise task without a helper, scaled by urgency
    helper_per_km: float = 2.0
    helper_fairness: float = 100.0  # per open request the helper already carries

    @classmethod
    def emergency(cls) -> Weights:
        """Emergency mode (平急转换): speed dominates and commando members go first."""
        return cls(
            unserved_emergency_factor=3.0,
            travel_per_minute=60.0,
            home_community=0.0,
            continuity=30.0,
            commando=400.0,
            fairness=10.0,
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Problem:
    """Everything one matching run sees. `pinned` pairs are kept as they are (accepted by a
    coordinator); `forbidden` pairs (rejected) are never proposed."""

    volunteers: tuple[Volunteer, ...]
    needs: tuple[Need, ...]
    enterprise_tasks: tuple[EnterpriseTask, ...] = ()
    resources: tuple[Resource, ...] = ()
    weights: Weights = field(default_factory=Weights)
    pinned: frozenset[Pair] = frozenset()  # (need_id, volunteer_id)
    forbidden: frozenset[Pair] = frozenset()  # (need_id, volunteer_id)
    pinned_helpers: frozenset[Pair] = frozenset()  # (task_id, volunteer_id)
    forbidden_helpers: frozenset[Pair] = frozenset()  # (task_id, volunteer_id)
    now: datetime = field(default_factory=_utc_now)
    candidates_per_need: int = 50
