"""Reports upward (`luling export needs|requests|hours`): rows of a period and area, without
personal data (no reporters' names or phones), times in county time; and the answers owed to the
12345 hotline (`luling export hotline`), by ticket number.

A period is whole county-time days, `start` to `end` inclusive; an area is a community (or
village) by name, or the whole county.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col

from schema.activities import Activity, SignUp
from schema.areas import Community
from schema.enterprise import Enterprise, EnterpriseRequest
from schema.enums import (
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    NeedAction,
    NeedCategory,
    NeedSource,
    NeedStatus,
    NeedTier,
    PersonKind,
)
from schema.needs import Need, NeedEvent
from schema.people import Person
from schema.services.hotline import COUNTY_TIME, TICKET_PREFIX
from schema.text_rules import mask_contacts

EXPORTS = ("needs", "requests", "hours", "hotline")


# The years a report may name (a typo such as 0001-01-01 or 9999-12-31 would overflow the
# county-time arithmetic rather than say what is wrong).
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None  # inclusive

    def __post_init__(self) -> None:
        for day in (self.start, self.end):
            if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise ValueError(f"{day} is outside the years {FIRST_YEAR}–{LAST_YEAR}")
        # A reversed period is a slip of the keyboard: it would write an empty report silently.
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"the period starts ({self.start}) after it ends ({self.end})")

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start 00:00, the day after end 00:00) in county time."""
        lo = datetime.combine(self.start, time(), COUNTY_TIME) if self.start else None
        hi = (
            datetime.combine(self.end + timedelta(days=1), time(), COUNTY_TIME)
            if self.end
            else None
        )
        return lo, hi


def _local(value: datetime | None) -> str:
    return value.astimezone(COUNTY_TIME).strftime("%Y-%m-%d %H:%M") if value else ""


def _label(enum_cls: Any, value: Any) -> str:
    return str(enum_cls(value).label) if value is not None else ""


def _within(column: Any, period: Period) -> list[Any]:
    lo, hi = period.bounds()
    where = []
    if lo is not None:
        where.append(column >= lo)
    if hi is not None:
        where.append(column < hi)
    return where


def community_id_named(conn: Connection, name: str) -> int:
    found = conn.execute(sa.select(col(Community.id)).where(col(Community.name) == name)).scalar()
    if found is None:
        raise ValueError(f"no community or village named '{name}'")
    return int(found)


NEEDS_HEADER = [
    "编号",
    "工单编号",
    "标题",
    "类别",
    "来源",
    "响应等级",
    "状态",
    "紧急程度",
    "社区",
    "上报时间",
    "派单时间",
    "到场时间",
    "办结时间",
    "关闭时间",
    "满意度",
]


def need_rows(conn: Connection, period: Period, community_id: int | None) -> Iterator[list[Any]]:
    n = Need.__table__.c  # type: ignore[attr-defined]  # SQLModel tables have __table__
    stmt = (
        sa.select(n, col(Community.name).label("community_name"))
        .join(Community, col(Community.id) == n.community_id)
        .where(*_within(n.reported_at, period))
        .order_by(n.reported_at, n.id)
    )
    if community_id is not None:
        stmt = stmt.where(n.community_id == community_id)
    for r in conn.execution_options(stream_results=True).execute(stmt).mappings():
        key = r["idempotency_key"] or ""
        yield [
            r["id"],
            key[len(TICKET_PREFIX) :] if key.startswith(TICKET_PREFIX) else "",
            r["title"],
            _label(NeedCategory, r["category"]),
            _label(NeedSource, r["source"]),
            _label(NeedTier, r["tier"]),
            _label(NeedStatus, r["status"]),
            r["urgency"],
            r["community_name"],
            _local(r["reported_at"]),
            _local(r["dispatched_at"]),
            _local(r["arrived_at"]),
            _local(r["resolved_at"]),
            _local(r["closed_at"]),
            r["satisfaction"] if r["satisfaction"] is not None else "",
        ]


REQUESTS_HEADER = [
    "编号",
    "企业",
    "统一社会信用代码",
    "类别",
    "标题",
    "状态",
    "紧急程度",
    "帮办人",
    "社区",
    "提交时间",
    "办理时限",
    "办结时间",
    "关闭时间",
    "满意度",
]


