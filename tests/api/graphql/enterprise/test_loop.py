"""The business weather station's loop over HTTP: submit → assign a helper → note → resolve →
rate, with illegal steps, bad input, the helper's load limit and idempotency."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from schema.enums import EnterpriseRequestStatus, PersonKind, Role
from schema.models import Enterprise, EnterpriseRequest, EnterpriseRequestEvent
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok
from tests.conftest import gql
from tests.county import County
from tests.loop import assert_request_log_consistent, request_events, request_row

REQUEST_QUERY = """query($id: ID!) { enterpriseRequest(id: $id) {
  status version satisfaction ratingComment deadline resolvedAt resolvedOnTime overdue
  helper { name } enterprise { name }
  events { action fromStatus toStatus actorName note }
} }"""


@pytest.fixture
def firm(engine: sa.Engine, county: County) -> Enterprise:
    return f.enterprise(engine, name="吉安县赣绿食品有限公司", community_id=county.quantang.id)


@pytest.fixture
def firm_token(engine: sa.Engine, firm: Enterprise) -> str:
    """The firm's own enterprise account: the one caller who rates its requests."""
    own = f.account(engine, Role.ENTERPRISE, enterprise_id=firm.id, display_name="赣绿食品")
    return f.token_for(own)


def submit(client: TestClient, county: County, firm: Enterprise, **kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "enterpriseId": gid("Enterprise", firm.id),
        "kind": "UTILITIES",
        "title": "新厂房需要接入三相电",
        "description": "预计下月投产",
    }
    payload = mutate(client, "submitEnterpriseRequest", values | kw, county.token("helper"))
    return ok(payload)["enterpriseRequest"]


def act(client: TestClient, county: County, name: str, who: str, **input: Any) -> dict[str, Any]:
    """`name` called by `who`: an account of the test county, or a bearer token itself."""
    return mutate(client, name, input, county.token(who) if who in county.accounts else who)


