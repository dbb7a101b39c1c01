"""Consultations (赣事好商量·吉事广议) and the shared registry ("一表同享") of imported records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import json_column, utc_column, utcnow


class Consultation(SQLModel, table=True):
    """A grassroots consultation; the disputes it settled become or close needs."""

    __tablename__ = "consultation"
    __table_args__ = (
        sa.CheckConstraint("disputes_settled >= 0", name="disputes_settled"),
        sa.CheckConstraint("participants >= 0", name="participants"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    topic: str = Field(max_length=200)
    held_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    participants: int = 0
    disputes_settled: int = 0
    outcome: str = Field(default="", sa_type=sa.Text)


class RegistryRecord(SQLModel, table=True):
    """One imported record of people, houses or enterprises, keyed by its source system."""

    __tablename__ = "registry_record"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=64)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    imported_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
