"""volunteerOpportunities: open needs and planned activities that still need people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from schema.geo import haversine_m
from tests.conftest import gql
from tests.county import A_LAT, A_LON, B_LAT, B_LON, County

pytestmark = pytest.mark.county("activities")

QUERY = """query($near: NearInput, $skills: [String!], $at: DateTime, $first: Int,
                 $after: String) {
  volunteerOpportunities(near: $near, skills: $skills, availableAt: $at, first: $first,
                         after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id kind title distanceKm placesLeft urgency deadline latitude longitude
            startsAt endsAt skills { code } community { name } need { id } activity { title } }
  }
}"""


def find(client: TestClient, token: str | None = None, **variables: Any) -> dict[str, Any]:
    return gql(client, QUERY, variables, token=token)["data"]["volunteerOpportunities"]


def test_list_opportunities_nearest_then_most_urgent(client: TestClient, county: County) -> None:
    got = find(client, near={"latitude": A_LAT, "longitude": A_LON, "radiusKm": 10})
    titles = [o["title"] for o in got["nodes"]]
    # Ring 0 (same place): the urgency-5 need, then the activity; ring 5: the village's need.
    assert titles == ["路灯不亮", "义善庐陵·敬老助餐", "山体滑坡隐患"]
    assert got["totalCount"] == 3
    distances = [o["distanceKm"] for o in got["nodes"]]
    assert distances[:2] == [0.0, 0.0]
    assert distances[2] == pytest.approx(haversine_m(A_LAT, A_LON, B_LAT, B_LON) / 1000, abs=1e-3)
    need, activity, far = got["nodes"]
    assert need["kind"] == "NEED" and need["placesLeft"] == 1  # headcount 2, one signed up
    assert need["skills"] == [{"code": "electrician"}] and need["community"]["name"] == "泉塘社区"
    assert need["id"] == county.gid("Need", "need_open") and need["need"] is None  # anonymous
    assert activity["kind"] == "ACTIVITY" and activity["placesLeft"] == 2
    assert activity["activity"] == {"title": "义善庐陵·敬老助餐"}
    assert activity["deadline"] == activity["startsAt"]
    assert far["distanceKm"] > 5


def test_leave_out_full_closed_and_far_opportunities(client: TestClient, county: County) -> None:
    titles = [o["title"] for o in find(client)["nodes"]]
    assert "水管爆裂" not in titles  # its one place is taken by the dispatched grid worker
    assert "横溪村法律讲座" not in titles  # full
    assert "环境整治" not in titles  # finished
    near = find(client, near={"latitude": A_LAT, "longitude": A_LON, "radiusKm": 2})
    assert [o["title"] for o in near["nodes"]] == ["路灯不亮", "义善庐陵·敬老助餐"]


def test_order_by_urgency_without_place(client: TestClient, county: County) -> None:
    got = find(client)
    assert [o["urgency"] for o in got["nodes"]] == [5, 3, 2]
    assert all(o["distanceKm"] is None for o in got["nodes"])


def test_match_skills_and_time(client: TestClient, county: County) -> None:
    titles = lambda **kw: [o["title"] for o in find(client, **kw)["nodes"]]  # noqa: E731
    assert titles(skills=["electrician"]) == ["路灯不亮", "义善庐陵·敬老助餐"]
    assert titles(skills=["legal", "psych"]) == ["山体滑坡隐患"]
    assert titles(skills=[]) == []  # every open opportunity wants some skill
    now = datetime.now(UTC)
    assert titles(at=(now + timedelta(days=1, hours=1)).isoformat()) == [
        "路灯不亮",
        "山体滑坡隐患",
        "义善庐陵·敬老助餐",
    ]
    assert titles(at=(now + timedelta(days=3)).isoformat()) == ["山体滑坡隐患"]


def test_page_opportunities(client: TestClient, county: County) -> None:
    near = {"latitude": A_LAT, "longitude": A_LON, "radiusKm": 10}
    first = find(client, near=near, first=2)
    assert first["pageInfo"]["hasNextPage"] is True and len(first["nodes"]) == 2
    rest = find(client, near=near, first=2, after=first["pageInfo"]["endCursor"])
    assert [o["title"] for o in rest["nodes"]] == ["山体滑坡隐患"]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_show_need_to_signed_in_readers(client: TestClient, county: County) -> None:
    got = find(client, token=county.token("volunteer"), skills=["electrician"])
    assert got["nodes"][0]["need"] == {"id": county.gid("Need", "need_open")}


@pytest.mark.parametrize("radius", [0, -1, 101])
def test_refuse_bad_radius(client: TestClient, county: County, radius: float) -> None:
    body = gql(
        client,
        QUERY,
        {"near": {"latitude": A_LAT, "longitude": A_LON, "radiusKm": radius}},
        expect_errors=True,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