def request_rows(conn: Connection, period: Period, community_id: int | None) -> Iterator[list[Any]]:
    q = EnterpriseRequest.__table__.c  # type: ignore[attr-defined]  # SQLModel tables have __table__
    stmt = (
        sa.select(
            q,
            col(Enterprise.name).label("enterprise_name"),
            col(Enterprise.credit_code),
            col(Person.name).label("helper_name"),
            col(Community.name).label("community_name"),
        )
        .join(Enterprise, col(Enterprise.id) == q.enterprise_id)
        .outerjoin(Person, col(Person.id) == q.helper_id)
        .outerjoin(Community, col(Community.id) == col(Enterprise.community_id))
        .where(*_within(q.submitted_at, period))
        .order_by(q.submitted_at, q.id)
    )
    if community_id is not None:
        stmt = stmt.where(col(Enterprise.community_id) == community_id)
    for r in conn.execution_options(stream_results=True).execute(stmt).mappings():
        yield [
            r["id"],
            r["enterprise_name"],
            r["credit_code"],
            _label(EnterpriseRequestKind, r["kind"]),
            r["title"],
            _label(EnterpriseRequestStatus, r["status"]),
            r["urgency"],
            r["helper_name"] or "",
            r["community_name"] or "",
            _local(r["submitted_at"]),
            _local(r["deadline"]),
            _local(r["resolved_at"]),
            _local(r["closed_at"]),
            r["satisfaction"] if r["satisfaction"] is not None else "",
        ]


HOURS_HEADER = ["人员编号", "姓名", "身份", "服务社区", "服务次数", "服务分钟", "服务小时"]


def hours_rows(conn: Connection, period: Period, community_id: int | None) -> Iterator[list[Any]]:
    """Service time per person and community where it was given (checked-out sign-ups)."""
    need = sa.alias(Need.__table__, "served_need")  # type: ignore[attr-defined]  # a table
    where_served = sa.func.coalesce(col(Activity.community_id), need.c.community_id)
    stmt: Any = (
        sa.select(
            col(Person.id),
            col(Person.name),
            col(Person.kind),
            col(Community.name).label("community_name"),
            sa.func.count().label("services"),
            sa.func.sum(col(SignUp.minutes)).label("minutes"),
        )
        .select_from(SignUp)
        .join(Person, col(Person.id) == col(SignUp.person_id))
        .outerjoin(Activity, col(Activity.id) == col(SignUp.activity_id))
        .outerjoin(need, need.c.id == col(SignUp.need_id))
        .join(Community, col(Community.id) == where_served)
        .where(col(SignUp.minutes).is_not(None), *_within(col(SignUp.checked_out_at), period))
        .group_by(col(Person.id), col(Person.name), col(Person.kind), col(Community.name))
        .order_by(col(Community.name), col(Person.id))
    )
    if community_id is not None:
        stmt = stmt.where(where_served == community_id)
    for r in conn.execute(stmt).mappings():
        minutes = int(r["minutes"] or 0)
        yield [
            r["id"],
            r["name"],
            _label(PersonKind, r["kind"]),
            r["community_name"],
            r["services"],
            minutes,
            round(minutes / 60, 2),
        ]


HOTLINE_HEADER = [
    "工单编号",
    "编号",
    "办结编号",
    "办结时间",
    "办理结果",
    "承办社区",
    "当前状态",
    "满意度",
]


def hotline_rows(conn: Connection, period: Period, community_id: int | None) -> Iterator[list[Any]]:
    """The answers owed to 12345: one row per ticket whose need was resolved in the period,
    oldest first, with what was done (contact numbers in it masked). A ticket merged into
    another need (a duplicate) is answered by that need's resolution (`办结编号` names it). A
    caller known only by the phone number the ticket gave hears the result from the hotline's
    call-back (回访), which works from this file."""
    resolved = sa.alias(Need.__table__, "resolved")  # type: ignore[attr-defined]  # a table
    ticket = sa.alias(Need.__table__, "ticket")  # type: ignore[attr-defined]
    e = NeedEvent.__table__.c  # type: ignore[attr-defined]  # SQLModel tables have __table__
    r, t = resolved.c, ticket.c
    stmt = (
        sa.select(
            t.id,
            t.idempotency_key,
            t.status,
            r.id.label("resolved_id"),
            r.satisfaction,
            e.note,
            e.at,
            col(Community.name).label("community_name"),
        )
        .join_from(NeedEvent, resolved, r.id == e.need_id)
        .join(ticket, sa.or_(t.id == r.id, t.merged_into_id == r.id))
        .join(Community, col(Community.id) == r.community_id)
        .where(
            e.action == NeedAction.RESOLVE,
            t.source == NeedSource.HOTLINE_12345,
            t.idempotency_key.startswith(TICKET_PREFIX),
            *_within(e.at, period),
        )
        .order_by(e.at, e.id, t.id)
    )
    if community_id is not None:
        stmt = stmt.where(r.community_id == community_id)
    for row in conn.execution_options(stream_results=True).execute(stmt).mappings():
        yield [
            row["idempotency_key"][len(TICKET_PREFIX) :],
            row["id"],
            row["resolved_id"],
            _local(row["at"]),
            mask_contacts(row["note"]),
            row["community_name"],
            _label(NeedStatus, row["status"]),
            row["satisfaction"] if row["satisfaction"] is not None else "",
        ]


TABLES = {
    "needs": (NEEDS_HEADER, need_rows),
    "requests": (REQUESTS_HEADER, request_rows),
    "hours": (HOURS_HEADER, hours_rows),
    "hotline": (HOTLINE_HEADER, hotline_rows),
}
