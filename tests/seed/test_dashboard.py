"""The dashboard over the reference county matches the article's figures (loaded once)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from seed import figures
from tests.conftest import gql, make_settings
from tests.seed.conftest import SeededDatabase

REFERENCE, NOW = figures.REFERENCE, figures.REFERENCE_NOW

RATE = "{ count total percent }"
DASHBOARD = f"""query($from: DateTime, $to: DateTime) {{
  countyStats(reportedFrom: $from, reportedTo: $to) {{
    pairedUnits partyMembers urbanGrids ruralGrids serviceStations enterpriseHelpers
    volunteerTeams enterpriseRequests
    areas {{ community {{ name }} grids openNeeds }}
    needsByTier {{ tier open overdue arrivedOnTime {RATE} resolvedOnTime {RATE} }}
    satisfaction {{ overall {RATE} hotline {RATE} enterprise {RATE}
                    byCommunity {{ community {{ name }} rate {RATE} }} }}
    enterpriseRequestsByStatus {{ status count }}
    serviceHoursByTeam {{ team {{ name kind }} hours }}
  }}
}}"""


@pytest.fixture(scope="module")
def reference(seeded: SeededDatabase) -> Iterator[TestClient]:
    """The API over the reference county, loaded once for tests/seed (conftest.py)."""
    with TestClient(create_app(make_settings(seeded.url))) as client:
        yield client


@pytest.fixture(scope="module")
def year(reference: TestClient) -> dict[str, Any]:
    """The dashboard over the article's year: needs reported in the year before its "now"."""
    period = {"from": (NOW - timedelta(days=365)).isoformat(), "to": NOW.isoformat()}
    return gql(reference, DASHBOARD, period)["data"]["countyStats"]


def test_match_article_headline_counts(year: dict[str, Any]) -> None:
    assert year["pairedUnits"] == REFERENCE.paired_units == 159
    assert year["partyMembers"] == REFERENCE.party_members
    assert (year["urbanGrids"], year["ruralGrids"]) == (106, 1869)
    assert year["serviceStations"] == 37 and year["enterpriseHelpers"] == 112
    assert year["volunteerTeams"] == 7 and year["enterpriseRequests"] == 477
    assert sum(a["grids"] for a in year["areas"]) == 106 + 1869


def test_match_article_satisfaction(year: dict[str, Any]) -> None:
    hotline = year["satisfaction"]["hotline"]
    assert hotline["percent"] == figures.HOTLINE_SATISFACTION_PCT == 98.09
    assert hotline["total"] == REFERENCE.hotline_tickets_rated >= 12_000
    by_name = {c["community"]["name"]: c["rate"] for c in year["satisfaction"]["byCommunity"]}
    quantang = by_name[figures.QUANTANG]
    assert quantang["percent"] > figures.QUANTANG_SATISFACTION_ABOVE_PCT
    assert quantang["total"] >= REFERENCE.quantang_requests_handled


def test_show_open_backlog_by_tier(year: dict[str, Any]) -> None:
    tiers = {t["tier"]: t for t in year["needsByTier"]}
    assert tiers["ORDINARY"]["open"] == REFERENCE.open_needs_ordinary
    assert tiers["COMPLEX"]["open"] == REFERENCE.open_needs_complex
    assert tiers["MAJOR"]["open"] == REFERENCE.open_needs_major
    for tier in tiers.values():
        assert tier["arrivedOnTime"]["total"] > 0 and tier["resolvedOnTime"]["total"] > 0
    statuses = {s["status"]: s["count"] for s in year["enterpriseRequestsByStatus"]}
    open_requests = statuses["SUBMITTED"] + statuses["ASSIGNED"] + statuses["IN_PROGRESS"]
    assert open_requests == REFERENCE.open_enterprise_requests
    assert sum(statuses.values()) == 477


def test_show_service_hours_by_team(year: dict[str, Any]) -> None:
    hours = year["serviceHoursByTeam"]
    assert len(hours) == 8 and hours == sorted(hours, key=lambda t: -t["hours"])


ARTICLE = """query($from: DateTime, $to: DateTime) {
  countyStats(reportedFrom: $from, reportedTo: $to) {
    cadres compounds villageVenues elderCareSites propertyCompanies redPropertySites
    antActionRiders foodSafetyMonitors liveStreamers liveStreamSalesYuan
    teamProblemsSolved hotlineTickets sentinelSuggestions consultations disputesSettled
    volunteerActivities volunteerPersonTimes
  }
}"""


def test_match_every_article_figure_over_the_year(reference: TestClient) -> None:
    """One query answers the article's table (245 took 185 page requests before)."""
    period = {"from": (NOW - timedelta(days=365)).isoformat(), "to": NOW.isoformat()}
    s = gql(reference, ARTICLE, period)["data"]["countyStats"]
    floors = figures.ARTICLE_FLOORS
    assert s["teamProblemsSolved"] == REFERENCE.team_problems_solved == 245
    assert s["volunteerPersonTimes"] == REFERENCE.activity_person_times > 30_000
    assert s["volunteerActivities"] == REFERENCE.activities > floors["activities"]
    assert s["hotlineTickets"] > floors["hotline_tickets"]
    assert s["sentinelSuggestions"] == REFERENCE.sentinel_suggestions > 60
    assert (s["consultations"], s["disputesSettled"]) == (46, REFERENCE.disputes_settled)
    assert s["disputesSettled"] > floors["disputes_settled"]
    assert s["cadres"] == 11 and s["compounds"] == 37
    assert (s["villageVenues"], s["elderCareSites"]) == (284, 268)
    assert (s["propertyCompanies"], s["redPropertySites"]) == (8, 5)
    assert s["antActionRiders"] == REFERENCE.ant_action_riders > 30
    assert s["foodSafetyMonitors"] == 167 and s["liveStreamers"] == 8
    assert s["liveStreamSalesYuan"] == REFERENCE.live_stream_sales_yuan > 500_000
