"""`countyStats`: the county's dashboard.

The first row (paired units … enterprise requests) is one SELECT of scalar subqueries; every
other part is resolved only when selected, each with one statement of its own:
- `areas`: per community or village, its grids, registered members, paired units, open and
  overdue needs;
- `needsByTier`: per "1341" tier, open and overdue needs and the on-time rates (staff on site
  within 10 minutes of dispatch; resolved within 30 min / 4 h / 1 day);
- `satisfaction`: rated needs satisfied (rating 4 or 5) overall, for 12345 hotline tickets and
  per community, and enterprise requests' ratings;
- `enterpriseRequestsByStatus`, `serviceHoursByTeam`.
`reportedFrom`/`reportedTo` limit the need figures to needs reported in that period (the article
reports a year: over the reference county, the year before its reference "now").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
import strawberry
from sqlmodel import col, func, select

from api.auth.permissions import Can
from api.graphql import dashboard
from api.graphql.context import Info
from api.graphql.dashboard import (
    AreaFigures,
    EnterpriseStatusCount,
    SatisfactionFigures,
    TeamHours,
    TierFigures,
)
from api.graphql.lists import Cost, MaxItems
from api.graphql.relay import as_utc
from schema.base import local_midnight, utcnow
from schema.enums import GridKind, PersonKind, TeamKind, VenueKind
from schema.models import EnterpriseRequest, Grid, Need, PairedUnit, Person, Team, Venue

NEW_BUSINESS_TEAM_KINDS = (
    TeamKind.NEW_BUSINESS,
    TeamKind.ANT_ACTION,
    TeamKind.FOOD_SAFETY,
    TeamKind.LIVE_STREAMING,
)


@strawberry.type(
    description="The county's dashboard: headline counts, then figures by area, tier, "
    "satisfaction, enterprise-request status and team."
)
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
    needs_reported_today: int = strawberry.field(
        description="Needs reported today, in the county's local day (since 00:00 UTC+8)."
    )
    _period: strawberry.Private[tuple[datetime | None, datetime | None]] = (None, None)

    @strawberry.field(
        description="Per community or village: grids, members, units, needs.",
        extensions=[MaxItems(1000)],
    )
    async def areas(self, info: Info) -> list[AreaFigures]:
        return await dashboard.area_figures(info, self._period)

    @strawberry.field(
        description='Per "1341" tier: open and overdue needs, on-time rates.',
        extensions=[MaxItems(10)],
    )
    async def needs_by_tier(self, info: Info) -> list[TierFigures]:
        return await dashboard.tier_figures(info, self._period)

    @strawberry.field(description="Satisfaction (满意率): overall, 12345 hotline, per community.")
    async def satisfaction(self, info: Info) -> SatisfactionFigures:
        return await dashboard.satisfaction_figures(info, self._period)

    @strawberry.field(
        description="Enterprise requests (营商气象站) per status.", extensions=[MaxItems(20)]
    )
    async def enterprise_requests_by_status(self, info: Info) -> list[EnterpriseStatusCount]:
        return await dashboard.enterprise_by_status(info)

    @strawberry.field(
        description="Service hours logged by each team's members, most first.",
        extensions=[MaxItems(1000)],
    )
    async def service_hours_by_team(self, info: Info) -> list[TeamHours]:
        return await dashboard.team_hours(info)


async def load_county_stats(
    info: Info, period: tuple[datetime | None, datetime | None] = (None, None)
) -> CountyStats:
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
        "needs_reported_today": select(func.count()).where(
            col(Need.reported_at) >= local_midnight(utcnow())
        ),
    }
    stmt = sa.select(*(q.scalar_subquery().label(name) for name, q in figures.items()))
    async with info.context.db.session() as session:
        row = (await session.execute(stmt)).one()
    return CountyStats(**row._asdict(), _period=period)


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="The county's headline figures.",
        permission_classes=[Can("stats.read")],
        # Public, and a dozen aggregates over the county's tables: aliases must not multiply it.
        extensions=[Cost(1_000)],
    )
    async def county_stats(
        self,
        info: Info,
        reported_from: Annotated[
            datetime | None,
            strawberry.argument(description="Need figures: only needs reported from this time."),
        ] = None,
        reported_to: Annotated[
            datetime | None,
            strawberry.argument(description="Need figures: only needs reported before this time."),
        ] = None,
    ) -> CountyStats:
        return await load_county_stats(info, (as_utc(reported_from), as_utc(reported_to)))
