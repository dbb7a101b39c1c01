"""Residents' needs (群众诉求), what they require, who serves them, and their event history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import enum_column, in_county_check, json_column, utc_column, utcnow
from schema.enums import (
    NeedAction,
    NeedCategory,
    NeedKind,
    NeedSource,
    NeedStatus,
    NeedTier,
    ResourceKind,
)


class Need(SQLModel, table=True):
    """A need moving through the closed loop; `version` guards against concurrent overwrites."""

    __tablename__ = "need"
    __table_args__ = (
        in_county_check(),
        sa.CheckConstraint("headcount BETWEEN 1 AND 50", name="headcount"),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="duration_minutes"),
        sa.CheckConstraint("urgency BETWEEN 1 AND 5", name="urgency"),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"
        ),
        sa.CheckConstraint("length(title) > 0", name="title_not_empty"),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.CheckConstraint(
            "window_end IS NULL OR window_start IS NULL OR window_end > window_start",
            name="window",
        ),
        sa.Index("ix_need_status_community", "status", "community_id"),
        sa.Index("ix_need_status_tier", "status", "tier"),
        # Boxes around a point (opportunities near it, duplicates, a county's box): migration 0019.
        sa.Index("ix_need_latitude_longitude", "latitude", "longitude"),
        # Idempotency keys are each reporter's own: another reporter's key is a new key.
        sa.UniqueConstraint("reporter_account_id", "idempotency_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    category: NeedCategory = Field(sa_column=enum_column(NeedCategory, index=True))
    source: NeedSource = Field(sa_column=enum_column(NeedSource, index=True))
    tier: NeedTier = Field(sa_column=enum_column(NeedTier, index=True))
    # A response need runs on the 1341 clock from dispatch; a scheduled one is booked for a slot
    # inside its window (schema/sla.py). The report may say which; source and category default it.
    kind: NeedKind = Field(
        default=NeedKind.RESPONSE,
        sa_column=enum_column(NeedKind, server_default=NeedKind.RESPONSE.value),
    )
    status: NeedStatus = Field(sa_column=enum_column(NeedStatus, index=True))
    urgency: int = 3
    community_id: int = Field(foreign_key="community.id", index=True)
    grid_id: int | None = Field(default=None, foreign_key="grid.id", index=True)
    compound_id: int | None = Field(default=None, foreign_key="compound.id", index=True)
    # A property matter in a compound is routed to a property company (物业公司): the compound's
    # own, else the state-owned fallback (兜底); see schema/services/needs/location.py.
    property_unit_id: int | None = Field(default=None, foreign_key="paired_unit.id", index=True)
    consultation_id: int | None = Field(default=None, foreign_key="consultation.id", index=True)
    # A keeper's suggestion from a sentinel post (民声前哨点) names its post.
    sentinel_post_id: int | None = Field(default=None, foreign_key="sentinel_post.id", index=True)
    reporter_account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    reporter_person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    reporter_name: str = Field(default="", max_length=32)
    reporter_phone: str | None = Field(default=None, max_length=20)
    latitude: float
    longitude: float
    address: str = Field(default="", max_length=200)
    media_urls: list[str] = Field(default_factory=list, sa_column=json_column())
    headcount: int = 1
    duration_minutes: int = 60
    window_start: datetime | None = Field(default=None, sa_column=utc_column())
    window_end: datetime | None = Field(default=None, sa_column=utc_column())
    idempotency_key: str | None = Field(default=None, max_length=64)
    # SHA-256 of the report as first sent under the key: the same key with another body is
    # refused instead of answered with the first need.
    idempotency_hash: str | None = Field(default=None, max_length=64)
    # A suspected duplicate (same category, nearby, recent) flagged for a coordinator to merge.
    duplicate_of_id: int | None = Field(default=None, foreign_key="need.id", index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="need.id", index=True)
    reported_at: datetime = Field(
        default_factory=utcnow, sa_column=utc_column(nullable=False, index=True)
    )
    accepted_at: datetime | None = Field(default=None, sa_column=utc_column())
    dispatched_at: datetime | None = Field(default=None, sa_column=utc_column())
    arrive_by: datetime | None = Field(default=None, sa_column=utc_column())
    resolve_by: datetime | None = Field(default=None, sa_column=utc_column(index=True))
    arrived_at: datetime | None = Field(default=None, sa_column=utc_column())
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=utc_column())
    # When the clock found a scheduled need's window passed unbooked or its slot missed (the
    # scheduler sets it once, so the coordinator's board is told).
    overdue_flagged_at: datetime | None = Field(default=None, sa_column=utc_column())
    satisfaction: int | None = None
    rating_comment: str = Field(default="", max_length=500)
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class NeedSkill(SQLModel, table=True):
    __tablename__ = "need_skill"

    need_id: int = Field(foreign_key="need.id", primary_key=True)
    skill_id: int = Field(foreign_key="skill.id", primary_key=True, index=True)


class NeedResource(SQLModel, table=True):
    """A resource a need requires, by kind and quantity (a hall for 30, two vehicles …)."""

    __tablename__ = "need_resource"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity"),)

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    kind: ResourceKind = Field(sa_column=enum_column(ResourceKind))
    quantity: int


class NeedAssignment(SQLModel, table=True):
    """Who or what was dispatched to a need: a person, a whole team, or a quantity of a resource."""

    __tablename__ = "need_assignment"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN person_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN team_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN resource_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="exactly_one_assignee",
        ),
        sa.CheckConstraint("quantity > 0", name="quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    resource_id: int | None = Field(default=None, foreign_key="resource.id", index=True)
    quantity: int = 1
    active: bool = True
    assigned_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    assigned_by_account_id: int | None = Field(default=None, foreign_key="account.id")


class NeedEvent(SQLModel, table=True):
    """One step of a need's life; rows are only ever added, so history is never overwritten."""

    __tablename__ = "need_event"
    __table_args__ = (sa.Index("ix_need_event_need_at", "need_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id")
    action: NeedAction = Field(sa_column=enum_column(NeedAction))
    from_status: NeedStatus | None = Field(
        default=None, sa_column=enum_column(NeedStatus, nullable=True, check="from_status")
    )
    to_status: NeedStatus = Field(sa_column=enum_column(NeedStatus))
    actor_account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    actor_name: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
