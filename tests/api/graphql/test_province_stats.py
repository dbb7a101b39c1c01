"""countyStats over a province: the whole database by default, one county with `county:` (every
part of the dashboard narrowed to it), only the headline figures selected counted."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.api.graphql.test_dashboard import DASHBOARD
from tests.conftest import gql
from tests.county import County
from tests.province import small_province

pytestmark = pytest.mark.county("enterprise", "activities")

SCOPED = DASHBOARD.replace(
    "query($from: DateTime)", "query($from: DateTime, $county: String)"
).replace("countyStats(reportedFrom: $from)", "countyStats(reportedFrom: $from, county: $county)")


def stats(client: TestClient, county: str | None = None) -> dict[str, Any]:
    return gql(client, SCOPED, {"county": county})["data"]["countyStats"]


def test_one_county_of_a_province_as_if_alone(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    alone = stats(client)
    assert stats(client, "吉安县") == alone
    small_province(engine, 2, first=1)  # 吉安县-2 and 吉安县-3: 6 party members, 4 needs each
    assert stats(client, "吉安县") == alone  # the reference county's figures, every part
    province = stats(client)
    assert province["partyMembers"] == alone["partyMembers"] + 12
    listed = gql(
        client, "{ communities(first: 100) { nodes { name county } } }", token=county.token("admin")
    )
    counties = {c["county"] for c in listed["data"]["communities"]["nodes"]}
    assert counties == {"吉安县", "吉安县-2", "吉安县-3"}  # the names `county:` takes
    second = stats(client, "吉安县-2")
    assert second["partyMembers"] == 6 and second["pairedUnits"] == 0
    assert sorted(a["community"]["name"] for a in second["areas"]) == [
        "吉安县-2测试社区0",
        "吉安县-2测试社区1",
    ]
    assert [a["openNeeds"] for a in second["areas"]] == [2, 2]
    assert sum(t["open"] for t in second["needsByTier"]) == 4
    assert (
        sum(t["open"] for t in province["needsByTier"])
        == sum(t["open"] for t in alone["needsByTier"]) + 8
    )
    assert (
        second["enterpriseRequests"] == 0 and second["enterpriseRequestsByStatus"][0]["count"] == 0
    )
    assert second["serviceHoursByTeam"] == []


def test_refuse_a_county_the_database_does_not_hold(client: TestClient, county: County) -> None:
    for name in ("吉安县-2", "无此县", "吉安县-02"):
        body = gql(client, SCOPED, {"county": name}, expect_errors=True)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], name
        assert f"no county named {name}" in body["errors"][0]["message"]


def test_only_the_selected_figures_are_counted(client: TestClient, county: County) -> None:
    full = stats(client)
    few = gql(client, "{ countyStats { partyMembers pairedUnits } }")["data"]["countyStats"]
    assert few == {"partyMembers": full["partyMembers"], "pairedUnits": full["pairedUnits"]}
    named = gql(client, "{ a: countyStats { ...F } } fragment F on CountyStats { urbanGrids }")
    assert named["data"]["a"] == {"urbanGrids": full["urbanGrids"]}


def test_an_unknown_county_name_is_not_echoed_whole(client: TestClient, county: County) -> None:
    # A hostile name comes back cut to 32 characters, one line, as every other echo.
    name = "<b>吉安县</b>\n" + "x" * 100_000
    body = gql(client, SCOPED, {"county": name}, expect_errors=True)
    message = body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(message) < 120 and "\n" not in message and "<b>吉安县</b> xx" in message
