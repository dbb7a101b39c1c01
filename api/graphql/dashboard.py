"""The dashboard parts of `countyStats` (see api/graphql/stats.py): one statement each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.graphql.context import Info
from api.graphql.enums import EnterpriseRequestStatus, NeedTier
from api.graphql.lists import MaxItems
from api.graphql.people.loaders import team_service_minutes_stmt
from api.graphql.relay import load_one, one_future, prime, row_class
from api.graphql.type_refs import CommunityT, TeamT
from schema import models as m
from schema.county_figures import in_county_box, of_communities, teams_in_county
from schema.db import table_of
from schema.enums import NeedSource, PersonKind
from schema.sla import SATISFIED_AT_LEAST, enterprise_overdue_clause, need_overdue_clause
from schema.workflow import OPEN_NEED_STATUSES, tier_rank

Period = tuple[datetime | None, datetime | None]
N = m.Need


@strawberry.type(description="A share: how many of how many, and the percentage.")
class Rate:
    count: int = strawberry.field(description="How many met the condition.")
    total: int = strawberry.field(description="Out of how many.")

    @strawberry.field(description="count / total in percent, 2 decimals; null when total is 0.")
    def percent(self) -> float | None:
        return None if self.total == 0 else round(100 * self.count / self.total, 2)


def rate(count: Any, total: Any) -> Rate:
    return Rate(count=int(count or 0), total=int(total or 0))


@strawberry.type(description="One community's or village's figures.")
class AreaFigures:
    grids: int = strawberry.field(description="Grids (网格).")
    members: int = strawberry.field(description="People registered with it (报到).")
    party_members: int = strawberry.field(description="In-service party members registered.")
    paired_units: int = strawberry.field(description="Paired units twinned with it.")
    open_needs: int = strawberry.field(description="Needs still open.")
    overdue_needs: int = strawberry.field(description="Open needs past a 1341 deadline.")
    _community_id: strawberry.Private[int]

    @strawberry.field(description="The community or village.")
    def community(self, info: Info) -> CommunityT:
        return one_future(info, CommunityT, self._community_id)  # type: ignore[return-value]  # the future resolves to a CommunityT


@strawberry.type(description='Figures of one "1341" tier.')
class TierFigures:
    tier: NeedTier = strawberry.field(description="The tier.")
    open: int = strawberry.field(description="Needs of this tier still open.")
    overdue: int = strawberry.field(description="Open needs of this tier past a deadline.")
    dispatched: int = strawberry.field(description="Needs of this tier ever dispatched.")
    arrived_on_time: Rate = strawberry.field(
        description="Staff on site within 10 minutes of dispatch, over needs whose arrival is "
        "decided (arrived, or not arrived and past the 10 minutes)."
    )
    resolved_on_time: Rate = strawberry.field(
        description="Resolved within the tier's promise (30 min / 4 h / 1 day), over needs whose "
        "resolution is decided (resolved, or past the deadline)."
    )


@strawberry.type(description="One community's satisfaction.")
class CommunitySatisfaction:
    rate: Rate = strawberry.field(description="Rated needs satisfied (rating 4 or 5).")
    _community_id: strawberry.Private[int]

    @strawberry.field(description="The community or village.")
    def community(self, info: Info) -> CommunityT:
        return one_future(info, CommunityT, self._community_id)  # type: ignore[return-value]  # the future resolves to a CommunityT


@strawberry.type(description="Satisfaction rates (满意率): rated needs with a rating of 4 or 5.")
class SatisfactionFigures:
    overall: Rate = strawberry.field(description="Every rated need.")
    hotline: Rate = strawberry.field(description="Rated 12345 hotline tickets.")
    enterprise: Rate = strawberry.field(description="Rated enterprise requests.")
    by_community: list[CommunitySatisfaction] = strawberry.field(
        description="Per community or village with rated needs, by name.",
        extensions=[MaxItems(1000)],
    )


@strawberry.type(description="How many enterprise requests are in a status.")
class EnterpriseStatusCount:
    status: EnterpriseRequestStatus = strawberry.field(description="The status.")
    count: int = strawberry.field(description="How many.")
    overdue: int = strawberry.field(description="Of these, past their deadline while open.")


@strawberry.type(description="Service hours a team's members logged.")
class TeamHours:
    hours: float = strawberry.field(description="Hours (checked-out sign-ups), 2 decimals.")
    _team_id: strawberry.Private[int]

    @strawberry.field(description="The team.")
    async def team(self, info: Info) -> TeamT:
        return await load_one(info, TeamT, self._team_id)


def _reported_in(period: Period) -> list[Any]:
    start, end = period
    where = []
    if start is not None:
        where.append(N.reported_at >= start)
    if end is not None:
        where.append(N.reported_at < end)
    return where


def _count_if(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


async def _rows(info: Info, stmt: Any) -> list[Any]:
    async with info.context.db.session() as session:
        return list((await session.execute(stmt)).all())


async def area_figures(info: Info, period: Period, county: str | None) -> list[AreaFigures]:
    c = m.Community
    now = datetime.now(UTC)
    needs = [N.community_id == c.id, *_reported_in(period)]

    def count(*where: Any, frm: Any) -> Any:
        return sa.select(sa.func.count()).select_from(frm).where(*where).scalar_subquery()

    stmt = sa.select(
        *table_of(c).columns,
        count(m.Grid.community_id == c.id, frm=m.Grid).label("_grids"),
        count(m.Person.registered_community_id == c.id, frm=m.Person).label("_members"),
        count(
            m.Person.registered_community_id == c.id,
            m.Person.kind == PersonKind.PARTY_MEMBER,
            frm=m.Person,
        ).label("_party"),
        count(m.Pairing.community_id == c.id, frm=m.Pairing).label("_units"),
        count(*needs, col(N.status).in_(OPEN_NEED_STATUSES), frm=N).label("_open"),
        count(*needs, need_overdue_clause(now), frm=N).label("_overdue"),
    ).order_by(col(c.name), col(c.id))
    if county is not None:
        stmt = stmt.where(col(c.county) == county)
    rows = await _rows(info, stmt)
    prime(info, CommunityT, (row_class(CommunityT).from_row(r) for r in rows))
    return [
        AreaFigures(
            grids=r._grids,
            members=r._members,
            party_members=r._party,
            paired_units=r._units,
            open_needs=r._open,
            overdue_needs=r._overdue,
            _community_id=r.id,
        )
        for r in rows
    ]


async def tier_figures(info: Info, period: Period, county: str | None) -> list[TierFigures]:
    now = datetime.now(UTC)
    arrival_decided = sa.and_(
        col(N.arrive_by).is_not(None),
        sa.or_(col(N.arrived_at).is_not(None), col(N.arrive_by) < now),
    )
    resolution_decided = sa.and_(
        col(N.resolve_by).is_not(None),
        sa.or_(col(N.resolved_at).is_not(None), col(N.resolve_by) < now),
    )
    stmt = (
        sa.select(
            col(N.tier),
            _count_if(col(N.status).in_(OPEN_NEED_STATUSES)),
            _count_if(need_overdue_clause(now)),
            _count_if(col(N.dispatched_at).is_not(None)),
            _count_if(sa.and_(arrival_decided, col(N.arrived_at) <= col(N.arrive_by))),
            _count_if(arrival_decided),
            _count_if(sa.and_(resolution_decided, col(N.resolved_at) <= col(N.resolve_by))),
            _count_if(resolution_decided),
        )
        .where(*_reported_in(period), *of_communities(col(N.community_id), county))
        .group_by(col(N.tier))
    )
    found = {r[0]: r for r in await _rows(info, stmt)}
    out = []
    for tier in sorted(NeedTier, key=tier_rank):
        r = found.get(tier, (tier, 0, 0, 0, 0, 0, 0, 0))
        out.append(
            TierFigures(
                tier=tier,
                open=int(r[1]),
                overdue=int(r[2]),
                dispatched=int(r[3]),
                arrived_on_time=rate(r[4], r[5]),
                resolved_on_time=rate(r[6], r[7]),
            )
        )
    return out


async def satisfaction_figures(
    info: Info, period: Period, county: str | None
) -> SatisfactionFigures:
    rated = col(N.satisfaction).is_not(None)
    satisfied = col(N.satisfaction) >= SATISFIED_AT_LEAST
    hotline = col(N.source) == NeedSource.HOTLINE_12345
    er = m.EnterpriseRequest
    c = m.Community
    overall_stmt = sa.select(
        _count_if(sa.and_(rated, satisfied)),
        _count_if(rated),
        _count_if(sa.and_(rated, satisfied, hotline)),
        _count_if(sa.and_(rated, hotline)),
        sa.select(_count_if(col(er.satisfaction) >= SATISFIED_AT_LEAST))
        .where(col(er.satisfaction).is_not(None), *_requests_in(county))
        .scalar_subquery(),
        sa.select(sa.func.count())
        .select_from(er)
        .where(col(er.satisfaction).is_not(None), *_requests_in(county))
        .scalar_subquery(),
    ).where(*_reported_in(period), *of_communities(N.community_id, county))
    per_community = (
        sa.select(
            *table_of(c).columns,
            _count_if(satisfied).label("_ok"),
            sa.func.count().label("_rated"),
        )
        .join(N, col(N.community_id) == col(c.id))
        .where(rated, *_reported_in(period), *of_communities(N.community_id, county))
        .group_by(*table_of(c).columns)
        .order_by(col(c.name), col(c.id))
    )
    (totals,) = await _rows(info, overall_stmt)
    communities = await _rows(info, per_community)
    prime(info, CommunityT, (row_class(CommunityT).from_row(r) for r in communities))
    return SatisfactionFigures(
        overall=rate(totals[0], totals[1]),
        hotline=rate(totals[2], totals[3]),
        enterprise=rate(totals[4], totals[5]),
        by_community=[
            CommunitySatisfaction(rate=rate(r._ok, r._rated), _community_id=r.id)
            for r in communities
        ],
    )


def _requests_in(county: str | None) -> list[Any]:
    """Enterprise requests of enterprises in the county (all without one)."""
    if county is None:
        return []
    e = m.Enterprise
    return [m.EnterpriseRequest.enterprise_id == e.id, *in_county_box(e, county)]


async def enterprise_by_status(info: Info, county: str | None) -> list[EnterpriseStatusCount]:
    er = m.EnterpriseRequest
    late = enterprise_overdue_clause(datetime.now(UTC))
    stmt = (
        sa.select(col(er.status), sa.func.count(), _count_if(late))
        .select_from(er)
        .where(*_requests_in(county))
        .group_by(col(er.status))
    )
    found = {r[0]: r for r in await _rows(info, stmt)}
    return [
        EnterpriseStatusCount(
            status=s,
            count=int(found[s][1]) if s in found else 0,
            overdue=int(found[s][2]) if s in found else 0,
        )
        for s in EnterpriseRequestStatus
    ]


async def team_hours(info: Info, county: str | None) -> list[TeamHours]:
    t = m.Team
    sub = team_service_minutes_stmt().subquery()
    minutes = sa.func.coalesce(sub.c.minutes, 0)
    stmt = (
        sa.select(*table_of(t).columns, minutes.label("_minutes"))
        .outerjoin(sub, sub.c.team_id == t.id)
        .where(*teams_in_county(county))
        .order_by(minutes.desc(), t.name)
    )
    rows = await _rows(info, stmt)
    prime(info, TeamT, (row_class(TeamT).from_row(r) for r in rows))
    return [TeamHours(hours=round(int(r._minutes) / 60, 2), _team_id=r.id) for r in rows]
