"""`volunteerOpportunities` and `activities` filters over HTTP: `kind`, skill codes checked
against the catalogue, `fitsMyWindows` (a volunteer's weekly windows, county local time), needs
past their service window left out, and `activities(near:, skills:)`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from schema.base import LOCAL_ZONE, utcnow
from schema.enums import NeedStatus, Role
from schema.models import ActivitySkill, Availability, Skill
from tests import factories as f
from tests.api.graphql.mutate import gid
from tests.conftest import gql
from tests.county import County

OPPORTUNITIES = """query($kind: OpportunityKind, $skills: [String!], $fits: Boolean! = false) {
  volunteerOpportunities(first: 100, kind: $kind, skills: $skills, fitsMyWindows: $fits) {
    nodes { id kind } } }"""


def _ids(body: dict[str, Any]) -> set[str]:
    return {n["id"] for n in body["data"]["volunteerOpportunities"]["nodes"]}


def _local(day: int, hour: int) -> datetime:
    """`hour` o'clock county time, `day` days from today."""
    today = utcnow().astimezone(LOCAL_ZONE).date() + timedelta(days=day)
    return datetime(today.year, today.month, today.day, hour, tzinfo=LOCAL_ZONE)


def test_kind_and_unknown_skills(client: TestClient, engine: sa.Engine, county: County) -> None:
    qt = county.quantang.id
    need = f.need(engine, qt, status=NeedStatus.ACCEPTED)
    act = f.activity(engine, qt, starts_at=_local(2, 9), ends_at=_local(2, 11))
    token = county.token("volunteer")
    needs = _ids(gql(client, OPPORTUNITIES, {"kind": "NEED"}, token=token))
    activities = _ids(gql(client, OPPORTUNITIES, {"kind": "ACTIVITY"}, token=token))
    assert gid("Need", need.id) in needs and gid("Activity", act.id) not in needs
    assert gid("Activity", act.id) in activities and gid("Need", need.id) not in activities

    for query, variables in (
        (OPPORTUNITIES, {"skills": ["electrician", "juggling"]}),
        ('{ activities(first: 5, skills: ["juggling"]) { totalCount } }', {}),
    ):
        body = gql(client, query, variables, token=token, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "juggling" in body["errors"][0]["message"]


def test_fits_my_windows(client: TestClient, engine: sa.Engine, county: County) -> None:
    qt = county.quantang.id
    person = f.person(engine, registered_community_id=qt)
    token = f.token_for(f.account(engine, Role.VOLUNTEER, person_id=person.id))
    morning = _local(2, 8)  # their window: 08:00–12:00 local, two days from now
    with Session(engine) as s:
        s.add(
            Availability(
                person_id=person.id, weekday=morning.weekday(), start_minute=480, end_minute=720
            )
        )
        s.commit()
    inside = f.activity(engine, qt, starts_at=_local(2, 9), ends_at=_local(2, 11))
    evening = f.activity(engine, qt, starts_at=_local(2, 19), ends_at=_local(2, 21))
    visit = f.need(
        engine, qt, status=NeedStatus.ACCEPTED, window_start=_local(2, 10), window_end=_local(2, 16)
    )
    night_visit = f.need(
        engine, qt, status=NeedStatus.ACCEPTED, window_start=_local(2, 18), window_end=_local(2, 22)
    )
    ended = f.need(
        engine, qt, status=NeedStatus.ACCEPTED, window_start=_local(-2, 8), window_end=_local(-1, 8)
    )
    every = _ids(gql(client, OPPORTUNITIES, token=token))
    assert {gid("Activity", inside.id), gid("Activity", evening.id)} <= every
    assert {gid("Need", visit.id), gid("Need", night_visit.id)} <= every
    assert gid("Need", ended.id) not in every  # past its window: no opportunity

    fitting = _ids(gql(client, OPPORTUNITIES, {"fits": True}, token=token))
    assert gid("Activity", inside.id) in fitting and gid("Need", visit.id) in fitting
    assert gid("Activity", evening.id) not in fitting
    assert gid("Need", night_visit.id) not in fitting

    anonymous = gql(client, OPPORTUNITIES, {"fits": True}, expect_errors=True)
    assert anonymous["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_activities_near_and_skills(client: TestClient, engine: sa.Engine, county: County) -> None:
    qt = county.quantang.id
    f.activity(engine, qt, title="近处", latitude=27.05, longitude=114.92)
    far = f.activity(engine, qt, title="远处", latitude=27.30, longitude=115.20)
    with Session(engine) as s:
        legal = s.exec(sa.select(Skill).where(Skill.code == "legal")).scalar_one_or_none()
        if legal is None:
            legal = Skill(code="legal", name="法律咨询")
            s.add(legal)
            s.flush()
        s.add(ActivitySkill(activity_id=far.id, skill_id=legal.id))
        s.commit()
    q = """query($near: NearInput, $skills: [String!]) {
      activities(first: 50, near: $near, skills: $skills) { nodes { title } } }"""

    def titles(**variables: Any) -> set[str]:
        body = gql(client, q, variables, token=county.token("volunteer"))
        return {n["title"] for n in body["data"]["activities"]["nodes"]}

    near = {"latitude": 27.05, "longitude": 114.92, "radiusKm": 3}
    assert "近处" in titles(near=near) and "远处" not in titles(near=near)
    assert "远处" in titles() and "远处" not in titles(skills=[])
    assert "远处" in titles(skills=["legal"])
