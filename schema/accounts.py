"""Accounts (who logs in, with which role and scope) and the audit log of every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from schema.base import enum_column, json_column, utc_column, utcnow
from schema.enums import Role


class Account(SQLModel, table=True):
    """A login. Coordinators and grid workers are scoped to a community, or the county if none
    (which account services allow only when asked for explicitly: `AccountScope.COUNTY`)."""

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_column=enum_column(Role, index=True))
    display_name: str = Field(default="", max_length=64)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    # An enterprise account (role enterprise) speaks for this enterprise only.
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    is_active: bool = True
    # Carried in every token; a password change, deactivation, reactivation or change of role or
    # area moves it on, so the tokens issued before stop working at once (and sockets close).
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_column=utc_column())


class AuditLog(SQLModel, table=True):
    """One row per mutation request: who (as authenticated), what (the operation and its root
    fields with their arguments), when, from where, and what came of each field. Refused
    anonymous requests are tallied: one row stands for `count` of them."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    username: str = Field(default="", max_length=64)
    # The operation's name, or its root fields joined by "," when it has none.
    operation: str = Field(max_length=64, index=True)
    # The root fields as ",field,field," so that one can be found with LIKE.
    root_fields: str = Field(default="", max_length=512)
    variables: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    # Per root field: {"field", "key", "ok", "code"}.
    outcomes: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    client_ip: str = Field(default="", max_length=64)
    ok: bool = True
    error_code: str | None = Field(default=None, max_length=64)
    count: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False, index=True))
