"""Teams over HTTP: create, add and remove members; the commando (党员突击队) formed in
emergency mode, its members told (mobilised) and returned to their teams when the area
switches back; roles and scope; bad input; two offices at once."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from schema.enums import PersonKind, TeamKind
from schema.models import Person, Team, TeamMembership
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok, race
from tests.api.graphql.needs.test_subscriptions import (
    PROTOCOL,
    next_data,
    subscribe,
    wait_for_subscriber,
)
from tests.conftest import gql
from tests.county import A_LAT, A_LON, County

pytestmark = pytest.mark.county("teams")

TEAM = "id name kind disbandedAt members { isLeader person { id } awayWithTeam { id } }"
SELECTIONS = {
    "createTeam": f"team {{ {TEAM} }}",
    "removeTeamMember": f"team {{ {TEAM} }}",
    "formCommando": f"team {{ {TEAM} }}",
    "addTeamMember": "membership { isLeader person { id } team { id } }",
}


def call(client: TestClient, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    kind = name[0].upper() + name[1:]
    doc = (
        f"mutation($input: {kind}Input!) {{ {name}(input: $input) {{ {SELECTIONS[name]} "
        "userErrors { field message code } } }"
    )
    return gql(client, doc, {"input": input}, token=token)["data"][name]


def _teams(engine: sa.Engine) -> list[Team]:
    with Session(engine) as s:
        return list(s.exec(select(Team).order_by(Team.id)).all())


def test_create_team_add_and_remove_members(client: TestClient, county: County) -> None:
    coordinator = county.token("coordinator")
    qt = gid("Community", county.quantang.id)
    team = ok(
        call(
            client,
            "createTeam",
            {"name": "蚂蚁行动", "kind": "ANT_ACTION", "communityId": qt},
            coordinator,
        )
    )["team"]
    assert (team["kind"], team["members"]) == ("ANT_ACTION", [])
    volunteer, rider = county.gid("Person", "volunteer"), county.gid("Person", "rider")
    added = call(
        client,
        "addTeamMember",
        {"teamId": team["id"], "personId": volunteer, "isLeader": True},
        coordinator,
    )
    assert ok(added)["membership"] == {
        "isLeader": True,
        "person": {"id": volunteer},
        "team": {"id": team["id"]},
    }
    ok(call(client, "addTeamMember", {"teamId": team["id"], "personId": rider}, coordinator))
    again = call(
        client, "addTeamMember", {"teamId": team["id"], "personId": volunteer}, coordinator
    )
    assert ok(again)["membership"]["isLeader"] is False  # added again: only leadership changes
    removed = ok(
        call(client, "removeTeamMember", {"teamId": team["id"], "personId": rider}, coordinator)
    )
    assert [m["person"]["id"] for m in removed["team"]["members"]] == [volunteer]
    gone = call(client, "removeTeamMember", {"teamId": team["id"], "personId": rider}, coordinator)
    assert error_codes(gone) == ["NOT_FOUND"]


def test_refuse_team_changes_outside_role_or_area(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    team1 = county.gid("Team", "team1")  # Quantang's riders
    rider = county.gid("Person", "rider")
    outsider = county.token("outsider")  # Hengxi's coordinator
    assert error_codes(
        call(client, "removeTeamMember", {"teamId": team1, "personId": rider}, outsider)
    ) == ["FORBIDDEN"]
    assert error_codes(
        call(client, "addTeamMember", {"teamId": team1, "personId": rider}, outsider)
    ) == ["FORBIDDEN"]
    # A community's coordinator does not create county-wide teams, nor teams elsewhere.
    coordinator = county.token("coordinator")
    county_wide = {"name": "县级队", "kind": "VOLUNTEER_SERVICE"}
    assert error_codes(call(client, "createTeam", county_wide, coordinator)) == ["FORBIDDEN"]
    elsewhere = county_wide | {"communityId": gid("Community", county.hengxi.id)}
    assert error_codes(call(client, "createTeam", elsewhere, coordinator)) == ["FORBIDDEN"]
    body = gql(
        client,
        "mutation($i: CreateTeamInput!) { createTeam(input: $i) { team { id } } }",
        {"i": county_wide},
        token=county.token("volunteer"),
        expect_errors=True,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    with Session(engine) as s:
        assert (
            len(
                s.exec(
                    select(TeamMembership).where(TeamMembership.team_id == county.rows["team1"].id)
                ).all()
            )
            == 2
        )
    assert len(_teams(engine)) == 2


def test_refuse_bad_team_input_and_change_nothing(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    admin = county.token("admin")
    cases = [
        ({"name": "  ", "kind": "ANT_ACTION"}, "BAD_USER_INPUT", "name"),
        ({"name": "x" * 65, "kind": "ANT_ACTION"}, "BAD_USER_INPUT", "name"),
        ({"name": "手工突击队", "kind": "COMMANDO"}, "BAD_USER_INPUT", "kind"),
        ({"name": "吉先锋骑手队", "kind": "NEW_BUSINESS"}, "CONFLICT", "name"),
        (
            {"name": "新队", "kind": "ANT_ACTION", "communityId": gid("Community", 999)},
            "NOT_FOUND",
            "communityId",
        ),
        (
            {"name": "新队", "kind": "ANT_ACTION", "communityId": "bad"},
            "BAD_USER_INPUT",
            "communityId",
        ),
    ]
    for input, code, field in cases:
        payload = call(client, "createTeam", input, admin)
        assert (error_codes(payload), payload["userErrors"][0]["field"]) == (
            [code],
            ["input", field],
        ), input
    team1 = county.gid("Team", "team1")
    unknown = call(
        client, "addTeamMember", {"teamId": team1, "personId": gid("Person", 999)}, admin
    )
    assert error_codes(unknown) == ["NOT_FOUND"]
    assert len(_teams(engine)) == 2


def _flag_commandos(engine: sa.Engine, county: County) -> Person:
    """The volunteer (a rider-team member) and a second Quantang member are commando-flagged;
    the rider (Hengxi) is not."""
    with Session(engine) as s:
        volunteer = s.get(Person, county.volunteer.id)
        assert volunteer is not None
        volunteer.is_commando = True
        s.add(volunteer)
        s.commit()
    return f.person(
        engine,
        is_commando=True,
        registered_community_id=county.quantang.id,
        latitude=A_LAT,
        longitude=A_LON,
    )


MOBILISED = "subscription { mobilised { action team { id kind disbandedAt } } }"


def test_form_commando_in_emergency_and_return_members_on_normal(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    other = _flag_commandos(engine, county)
    coordinator = county.token("coordinator")
    qt = gid("Community", county.quantang.id)
    early = call(client, "formCommando", {"communityId": qt}, coordinator)
    assert error_codes(early) == ["ILLEGAL_TRANSITION"]  # the area is in normal mode
    ok(mutate(client, "setAreaMode", {"communityId": qt, "mode": "EMERGENCY"}, coordinator))
    with subscribe(client, county.token("volunteer"), MOBILISED, {}) as ws:
        wait_for_subscriber(client, f"person:{county.volunteer.id}:mobilisation")
        team = ok(call(client, "formCommando", {"communityId": qt}, coordinator))["team"]
        assert team["kind"] == "COMMANDO" and team["disbandedAt"] is None
        members = sorted(m["person"]["id"] for m in team["members"])
        assert members == sorted([county.gid("Person", "volunteer"), gid("Person", other.id)])
        told = next_data(ws)["mobilised"]
        assert told["action"] == "MOBILISED" and told["team"]["id"] == team["id"]
        # Away from the riders' team while mobilised; forming again returns the same team.
        riders = _membership(engine, county.rows["team1"].id, county.volunteer.id)
        assert riders.away_with_team_id is not None
        assert (
            ok(call(client, "formCommando", {"communityId": qt}, coordinator))["team"]["id"]
            == team["id"]
        )
        ok(mutate(client, "setAreaMode", {"communityId": qt, "mode": "NORMAL"}, coordinator))
        back = next_data(ws)["mobilised"]
    assert back["action"] == "STOOD_DOWN" and back["team"]["disbandedAt"]
    assert (
        _membership(engine, county.rows["team1"].id, county.volunteer.id).away_with_team_id is None
    )
    commandos = [t for t in _teams(engine) if t.kind is TeamKind.COMMANDO]
    assert len(commandos) == 1 and commandos[0].disbanded_at is not None


def _membership(engine: sa.Engine, team_id: int | None, person_id: int | None) -> TeamMembership:
    with Session(engine) as s:
        row = s.exec(
            select(TeamMembership).where(
                TeamMembership.team_id == team_id, TeamMembership.person_id == person_id
            )
        ).one()
        return row


def test_refuse_commando_outside_area_or_without_members(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    hx = gid("Community", county.hengxi.id)
    outsider = county.token("outsider")
    ok(mutate(client, "setAreaMode", {"communityId": hx, "mode": "EMERGENCY"}, outsider))
    nobody = call(client, "formCommando", {"communityId": hx}, outsider)
    assert error_codes(nobody) == ["BAD_USER_INPUT"]  # nobody in Hengxi is flagged
    assert error_codes(
        call(client, "formCommando", {"communityId": hx}, county.token("coordinator"))
    ) == ["FORBIDDEN"]
    # Someone else's mobilisations: staff of their area only.
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {outsider}"}}
        )
        assert ws.receive_json()["type"] == "connection_ack"
        query = "subscription($p: ID) { mobilised(personId: $p) { action } }"
        variables = {"p": county.gid("Person", "volunteer")}
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        message = ws.receive_json()
    assert message["type"] in ("error", "next")
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert [t for t in _teams(engine) if t.kind is TeamKind.COMMANDO] == []


def test_two_offices_form_the_commando_at_once(
    client: TestClient, engine: sa.Engine, database_url: str, county: County
) -> None:
    _flag_commandos(engine, county)
    qt = gid("Community", county.quantang.id)
    ok(
        mutate(
            client,
            "setAreaMode",
            {"communityId": qt, "mode": "EMERGENCY"},
            county.token("coordinator"),
        )
    )
    tokens = [county.token("coordinator"), county.token("county_coordinator")]
    results = race(
        database_url,
        [lambda c, t=t: call(c, "formCommando", {"communityId": qt}, t) for t in tokens],
    )
    formed = [r["team"]["id"] for r in results if not r["userErrors"]]
    assert formed and len(set(formed)) == 1, results
    assert all(error_codes(r) in ([], ["CONFLICT"]) for r in results)
    assert len([t for t in _teams(engine) if t.kind is TeamKind.COMMANDO]) == 1


def test_two_offices_add_the_same_member_at_once(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    team = f.team(
        engine, name="蚂蚁行动", kind=TeamKind.ANT_ACTION, community_id=county.quantang.id
    )
    input = {"teamId": gid("Team", team.id), "personId": county.gid("Person", "volunteer")}
    tokens = [county.token("coordinator"), county.token("admin")]
    results = race(
        database_url, [lambda c, t=t: call(c, "addTeamMember", input, t) for t in tokens]
    )
    assert all(error_codes(r) in ([], ["CONFLICT"]) for r in results) and any(
        not r["userErrors"] for r in results
    )
    with Session(engine) as s:
        assert (
            len(s.exec(select(TeamMembership).where(TeamMembership.team_id == team.id)).all()) == 1
        )


def test_a_member_the_caller_may_not_see_is_null_not_an_error(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    """A resident on a team (added by the area's coordinator) is not visible to a volunteer:
    the volunteer reads the team with that member's person null, not an INTERNAL error."""
    resident = f.person(
        engine,
        name="刘阿婆",
        kind=PersonKind.RESIDENT,
        is_party_member=False,
        registered_community_id=county.quantang.id,
    )
    qt = gid("Community", county.quantang.id)
    coordinator = county.token("coordinator")
    team = ok(
        call(
            client,
            "createTeam",
            {"name": "楼栋互助队", "kind": "ANT_ACTION", "communityId": qt},
            coordinator,
        )
    )["team"]
    member = gid("Person", resident.id)
    ok(call(client, "addTeamMember", {"teamId": team["id"], "personId": member}, coordinator))
    doc = "query($id: ID!) { node(id: $id) { ... on Team { name members { person { id } } } } }"
    seen = gql(client, doc, {"id": team["id"]}, token=county.token("volunteer"))
    assert seen["data"]["node"] == {"name": "楼栋互助队", "members": [{"person": None}]}
    staff = gql(client, doc, {"id": team["id"]}, token=coordinator)
    assert staff["data"]["node"]["members"] == [{"person": {"id": member}}]
