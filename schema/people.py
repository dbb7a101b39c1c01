"""People who serve, their skills and time, and the volunteer teams they belong to."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import enum_column, in_county_check, utc_column, utcnow
from schema.enums import EnterpriseRequestKind, PersonKind, TeamKind, TravelMode

# The people sent to needs (the matcher's volunteers); enterprise helpers serve enterprise
# requests only, residents are served.
SERVING_KINDS = (
    PersonKind.PARTY_MEMBER,
    PersonKind.TEAM_MEMBER,
    PersonKind.CADRE,
    PersonKind.GRID_WORKER,
)


class Person(SQLModel, table=True):
    """A party member, grid worker, cadre, enterprise helper, team member or resident."""

    __tablename__ = "person"
    __table_args__ = (
        in_county_check(),
        sa.CheckConstraint(
            "weekly_capacity_minutes BETWEEN 0 AND 4200", name="weekly_capacity_minutes"
        ),
        sa.CheckConstraint("max_open_requests >= 0", name="max_open_requests"),
        # People in a county's box (one county's countyStats): migration 0019.
        sa.Index("ix_person_latitude_longitude", "latitude", "longitude"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=32)
    kind: PersonKind = Field(sa_column=enum_column(PersonKind, index=True))
    is_party_member: bool = False
    phone: str | None = Field(default=None, max_length=20)
    id_number: str | None = Field(default=None, max_length=18)
    registered_community_id: int | None = Field(
        default=None, foreign_key="community.id", index=True
    )
    employer_unit_id: int | None = Field(default=None, foreign_key="paired_unit.id", index=True)
    latitude: float
    longitude: float
    travel_mode: TravelMode = Field(
        default=TravelMode.FOOT, sa_column=enum_column(TravelMode, server_default="foot")
    )
    weekly_capacity_minutes: int = 240
    is_commando: bool = False
    # Enterprise helpers (小赣事): how many open requests they may carry at once.
    max_open_requests: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class Skill(SQLModel, table=True):
    """A skill a need may require (电工, 法律咨询, 心理疏导 …)."""

    __tablename__ = "skill"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=32)


class PersonSkill(SQLModel, table=True):
    __tablename__ = "person_skill"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    skill_id: int = Field(foreign_key="skill.id", primary_key=True, index=True)


class HelperExpertise(SQLModel, table=True):
    """Which enterprise-request kinds a helper (小赣事) handles."""

    __tablename__ = "helper_expertise"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    kind: EnterpriseRequestKind = Field(
        sa_column=enum_column(EnterpriseRequestKind, primary_key=True)
    )


class Availability(SQLModel, table=True):
    """A weekly window (county local time) in which a person can serve."""

    __tablename__ = "availability"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        sa.CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
            name="minutes",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    weekday: int
    start_minute: int
    end_minute: int


class Team(SQLModel, table=True):
    """A volunteer team: new-business 吉先锋 teams, Ant Action riders, monitors, commandos …"""

    __tablename__ = "team"
    __table_args__ = (sa.CheckConstraint("sales_yuan >= 0", name="sales_yuan"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    kind: TeamKind = Field(sa_column=enum_column(TeamKind, index=True))
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    # Live-streamers' farm-produce sales (助农销售), in yuan.
    sales_yuan: int = 0
    founded_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    # A commando team (党员突击队) stands down when its area returns to normal mode.
    disbanded_at: datetime | None = Field(default=None, sa_column=utc_column())


class TeamMembership(SQLModel, table=True):
    __tablename__ = "team_membership"

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    is_leader: bool = False
    joined_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    # Set while the member serves on a mobilised commando team (away from this team); cleared
    # when the commando stands down and they return.
    away_with_team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