def _count(engine: sa.Engine, model: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_walk_enterprise_request_through_loop(
    client: TestClient, engine: sa.Engine, county: County, firm: Enterprise, firm_token: str
) -> None:
    request = submit(client, county, firm)
    assert request["status"] == "SUBMITTED" and request["version"] == 1
    rid = request["id"]
    helper = gid("Person", county.helper.id)
    assigned = ok(
        act(client, county, "assignEnterpriseHelper", "coordinator", requestId=rid, helperId=helper)
    )["enterpriseRequest"]
    assert assigned["status"] == "ASSIGNED" and assigned["helper"] == {"id": helper}
    noted = ok(
        act(
            client,
            county,
            "addEnterpriseRequestNote",
            "helper",
            requestId=rid,
            note="已联系供电公司现场勘察",
            expectedVersion=2,
        )
    )["enterpriseRequest"]
    assert noted["status"] == "IN_PROGRESS"
    ok(act(client, county, "addEnterpriseRequestNote", "coordinator", requestId=rid, note="督办"))
    resolved = ok(
        act(
            client,
            county,
            "resolveEnterpriseRequest",
            "helper",
            requestId=rid,
            note="已通电",
        )
    )["enterpriseRequest"]
    assert resolved["status"] == "RESOLVED" and resolved["resolvedAt"]
    rated = ok(
        act(
            client,
            county,
            "rateEnterpriseRequest",
            firm_token,
            requestId=rid,
            satisfaction=5,
            comment="效率很高",
        )
    )["enterpriseRequest"]
    assert rated["status"] == "CLOSED" and rated["satisfaction"] == 5

    seen = gql(client, REQUEST_QUERY, {"id": rid}, token=county.token("coordinator"))["data"][
        "enterpriseRequest"
    ]
    assert seen["helper"] == {"name": "赵小赣"} and seen["resolvedOnTime"] is True
    assert seen["ratingComment"] == "效率很高" and seen["overdue"] is False
    assert [(e["action"], e["toStatus"], e["actorName"]) for e in seen["events"]] == [
        ("SUBMIT", "SUBMITTED", "赵小赣"),
        ("ASSIGN", "ASSIGNED", "泉塘协调员"),
        ("NOTE", "IN_PROGRESS", "赵小赣"),
        ("NOTE", "IN_PROGRESS", "泉塘协调员"),
        ("RESOLVE", "RESOLVED", "赵小赣"),
        ("RATE", "CLOSED", "赣绿食品"),
    ]
    submitted = datetime.fromisoformat(request["deadline"]) - timedelta(days=2)
    assert abs((submitted - datetime.fromisoformat(resolved["resolvedAt"])).total_seconds()) < 60
    assert_request_log_consistent(engine, 1)


def test_submit_enterprise_request_twice_with_key(
    client: TestClient, engine: sa.Engine, county: County, firm: Enterprise
) -> None:
    a = submit(client, county, firm, idempotencyKey="weather-station-0001")
    b = submit(client, county, firm, idempotencyKey="weather-station-0001")
    assert a["id"] == b["id"]
    assert _count(engine, EnterpriseRequest) == 1 and _count(engine, EnterpriseRequestEvent) == 1
    changed = {
        "enterpriseId": gid("Enterprise", firm.id),
        "kind": "UTILITIES",
        "title": "重复",
        "idempotencyKey": "weather-station-0001",
    }
    refused = mutate(client, "submitEnterpriseRequest", changed, county.token("helper"))
    assert [e["code"] for e in refused["userErrors"]] == ["CONFLICT"]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"title": " "}, ["input", "title"], "BAD_USER_INPUT"),
        ({"description": "长" * 5001}, ["input", "description"], "BAD_USER_INPUT"),
        ({"urgency": 0}, ["input", "urgency"], "BAD_USER_INPUT"),
        ({"enterpriseId": gid("Enterprise", 999)}, ["input", "enterpriseId"], "NOT_FOUND"),
        ({"enterpriseId": "%%%"}, ["input", "enterpriseId"], "BAD_USER_INPUT"),
    ],
)
def test_refuse_bad_enterprise_request(
    client: TestClient,
    engine: sa.Engine,
    county: County,
    firm: Enterprise,
    change: dict[str, Any],
    field: list[str],
    code: str,
) -> None:
    values = {"enterpriseId": gid("Enterprise", firm.id), "kind": "LEGAL", "title": "合同纠纷咨询"}
    payload = act(client, county, "submitEnterpriseRequest", "coordinator", **(values | change))
    assert error_codes(payload) == [code] and payload["userErrors"][0]["field"] == field
    assert _count(engine, EnterpriseRequest) == 0


def test_refuse_assigning_non_helper_or_unknown(
    client: TestClient, engine: sa.Engine, county: County, firm: Enterprise
) -> None:
    rid = submit(client, county, firm)["id"]
    for helper, code in (
        (gid("Person", county.volunteer.id), "BAD_USER_INPUT"),
        (gid("Person", 999), "NOT_FOUND"),
        (gid("Team", 1), "BAD_USER_INPUT"),
    ):
        payload = act(
            client, county, "assignEnterpriseHelper", "coordinator", requestId=rid, helperId=helper
        )
        assert error_codes(payload) == [code]
        assert payload["userErrors"][0]["field"] == ["input", "helperId"]
    assert request_row(engine, 1).status is EnterpriseRequestStatus.SUBMITTED


def test_refuse_helper_over_load_limit(
    client: TestClient, engine: sa.Engine, county: County, firm: Enterprise
) -> None:
    helper = gid("Person", county.helper.id)  # may carry two open requests
    ids = [submit(client, county, firm, title=f"诉求{i}")["id"] for i in range(3)]
    for rid in ids[:2]:
        ok(
            act(
                client,
                county,
                "assignEnterpriseHelper",
                "coordinator",
                requestId=rid,
                helperId=helper,
            )
        )
    full = act(
        client, county, "assignEnterpriseHelper", "coordinator", requestId=ids[2], helperId=helper
    )
    assert error_codes(full) == ["CAPACITY_REACHED"]
    assert request_row(engine, 3).helper_id is None
    other = f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=1)
    moved = act(
        client,
        county,
        "assignEnterpriseHelper",
        "coordinator",
        requestId=ids[2],
        helperId=gid("Person", other.id),
    )
    assert ok(moved)["enterpriseRequest"]["status"] == "ASSIGNED"


