"""The README's days ("Everyone's own day", and the business weather station's helper and
enterprise days), every block played as written, in order, by the demo account named, on ONE
seeded reference county (seeding takes seconds: once per module)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.relay import from_global_id
from schema.base import utcnow
from schema.db import make_engine
from schema.migrate import upgrade
from schema.models import Activity, SignUp
from seed.load import load_reference
from tests.conftest import gql, make_settings
from tests.seed.conftest import fresh_seed_database

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"""


def _section(title: str, end: str = "\n## ") -> str:
    start = README.index(title)
    return README[start : README.index(end, start + 1)]


def _steps(text: str) -> list[tuple[str, str]]:
    """(document, variables as text) of each graphql block, in order."""
    out: list[tuple[str, str]] = []
    for kind, body in re.findall(r"```(graphql|json)\n(.*?)```", text, flags=re.S):
        if kind == "graphql":
            out.append((body, "{}"))
        else:
            out[-1] = (out[-1][0], body)
    return out


@pytest.fixture(scope="module")
def county_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_seed_database(tmp_path_factory.mktemp("days")) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            load_reference(engine, reset=False)
        finally:
            engine.dispose()
        yield url


@pytest.fixture(scope="module")
def client(county_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(county_url, clock_seconds=0))) as c:
        yield c


