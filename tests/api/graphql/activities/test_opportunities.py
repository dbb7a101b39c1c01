"""volunteerOpportunities: open needs and planned activities that still need people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from schema.geo import haversine_m
from tests import factories as f
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


# What anonymous callers see of the two open needs' titles: made from their category.
STREETLIGHT, LANDSLIDE = "基础设施求助", "突发事件求助"


def find(client: TestClient, token: str | None = None, **variables: Any) -> dict[str, Any]:
    return gql(client, QUERY, variables, token=token)["data"]["volunteerOpportunities"]


def test_list_opportunities_nearest_then_most_urgent(client: TestClient, county: County) -> None:
    got = find(client, near={"latitude": A_LAT, "longitude": A_LON, "radiusKm": 10})
    titles = [o["title"] for o in got["nodes"]]
    # Ring 0 (same place): the urgency-5 need, then the activity; ring 5: the village's need.
    assert titles == [STREETLIGHT, "义善庐陵·敬老助餐", LANDSLIDE]
    assert got["totalCount"] == 3
    distances = [o["distanceKm"] for o in got["nodes"]]
    # The need's point is snapped to the ~200 m public grid (44 m off here).
    assert distances[0] == pytest.approx(0.044, abs=1e-3) and distances[1] == 0.0
    assert distances[2] == pytest.approx(haversine_m(A_LAT, A_LON, B_LAT, B_LON) / 1000, abs=1e-3)
    need, activity, far = got["nodes"]
    # Headcount 2; the old sign-up of someone not dispatched holds no place (offers do not either).
    assert need["kind"] == "NEED" and need["placesLeft"] == 2
    assert need["skills"] == [{"code": "electrician"}] and need["community"]["name"] == "泉塘社区"
    assert need["id"] == county.gid("Need", "need_open") and need["need"] is None  # anonymous
    assert activity["kind"] == "ACTIVITY" and activity["placesLeft"] == 2
    assert activity["activity"] == {"title": "义善庐陵·敬老助餐"}
    assert activity["deadline"] == activity["startsAt"]
    assert far["distanceKm"] > 5


def test_leave_out_full_closed_and_far_opportunities(client: TestClient, county: County) -> None:
    titles = [o["title"] for o in find(client, token=county.token("admin"))["nodes"]]
    assert "水管爆裂" not in titles  # its one place is taken by the dispatched grid worker
    assert "横溪村法律讲座" not in titles  # full
    assert "环境整治" not in titles  # finished
    near = find(client, near={"latitude": A_LAT, "longitude": A_LON, "radiusKm": 2})
    assert [o["title"] for o in near["nodes"]] == [STREETLIGHT, "义善庐陵·敬老助餐"]


def test_order_by_urgency_without_place(client: TestClient, county: County) -> None:
    got = find(client)
    assert [o["urgency"] for o in got["nodes"]] == [5, 3, 2]
    assert all(o["distanceKm"] is None for o in got["nodes"])


def test_match_skills_and_time(client: TestClient, county: County) -> None:
    titles = lambda **kw: [o["title"] for o in find(client, **kw)["nodes"]]  # noqa: E731
    assert titles(skills=["electrician"]) == [STREETLIGHT, "义善庐陵·敬老助餐"]
    assert titles(skills=["legal", "psych"]) == [LANDSLIDE]
    assert titles(skills=[]) == []  # every open opportunity wants some skill
    now = datetime.now(UTC)
    assert titles(at=(now + timedelta(days=1, hours=1)).isoformat()) == [
        STREETLIGHT,
        LANDSLIDE,
        "义善庐陵·敬老助餐",
    ]
    assert titles(at=(now + timedelta(days=3)).isoformat()) == [LANDSLIDE]


def test_page_opportunities(client: TestClient, county: County) -> None:
    near = {"latitude": A_LAT, "longitude": A_LON, "radiusKm": 10}
    first = find(client, near=near, first=2)
    assert first["pageInfo"]["hasNextPage"] is True and len(first["nodes"]) == 2
    rest = find(client, near=near, first=2, after=first["pageInfo"]["endCursor"])
    assert [o["title"] for o in rest["nodes"]] == [LANDSLIDE]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_show_need_to_readers_who_may_see_it(client: TestClient, county: County) -> None:
    got = find(client, token=county.token("grid_worker"), skills=["electrician"])
    assert got["nodes"][0]["need"] == {"id": county.gid("Need", "need_open")}
    # A volunteer not signed up for it nor dispatched to it: not theirs to open.
    got = find(client, token=county.token("volunteer"), skills=["electrician"])
    assert got["nodes"][0]["need"] is None


def test_show_exact_place_and_title_only_to_those_handling_the_need(
    client: TestClient, county: County
) -> None:
    """Issue 10, finding 5: anonymous callers got the resident's title and the exact point."""

    def streetlight(who: str | None) -> dict[str, Any]:
        token = county.token(who) if who else None
        node = find(client, token=token, skills=["electrician"])["nodes"][0]
        return {k: node[k] for k in ("title", "latitude", "longitude")}

    snapped = {"title": STREETLIGHT, "latitude": 27.0504, "longitude": 114.92}
    assert streetlight(None) == streetlight("volunteer") == streetlight("outsider") == snapped
    exact = {"title": "路灯不亮", "latitude": A_LAT, "longitude": A_LON}
    assert streetlight("grid_worker") == streetlight("admin") == exact


def test_find_needs_by_their_public_point_only(client: TestClient, county: County) -> None:
    """A tiny radius around the exact point must not single it out (trilateration)."""
    exact = {"latitude": A_LAT, "longitude": A_LON, "radiusKm": 0.01}
    assert [o["kind"] for o in find(client, near=exact)["nodes"]] == ["ACTIVITY"]


@pytest.mark.parametrize("radius", [0, -1, 101])
def test_refuse_bad_radius(client: TestClient, county: County, radius: float) -> None:
    body = gql(
        client,
        QUERY,
        {"near": {"latitude": A_LAT, "longitude": A_LON, "radiusKm": radius}},
        expect_errors=True,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_snapped_points_are_six_decimals_without_float_noise(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    # attack3: the database's snap (round(x / step) * step) answered 27.064799999999998.
    f.need(engine, county.quantang.id, latitude=27.0648, longitude=114.9246)
    near = {"latitude": 27.0648, "longitude": 114.9246, "radiusKm": 2}
    nodes = find(client, near=near, first=50)["nodes"]
    points = [(n["latitude"], n["longitude"]) for n in nodes if n["kind"] == "NEED"]
    assert (27.0648, 114.924) in points
    assert all(round(lat, 6) == lat and round(lon, 6) == lon for lat, lon in points)