@pytest.mark.parametrize(
    ("status", "name", "input"),
    [
        ("submitted", "addEnterpriseRequestNote", {"note": "进展"}),
        ("submitted", "resolveEnterpriseRequest", {}),
        ("submitted", "rateEnterpriseRequest", {"satisfaction": 5}),
        ("assigned", "rateEnterpriseRequest", {"satisfaction": 5}),
        ("resolved", "addEnterpriseRequestNote", {"note": "补充"}),
        ("resolved", "resolveEnterpriseRequest", {}),
        ("resolved", "assignEnterpriseHelper", {"helperId": "HELPER2"}),
        ("closed", "assignEnterpriseHelper", {"helperId": "HELPER2"}),
        ("closed", "rateEnterpriseRequest", {"satisfaction": 3}),
    ],
)
def test_refuse_illegal_enterprise_transition(
    client: TestClient,
    engine: sa.Engine,
    county: County,
    firm: Enterprise,
    firm_token: str,
    status: str,
    name: str,
    input: dict[str, Any],
) -> None:
    now = datetime.now().astimezone()
    row = EnterpriseRequest(
        enterprise_id=firm.id or 0,
        kind="policy",
        title="政策咨询",
        status=status,
        helper_id=None if status == "submitted" else county.helper.id,
        deadline=now + timedelta(days=1),
    )
    with Session(engine, expire_on_commit=False) as s:
        s.add(row)
        s.commit()
    other = f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=5)
    if input.get("helperId") == "HELPER2":
        input = {"helperId": gid("Person", other.id)}
    before = request_row(engine, row.id or 0).model_dump()
    who = firm_token if name == "rateEnterpriseRequest" else "coordinator"
    payload = act(client, county, name, who, requestId=gid("EnterpriseRequest", row.id), **input)
    assert error_codes(payload) == ["ILLEGAL_TRANSITION"], payload
    assert request_row(engine, row.id or 0).model_dump() == before
    assert request_events(engine, row.id or 0) == []


def test_forbid_other_helper_and_outsider(
    client: TestClient, engine: sa.Engine, county: County, firm: Enterprise
) -> None:
    rid = submit(client, county, firm)["id"]
    ok(
        act(
            client,
            county,
            "assignEnterpriseHelper",
            "coordinator",
            requestId=rid,
            helperId=gid("Person", county.helper.id),
        )
    )
    stranger = f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=3)
    token = f.token_for(f.account(engine, Role.ENTERPRISE_HELPER, person_id=stranger.id))
    note = mutate(client, "addEnterpriseRequestNote", {"requestId": rid, "note": "我来"}, token)
    assert error_codes(note) == ["FORBIDDEN"]
    outside = act(
        client,
        county,
        "assignEnterpriseHelper",
        "outsider",
        requestId=rid,
        helperId=gid("Person", stranger.id),
    )
    assert error_codes(outside) == ["FORBIDDEN"]
    assert request_row(engine, 1).version == 2


def test_refuse_empty_note_and_bad_rating(
    client: TestClient, engine: sa.Engine, county: County, firm: Enterprise, firm_token: str
) -> None:
    rid = submit(client, county, firm)["id"]
    empty = act(client, county, "addEnterpriseRequestNote", "coordinator", requestId=rid, note="")
    assert empty["userErrors"][0]["field"] == ["input", "note"]
    rating = act(client, county, "rateEnterpriseRequest", firm_token, requestId=rid, satisfaction=9)
    assert rating["userErrors"][0]["field"] == ["input", "satisfaction"]
    stale = act(
        client,
        county,
        "assignEnterpriseHelper",
        "coordinator",
        requestId=rid,
        helperId=gid("Person", county.helper.id),
        expectedVersion=4,
    )
    assert error_codes(stale) == ["CONFLICT"]
    assert request_row(engine, 1).version == 1
