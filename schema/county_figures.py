"""The county's headline figures (the article's table, ../shared/DOMAIN.md), each counted once, in
SQL: `headline_figures(period)` is one SELECT of scalar subqueries, one per figure.

Figures with a date are counted over a period (`check_period`): needs by when they were
reported, activities by when they started, consultations by when they were held. Counts of
standing things (units, grids, people, teams, places) and the live-streamers' sales total are
not dated.

In a province (`luling seed --counties N`) the figures count the whole database, or one county
(`county`): the needs, activities (and their sign-ups), consultations, grids, compounds and
venues of its communities (found through their `community_id` index: the cost of one county,
not of the province; each lies in its community's county, `schema.services.locations`); the
people, paired units and enterprises (with their requests) in its box of the grid
(`schema.geo.county_box`); and the teams of its communities or, for teams of no community,
those with a member in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.activities import Activity, SignUp
from schema.areas import Community, Compound, Grid, Venue
from schema.base import county_index, local_midnight, utcnow
from schema.enterprise import Enterprise, EnterpriseRequest
from schema.enums import (
    ActivityStatus,
    GridKind,
    NeedSource,
    NeedStatus,
    PersonKind,
    SignUpStatus,
    TeamKind,
    UnitKind,
    VenueKind,
)
from schema.geo import county_box
from schema.governance import Consultation
from schema.needs import Need, NeedAssignment
from schema.people import Person, Team, TeamMembership
from schema.services.errors import Invalid
from schema.text_rules import echo
from schema.units import PairedUnit

Period = tuple[datetime | None, datetime | None]

# The new-business 吉先锋 teams: riders, couriers, food-safety monitors and live-streamers.
NEW_BUSINESS_TEAM_KINDS = (
    TeamKind.NEW_BUSINESS,
    TeamKind.ANT_ACTION,
    TeamKind.FOOD_SAFETY,
    TeamKind.LIVE_STREAMING,
)
SOLVED = (NeedStatus.RESOLVED, NeedStatus.CLOSED)

# A period must lie in the county's records: none before this, none more than a year ahead.
RECORDS_BEGIN = datetime(2000, 1, 1, tzinfo=UTC)
LOOK_AHEAD = timedelta(days=366)


def check_period(start: datetime | None, end: datetime | None, *, now: datetime) -> Period:
    """The period as given, or Invalid when it is reversed, empty or absurd (outside the
    county's records: before 2000, or more than a year from now)."""
    for name, bound in (("reported_from", start), ("reported_to", end)):
        if bound is not None and not RECORDS_BEGIN <= bound <= now + LOOK_AHEAD:
            raise Invalid(
                name,
                f"{bound.isoformat()} is outside the county's records "
                f"({RECORDS_BEGIN.date()} to a year from now)",
            )
    if start is not None and end is not None and start >= end:
        raise Invalid(
            "reported_from",
            f"the period is reversed or empty: reportedFrom ({start.isoformat()}) must be "
            f"before reportedTo ({end.isoformat()})",
        )
    return start, end


def _within(column: Any, period: Period) -> list[Any]:
    start, end = period
    return [
        *([] if start is None else [column >= start]),
        *([] if end is None else [column < end]),
    ]


def _count(*where: Any, of: Any = None) -> Any:
    """SELECT count(…) WHERE …: rows, or distinct values of `of`."""
    counted = sa.func.count() if of is None else sa.func.count(sa.distinct(of))
    return sa.select(counted).where(*where)


def in_county_box(model: Any, county: str | None) -> list[Any]:
    """WHERE clauses: the row's point lies in the county's box (none for the whole database).
    `county` is a county of the grid (`schema.base.county_index`)."""
    if county is None:
        return []
    index = county_index(county)
    if index is None:
        raise Invalid("county", f"no county named {echo(county)} on the province's grid")
    (south, north), (west, east) = county_box(index)
    return [
        col(model.latitude).between(south, north),
        col(model.longitude).between(west, east),
    ]


async def check_county(session: AsyncSession, county: str) -> None:
    """Invalid unless the database holds a county of that name on the province's grid."""
    held = await session.execute(communities_of(county).limit(1))
    if county_index(county) is None or held.first() is None:
        raise Invalid("county", f"no county named {echo(county)} in this database")


def of_communities(column: Any, county: str | None) -> list[Any]:
    """WHERE clauses: the row's community (`column`) is one of the county's (none for the
    whole database)."""
    return [] if county is None else [col(column).in_(communities_of(county))]


def communities_of(county: str) -> Any:
    """The ids of the county's communities, as a subquery."""
    return sa.select(col(Community.id)).where(col(Community.county) == county)


def teams_in_county(county: str | None) -> list[Any]:
    """WHERE clauses on `team`: the county's teams (see the module's docstring)."""
    if county is None:
        return []
    # One member in the box is enough: looked up per team (its members by the key, LIMIT 1),
    # which a plain EXISTS under OR is not (PostgreSQL hashes it over every person in the box).
    member_here = (
        sa.select(sa.literal(1))
        .select_from(TeamMembership)
        .join(Person, col(Person.id) == col(TeamMembership.person_id))
        .where(col(TeamMembership.team_id) == col(Team.id), *in_county_box(Person, county))
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )
    return [
        sa.or_(
            col(Team.community_id).in_(communities_of(county)),
            sa.and_(col(Team.community_id).is_(None), member_here),
        )
    ]


def _team_members(kind: TeamKind, county: str | None) -> Any:
    """People in teams of this kind (each once, however many such teams they are in); in a
    county, those who live in it."""
    located = (
        []
        if county is None
        else [col(Person.id) == col(TeamMembership.person_id), *in_county_box(Person, county)]
    )
    return _count(
        col(TeamMembership.team_id) == col(Team.id),
        col(Team.kind) == kind,
        *located,
        of=col(TeamMembership.person_id),
    )


def _standing_figures(county: str | None) -> dict[str, Any]:
    """Undated counts: places, units, people and teams as they stand."""
    person, venue = col(Person.kind), col(Venue.kind)
    units, people = in_county_box(PairedUnit, county), in_county_box(Person, county)
    grids = of_communities(Grid.community_id, county)
    compounds = of_communities(Compound.community_id, county)
    venues, teams = of_communities(Venue.community_id, county), teams_in_county(county)
    requests = (
        []
        if county is None
        else [
            col(EnterpriseRequest.enterprise_id) == col(Enterprise.id),
            *in_county_box(Enterprise, county),
        ]
    )
    return {
        "paired_units": _count(*units).select_from(PairedUnit),
        "party_members": _count(person == PersonKind.PARTY_MEMBER, *people),
        "cadres": _count(person == PersonKind.CADRE, *people),
        "enterprise_helpers": _count(person == PersonKind.ENTERPRISE_HELPER, *people),
        "urban_grids": _count(col(Grid.kind) == GridKind.URBAN, *grids),
        "rural_grids": _count(col(Grid.kind) == GridKind.RURAL, *grids),
        "compounds": _count(*compounds).select_from(Compound),
        "service_stations": _count(venue == VenueKind.SERVICE_STATION, *venues),
        "village_venues": _count(venue == VenueKind.VILLAGE_VENUE, *venues),
        "elder_care_sites": _count(venue == VenueKind.ELDER_CARE, *venues),
        "property_companies": _count(col(PairedUnit.kind) == UnitKind.PROPERTY_COMPANY, *units),
        "red_property_sites": _count(col(Compound.is_red_property).is_(True), *compounds),
        "volunteer_teams": _count(col(Team.kind).in_(NEW_BUSINESS_TEAM_KINDS), *teams),
        "ant_action_riders": _team_members(TeamKind.ANT_ACTION, county),
        "food_safety_monitors": _team_members(TeamKind.FOOD_SAFETY, county),
        "live_streamers": _team_members(TeamKind.LIVE_STREAMING, county),
        "live_stream_sales_yuan": sa.select(
            sa.func.coalesce(sa.func.sum(col(Team.sales_yuan)), 0)
        ).where(col(Team.kind) == TeamKind.LIVE_STREAMING, *teams),
        "enterprise_requests": _count(*requests).select_from(EnterpriseRequest),
        "needs_reported_today": _count(
            col(Need.reported_at) >= local_midnight(utcnow()),
            *of_communities(Need.community_id, county),
        ),
    }


def _dated_figures(period: Period, county: str | None) -> dict[str, Any]:
    """Counts over the period: needs by report time, activities by start, consultations by
    when they were held."""
    reported = [
        *_within(col(Need.reported_at), period),
        *of_communities(Need.community_id, county),
    ]
    held = [
        *_within(col(Consultation.held_at), period),
        *of_communities(Consultation.community_id, county),
    ]
    finished = [
        col(Activity.status) == ActivityStatus.FINISHED,
        *_within(col(Activity.starts_at), period),
        *of_communities(Activity.community_id, county),
    ]
    # From the (few) team assignments to their needs, each need once.
    solved_by_a_team = _count(
        col(NeedAssignment.team_id).is_not(None),
        col(NeedAssignment.need_id) == col(Need.id),
        col(Need.status).in_(SOLVED),
        *reported,
        of=col(NeedAssignment.need_id),
    )
    return {
        "team_problems_solved": solved_by_a_team,
        "hotline_tickets": _count(col(Need.source) == NeedSource.HOTLINE_12345, *reported),
        "sentinel_suggestions": _count(col(Need.source) == NeedSource.SENTINEL_POST, *reported),
        "consultations": _count(*held).select_from(Consultation),
        "disputes_settled": sa.select(
            sa.func.coalesce(sa.func.sum(col(Consultation.disputes_settled)), 0)
        ).where(*held),
        "volunteer_activities": _count(*finished).select_from(Activity),
        "volunteer_person_times": _count(
            col(SignUp.activity_id) == col(Activity.id),
            col(SignUp.status) == SignUpStatus.CHECKED_OUT,
            *finished,
        ),
    }


def headline_figures(
    period: Period = (None, None), only: Iterable[str] | None = None, county: str | None = None
) -> sa.Select[Any]:
    """One row, a column per figure (named as in `_standing_figures` and `_dated_figures`);
    `only` these, when given (a dashboard asks for a few: the dated ones cost the most); of
    one county's, when given."""
    figures = _standing_figures(county) | _dated_figures(period, county)
    names = list(figures) if only is None else [n for n in figures if n in set(only)]
    return sa.select(*(figures[name].scalar_subquery().label(name) for name in names))


FIGURES = tuple(headline_figures().selected_columns.keys())