class Player:
    """Plays blocks as demo accounts, filling the placeholders from earlier answers."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}

    def token(self, who: str) -> str:
        if who not in self.tokens:
            answer = gql(self.client, LOGIN, {"u": f"demo-{who}", "p": "luling-demo"})
            self.tokens[who] = answer["data"]["login"]["token"]
        return self.tokens[who]

    def play(self, who: str, step: tuple[str, str], **variables: Any) -> Any:
        document, text = step
        for name, value in self.ids.items():
            text = text.replace(name, value)
        body = gql(self.client, document, json.loads(text) | variables, token=self.token(who))
        data = body["data"]
        for answer in data.values():
            if isinstance(answer, dict) and "userErrors" in answer:
                assert answer["userErrors"] == [], (document, answer)
        return next(iter(data.values())) if len(data) == 1 else data


def test_everyones_own_day(client: TestClient, county_url: str) -> None:
    steps = iter(_steps(_section("## Everyone's own day")))
    p = Player(client)

    # The resident reports and follows.
    need = p.play("resident", next(steps))["need"]
    p.ids["NEED_ID"] = need["id"]
    mine = p.play("resident", next(steps))["myNeeds"]
    assert need["id"] in [n["id"] for n in mine["nodes"]]

    # The volunteer finds it nearby and offers.
    nearby = p.play("volunteer", next(steps))["nodes"]
    assert need["id"] in [o["id"] for o in nearby] and {o["kind"] for o in nearby} == {"NEED"}
    offer = p.play("volunteer", next(steps))["offer"]
    assert offer["status"] == "OFFERED"
    p.ids["OFFER_ID"] = offer["id"]

    # The coordinator sees the offer and accepts: the volunteer is dispatched.
    waiting = p.play("coordinator", next(steps))["nodes"]
    offers = next(n["offers"] for n in waiting if n["id"] == need["id"])
    assert [o["id"] for o in offers] == [offer["id"]]
    accepted = p.play("coordinator", next(steps))
    assert accepted["offer"]["status"] == "ACCEPTED"
    assert accepted["need"]["status"] == "DISPATCHED" and accepted["need"]["arriveBy"]

    # The volunteer sees where they are sent, arrives and resolves.
    sent = p.play("volunteer", next(steps))["myAssignments"]["nodes"]
    assert need["id"] in [a["need"]["id"] for a in sent]
    assert p.play("volunteer", next(steps))["need"]["status"] == "ARRIVED"
    assert p.play("volunteer", next(steps))["need"]["status"] == "RESOLVED"

    # The resident sees who came (name, not phone) and rates.
    came = p.play("resident", next(steps), id=need["id"])["assignments"]
    (person,) = [a["person"] for a in came if a["active"]]
    assert person["name"] and (person["phone"] is None or "****" in person["phone"])
    assert p.play("resident", next(steps))["need"]["status"] == "CLOSED"

    # The volunteer's activity: found nearby, signed up, served (as if it had started two hours
    # ago: the seeded activities lie ahead), hours in `me`.
    activities = p.play("volunteer", next(steps))["nodes"]
    open_ones = [a for a in activities if a["placesLeft"] > 0]
    assert open_ones, activities
    activity_id = open_ones[0]["id"]
    p.ids["ACTIVITY_ID"] = activity_id
    sign_up = p.play("volunteer", next(steps))["signUp"]
    p.ids["SIGN_UP_ID"] = sign_up["id"]
    engine = make_engine(county_url)
    try:
        pk = _pk(activity_id)
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(
                sa.update(Activity)
                .where(Activity.id == pk)  # type: ignore[arg-type]  # a column
                .values(starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=1))
            )
        assert p.play("volunteer", next(steps))["signUp"]["status"] == "CHECKED_IN"
        with engine.begin() as conn:
            conn.execute(
                sa.update(SignUp)
                .where(SignUp.id == _pk(sign_up["id"]))  # type: ignore[arg-type]  # a column
                .values(checked_in_at=now - timedelta(hours=2))
            )
    finally:
        engine.dispose()
    out = p.play("volunteer", next(steps))["signUp"]
    assert out["status"] == "CHECKED_OUT" and out["minutes"] >= 119
    me = p.play("volunteer", next(steps))
    assert me["serviceHours"]["minutes"] >= out["minutes"]
    assert me["mySignUps"]["nodes"][0]["minutes"] == out["minutes"]

    # The coordinator's matching run: start, read until solved, accept one, commit.
    job = p.play("coordinator", next(steps))["job"]
    read = next(steps)
    deadline = time.monotonic() + 120
    while True:
        found = p.play("coordinator", read, id=job["id"])
        if found["status"] not in ("QUEUED", "RUNNING") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert found["status"] == "SUCCEEDED", found
    proposals = [n["id"] for n in found["proposals"]["nodes"]]
    decide, commit = next(steps), next(steps)
    if proposals:
        decided = p.play("coordinator", decide, ids=proposals[:1])["proposals"]
        assert decided[0]["status"] == "ACCEPTED"
    done = p.play("coordinator", commit, id=job["id"])
    assert done["job"]["status"] == "COMMITTED"
    assert len(done["committed"]) + len(done["stale"]) == len(proposals[:1])
    assert next(steps, None) is None  # every block of the section was played


def _pk(global_id: str) -> int:
    return from_global_id(global_id)[1]


def test_helper_and_enterprise_days(client: TestClient) -> None:
    """The business weather station's days still run as written."""
    text = _section("## The business weather station")
    helper = _steps(text[: text.index("### An enterprise's day")])
    enterprise = _steps(text[text.index("### An enterprise's day") :])
    p = Player(client)
    me = gql(client, "{ me { personId } }", token=p.token("helper"))["data"]["me"]["personId"]
    carrying = p.play("helper", helper[0], me=me)
    pool = p.play("helper", helper[1])["nodes"]
    # Submitted by the enterprise, claimed by the helper within their limit, worked, resolved.
    submitted = p.play("enterprise", enterprise[0])["enterpriseRequest"]
    p.ids["REQUEST_ID"] = submitted["id"]
    assert carrying["totalCount"] < 3 or pool  # within the limit of three
    claimed = p.play("helper", helper[2])["enterpriseRequest"]
    assert claimed["status"] == "ASSIGNED"
    worked = p.play("helper", helper[3])
    assert worked["resolveEnterpriseRequest"]["enterpriseRequest"]["status"] == "RESOLVED"
    ours = p.play("enterprise", enterprise[1])["nodes"]
    assert submitted["id"] in [r["id"] for r in ours]
    assert p.play("enterprise", enterprise[2])["enterpriseRequest"]["status"] == "CLOSED"
