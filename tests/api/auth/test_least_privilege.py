"""Issue 10, the read side: one test per finding that leaked on the reference county (each
fails on the code before the fix), and the privacy table the README carries."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from api.graphql.relay.cursors import BadCursor, seal, unseal
from schema import models as m
from schema.base import utcnow
from schema.disclosure import privacy_table
from schema.enums import (
    EnterpriseAction,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    NeedStatus,
    PersonKind,
    Role,
    SignUpStatus,
)
from tests import factories as f
from tests.api.graphql.activities.test_opportunities import find
from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("activities", "matching")
ROOT = Path(__file__).resolve().parents[3]


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


# --- 1. cursors carry raw sort keys -----------------------------------------------------------


def test_seal_cursors_with_the_secret() -> None:
    sealed = seal(b'["NAME","\xe7\x8e\x8b",1]', "k" * 40)
    assert unseal(sealed, "k" * 40) == b'["NAME","\xe7\x8e\x8b",1]'
    assert seal(b"x", "k" * 40) == seal(b"x", "k" * 40)  # the same position, the same cursor
    for bad in (sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1], "", "!!!"):
        with pytest.raises(BadCursor):
            unseal(bad, "k" * 40)
    with pytest.raises(BadCursor):
        unseal(sealed, "another-secret-" * 3)


def test_hide_sort_keys_in_cursors(client: TestClient, county: County, engine: sa.Engine) -> None:
    f.person(engine, name="王秀英", kind=PersonKind.RESIDENT, is_party_member=False)
    q = """query($after: String) { people(first: 1, after: $after,
             filter: {kind: [RESIDENT]}) { edges { cursor node { name } } } }"""
    edges = gql(client, q, token=county.token("county_coordinator"))["data"]["people"]["edges"]
    assert edges[0]["node"]["name"] == "王秀英"
    cursor = edges[0]["cursor"]
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert "王秀英".encode() not in raw and b"NAME" not in raw
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    body = gql(client, q, {"after": tampered}, token=county.token("admin"), expect_errors=True)
    assert _code(body) == "BAD_USER_INPUT"
    # The old, readable spelling is refused too.
    readable = base64.urlsafe_b64encode('["NAME","王",1]'.encode()).decode()
    body = gql(client, q, {"after": readable}, token=county.token("admin"), expect_errors=True)
    assert _code(body) == "BAD_USER_INPUT"


# --- 2. need.reporter unmasks the person, and the unmasking sticks ----------------------------


def test_keep_a_reporter_masked_everywhere_but_under_the_need(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    # A party member registered in Hengxi reports a need in Quantang.
    member = f.person(
        engine,
        name="刘党员",
        phone="13655556666",
        id_number="360821198001011234",
        registered_community_id=county.hengxi.id,
    )
    need = f.need(
        engine,
        county.quantang.id,
        reporter_person_id=member.id,
        reporter_name="刘党员",
        status=NeedStatus.ACCEPTED,
    )
    pid = to_global_id("Person", member.id)
    q = """query($n: ID!, $p: [ID!]!) {
      need(id: $n) { reporter { name phone idNumber } }
      nodes(ids: $p) { ... on Person { name phone idNumber } }
    }"""
    data = gql(
        client,
        q,
        {"n": to_global_id("Need", need.id), "p": [pid]},
        token=county.token("grid_worker"),
    )["data"]
    # Handling the open need: the name and phone; the ID number is for administrators only.
    assert data["need"]["reporter"] == {
        "name": "刘党员",
        "phone": "13655556666",
        "idNumber": "3608**********1234",
    }
    # The same person by ID in the same request: what the people rule allows, no more.
    assert data["nodes"] == [
        {"name": "刘党员", "phone": "136****6666", "idNumber": "3608**********1234"}
    ]


# --- 3. reads are county-wide for scoped staff ------------------------------------------------


def test_keep_scoped_coordinators_to_their_community(client: TestClient, county: County) -> None:
    q = "{ matchingJobs { totalCount } enterpriseRequests { totalCount } }"
    other = gql(client, q, token=county.token("outsider"))["data"]  # Hengxi's coordinator
    assert other == {"matchingJobs": {"totalCount": 0}, "enterpriseRequests": {"totalCount": 0}}
    own = gql(client, q, token=county.token("coordinator"))["data"]
    assert own["matchingJobs"]["totalCount"] == 1 and own["enterpriseRequests"]["totalCount"] == 3


# --- 4. enterprise-request events show the contact's full name --------------------------------


def test_mask_the_contact_on_request_events_like_the_contact(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    helper = f.person(engine, name="孙小赣", kind=PersonKind.ENTERPRISE_HELPER)
    account = f.account(
        engine, Role.ENTERPRISE_HELPER, person_id=helper.id, community_id=county.quantang.id
    )
    firm = f.enterprise(engine, community_id=county.hengxi.id, contact_name="钱经理")
    with Session(engine, expire_on_commit=False) as s:
        request = m.EnterpriseRequest(
            enterprise_id=firm.id,
            kind=EnterpriseRequestKind.POLICY,
            title="政策咨询",
            status=EnterpriseRequestStatus.ASSIGNED,
            helper_id=helper.id,
            deadline=utcnow() + timedelta(days=2),
        )
        s.add(request)
        s.flush()
        s.add(
            m.EnterpriseRequestEvent(
                request_id=request.id,
                action=EnterpriseAction.SUBMIT,
                to_status=EnterpriseRequestStatus.SUBMITTED,
                actor_name="钱经理",
            )
        )
        s.commit()
    q = """query($id: ID!) { enterpriseRequest(id: $id) {
      enterprise { contactName } events { actorName } } }"""
    rid = to_global_id("EnterpriseRequest", request.id)
    seen = gql(client, q, {"id": rid}, token=f.token_for(account))["data"]["enterpriseRequest"]
    assert seen == {"enterprise": {"contactName": "钱**"}, "events": [{"actorName": "钱**"}]}
    admin = gql(client, q, {"id": rid}, token=county.token("admin"))["data"]["enterpriseRequest"]
    assert admin["events"] == [{"actorName": "钱经理"}]


# --- 5. exact places of vulnerable people -----------------------------------------------------


def test_snap_a_need_for_a_volunteer_who_only_signed_up(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    need = f.need(
        engine,
        county.quantang.id,
        title="安居小区21栋老人就医需要陪护",
        address="安居小区21栋302",
        latitude=27.051234,
        longitude=114.921234,
    )
    with Session(engine) as s:
        s.add(
            m.SignUp(person_id=county.volunteer.id, need_id=need.id, status=SignUpStatus.SIGNED_UP)
        )
        s.commit()
    q = "query($id: ID!) { need(id: $id) { title address latitude longitude } }"
    nid = to_global_id("Need", need.id)
    seen = gql(client, q, {"id": nid}, token=county.token("volunteer"))["data"]["need"]
    assert seen == {
        "title": "基础设施求助",
        "address": "",
        "latitude": 27.0504,
        "longitude": 114.922,
    }
    staff = gql(client, q, {"id": nid}, token=county.token("grid_worker"))["data"]["need"]
    assert staff["address"] == "安居小区21栋302" and staff["latitude"] == 27.051234
    titles = [o["title"] for o in find(client)["nodes"]]
    assert "安居小区21栋老人就医需要陪护" not in titles and "基础设施求助" in titles


# --- 6. masked names confirmed through a filter -----------------------------------------------


def test_refuse_name_filters_over_names_the_caller_sees_masked(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    f.person(
        engine,
        name="王秀英",
        kind=PersonKind.RESIDENT,
        is_party_member=False,
        registered_community_id=county.quantang.id,
    )
    q = """query($f: PersonFilter) { people(filter: $f) { totalCount nodes { name } } }"""
    body = gql(
        client,
        q,
        {"f": {"nameContains": "王秀英"}},
        token=county.token("volunteer"),
        expect_errors=True,
    )
    assert _code(body) == "FORBIDDEN"
    serving = {"nameContains": "王", "kind": ["PARTY_MEMBER"]}
    found = gql(client, q, {"f": serving}, token=county.token("volunteer"))["data"]["people"]
    assert found["nodes"] == [{"name": "王建国"}]
    # Hengxi's grid worker cannot find a Quantang resident by name; Quantang's can.
    resident = {"nameContains": "王秀英"}
    far = gql(client, q, {"f": resident}, token=county.token("grid_worker_hengxi"))
    assert far["data"]["people"]["totalCount"] == 0
    near = gql(client, q, {"f": resident}, token=county.token("grid_worker"))
    assert near["data"]["people"]["nodes"] == [{"name": "王秀英"}]


# --- the README's privacy table ---------------------------------------------------------------


def test_keep_the_readme_privacy_table_generated() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- privacy-table:start -->\n(.*?)<!-- privacy-table:end -->", readme, re.DOTALL
    )
    assert found is not None, "the README lost its privacy-table markers"
    assert found.group(1) == privacy_table(), "run `luling privacy-table` and paste it"


# --- subscriptions -------------------------------------------------------------------------------


def test_follow_only_needs_the_caller_may_see(client: TestClient, county: County) -> None:
    from tests.api.graphql.needs.test_subscriptions import FOLLOW, subscribe

    nid = county.gid("Need", "need_open")  # Quantang's, reported by someone else
    with subscribe(client, county.token("volunteer"), FOLLOW, {"id": nid}) as ws:
        message = ws.receive_json()
    assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_decide_rows_from_their_own_columns() -> None:
    """The per-row checks agree with the area rule (`Viewer.of`, scope_includes)."""
    from schema.visibility import RULES, Viewer

    quantang_coordinator = Viewer(Role.COORDINATOR, 1, None, 1)
    county_coordinator = Viewer(Role.COORDINATOR, 2, None, None)
    job = RULES[m.MatchingJob].check
    assert job(quantang_coordinator, {"scope_community_id": 1})
    assert not job(quantang_coordinator, {"scope_community_id": 2})
    assert not job(quantang_coordinator, {"scope_community_id": None})  # a county-wide job
    assert job(county_coordinator, {"scope_community_id": None})
    need = RULES[m.Need].check
    row = {"community_id": 2, "reporter_account_id": 9, "reporter_person_id": None}
    assert not need(quantang_coordinator, row) and need(county_coordinator, row)
    assert need(Viewer(Role.RESIDENT, 9), row) and not need(Viewer(None), row)
