"""The business weather station (营商气象站): enterprises, their requests and request history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import enum_column, in_county_check, json_column, utc_column, utcnow
from schema.enums import EnterpriseAction, EnterpriseRequestKind, EnterpriseRequestStatus


class Enterprise(SQLModel, table=True):
    __tablename__ = "enterprise"
    __table_args__ = (in_county_check(),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=96, sa_column_kwargs={"unique": True})
    credit_code: str = Field(max_length=18, sa_column_kwargs={"unique": True})
    industry: str = Field(default="", max_length=32)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    contact_name: str = Field(default="", max_length=32)
    contact_phone: str | None = Field(default=None, max_length=20)
    latitude: float
    longitude: float


class EnterpriseRequest(SQLModel, table=True):
    """An enterprise's request, carried to resolution by an assigned helper (小赣事)."""

    __tablename__ = "enterprise_request"
    __table_args__ = (
        sa.CheckConstraint("urgency BETWEEN 1 AND 5", name="urgency"),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"
        ),
        sa.CheckConstraint("length(title) > 0", name="title_not_empty"),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.Index("ix_enterprise_request_status_helper", "status", "helper_id"),
        # Idempotency keys are each submitter's own, as needs' are each reporter's.
        sa.UniqueConstraint("submitted_by_account_id", "idempotency_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    kind: EnterpriseRequestKind = Field(sa_column=enum_column(EnterpriseRequestKind, index=True))
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    status: EnterpriseRequestStatus = Field(
        sa_column=enum_column(EnterpriseRequestStatus, index=True)
    )
    urgency: int = 3
    helper_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    submitted_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    idempotency_key: str | None = Field(default=None, max_length=64)
    # SHA-256 of the request as first sent under the key (see `Need.idempotency_hash`).
    idempotency_hash: str | None = Field(default=None, max_length=64)
    submitted_at: datetime = Field(
        default_factory=utcnow, sa_column=utc_column(nullable=False, index=True)
    )
    assigned_at: datetime | None = Field(default=None, sa_column=utc_column())
    deadline: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    resolved_at: datetime | None = Field(default=None, sa_column=utc_column())
    closed_at: datetime | None = Field(default=None, sa_column=utc_column())
    satisfaction: int | None = None
    rating_comment: str = Field(default="", max_length=500)
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class EnterpriseRequestEvent(SQLModel, table=True):
    __tablename__ = "enterprise_request_event"
    __table_args__ = (sa.Index("ix_enterprise_request_event_request_at", "request_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="enterprise_request.id")
    action: EnterpriseAction = Field(sa_column=enum_column(EnterpriseAction))
    from_status: EnterpriseRequestStatus | None = Field(
        default=None,
        sa_column=enum_column(EnterpriseRequestStatus, nullable=True, check="from_status"),
    )
    to_status: EnterpriseRequestStatus = Field(sa_column=enum_column(EnterpriseRequestStatus))
    actor_account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    actor_name: str = Field(default="", max_length=64)
    note: str = Field(default="", max_length=1000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
