"""资源联用 over HTTP: a unit's resources added, changed and retired; matching sees each change
from the next job on; a resource lent to an open need is not retired (nor cut below what is
lent); a commit after a retirement leaves the resource out; two offices at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from schema.enums import NeedStatus, ResourceKind
from schema.models import Need, NeedAssignment, NeedResource, Resource
from tests.api.graphql.admin_calls import at_once, call
from tests.api.graphql.matching.test_jobs import World, start, wait_for
from tests.api.graphql.mutate import error_codes, gid, ok
from tests.conftest import gql
from tests.county import A_LAT, A_LON, NOW, County

pytestmark = pytest.mark.county("units")

JOB = """query($id: ID!) { matchingJob(id: $id) { id status
  proposals(first: 100) { nodes { id kind status quantity need { id } resource { id } } } } }"""
ACCEPT = """mutation($id: ID!) { acceptProposal(proposalId: $id) { proposal { id status }
  userErrors { code } } }"""
COMMIT = """mutation($id: ID!) { commitMatchingJob(jobId: $id) { committed { id }
  stale { id resource { id } } userErrors { field message code } } }"""


def _hall(county: County, **over: Any) -> dict[str, Any]:
    return {
        "unitId": county.gid("PairedUnit", "gov"),
        "name": "组织部会议室",
        "kind": "VENUE",
        "quantity": 30,
        "unitLabel": "座",
    } | over


def _resource(engine: sa.Engine, resource_id: str) -> Resource:
    from api.graphql.relay import from_global_id

    with Session(engine) as s:
        row = s.get(Resource, from_global_id(resource_id)[1])
        assert row is not None
        return row


def test_add_change_and_retire_a_resource(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    token = county.token("coordinator")
    hall = ok(call(client, "addResource", _hall(county), token))["resource"]
    assert hall["quantity"] == 30 and hall["isAvailable"] and hall["retiredAt"] is None
    assert hall["unit"]["id"] == county.gid("PairedUnit", "gov") and hall["version"] == 1
    row = _resource(engine, hall["id"])
    assert (row.latitude, row.longitude) == (A_LAT, A_LON)  # the unit's place by default
    until = (NOW + timedelta(days=30)).isoformat()
    changed = ok(
        call(
            client,
            "updateResource",
            {
                "resourceId": hall["id"],
                "expectedVersion": 1,
                "quantity": 40,
                "availableUntil": until,
            },
            token,
        )
    )["resource"]
    assert changed["quantity"] == 40 and changed["version"] == 2 and changed["availableUntil"]
    opened = ok(
        call(
            client, "updateResource", {"resourceId": hall["id"], "clearAvailableUntil": True}, token
        )
    )["resource"]
    assert opened["availableUntil"] is None and opened["version"] == 3
    retired = ok(
        call(client, "retireResource", {"resourceId": hall["id"], "expectedVersion": 3}, token)
    )["resource"]
    assert retired["retiredAt"] and retired["isAvailable"] is False and retired["version"] == 4
    listed = gql(
        client,
        "query($u: ID) { resources(unit: $u, retired: false, first: 10) { nodes { id } } }",
        {"u": county.gid("PairedUnit", "gov")},
        token=token,
    )["data"]["resources"]["nodes"]
    assert listed == [{"id": county.gid("Resource", "van")}]
    for name, input in (
        ("retireResource", {"resourceId": hall["id"]}),
        ("updateResource", {"resourceId": hall["id"], "quantity": 1}),
    ):
        payload = call(client, name, input, token)
        assert (
            error_codes(payload) == ["BAD_USER_INPUT"]
            and "retired" in payload["userErrors"][0]["message"]
        )
    assert _resource(engine, hall["id"]).quantity == 40


def test_resources_in_own_area_only(client: TestClient, county: County, engine: sa.Engine) -> None:
    outsider = county.token("outsider")  # Hengxi's coordinator
    prop = county.gid("PairedUnit", "property")  # twinned with Quantang only
    assert error_codes(call(client, "addResource", _hall(county, unitId=prop), outsider)) == [
        "FORBIDDEN"
    ]
    room = county.gid("Resource", "room")  # Quantang's service station's
    for name, input in (
        ("updateResource", {"resourceId": room, "isAvailable": True}),
        ("retireResource", {"resourceId": room}),
    ):
        assert error_codes(call(client, name, input, outsider)) == ["FORBIDDEN"]
    # The van is the organisation department's, twinned with Hengxi too: Hengxi may change it.
    van = county.gid("Resource", "van")
    ok(call(client, "updateResource", {"resourceId": van, "quantity": 3}, outsider))
    # Kept for a community the unit is not twinned with: refused.
    hx = gid("Community", county.hengxi.id)
    payload = call(
        client, "addResource", _hall(county, unitId=prop, communityId=hx), county.token("admin")
    )
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    for who in ("grid_worker", "volunteer"):
        body = gql(
            client,
            "mutation($i: RetireResourceInput!) { retireResource(input: $i) { resource { id } } }",
            {"i": {"resourceId": van}},
            token=county.token(who),
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _resource(engine, room).retired_at is None


def test_refuse_bad_resource_input(client: TestClient, county: County, engine: sa.Engine) -> None:
    token = county.token("coordinator")
    payload = call(
        client,
        "addResource",
        _hall(
            county,
            name="",
            quantity=-1,
            latitude=10.0,
            longitude=10.0,
            availableFrom=NOW.isoformat(),
            availableUntil=(NOW - timedelta(days=1)).isoformat(),
        ),
        token,
    )
    fields = {tuple(e["field"]) for e in payload["userErrors"]}
    assert fields == {
        ("input", "name"),
        ("input", "quantity"),
        ("input", "location"),
        ("input", "availableUntil"),
    }
    van = county.gid("Resource", "van")
    bad = call(client, "updateResource", {"resourceId": van, "quantity": -5}, token)
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    wrong = call(client, "updateResource", {"resourceId": county.gid("Need", "gov")}, token)
    assert error_codes(wrong) == ["BAD_USER_INPUT"]
    with Session(engine) as s:
        assert len(s.exec(select(Resource)).all()) == 2
        assert s.get(Resource, county.rows["van"].id).quantity == 2  # type: ignore[union-attr]


# ---------------------------------------------------------------- matching sees it at once


@pytest.fixture
def world(county: County) -> World:
    w = World(county)
    with Session(w.engine) as s:  # the first need also wants a hall for 20
        s.add(NeedResource(need_id=w.needs[0].id, kind=ResourceKind.VENUE, quantity=20))
        s.commit()
    return w


def _job(client: TestClient, world: World) -> dict[str, Any]:
    started = start(client, world.token(), kinds=["RESOURCE"])
    assert started["userErrors"] == [], started
    done = wait_for(client, world.token(), started["job"]["id"])
    assert done["status"] == "SUCCEEDED", done
    return gql(client, JOB, {"id": done["id"]}, token=world.token())["data"]["matchingJob"]


def _lent(job: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (p["resource"]["id"], p["quantity"])
        for p in job["proposals"]["nodes"]
        if p["kind"] == "RESOURCE"
    ]


def test_matching_sees_a_resource_added_and_retired_at_once(
    client: TestClient, world: World, county: County
) -> None:
    token = county.token("coordinator")
    assert _lent(_job(client, world)) == []  # no hall in the county yet
    hall = ok(call(client, "addResource", _hall(county), token))["resource"]
    first = _job(client, world)
    assert _lent(first) == [(hall["id"], 20)]
    ok(call(client, "updateResource", {"resourceId": hall["id"], "quantity": 10}, token))
    # The cut is seen by the next job: it lends the 10 there are (of the 20 wanted).
    assert _lent(_job(client, world)) == [(hall["id"], 10)]
    ok(call(client, "updateResource", {"resourceId": hall["id"], "quantity": 30}, token))
    ok(call(client, "retireResource", {"resourceId": hall["id"]}, token))
    assert _lent(_job(client, world)) == []
    # The job solved before the retirement: committing it leaves the hall out (stale).
    (proposal,) = [p for p in first["proposals"]["nodes"] if p["kind"] == "RESOURCE"]
    gql(client, ACCEPT, {"id": proposal["id"]}, token=world.token())
    commit = gql(client, COMMIT, {"id": first["id"]}, token=world.token())["data"][
        "commitMatchingJob"
    ]
    assert commit["userErrors"] == [] and commit["committed"] == []
    assert [s["resource"]["id"] for s in commit["stale"]] == [hall["id"]]
    with Session(world.engine) as s:
        assert (
            s.exec(select(NeedAssignment).where(col(NeedAssignment.resource_id).is_not(None))).all()
            == []
        )


def _lend_through_matching(client: TestClient, world: World, county: County) -> tuple[str, int]:
    hall = ok(call(client, "addResource", _hall(county), county.token("coordinator")))["resource"]
    job = _job(client, world)
    (proposal,) = [p for p in job["proposals"]["nodes"] if p["kind"] == "RESOURCE"]
    gql(client, ACCEPT, {"id": proposal["id"]}, token=world.token())
    commit = gql(client, COMMIT, {"id": job["id"]}, token=world.token())["data"][
        "commitMatchingJob"
    ]
    assert commit["userErrors"] == [] and len(commit["committed"]) == 1
    need_id = world.needs[0].id
    assert need_id is not None
    return hall["id"], need_id


def test_a_resource_lent_to_an_open_need_is_not_retired(
    client: TestClient, world: World, county: County
) -> None:
    token = county.token("coordinator")
    hall, need_id = _lend_through_matching(client, world, county)
    refused = call(client, "retireResource", {"resourceId": hall}, token)
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    message = refused["userErrors"][0]["message"]
    assert f"#{need_id} (20)" in message and "isAvailable: false" in message
    cut = call(client, "updateResource", {"resourceId": hall, "quantity": 19}, token)
    assert (
        error_codes(cut) == ["BAD_USER_INPUT"] and f"#{need_id}" in cut["userErrors"][0]["message"]
    )
    # Lend no more now; the need keeps its 20.
    held = ok(call(client, "updateResource", {"resourceId": hall, "isAvailable": False}, token))
    assert held["resource"]["isAvailable"] is False and held["resource"]["retiredAt"] is None
    # Once the need is closed, the hall can be retired.
    with Session(world.engine) as s:
        s.execute(sa.update(Need).where(col(Need.id) == need_id).values(status=NeedStatus.CLOSED))
        s.commit()
    ok(call(client, "retireResource", {"resourceId": hall}, token))


def test_two_offices_change_one_resource_at_once(
    county: County, engine: sa.Engine, database_url: str
) -> None:
    van = county.gid("Resource", "van")
    tokens = [county.token("coordinator"), county.token("outsider"), county.token("admin")]
    results = at_once(
        database_url,
        [
            lambda c, t=t, q=q: call(
                c, "updateResource", {"resourceId": van, "expectedVersion": 1, "quantity": q}, t
            )
            for q, t in enumerate(tokens, start=5)
        ],
    )
    winners = [r for r in results if not r["userErrors"]]
    assert len(winners) == 1 and all(
        error_codes(r) == ["CONFLICT"] for r in results if r["userErrors"]
    )
    row = _resource(engine, van)
    assert row.version == 2 and row.quantity == winners[0]["resource"]["quantity"]


def test_retiring_while_a_commit_lends_it(
    client: TestClient, world: World, county: County, database_url: str
) -> None:
    """Either the commit lends the hall and the retirement is refused, or the hall is retired
    and the commit leaves it out: never a retired hall lent to an open need."""
    hall = ok(call(client, "addResource", _hall(county), county.token("coordinator")))["resource"]
    job = _job(client, world)
    (proposal,) = [p for p in job["proposals"]["nodes"] if p["kind"] == "RESOURCE"]
    gql(client, ACCEPT, {"id": proposal["id"]}, token=world.token())
    retire, commit = at_once(
        database_url,
        [
            lambda c: call(c, "retireResource", {"resourceId": hall["id"]}, county.token("admin")),
            lambda c: gql(c, COMMIT, {"id": job["id"]}, token=world.token())["data"][
                "commitMatchingJob"
            ],
        ],
    )
    row = _resource(world.engine, hall["id"])
    with Session(world.engine) as s:
        lent = s.exec(select(NeedAssignment).where(NeedAssignment.resource_id == row.id)).all()
    if row.retired_at is None:
        assert error_codes(retire) in (["BAD_USER_INPUT"], ["CONFLICT"])
        assert len(lent) == (0 if commit["userErrors"] else 1)
    else:
        assert retire["userErrors"] == [] and lent == []
        assert commit["userErrors"] or commit["committed"] == []
    assert to_global_id("Resource", row.id or 0) == hall["id"]
