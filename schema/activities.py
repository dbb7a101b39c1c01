"""Volunteer activities (the "1+6+12+N" system, 义善庐陵), sign-ups and service hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, col

from schema.base import enum_column, in_county_check, utc_column, utcnow
from schema.enums import ActivityStatus, ServiceLevel, SignUpStatus

# How many organisers each level of "1+6+12+N" holds (N: no limit).
LEVEL_SEATS: dict[ServiceLevel, int | None] = {
    ServiceLevel.CENTRE: 1,
    ServiceLevel.SIX: 6,
    ServiceLevel.TWELVE: 12,
    ServiceLevel.N: None,
}


class ServiceOrganiser(SQLModel, table=True):
    """An organiser of volunteer activities at one level of "1+6+12+N"; one with a community
    organises there only, one without organises county-wide."""

    __tablename__ = "service_organiser"
    __table_args__ = (sa.CheckConstraint("length(name) > 0", name="name_not_empty"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=96, sa_column_kwargs={"unique": True})
    level: ServiceLevel = Field(sa_column=enum_column(ServiceLevel, index=True))
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


def organises_in(community_id: Any) -> Any:
    """WHERE clause: organisers who may organise in the community — its own, and those of no
    community (county-wide). The one rule publishing checks (`organiser_problem`) and lists."""
    return sa.or_(
        col(ServiceOrganiser.community_id).is_(None),
        col(ServiceOrganiser.community_id) == community_id,
    )


def organiser_problem(organiser: ServiceOrganiser, community_id: int) -> str | None:
    """Why this organiser may not organise in the community, or None."""
    if organiser.community_id is not None and organiser.community_id != community_id:
        return "this organiser organises in another community only"
    return None


class Activity(SQLModel, table=True):
    """A volunteer opportunity with a time, a place and a number of places."""

    __tablename__ = "activity"
    __table_args__ = (
        in_county_check(),
        sa.CheckConstraint("capacity > 0", name="capacity"),
        sa.CheckConstraint("ends_at > starts_at", name="window"),
        sa.CheckConstraint("length(title) > 0", name="title_not_empty"),
        sa.Index("ix_activity_latitude_longitude", "latitude", "longitude"),  # as need's
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    community_id: int = Field(foreign_key="community.id", index=True)
    venue_id: int | None = Field(default=None, foreign_key="venue.id", index=True)
    organiser_team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    status: ActivityStatus = Field(sa_column=enum_column(ActivityStatus, index=True))
    starts_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    ends_at: datetime = Field(sa_column=utc_column(nullable=False))
    capacity: int
    latitude: float
    longitude: float
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    # Administration (publish, update, cancel, finish): who organises it, and its version
    # (updates are checked against it, so two offices cannot overwrite each other).
    organiser_id: int | None = Field(default=None, foreign_key="service_organiser.id", index=True)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    updated_at: datetime | None = Field(default=None, sa_column=utc_column())
    cancelled_at: datetime | None = Field(default=None, sa_column=utc_column())
    cancel_reason: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    finished_at: datetime | None = Field(default=None, sa_column=utc_column())


class ActivitySkill(SQLModel, table=True):
    __tablename__ = "activity_skill"

    activity_id: int = Field(foreign_key="activity.id", primary_key=True)
    skill_id: int = Field(foreign_key="skill.id", primary_key=True, index=True)


class SignUp(SQLModel, table=True):
    """A person's sign-up for an activity or a need; check-out records the service minutes."""

    __tablename__ = "sign_up"
    __table_args__ = (
        sa.CheckConstraint("(activity_id IS NULL) <> (need_id IS NULL)", name="activity_xor_need"),
        sa.CheckConstraint("minutes IS NULL OR minutes >= 0", name="minutes"),
        sa.UniqueConstraint("person_id", "activity_id"),
        sa.UniqueConstraint("person_id", "need_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    activity_id: int | None = Field(default=None, foreign_key="activity.id", index=True)
    need_id: int | None = Field(default=None, foreign_key="need.id", index=True)
    status: SignUpStatus = Field(sa_column=enum_column(SignUpStatus, index=True))
    signed_up_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    checked_in_at: datetime | None = Field(default=None, sa_column=utc_column())
    checked_out_at: datetime | None = Field(default=None, sa_column=utc_column())
    minutes: int | None = None
