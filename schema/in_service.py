"""In-service party members (在职党员下沉报到) and 三亮三比·双定双述: each registers with the
community where they live, with their unit (结对共建 employer) and the duties they take on
(双定: post and responsibility); reports each period (双述) and is evaluated both ways."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from schema.base import enum_column, utc_column, utcnow
from schema.enums import EvaluationDirection

POST_MAX = 64
RESPONSIBILITY_MAX = 500
REPORT_MAX = 2000
COMMENT_MAX = 500
# 2026, 2026-H2, 2026-Q4 or 2026-11: a year, a half, a quarter or a month.
PERIOD_PATTERN = r"^20[0-9]{2}(-H[12]|-Q[1-4]|-(0[1-9]|1[0-2]))?$"


class InServiceMember(SQLModel, table=True):
    """下沉报到: one registration per person (a member serves where they live)."""

    __tablename__ = "in_service_member"
    __table_args__ = (sa.UniqueConstraint("person_id"), sa.UniqueConstraint("id_number"))

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    community_id: int = Field(foreign_key="community.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="paired_unit.id", index=True)
    # The natural key: two offices registering the same person at once collide here.
    id_number: str | None = Field(default=None, max_length=18)
    post: str = Field(max_length=POST_MAX)  # 定岗
    responsibility: str = Field(max_length=RESPONSIBILITY_MAX)  # 定责
    registry_record_id: int | None = Field(default=None, foreign_key="registry_record.id")
    registered_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    registered_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class MemberReport(SQLModel, table=True):
    """双述: a member's report for one period (亮身份, 比作为, 述实效)."""

    __tablename__ = "member_report"
    __table_args__ = (
        sa.UniqueConstraint("member_id", "period"),
        sa.CheckConstraint("length(summary) > 0", name="summary_not_empty"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="in_service_member.id", index=True)
    period: str = Field(max_length=8)
    summary: str = Field(sa_type=sa.Text)
    service_minutes: int = 0  # checked-out service time of the member when they reported
    submitted_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    submitted_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class MemberEvaluation(SQLModel, table=True):
    """双向评议: the community rates the member, the member rates the community, once a period."""

    __tablename__ = "member_evaluation"
    __table_args__ = (
        sa.UniqueConstraint("member_id", "period", "direction"),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="score"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="in_service_member.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    period: str = Field(max_length=8)
    direction: EvaluationDirection = Field(sa_column=enum_column(EvaluationDirection))
    score: int
    comment: str = Field(default="", max_length=COMMENT_MAX)
    by_account_id: int | None = Field(default=None, foreign_key="account.id")
    by_name: str = Field(default="", max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
