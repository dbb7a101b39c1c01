"""Hostile input to `volunteerOpportunities` and `activities`: a search point off the Earth, an
unknown skill code the size of a page, `fitsMyWindows` from someone without weekly windows."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from schema.enums import Role
from tests import factories as f
from tests.conftest import gql
from tests.county import County

OPPORTUNITIES = """query($near: NearInput, $skills: [String!], $fits: Boolean! = false) {
  volunteerOpportunities(first: 5, near: $near, skills: $skills, fitsMyWindows: $fits) {
    totalCount nodes { id } } }"""
ACTIVITIES = """query($near: NearInput) { activities(first: 5, near: $near) { totalCount } }"""


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None or all(v is None for v in body["data"].values())
    error: dict[str, Any] = body["errors"][0]
    return error


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(91.0, 114.9), (-90.5, 114.9), (27.0, 180.5), (27.0, -181.0), (1e308, 1e308)],
)
@pytest.mark.parametrize("query", [OPPORTUNITIES, ACTIVITIES])
def test_a_point_off_the_earth_is_refused(
    client: TestClient, county: County, query: str, latitude: float, longitude: float
) -> None:
    near = {"latitude": latitude, "longitude": longitude, "radiusKm": 5}
    body = gql(client, query, {"near": near}, expect_errors=True)
    error = _error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "latitude" in error["message"] or "longitude" in error["message"]


def test_a_point_at_the_pole_is_still_a_point(client: TestClient, county: County) -> None:
    near = {"latitude": 90.0, "longitude": -180.0, "radiusKm": 5}
    body = gql(client, ACTIVITIES, {"near": near})
    assert body["data"]["activities"]["totalCount"] == 0


def test_unknown_skill_codes_are_named_briefly(client: TestClient, county: County) -> None:
    token = county.token("volunteer")
    huge = "a" * 50_000
    many = [f"code-{i}" for i in range(500)]
    body = gql(client, OPPORTUNITIES, {"skills": [huge, *many]}, token=token, expect_errors=True)
    error = _error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(error["message"]) < 500  # the reply does not echo 50 kB back
    assert "aaaa" in error["message"] and "code-0" in error["message"]
    assert "496 more" in error["message"]


def test_fits_my_windows_without_windows_says_why(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    resident = f.person(engine, registered_community_id=county.quantang.id)
    token = f.token_for(f.account(engine, Role.RESIDENT, person_id=resident.id))
    body = gql(client, OPPORTUNITIES, {"fits": True}, token=token, expect_errors=True)
    error = _error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "weekly" in error["message"]
