"""Every user of the business weather station (营商气象站) over HTTP: a helper claims (抢单)
within their limit, two at once cannot both win; the business office (营商办) assigns county-wide
where a community coordinator may not; an enterprise account submits, follows and rates its own
requests, and nobody else rates them."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from schema.enums import EnterpriseRequestStatus, PersonKind, Role
from schema.models import Enterprise
from tests import factories as f
from tests.api.graphql.mutate import document, error_codes, gid, mutate, ok
from tests.conftest import gql, make_settings
from tests.county import County
from tests.loop import request_events, request_row

pytestmark = pytest.mark.county("enterprise")

FOLLOW = """query($filter: EnterpriseRequestFilter) {
  enterpriseRequests(first: 20, filter: $filter, orderBy: {field: SUBMITTED_AT, direction: ASC}) {
    totalCount
    nodes { id title status enterprise { name } events { action toStatus actorName } }
  }
}"""
ONE = "query($id: ID!) { enterpriseRequest(id: $id) { id title } }"


def claim(client: TestClient, token: str, request_id: str, **kw: Any) -> dict[str, Any]:
    return mutate(client, "claimEnterpriseRequest", {"requestId": request_id, **kw}, token)


def message(payload: dict[str, Any]) -> str:
    return str(payload["userErrors"][0]["message"])


def test_claim_unassigned_request_within_limit(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    helper = county.token("helper")  # carries req_late, may carry two
    pool = gql(client, FOLLOW, {"filter": {"open": True, "assigned": False}}, token=helper)
    assert [n["title"] for n in pool["data"]["enterpriseRequests"]["nodes"]] == ["政策咨询"]
    rid = county.gid("EnterpriseRequest", "req_new")
    taken = ok(claim(client, helper, rid, note="我来办", expectedVersion=1))["enterpriseRequest"]
    assert taken["status"] == "ASSIGNED" and taken["helper"] == {
        "id": gid("Person", county.helper.id)
    }
    assert [
        (e.action.value, e.actor_name) for e in request_events(engine, county.ids["req_new"])
    ] == [("claim", "赵小赣")]
    again = claim(client, helper, rid)
    assert error_codes(again) == ["BAD_USER_INPUT"] and "already carry" in message(again)
    other = f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=3)
    late = claim(
        client, f.token_for(f.account(engine, Role.ENTERPRISE_HELPER, person_id=other.id)), rid
    )
    assert error_codes(late) == ["CONFLICT"] and "another helper" in message(late)
    assert request_row(engine, county.ids["req_new"]).helper_id == county.helper.id
    assert request_row(engine, county.ids["req_new"]).version == 2


def test_refuse_claim_at_the_limit(client: TestClient, engine: sa.Engine, county: County) -> None:
    full = f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=1)
    token = f.token_for(f.account(engine, Role.ENTERPRISE_HELPER, person_id=full.id))
    firm = county.rows["enterprise"]
    first, second = (
        f.enterprise_request(engine, enterprise_id=firm.id, title=t) for t in ("用工", "用地")
    )
    ok(claim(client, token, gid("EnterpriseRequest", first.id)))
    refused = claim(client, token, gid("EnterpriseRequest", second.id))
    assert error_codes(refused) == ["CAPACITY_REACHED"]
    assert message(refused) == "you already carry 1 open request (limit 1); resolve one first"
    assert request_row(engine, second.id).status is EnterpriseRequestStatus.SUBMITTED


def test_only_helpers_claim(client: TestClient, engine: sa.Engine, county: County) -> None:
    rid = county.gid("EnterpriseRequest", "req_new")
    coordinator = gql(
        client,
        document("claimEnterpriseRequest"),
        {"input": {"requestId": rid}},
        token=county.token("coordinator"),
        expect_errors=True,
    )
    assert coordinator["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = claim(client, county.token("admin"), rid)
    assert error_codes(admin) == ["FORBIDDEN"] and "assign them" in message(admin)
    assert request_row(engine, county.ids["req_new"]).version == 1


def test_two_helpers_claim_the_same_request_at_once(
    engine: sa.Engine, county: County, database_url: str
) -> None:
    """Each helper on their own API process, released together: exactly one wins."""
    helpers = [
        f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=3) for _ in range(4)
    ]
    tokens = [
        f.token_for(f.account(engine, Role.ENTERPRISE_HELPER, person_id=h.id)) for h in helpers
    ]
    rid = county.gid("EnterpriseRequest", "req_new")
    barrier = threading.Barrier(len(tokens))
    answers: list[dict[str, Any]] = [{}] * len(tokens)

    def race(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            answers[i] = claim(c, tokens[i], rid)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    codes = sorted(tuple(error_codes(a)) for a in answers)
    assert codes == [(), *[("CONFLICT",)] * (len(tokens) - 1)], answers
    winner = next(i for i, a in enumerate(answers) if not error_codes(a))
    row = request_row(engine, county.ids["req_new"])
    assert row.helper_id == helpers[winner].id and row.version == 2
    assert [e.action.value for e in request_events(engine, county.ids["req_new"])] == ["claim"]


def test_business_office_assigns_county_wide(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    village_firm: Enterprise = f.enterprise(engine, community_id=county.hengxi.id)
    req = f.enterprise_request(engine, enterprise_id=village_firm.id, title="融资")
    rid, helper = gid("EnterpriseRequest", req.id), gid("Person", county.helper.id)
    local = mutate(
        client,
        "assignEnterpriseHelper",
        {"requestId": rid, "helperId": helper},
        county.token("coordinator"),
    )
    assert error_codes(local) == ["FORBIDDEN"] and "business office" in message(local)
    assigned = mutate(
        client,
        "assignEnterpriseHelper",
        {"requestId": rid, "helperId": helper},
        county.token("business_office"),
    )
    assert ok(assigned)["enterpriseRequest"]["helper"] == {"id": helper}
    pool = gql(client, FOLLOW, {"filter": {"open": True}}, token=county.token("business_office"))
    assert pool["data"]["enterpriseRequests"]["totalCount"] == 3  # every open one, county-wide


def test_enterprise_submits_follows_and_rates_its_own(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    own = county.token("enterprise")
    mine = county.rows["enterprise"]
    other: Enterprise = f.enterprise(engine, community_id=county.quantang.id)
    # carried by the helper who carries one of ours too
    theirs = f.enterprise_request(
        engine,
        enterprise_id=other.id,
        title="别家的诉求",
        helper_id=county.helper.id,
        status=EnterpriseRequestStatus.ASSIGNED,
    )
    submitted = ok(
        mutate(
            client,
            "submitEnterpriseRequest",
            {"kind": "LABOUR", "title": "招聘30名普工", "urgency": 4},
            own,
        )
    )["enterpriseRequest"]
    assert submitted["status"] == "SUBMITTED"
    refused = mutate(
        client,
        "submitEnterpriseRequest",
        {"enterpriseId": gid("Enterprise", other.id), "kind": "LABOUR", "title": "代别家提交"},
        own,
    )
    assert error_codes(refused) == ["FORBIDDEN"]

    followed = gql(client, FOLLOW, token=own)["data"]["enterpriseRequests"]
    titles = [n["title"] for n in followed["nodes"]]
    assert titles == ["用电增容", "贷款申请", "政策咨询", "招聘30名普工"]
    assert {n["enterprise"]["name"] for n in followed["nodes"]} == {mine.name}
    assert followed["nodes"][1]["events"] == [
        {"action": "SUBMIT", "toStatus": "SUBMITTED", "actorName": ""},
        {"action": "ASSIGN", "toStatus": "ASSIGNED", "actorName": ""},
    ]
    assert followed["nodes"][3]["events"] == [
        {"action": "SUBMIT", "toStatus": "SUBMITTED", "actorName": "周经理"}
    ]
    hidden = gql(client, ONE, {"id": gid("EnterpriseRequest", theirs.id)}, token=own)
    assert hidden["data"]["enterpriseRequest"] is None

    # The helper resolves the late one; only the enterprise may then rate it.
    late = county.gid("EnterpriseRequest", "req_late")
    ok(mutate(client, "resolveEnterpriseRequest", {"requestId": late}, county.token("helper")))
    for who in ("helper", "coordinator", "business_office"):
        payload = mutate(
            client,
            "rateEnterpriseRequest",
            {"requestId": late, "satisfaction": 5},
            county.token(who),
        )
        assert error_codes(payload) == ["FORBIDDEN"], who
        assert "only the enterprise that brought this request rates it" in message(payload)
    rated = mutate(
        client,
        "rateEnterpriseRequest",
        {"requestId": late, "satisfaction": 4, "comment": "贷款已到位"},
        own,
    )
    assert ok(rated)["enterpriseRequest"]["status"] == "CLOSED"
    assert request_row(engine, county.ids["req_late"]).satisfaction == 4


def test_enterprise_sees_no_other_enterprise(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    own = county.token("enterprise")
    other: Enterprise = f.enterprise(
        engine, community_id=county.quantang.id, contact_name="王经理", contact_phone="13900001111"
    )
    # carried by the helper who carries one of ours too
    theirs = f.enterprise_request(
        engine,
        enterprise_id=other.id,
        title="别家的诉求",
        helper_id=county.helper.id,
        status=EnterpriseRequestStatus.ASSIGNED,
    )
    listed = gql(
        client, "{ enterprises(first: 10) { nodes { name contactName contactPhone } } }", token=own
    )["data"]["enterprises"]["nodes"]
    contacts = {n["name"]: (n["contactName"], n["contactPhone"]) for n in listed}
    assert contacts[county.rows["enterprise"].name] == ("周经理", "13600001234")
    assert contacts[other.name] == ("王**", "139****1111")
    # Every path to another enterprise's request finds nothing (the row rule, not a refusal).
    node = gql(
        client, '{ node(id: "' + gid("EnterpriseRequest", theirs.id) + '") { id } }', token=own
    )
    assert node["data"]["node"] is None
    firms = gql(
        client, "{ enterprises(first: 10) { nodes { name requests { title } } } }", token=own
    )
    by_firm = {
        n["name"]: [r["title"] for r in n["requests"]]
        for n in firms["data"]["enterprises"]["nodes"]
    }
    assert by_firm[other.name] == [] and by_firm[county.rows["enterprise"].name]
    helpers = gql(
        client,
        "{ enterpriseRequests(first: 5) { nodes { helper { assignedRequests { title } } } } }",
        token=own,
    )
    carried = [
        r["title"]
        for n in helpers["data"]["enterpriseRequests"]["nodes"]
        if n["helper"]
        for r in n["helper"]["assignedRequests"]
    ]
    assert "别家的诉求" not in carried and carried
