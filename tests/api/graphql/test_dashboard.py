"""countyStats as the dashboard: figures over a small factory county."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("enterprise", "activities")

RATE = "{ count total percent }"
DASHBOARD = f"""query($from: DateTime) {{ countyStats(reportedFrom: $from) {{
  pairedUnits partyMembers urbanGrids ruralGrids serviceStations enterpriseHelpers
  volunteerTeams enterpriseRequests
  areas {{ community {{ name }} grids members partyMembers pairedUnits openNeeds overdueNeeds }}
  needsByTier {{ tier open overdue dispatched arrivedOnTime {RATE} resolvedOnTime {RATE} }}
  satisfaction {{ overall {RATE} hotline {RATE} enterprise {RATE}
                  byCommunity {{ community {{ name }} rate {RATE} }} }}
  enterpriseRequestsByStatus {{ status count overdue }}
  serviceHoursByTeam {{ team {{ name }} hours }}
}} }}"""


def rate(count: int, total: int) -> dict:
    return {
        "count": count,
        "total": total,
        "percent": round(100 * count / total, 2) if total else None,
    }


def test_show_dashboard_figures(client: TestClient, county: County) -> None:
    s = gql(client, DASHBOARD)["data"]["countyStats"]
    assert (s["pairedUnits"], s["partyMembers"], s["urbanGrids"], s["ruralGrids"]) == (2, 1, 2, 1)
    assert (s["serviceStations"], s["enterpriseHelpers"], s["volunteerTeams"]) == (1, 1, 1)
    assert s["enterpriseRequests"] == 3
    areas = {a["community"]["name"]: a for a in s["areas"]}
    assert areas["泉塘社区"] | {"community": None} == {
        "community": None,
        "grids": 2,
        "members": 2,
        "partyMembers": 1,
        "pairedUnits": 2,
        "openNeeds": 2,
        "overdueNeeds": 1,
    }
    assert areas["横溪村"]["openNeeds"] == 1 and areas["横溪村"]["overdueNeeds"] == 0
    tiers = {t["tier"]: t for t in s["needsByTier"]}
    assert list(tiers) == ["ORDINARY", "COMPLEX", "MAJOR"]
    ordinary, complex_, major = tiers["ORDINARY"], tiers["COMPLEX"], tiers["MAJOR"]
    assert (ordinary["open"], ordinary["overdue"], ordinary["dispatched"]) == (1, 0, 2)
    assert ordinary["arrivedOnTime"] == rate(1, 2)  # 8 minutes: kept; 15 minutes: missed
    assert ordinary["resolvedOnTime"] == rate(1, 2)  # 25 minutes: kept; 1 hour: missed
    assert (complex_["open"], complex_["overdue"], complex_["dispatched"]) == (1, 1, 1)
    assert complex_["arrivedOnTime"] == rate(0, 1) and complex_["resolvedOnTime"] == rate(0, 1)
    assert major["open"] == 1 and major["arrivedOnTime"] == rate(0, 0)
    sat = s["satisfaction"]
    assert sat["overall"] == rate(1, 2) and sat["hotline"] == rate(1, 2)
    assert sat["enterprise"] == rate(1, 1)
    assert [(c["community"]["name"], c["rate"]["percent"]) for c in sat["byCommunity"]] == [
        ("横溪村", 0.0),
        ("泉塘社区", 100.0),
    ]
    statuses = {e["status"]: (e["count"], e["overdue"]) for e in s["enterpriseRequestsByStatus"]}
    assert statuses == {
        "SUBMITTED": (1, 0),
        "ASSIGNED": (1, 1),
        "IN_PROGRESS": (0, 0),
        "RESOLVED": (0, 0),
        "CLOSED": (1, 0),
    }
    assert s["serviceHoursByTeam"] == [
        {"team": {"name": "吉先锋骑手队"}, "hours": 2.0},
        {"team": {"name": "小赣事帮办专班"}, "hours": 0.0},
    ]


def test_limit_need_figures_to_a_period(client: TestClient, county: County) -> None:
    since = (datetime.now(UTC) - timedelta(days=4)).isoformat()
    s = gql(client, DASHBOARD, {"from": since})["data"]["countyStats"]
    assert s["satisfaction"]["overall"] == rate(0, 0)  # the rated needs are older
    assert sum(t["open"] for t in s["needsByTier"]) == 3
    assert s["pairedUnits"] == 2  # the headline counts are not about needs


ARTICLE_FIGURES = """query($from: DateTime, $to: DateTime) {
  countyStats(reportedFrom: $from, reportedTo: $to) {
    cadres compounds villageVenues elderCareSites propertyCompanies redPropertySites
    antActionRiders foodSafetyMonitors liveStreamers liveStreamSalesYuan
    teamProblemsSolved hotlineTickets sentinelSuggestions consultations disputesSettled
    volunteerActivities volunteerPersonTimes
  }
}"""


def test_show_article_figures(client: TestClient, county: County) -> None:
    s = gql(client, ARTICLE_FIGURES)["data"]["countyStats"]
    assert s["compounds"] == 1 and s["redPropertySites"] == 1 and s["propertyCompanies"] == 1
    assert s["hotlineTickets"] == 2
    assert s["volunteerActivities"] == 1 and s["volunteerPersonTimes"] == 1
    assert (s["teamProblemsSolved"], s["consultations"], s["disputesSettled"]) == (1, 1, 2)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    none = gql(client, ARTICLE_FIGURES, {"from": later})["data"]["countyStats"]
    assert none["hotlineTickets"] == 0 and none["volunteerPersonTimes"] == 0
    assert none["compounds"] == 1  # standing counts are not dated


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-06-01T00:00:00Z", "2026-01-01T00:00:00Z", "reportedFrom"),  # reversed
        ("2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z", "reportedFrom"),  # empty
        ("1900-01-01T00:00:00Z", None, "1900"),  # before the county's records
        (None, "2999-01-01T00:00:00Z", "2999"),  # centuries ahead
    ],
)
def test_refuse_bad_period(
    client: TestClient, county: County, start: str | None, end: str | None, field: str
) -> None:
    body = gql(client, ARTICLE_FIGURES, {"from": start, "to": end}, expect_errors=True)
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and field in error["message"]
