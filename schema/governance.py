"""Consultations (赣事好商量·吉事广议); the shared registry lives in `schema/registry.py`."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import utc_column


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
