"""Areas: communities and villages, grids and their staff, residential compounds, venues."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import (
    REFERENCE_COUNTY,
    enum_column,
    in_county_check,
    json_column,
    utc_column,
    utcnow,
)
from schema.enums import AreaKind, AreaMode, GridKind, GridRole, VenueKind


class Community(SQLModel, table=True):
    """An urban community (城市社区) or a village (村): the unit members register with."""

    __tablename__ = "community"
    __table_args__ = (in_county_check(), sa.CheckConstraint("population >= 0", name="population"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    kind: AreaKind = Field(sa_column=enum_column(AreaKind, index=True))
    township: str = Field(max_length=64, index=True)
    # The county (县) it belongs to: one database may hold a province of counties, each matched
    # on its own (`schema.services.matching.province`).
    county: str = Field(
        default=REFERENCE_COUNTY,
        max_length=64,
        index=True,
        sa_column_kwargs={"server_default": REFERENCE_COUNTY},
    )
    latitude: float
    longitude: float
    population: int = 0
    mode: AreaMode = Field(
        default=AreaMode.NORMAL, sa_column=enum_column(AreaMode, server_default="normal")
    )
    mode_changed_at: datetime | None = Field(default=None, sa_column=utc_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class Grid(SQLModel, table=True):
    """A grid (网格): one leader, one full-time worker and N part-time workers patrol it."""

    __tablename__ = "grid"
    __table_args__ = (in_county_check(),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=64)
    kind: GridKind = Field(sa_column=enum_column(GridKind, index=True))
    community_id: int = Field(foreign_key="community.id", index=True)
    latitude: float
    longitude: float


class GridStaff(SQLModel, table=True):
    """Who works a grid and in which role; one leader and one full-time worker per grid."""

    __tablename__ = "grid_staff"
    __table_args__ = (
        sa.Index(
            "uq_grid_staff_one_leader",
            "grid_id",
            "role",
            unique=True,
            sqlite_where=sa.text("role IN ('leader', 'full_time')"),
            postgresql_where=sa.text("role IN ('leader', 'full_time')"),
        ),
    )

    grid_id: int = Field(foreign_key="grid.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    role: GridRole = Field(sa_column=enum_column(GridRole))


# A compound has no outline in the data, only its centre: a point within this distance of a
# compound's centre is inside it (the nearest compound, when several are that close).
COMPOUND_RADIUS_M = 300.0


class Compound(SQLModel, table=True):
    """A residential compound (小区), some with a red-property (红色物业) management company."""

    __tablename__ = "compound"
    __table_args__ = (in_county_check(), sa.CheckConstraint("households >= 0", name="households"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    community_id: int = Field(foreign_key="community.id", index=True)
    property_unit_id: int | None = Field(default=None, foreign_key="paired_unit.id", index=True)
    is_red_property: bool = False
    households: int = 0
    latitude: float
    longitude: float


class Venue(SQLModel, table=True):
    """A place where activities happen: service stations, village venues, elder-care sites."""

    __tablename__ = "venue"
    __table_args__ = (in_county_check(), sa.CheckConstraint("capacity >= 0", name="capacity"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=96)
    kind: VenueKind = Field(sa_column=enum_column(VenueKind, index=True))
    community_id: int = Field(foreign_key="community.id", index=True)
    compound_id: int | None = Field(default=None, foreign_key="compound.id", index=True)
    capacity: int = 0
    services: list[str] = Field(default_factory=list, sa_column=json_column())
    latitude: float
    longitude: float
