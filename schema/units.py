"""Paired units (结对共建单位), their twinning with communities, and the resources they bring."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import enum_column, in_county_check, utc_column, utcnow
from schema.enums import ResourceKind, UnitKind


class PairedUnit(SQLModel, table=True):
    """A government body, enterprise, institution or property company twinned with communities."""

    __tablename__ = "paired_unit"
    __table_args__ = (in_county_check(),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=96, sa_column_kwargs={"unique": True})
    kind: UnitKind = Field(sa_column=enum_column(UnitKind, index=True))
    has_party_org: bool = True
    is_state_owned: bool = False
    address: str = Field(default="", max_length=200)
    latitude: float
    longitude: float
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    # Bumped on every change, so two offices editing the same unit cannot overwrite each other.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Pairing(SQLModel, table=True):
    """结对共建: a unit twinned with a community; its resources go there first."""

    __tablename__ = "pairing"

    unit_id: int = Field(foreign_key="paired_unit.id", primary_key=True)
    community_id: int = Field(foreign_key="community.id", primary_key=True, index=True)
    since: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class Resource(SQLModel, table=True):
    """Something a unit or venue lends: seats, vehicles, funds, equipment, expert time."""

    __tablename__ = "resource"
    __table_args__ = (
        in_county_check(),
        sa.CheckConstraint("quantity >= 0", name="quantity"),
        sa.CheckConstraint(
            "available_until IS NULL OR available_until > available_from", name="window"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=96)
    kind: ResourceKind = Field(sa_column=enum_column(ResourceKind, index=True))
    unit_id: int | None = Field(default=None, foreign_key="paired_unit.id", index=True)
    venue_id: int | None = Field(default=None, foreign_key="venue.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    quantity: int
    unit_label: str = Field(default="件", max_length=16)
    latitude: float
    longitude: float
    is_available: bool = True
    available_from: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    available_until: datetime | None = Field(default=None, sa_column=utc_column())
    # Retired (退出): kept for the history of the needs it served, never lent again.
    retired_at: datetime | None = Field(default=None, sa_column=utc_column())
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
