"""`countyStats`: the county's headline figures, the dashboard's first row."""

from __future__ import annotations

import sqlalchemy as sa
import strawberry
from sqlmodel import col, func, select

from api.auth.permissions import Can
from api.graphql.context import Info
from schema.enums import GridKind, PersonKind, TeamKind, VenueKind
from schema.models import EnterpriseRequest, Grid, PairedUnit, Person, Team, Venue

NEW_BUSINESS_TEAM_KINDS = (
    TeamKind.NEW_BUSINESS,
    TeamKind.ANT_ACTION,
    TeamKind.FOOD_SAFETY,
    TeamKind.LIVE_STREAMING,
)


@strawberry.type(description="The county's headline figures (the article's counts).")
class CountyStats:
    paired_units: int = strawberry.field(
        description="结对共建单位: units twinned with communities."
    )
    party_members: int = strawberry.field(
        description="在职党员: in-service party members registered with communities."
    )
    urban_grids: int = strawberry.field(description="城市网格: urban grids.")
    rural_grids: int = strawberry.field(description="农村网格: rural grids.")
    service_stations: int = strawberry.field(
        description="小区党群服务站: compound service stations."
    )
    enterprise_helpers: int = strawberry.field(description="小赣事: enterprise helpers.")
    volunteer_teams: int = strawberry.field(
        description="新业态“吉先锋”服务队: new-business volunteer teams."
    )
    enterprise_requests: int = strawberry.field(
        description="营商气象站诉求: enterprise requests received."
    )


async def load_county_stats(info: Info) -> CountyStats:
    # One round-trip: every figure is a scalar subquery of a single SELECT.
    grids = lambda kind: select(func.count()).where(col(Grid.kind) == kind)  # noqa: E731
    figures = {
        "paired_units": select(func.count()).select_from(PairedUnit),
        "party_members": select(func.count()).where(col(Person.kind) == PersonKind.PARTY_MEMBER),
        "urban_grids": grids(GridKind.URBAN),
        "rural_grids": grids(GridKind.RURAL),
        "service_stations": select(func.count()).where(
            col(Venue.kind) == VenueKind.SERVICE_STATION
        ),
        "enterprise_helpers": select(func.count()).where(
            col(Person.kind) == PersonKind.ENTERPRISE_HELPER
        ),
        "volunteer_teams": select(func.count()).where(col(Team.kind).in_(NEW_BUSINESS_TEAM_KINDS)),
        "enterprise_requests": select(func.count()).select_from(EnterpriseRequest),
    }
    stmt = sa.select(*(q.scalar_subquery().label(name) for name, q in figures.items()))
    async with info.context.db.session() as session:
        row = (await session.execute(stmt)).one()
    return CountyStats(**row._asdict())


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="The county's headline figures.", permission_classes=[Can("stats.read")]
    )
    async def county_stats(self, info: Info) -> CountyStats:
        return await load_county_stats(info)
