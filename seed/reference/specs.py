"""What a generated grid and a generated need are before they become rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schema.enums import GridKind, NeedCategory, NeedSource, NeedTier, ResourceKind
from seed.reference.history import _History


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
