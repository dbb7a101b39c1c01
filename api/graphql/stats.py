"""`countyStats`: the county's dashboard.

The headline figures (paired units … volunteer person-times, the article's table) are one SELECT
of scalar subqueries, counted in schema/county_figures.py; every other part is resolved only
when selected, each with one statement of its own:
- `areas`: per community or village, its grids, registered members, paired units, open and
  overdue needs;
- `needsByTier`: per "1341" tier, open and overdue needs and the on-time rates (staff on site
  within 10 minutes of dispatch; resolved within 30 min / 4 h / 1 day);
- `satisfaction`: rated needs satisfied (rating 4 or 5) overall, for 12345 hotline tickets and
  per community, and enterprise requests' ratings;
- `enterpriseRequestsByStatus`, `serviceHoursByTeam`.
`reportedFrom`/`reportedTo` limit the dated figures to that period (the article reports a year:
over the reference county, the year before its reference "now"); a reversed, empty or absurd
period is a BAD_USER_INPUT error. `county` narrows everything to one county of a province
(schema/county_figures.py says what lies in it); without it, the whole database. Only the
headline figures the query selects are counted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from api.auth.permissions import can
from api.graphql import dashboard
from api.graphql.context import Info
from api.graphql.dashboard import (
    AreaFigures,
    EnterpriseStatusCount,
    SatisfactionFigures,
    TeamHours,
    TierFigures,
)
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.lists import Cost, MaxItems
from api.graphql.relay import as_utc
from api.graphql.relay.selection import field_selection, graphql_to_python
from schema.county_figures import FIGURES, Period, check_county, check_period, headline_figures
from schema.services.errors import Invalid

# The dated figures that scan a year of needs or sign-ups cost extra (public: anyone can ask).
SCANS_A_YEAR = 1_000


@strawberry.type(
    description="The county's dashboard: the article's headline figures, then figures by area, "
    "tier, satisfaction, enterprise-request status and team. Dated figures (marked) count over "
    "the period `reportedFrom`/`reportedTo` when given."
)
class CountyStats:
    paired_units: int = strawberry.field(
        description="结对共建单位: units twinned with communities."
    )
    party_members: int = strawberry.field(
        description="在职党员: in-service party members registered with communities."
    )
    cadres: int = strawberry.field(description="县管干部: county-managed cadres.")
    enterprise_helpers: int = strawberry.field(description="小赣事: enterprise helpers.")
    urban_grids: int = strawberry.field(description="城市网格: urban grids.")
    rural_grids: int = strawberry.field(description="农村网格: rural grids.")
    compounds: int = strawberry.field(description="小区: residential compounds.")
    service_stations: int = strawberry.field(
        description="小区党群服务站: compound service stations."
    )
    village_venues: int = strawberry.field(
        description="村级组织活动场所: village organisation venues."
    )
    elder_care_sites: int = strawberry.field(
        description="互助养老服务设施: mutual-aid elder-care sites."
    )
    property_companies: int = strawberry.field(description="物业公司: property companies.")
    red_property_sites: int = strawberry.field(
        description="红色物业示范点: compounds run as red-property sites."
    )
    volunteer_teams: int = strawberry.field(
        description="新业态“吉先锋”服务队: new-business volunteer teams."
    )
    ant_action_riders: int = strawberry.field(
        description="蚂蚁行动: riders and couriers in the Ant Action teams."
    )
    food_safety_monitors: int = strawberry.field(
        description="食品质量监督队伍: food-safety monitors (delivery riders)."
    )
    live_streamers: int = strawberry.field(description="网络主播: live-streamers.")
    live_stream_sales_yuan: int = strawberry.field(
        description="助农销售: live-streamers' farm-produce sales, in yuan."
    )
    enterprise_requests: int = strawberry.field(
        description="营商气象站诉求: enterprise requests received."
    )
    team_problems_solved: int = strawberry.field(
        description="Dated (reported): needs resolved by the new-business teams and other teams "
        "dispatched as a team (problems solved).",
        extensions=[Cost(SCANS_A_YEAR)],
    )
    hotline_tickets: int = strawberry.field(
        description="Dated (reported): 12345 hotline tickets (12345热线工单).",
        extensions=[Cost(SCANS_A_YEAR)],
    )
    sentinel_suggestions: int = strawberry.field(
        description="Dated (reported): suggestions from sentinel posts (民声前哨点)."
    )
    consultations: int = strawberry.field(
        description="Dated (held): consultations (赣事好商量·吉事广议)."
    )
    disputes_settled: int = strawberry.field(
        description="Dated (held): disputes the consultations settled."
    )
    volunteer_activities: int = strawberry.field(
        description="Dated (started): finished volunteer activities (义善庐陵)."
    )
    volunteer_person_times: int = strawberry.field(
        description="Dated (started): person-times served at them (checked-out sign-ups).",
        extensions=[Cost(SCANS_A_YEAR)],
    )
    needs_reported_today: int = strawberry.field(
        description="Needs reported today, in the county's local day (since 00:00 UTC+8)."
    )
    _period: strawberry.Private[Period] = (None, None)
    _county: strawberry.Private[str | None] = None

    @strawberry.field(
        description="Per community or village: grids, members, units, needs.",
        extensions=[MaxItems(1000)],
    )
    async def areas(self, info: Info) -> list[AreaFigures]:
        return await dashboard.area_figures(info, self._period, self._county)

    @strawberry.field(
        description='Per "1341" tier: open and overdue needs, on-time rates.',
        extensions=[MaxItems(10)],
    )
    async def needs_by_tier(self, info: Info) -> list[TierFigures]:
        return await dashboard.tier_figures(info, self._period, self._county)

    @strawberry.field(description="Satisfaction (满意率): overall, 12345 hotline, per community.")
    async def satisfaction(self, info: Info) -> SatisfactionFigures:
        return await dashboard.satisfaction_figures(info, self._period, self._county)

    @strawberry.field(
        description="Enterprise requests (营商气象站) per status.", extensions=[MaxItems(20)]
    )
    async def enterprise_requests_by_status(self, info: Info) -> list[EnterpriseStatusCount]:
        return await dashboard.enterprise_by_status(info, self._county)

    @strawberry.field(
        description="Service hours logged by each team's members, most first.",
        extensions=[MaxItems(1000)],
    )
    async def service_hours_by_team(self, info: Info) -> list[TeamHours]:
        return await dashboard.team_hours(info, self._county)


async def load_county_stats(
    info: Info, period: Period = (None, None), county: str | None = None
) -> CountyStats:
    """The headline figures the query selects, in one round-trip (schema/county_figures.py
    counts them); the others are never read and stay 0."""
    names = graphql_to_python(CountyStats)
    wanted = set(FIGURES).intersection(names.get(field) for field in field_selection(info))
    values = dict.fromkeys(FIGURES, 0)
    if wanted:
        async with info.context.db.session() as session:
            row = (await session.execute(headline_figures(period, wanted, county))).one()
        values |= {name: int(value) for name, value in row._asdict().items()}
    return CountyStats(**values, _period=period, _county=county)


@strawberry.type
class StatsQuery:
    @strawberry.field(
        description="The county's headline figures.",
        permission_classes=can("stats.read"),
        # Public, and a dozen aggregates over the county's tables: aliases must not multiply it.
        extensions=[Cost(1_000)],
    )
    async def county_stats(
        self,
        info: Info,
        reported_from: Annotated[
            datetime | None,
            strawberry.argument(
                description="Dated figures from this time (needs reported, activities started, "
                "consultations held)."
            ),
        ] = None,
        reported_to: Annotated[
            datetime | None,
            strawberry.argument(description="Dated figures before this time."),
        ] = None,
        county: Annotated[
            str | None,
            strawberry.argument(
                description="Only this county of a province (吉安县, 吉安县-2 … as `luling seed "
                "--counties` names them); without it, every county in the database."
            ),
        ] = None,
    ) -> CountyStats:
        try:
            period = check_period(as_utc(reported_from), as_utc(reported_to), now=datetime.now(UTC))
            if county is not None:
                async with info.context.db.session() as session:
                    await check_county(session, county)
        except Invalid as bad:
            raise CodedError(bad.message, ErrorCode.BAD_USER_INPUT) from bad
        return await load_county_stats(info, period, county)
