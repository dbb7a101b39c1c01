"""The county's headline figures (the article's table, ../shared/DOMAIN.md), each counted once, in
SQL: `headline_figures(period)` is one SELECT of scalar subqueries, one per figure.

Figures with a date are counted over a period (`check_period`): needs by when they were
reported, activities by when they started, consultations by when they were held. Counts of
standing things (units, grids, people, teams, places) and the live-streamers' sales total are
not dated.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from schema.activities import Activity, SignUp
from schema.areas import Compound, Grid, Venue
from schema.base import local_midnight, utcnow
from schema.enterprise import EnterpriseRequest
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
from schema.governance import Consultation
from schema.needs import Need, NeedAssignment
from schema.people import Person, Team, TeamMembership
from schema.services.errors import Invalid
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


def _team_members(kind: TeamKind) -> Any:
    """People in teams of this kind (each once, however many such teams they are in)."""
    return _count(
        col(TeamMembership.team_id) == col(Team.id),
        col(Team.kind) == kind,
        of=col(TeamMembership.person_id),
    )


def _standing_figures() -> dict[str, Any]:
    """Undated counts: places, units, people and teams as they stand."""
    person, venue = col(Person.kind), col(Venue.kind)
    return {
        "paired_units": sa.select(sa.func.count()).select_from(PairedUnit),
        "party_members": _count(person == PersonKind.PARTY_MEMBER),
        "cadres": _count(person == PersonKind.CADRE),
        "enterprise_helpers": _count(person == PersonKind.ENTERPRISE_HELPER),
        "urban_grids": _count(col(Grid.kind) == GridKind.URBAN),
        "rural_grids": _count(col(Grid.kind) == GridKind.RURAL),
        "compounds": sa.select(sa.func.count()).select_from(Compound),
        "service_stations": _count(venue == VenueKind.SERVICE_STATION),
        "village_venues": _count(venue == VenueKind.VILLAGE_VENUE),
        "elder_care_sites": _count(venue == VenueKind.ELDER_CARE),
        "property_companies": _count(col(PairedUnit.kind) == UnitKind.PROPERTY_COMPANY),
        "red_property_sites": _count(col(Compound.is_red_property).is_(True)),
        "volunteer_teams": _count(col(Team.kind).in_(NEW_BUSINESS_TEAM_KINDS)),
        "ant_action_riders": _team_members(TeamKind.ANT_ACTION),
        "food_safety_monitors": _team_members(TeamKind.FOOD_SAFETY),
        "live_streamers": _team_members(TeamKind.LIVE_STREAMING),
        "live_stream_sales_yuan": sa.select(
            sa.func.coalesce(sa.func.sum(col(Team.sales_yuan)), 0)
        ).where(col(Team.kind) == TeamKind.LIVE_STREAMING),
        "enterprise_requests": sa.select(sa.func.count()).select_from(EnterpriseRequest),
        "needs_reported_today": _count(col(Need.reported_at) >= local_midnight(utcnow())),
    }


def _dated_figures(period: Period) -> dict[str, Any]:
    """Counts over the period: needs by report time, activities by start, consultations by
    when they were held."""
    reported = _within(col(Need.reported_at), period)
    held = _within(col(Consultation.held_at), period)
    finished = [
        col(Activity.status) == ActivityStatus.FINISHED,
        *_within(col(Activity.starts_at), period),
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
    period: Period = (None, None), only: Iterable[str] | None = None
) -> sa.Select[Any]:
    """One row, a column per figure (named as in `_standing_figures` and `_dated_figures`);
    `only` these, when given (a dashboard asks for a few: the dated ones cost the most)."""
    figures = _standing_figures() | _dated_figures(period)
    names = list(figures) if only is None else [n for n in figures if n in set(only)]
    return sa.select(*(figures[name].scalar_subquery().label(name) for name in names))


FIGURES = tuple(headline_figures().selected_columns.keys())
