"""Service hours (志愿服务时长) of one person: the minutes of their checked-out sign-ups, in
total and per month of county local time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.graphql.context import Info
from api.graphql.lists import MaxItems
from schema import models as m
from schema.base import LOCAL_ZONE
from schema.enums import SignUpStatus

MAX_MONTHS = 60


@strawberry.type(description="Service minutes logged in one calendar month (county local time).")
class MonthOfService:
    month: str = strawberry.field(description="The month, YYYY-MM (county local time).")
    minutes: int = strawberry.field(description="Minutes logged at check-outs in that month.")
    check_outs: int = strawberry.field(description="How many check-outs logged them.")


@dataclass(frozen=True)
class _Logged:
    at: datetime
    minutes: int


@strawberry.type(
    description="Service hours (志愿服务时长): the minutes logged at check-out, counted within "
    "each activity's time (see `checkOut`)."
)
class ServiceHours:
    _logged: strawberry.Private[list[_Logged]]

    @strawberry.field(description="All minutes logged.")
    def minutes(self) -> int:
        return sum(x.minutes for x in self._logged)

    @strawberry.field(description="All hours logged, to one decimal.")
    def hours(self) -> float:
        return round(self.minutes() / 60, 1)

    @strawberry.field(description="How many check-outs logged them.")
    def check_outs(self) -> int:
        return len(self._logged)

    @strawberry.field(
        description="Per month (county local time), newest first, months without service left "
        "out; `last` months back from this one (at most 60).",
        extensions=[MaxItems(MAX_MONTHS)],
    )
    def by_month(
        self, last: Annotated[int, strawberry.argument(description="How many months back.")] = 12
    ) -> list[MonthOfService]:
        last = max(1, min(last, MAX_MONTHS))
        now = datetime.now(LOCAL_ZONE)
        first = (now.year * 12 + now.month - 1) - (last - 1)
        minutes: dict[str, int] = defaultdict(int)
        counts: dict[str, int] = defaultdict(int)
        for x in self._logged:
            local = x.at.astimezone(LOCAL_ZONE)
            if local.year * 12 + local.month - 1 < first:
                continue
            key = f"{local.year:04d}-{local.month:02d}"
            minutes[key] += x.minutes
            counts[key] += 1
        return [
            MonthOfService(month=k, minutes=minutes[k], check_outs=counts[k])
            for k in sorted(minutes, reverse=True)
        ]


async def service_hours_of(info: Info, person_id: int | None) -> ServiceHours:
    """The person's checked-out sign-ups (a person has hundreds at most: read them whole)."""
    if person_id is None:
        return ServiceHours(_logged=[])
    s = m.SignUp
    stmt = sa.select(col(s.checked_out_at), col(s.minutes)).where(
        col(s.person_id) == person_id,
        col(s.status) == SignUpStatus.CHECKED_OUT,
        col(s.checked_out_at).is_not(None),
    )
    async with info.context.db.session() as session:
        rows = (await session.execute(stmt)).all()
    logged = [_Logged(at, int(mins or 0)) for at, mins in rows if at is not None]  # (none is)
    return ServiceHours(_logged=logged)
