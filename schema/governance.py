"""Consultations (赣事好商量·吉事广议) and sentinel posts (民声前哨点); the shared registry lives in
`schema/registry.py`.

A consultation is held on a topic with its parties over one or more sessions; its outcome is
recorded once agreed (which concludes it) and may be turned into needs linked to it. Each
dispute it settles is a row, and `Consultation.disputes_settled` counts them (plus those
recorded before rows were kept), so the county's figure stays one sum.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import in_county_check, utc_column


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
    # When the outcome was recorded (协商成果): sessions are closed then, needs may follow.
    concluded_at: datetime | None = Field(default=None, sa_column=utc_column())
    created_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class ConsultationParty(SQLModel, table=True):
    """One party to a consultation: residents' representatives, a property company, a unit …"""

    __tablename__ = "consultation_party"
    __table_args__ = (sa.UniqueConstraint("consultation_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    name: str = Field(max_length=96)
    role: str = Field(default="", max_length=32)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="paired_unit.id", index=True)


class ConsultationSession(SQLModel, table=True):
    """One sitting of a consultation (议事会), with who came and the minutes."""

    __tablename__ = "consultation_session"
    __table_args__ = (sa.CheckConstraint("attendees >= 0", name="attendees"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    held_at: datetime = Field(sa_column=utc_column(nullable=False))
    place: str = Field(default="", max_length=200)
    attendees: int = 0
    minutes: str = Field(default="", sa_type=sa.Text)
    recorded_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    recorded_at: datetime = Field(sa_column=utc_column(nullable=False))


class SettledDispute(SQLModel, table=True):
    """A dispute (矛盾纠纷) a consultation settled; counted in `disputes_settled`."""

    __tablename__ = "settled_dispute"

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id", index=True)
    summary: str = Field(max_length=500)
    settled_at: datetime = Field(sa_column=utc_column(nullable=False))
    settled_by_account_id: int | None = Field(default=None, foreign_key="account.id")


class SentinelPost(SQLModel, table=True):
    """民声前哨点: a place (a shop, a gate, a square) whose keeper passes residents' suggestions
    into the closed loop as needs from the post."""

    __tablename__ = "sentinel_post"
    __table_args__ = (
        in_county_check(),
        sa.UniqueConstraint("community_id", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=96)
    community_id: int = Field(foreign_key="community.id", index=True)
    keeper_person_id: int = Field(foreign_key="person.id", index=True)
    address: str = Field(default="", max_length=200)
    latitude: float
    longitude: float
    is_active: bool = True
    created_at: datetime = Field(sa_column=utc_column(nullable=False))
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
