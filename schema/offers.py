"""Offers (请缨): a volunteer offers to take an open need; whoever may dispatch the need accepts
the offer, which dispatches the volunteer through the closed loop (schema/services/offers.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import enum_column, utc_column, utcnow
from schema.enums import OfferDecline, OfferStatus


class NeedOffer(SQLModel, table=True):
    """One person's offer to serve one need; offering again after withdrawing reuses the row."""

    __tablename__ = "need_offer"
    __table_args__ = (sa.UniqueConstraint("need_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    status: OfferStatus = Field(sa_column=enum_column(OfferStatus, index=True))
    note: str = Field(default="", max_length=500)  # the volunteer's word with the offer
    # The answer: who declined and why (null unless declined), and what the decider said.
    declined_because: OfferDecline | None = Field(
        default=None, sa_column=enum_column(OfferDecline, nullable=True)
    )
    answer: str = Field(default="", max_length=500)
    offered_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=utc_column())
    decided_by_account_id: int | None = Field(default=None, foreign_key="account.id")
