"""Matching jobs a coordinator runs, their proposals (with reasons) and what stayed unmatched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import enum_column, json_column, utc_column, utcnow
from schema.enums import JobStatus, ProposalKind, ProposalStatus


class MatchingJob(SQLModel, table=True):
    """A solve over the open work of a scope; its state lives here so restarts can't orphan it."""

    __tablename__ = "matching_job"
    __table_args__ = (
        sa.CheckConstraint("progress BETWEEN 0 AND 1", name="progress"),
        sa.CheckConstraint("time_limit_s > 0 AND time_limit_s <= 600", name="time_limit_s"),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: JobStatus = Field(sa_column=enum_column(JobStatus, index=True))
    scope_community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    # A county-wide part of a province: the counties it matches (None: the scope above). Such
    # a part is a child of its province job (`province_job_id`), which gathers the parts.
    scope_counties: list[str] | None = Field(default=None, sa_column=json_column(nullable=True))
    province_job_id: int | None = Field(default=None, foreign_key="matching_job.id", index=True)
    kinds: list[str] = Field(default_factory=list, sa_column=json_column())
    weights: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    emergency: bool = False
    time_limit_s: float = 10.0
    parent_job_id: int | None = Field(default=None, foreign_key="matching_job.id")
    created_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=utc_column())
    finished_at: datetime | None = Field(default=None, sa_column=utc_column())
    progress: float = 0.0
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    optimal: bool | None = None
    seconds: float | None = None
    seats_filled: int | None = None
    seats_total: int | None = None
    # Each kind's own figures, so a resource- or helper-only job reports what it matched.
    resources_allocated: int | None = None
    resources_requested: int | None = None
    helper_tasks_matched: int | None = None
    helper_tasks_total: int | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    # A province job's figures per part: [{counties, job_id, seconds, objective, bound, gap,
    # pairs, …}] (`schema.services.matching.province.gather`).
    county_stats: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=json_column(server_default="[]")
    )


class Proposal(SQLModel, table=True):
    """One proposed match: a person to a need, a helper to a request, or resources to a need."""

    __tablename__ = "proposal"
    __table_args__ = (
        sa.CheckConstraint(
            "(need_id IS NULL) <> (enterprise_request_id IS NULL)", name="one_target"
        ),
        sa.CheckConstraint("quantity > 0", name="quantity"),
        sa.Index("ix_proposal_job_status", "job_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="matching_job.id")
    kind: ProposalKind = Field(sa_column=enum_column(ProposalKind))
    need_id: int | None = Field(default=None, foreign_key="need.id", index=True)
    enterprise_request_id: int | None = Field(
        default=None, foreign_key="enterprise_request.id", index=True
    )
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    resource_id: int | None = Field(default=None, foreign_key="resource.id", index=True)
    quantity: int = 1
    cost: float = 0.0
    # The target's version when solved: a commit refuses proposals whose target changed since.
    target_version: int = 1
    status: ProposalStatus = Field(sa_column=enum_column(ProposalStatus, index=True))
    # The visit a proposal for a scheduled need books (UTC): commit dispatches for this slot.
    slot_start: datetime | None = Field(default=None, sa_column=utc_column())
    slot_end: datetime | None = Field(default=None, sa_column=utc_column())
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    message: str = Field(default="", sa_type=sa.Text)
    decided_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    decided_at: datetime | None = Field(default=None, sa_column=utc_column())
    # Why the coordinator decided so (a rejection's reason is carried to re-runs).
    decision_reason: str | None = Field(default=None, sa_type=sa.Text)
    # Earlier decisions a coordinator explicitly changed: [{status, reason, by, at}, ...].
    decision_history: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=json_column(server_default="[]")
    )


class UnmatchedItem(SQLModel, table=True):
    """A need or request a job could not serve, with the reasons why."""

    __tablename__ = "unmatched_item"
    __table_args__ = (
        sa.CheckConstraint(
            "(need_id IS NULL) <> (enterprise_request_id IS NULL)", name="one_target"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="matching_job.id", index=True)
    need_id: int | None = Field(default=None, foreign_key="need.id")
    enterprise_request_id: int | None = Field(default=None, foreign_key="enterprise_request.id")
    seats_open: int = 0
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=json_column())
    message: str = Field(default="", sa_type=sa.Text)
