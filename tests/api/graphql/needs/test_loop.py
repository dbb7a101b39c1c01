"""The closed loop over HTTP: report → accept → dispatch → arrive → resolve → rate, escalate,
return, merge; illegal steps, bad input, idempotency, duplicates, area scope."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from api.app import create_app
from schema.enums import NeedStatus, Role
from schema.models import Need, NeedAssignment, NeedEvent
from tests import factories as f
from tests.api.graphql.mutate import (
    IN_COUNTY,
    document,
    error_codes,
    gid,
    mutate,
    ok,
    report_input,
)
from tests.conftest import gql, make_settings
from tests.county import County
from tests.loop import assert_need_log_consistent, need_events, need_row

NEED_QUERY = """query($id: ID!) { need(id: $id) {
  id status version tier satisfaction ratingComment arriveBy resolveBy arrivedAt resolvedAt
  arrivedOnTime resolvedOnTime overdue allowedActions
  assignments { active person { name } team { name } }
  events { action fromStatus toStatus actorName note at }
} }"""


def report(client: TestClient, county: County, **kw: Any) -> dict[str, Any]:
    return ok(mutate(client, "reportNeed", report_input(**kw), county.token("resident")))["need"]


def step(client: TestClient, county: County, name: str, who: str, **input: Any) -> dict[str, Any]:
    return mutate(client, name, input, county.token(who))


def _count(engine: sa.Engine, model: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_walk_need_through_loop(client: TestClient, engine: sa.Engine, county: County) -> None:
    need = report(client, county)
    assert need["status"] == "REPORTED" and need["version"] == 1
    assert need["community"]["name"] == "泉塘社区" and need["grid"]["id"] == gid(
        "Grid", county.grid1.id
    )
    nid = need["id"]

    accepted = ok(step(client, county, "acceptNeed", "coordinator", needId=nid, expectedVersion=1))
    assert accepted["need"]["status"] == "ACCEPTED" and accepted["need"]["version"] == 2

    dispatched = ok(
        step(
            client,
            county,
            "dispatchNeed",
            "coordinator",
            needId=nid,
            expectedVersion=2,
            toPersonIds=[gid("Person", county.volunteer.id)],
            toGridWorker=True,
            note="请尽快到场",
        )
    )["need"]
    at = datetime.fromisoformat(dispatched["dispatchedAt"])
    assert dispatched["status"] == "DISPATCHED"
    assert datetime.fromisoformat(dispatched["arriveBy"]) == at + timedelta(minutes=10)
    assert datetime.fromisoformat(dispatched["resolveBy"]) == at + timedelta(minutes=30)

    arrived = ok(step(client, county, "arriveNeed", "grid_worker", needId=nid, expectedVersion=3))
    assert arrived["need"]["status"] == "ARRIVED" and arrived["need"]["arrivedOnTime"] is True
    resolved = ok(step(client, county, "resolveNeed", "volunteer", needId=nid, note="已更换灯泡"))
    assert resolved["need"]["status"] == "RESOLVED" and resolved["need"]["resolvedOnTime"]
    rated = ok(
        step(
            client,
            county,
            "rateNeed",
            "resident",
            needId=nid,
            expectedVersion=5,
            satisfaction=5,
            comment="很及时，谢谢",
        )
    )["need"]
    assert rated["status"] == "CLOSED" and rated["satisfaction"] == 5 and rated["closedAt"]

    seen = gql(client, NEED_QUERY, {"id": nid}, token=county.token("coordinator"))["data"]["need"]
    assert seen["ratingComment"] == "很及时，谢谢" and seen["overdue"] is False
    assert seen["allowedActions"] == []
    assert sorted(a["person"]["name"] for a in seen["assignments"]) == ["李网格", "王建国"]
    assert [(e["action"], e["fromStatus"], e["toStatus"]) for e in seen["events"]] == [
        ("REPORT", None, "REPORTED"),
        ("ACCEPT", "REPORTED", "ACCEPTED"),
        ("DISPATCH", "ACCEPTED", "DISPATCHED"),
        ("ARRIVE", "DISPATCHED", "ARRIVED"),
        ("RESOLVE", "ARRIVED", "RESOLVED"),
        ("RATE", "RESOLVED", "CLOSED"),
    ]
    assert [e["actorName"] for e in seen["events"]] == [
        "李阿姨",
        "泉塘协调员",
        "泉塘协调员",
        "李网格",
        "王建国",
        "李阿姨",
    ]
    assert seen["events"][2]["note"] == "请尽快到场"
    assert_need_log_consistent(engine, 1)


def test_show_overdue_need(client: TestClient, engine: sa.Engine, county: County) -> None:
    nid = report(client, county)["id"]
    ok(step(client, county, "acceptNeed", "coordinator", needId=nid))
    ok(step(client, county, "dispatchNeed", "coordinator", needId=nid, toGridWorker=True))
    with Session(engine) as s:  # the dispatch was 11 minutes ago: nobody arrived in time
        row = s.get(Need, 1)
        assert row is not None
        row.arrive_by = row.arrive_by - timedelta(minutes=11)
        s.add(row)
        s.commit()
    q = "{ needs(filter: {overdue: true}) { nodes { id overdue } } }"
    nodes = gql(client, q, token=county.token("coordinator"))["data"]["needs"]["nodes"]
    assert nodes == [{"id": nid, "overdue": True}]


def test_report_need_twice_with_idempotency_key(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    first = report(client, county, idempotencyKey="4b9d1c1e-app-retry")
    again = report(client, county, idempotencyKey="4b9d1c1e-app-retry")
    assert again["id"] == first["id"] and again["title"] == "楼道灯坏了"
    assert _count(engine, Need) == 1 and _count(engine, NeedEvent) == 1


def test_refuse_an_idempotency_key_reused_for_another_report(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    report(client, county, idempotencyKey="4b9d1c1e-app-retry")
    changed = report_input(idempotencyKey="4b9d1c1e-app-retry", title="再次提交")
    refused = mutate(client, "reportNeed", changed, county.token("resident"))
    assert refused["need"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "idempotencyKey"], "CONFLICT")
    ]
    assert "different request" in refused["userErrors"][0]["message"]
    assert _count(engine, Need) == 1


def test_keep_idempotency_keys_per_reporter(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    mine = report(client, county, idempotencyKey="shared-key-1")
    # Another reporter's key: a new need, no CONFLICT telling that the key was used.
    theirs = mutate(
        client, "reportNeed", report_input(idempotencyKey="shared-key-1"), county.token("volunteer")
    )
    assert ok(theirs)["need"]["id"] != mine["id"]
    assert _count(engine, Need) == 2


def test_report_need_flags_duplicate(client: TestClient, county: County) -> None:
    first = report(client, county)
    near = report(client, county, location={"latitude": 27.0507, "longitude": 114.9207})
    other = report(client, county, category="ENVIRONMENT")
    assert near["duplicateOf"] == {"id": first["id"]}
    assert first["duplicateOf"] is None and other["duplicateOf"] is None


def test_report_need_in_given_grid(client: TestClient, county: County) -> None:
    need = report(client, county, gridId=gid("Grid", county.grid1.id), address="泉塘路1号")
    assert need["grid"]["id"] == gid("Grid", county.grid1.id) and need["address"] == "泉塘路1号"


def test_report_hotline_ticket_as_staff(client: TestClient, county: County) -> None:
    payload = mutate(
        client,
        "reportNeed",
        report_input(source="HOTLINE_12345", reporterPhone="0796-8412345"),
        county.token("coordinator"),
    )
    assert ok(payload)["need"]["source"] == "HOTLINE_12345"
    refused = mutate(
        client, "reportNeed", report_input(source="HOTLINE_12345"), county.token("resident")
    )
    assert refused["userErrors"][0]["field"] == ["input", "source"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "   "}, ["input", "title"]),
        ({"title": "长" * 201}, ["input", "title"]),
        ({"description": "x" * 5001}, ["input", "description"]),
        ({"location": {"latitude": 39.9, "longitude": 116.4}}, ["input", "location"]),
        ({"mediaUrls": [f"https://img.example.cn/{i}.jpg" for i in range(10)]}, None),
        ({"mediaUrls": ["https://img.example.cn/1.jpg", "javascript:alert(1)"]}, None),
        ({"urgency": 9}, ["input", "urgency"]),
        ({"idempotencyKey": "k" * 65}, ["input", "idempotencyKey"]),
        ({"gridId": "not-an-id"}, ["input", "gridId"]),
        ({"gridId": gid("Community", 1)}, ["input", "gridId"]),
    ],
    ids=[
        "empty-title",
        "long-title",
        "long-description",
        "out-of-county",
        "too-many-media",
        "bad-media-link",
        "urgency",
        "long-key",
        "malformed-id",
        "id-of-other-type",
    ],
)
def test_refuse_bad_report(
    client: TestClient,
    engine: sa.Engine,
    county: County,
    change: dict[str, Any],
    field: list[str] | None,
) -> None:
    payload = mutate(client, "reportNeed", report_input(**change), county.token("resident"))
    assert payload["need"] is None and error_codes(payload) == ["BAD_USER_INPUT"]
    expected = field or ["input", "mediaUrls"] + (["1"] if "javascript" in str(change) else [])
    assert payload["userErrors"][0]["field"] == expected
    assert _count(engine, Need) == 0


def test_refuse_report_of_unknown_grid(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    payload = mutate(
        client, "reportNeed", report_input(gridId=gid("Grid", 999)), county.token("resident")
    )
    assert error_codes(payload) == ["NOT_FOUND"] and payload["userErrors"][0]["field"] == [
        "input",
        "gridId",
    ]
    assert _count(engine, Need) == 0


def test_refuse_wrong_types(client: TestClient, engine: sa.Engine, county: County) -> None:
    for bad in (
        report_input(location={"latitude": "north", "longitude": 114.9}),
        report_input(category="NOT_A_CATEGORY"),
        report_input(title=None),
        report_input(mediaUrls="https://one.jpg/but-not-a-list") | {"urgency": "high"},
    ):
        body = gql(
            client,
            document("reportNeed"),
            {"input": bad},
            token=county.token("resident"),
            expect_errors=True,
        )
        assert body.get("data") is None and body["errors"], body
    assert _count(engine, Need) == 0


def test_refuse_oversized_request_body(client: TestClient, county: County) -> None:
    huge = report_input(description="x" * 1_200_000)
    response = client.post(
        "/graphql",
        json={"query": document("reportNeed"), "variables": {"input": huge}},
        headers={"Authorization": f"Bearer {county.token('resident')}"},
    )
    assert response.status_code == 413


def test_refuse_anonymous_report(client: TestClient, engine: sa.Engine) -> None:
    body = gql(client, document("reportNeed"), {"input": report_input()}, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert _count(engine, Need) == 0


def _need_in(engine: sa.Engine, county: County, status: NeedStatus, **kw: Any) -> Need:
    """A need standing in `status` (with the timestamps that status implies)."""
    now = datetime.now().astimezone()
    values: dict[str, Any] = {
        "reporter_account_id": county.account("resident").id,
        "grid_id": county.grid1.id,
    }
    if status not in (NeedStatus.REPORTED,):
        values["accepted_at"] = now
    if status in (
        NeedStatus.DISPATCHED,
        NeedStatus.ARRIVED,
        NeedStatus.RESOLVED,
        NeedStatus.CLOSED,
    ):
        values |= {"dispatched_at": now, "arrive_by": now, "resolve_by": now}
    return f.need(engine, county.quantang.id, status=status, **(values | kw))


ACTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "acceptNeed": ("coordinator", {}),
    "dispatchNeed": ("coordinator", {"toGridWorker": True}),
    "arriveNeed": ("coordinator", {}),
    "resolveNeed": ("coordinator", {}),
    "rateNeed": ("resident", {"satisfaction": 4}),
    "escalateNeed": ("coordinator", {"reason": "需要多部门协同"}),
    "returnNeed": ("coordinator", {"reason": "不属于本网格"}),
}
LEGAL_FROM = {
    "acceptNeed": {"reported"},
    "dispatchNeed": {"accepted", "dispatched", "arrived"},
    "arriveNeed": {"dispatched"},
    "resolveNeed": {"arrived"},
    "rateNeed": {"resolved"},
    "escalateNeed": {"reported", "accepted", "dispatched", "arrived"},
    "returnNeed": {"dispatched", "arrived"},
}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_refuse_illegal_transition(
    client: TestClient, engine: sa.Engine, county: County, name: str
) -> None:
    who, extra = ACTIONS[name]
    for status in NeedStatus:
        if status.value in LEGAL_FROM[name]:
            continue
        need = _need_in(engine, county, status)
        before = need_row(engine, need.id or 0).model_dump()
        payload = mutate(client, name, {"needId": gid("Need", need.id)} | extra, county.token(who))
        assert error_codes(payload) == ["ILLEGAL_TRANSITION"], (name, status, payload)
        assert payload["need"] is None
        assert need_row(engine, need.id or 0).model_dump() == before
        assert need_events(engine, need.id or 0) == []
    with Session(engine) as s:
        assert s.exec(select(NeedAssignment)).all() == []


def test_refuse_escalating_major_need(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    need = _need_in(engine, county, NeedStatus.ACCEPTED, tier="major")
    payload = step(
        client, county, "escalateNeed", "coordinator", needId=gid("Need", need.id), reason="再升"
    )
    assert error_codes(payload) == ["ILLEGAL_TRANSITION"]


def test_escalate_and_return_need(client: TestClient, engine: sa.Engine, county: County) -> None:
    nid = report(client, county)["id"]
    ok(step(client, county, "acceptNeed", "coordinator", needId=nid))
    dispatched = ok(
        step(client, county, "dispatchNeed", "coordinator", needId=nid, toGridWorker=True)
    )
    at = datetime.fromisoformat(dispatched["need"]["dispatchedAt"])
    up = ok(step(client, county, "escalateNeed", "coordinator", needId=nid, reason="涉及燃气管道"))
    assert up["need"]["tier"] == "COMPLEX" and up["need"]["status"] == "DISPATCHED"
    assert datetime.fromisoformat(up["need"]["resolveBy"]) == at + timedelta(hours=4)
    empty = step(client, county, "returnNeed", "coordinator", needId=nid, reason="  ")
    assert error_codes(empty) == ["BAD_USER_INPUT"]
    assert empty["userErrors"][0]["field"] == ["input", "reason"]
    back = ok(step(client, county, "returnNeed", "coordinator", needId=nid, reason="需燃气公司"))
    assert back["need"]["status"] == "ACCEPTED"
    seen = gql(client, NEED_QUERY, {"id": nid}, token=county.token("coordinator"))["data"]["need"]
    assert [a["active"] for a in seen["assignments"]] == [False]
    assert seen["events"][-1]["note"] == "需燃气公司" and seen["events"][-2]["action"] == "ESCALATE"
    assert_need_log_consistent(engine, 1)


def test_dispatch_need_to_team(client: TestClient, engine: sa.Engine, county: County) -> None:
    team = f.team(engine, name="蚂蚁行动一队")
    nid = report(client, county)["id"]
    ok(step(client, county, "acceptNeed", "coordinator", needId=nid))
    ok(
        step(
            client, county, "dispatchNeed", "coordinator", needId=nid, toTeamId=gid("Team", team.id)
        )
    )
    seen = gql(client, NEED_QUERY, {"id": nid}, token=county.token("coordinator"))["data"]["need"]
    assert seen["assignments"] == [
        {"active": True, "person": None, "team": {"name": "蚂蚁行动一队"}}
    ]


@pytest.mark.parametrize(
    ("input", "field", "code"),
    [
        ({}, ["input", "toPersonIds"], "BAD_USER_INPUT"),
        ({"toPersonIds": [gid("Person", 999)]}, ["input", "toPersonIds"], "NOT_FOUND"),
        ({"toPersonIds": ["bad"]}, ["input", "toPersonIds", "0"], "BAD_USER_INPUT"),
        ({"toTeamId": gid("Team", 999)}, ["input", "toTeamId"], "NOT_FOUND"),
        ({"toGridWorker": True, "expectedVersion": 1}, ["input", "expectedVersion"], "CONFLICT"),
    ],
    ids=["nobody", "unknown-person", "malformed-person", "unknown-team", "stale-version"],
)
def test_refuse_bad_dispatch(
    client: TestClient,
    engine: sa.Engine,
    county: County,
    input: dict[str, Any],
    field: list[str],
    code: str,
) -> None:
    nid = report(client, county)["id"]
    ok(step(client, county, "acceptNeed", "coordinator", needId=nid))
    payload = step(client, county, "dispatchNeed", "coordinator", needId=nid, **input)
    assert error_codes(payload) == [code] and payload["userErrors"][0]["field"] == field
    row = need_row(engine, 1)
    assert row.status is NeedStatus.ACCEPTED and row.version == 2
    assert len(need_events(engine, 1)) == 2


def test_refuse_unknown_need(client: TestClient, engine: sa.Engine, county: County) -> None:
    for need_id, code in ((gid("Need", 42), "NOT_FOUND"), (gid("Grid", 1), "BAD_USER_INPUT")):
        payload = step(client, county, "acceptNeed", "coordinator", needId=need_id)
        assert error_codes(payload) == [code]
        assert payload["userErrors"][0]["field"] == ["input", "needId"]


def test_forbid_acting_outside_area(client: TestClient, engine: sa.Engine, county: County) -> None:
    nid = report(client, county)["id"]
    payload = step(client, county, "acceptNeed", "outsider", needId=nid)
    assert error_codes(payload) == ["FORBIDDEN"]
    assert need_row(engine, 1).status is NeedStatus.REPORTED


def test_forbid_role_without_permission(client: TestClient, county: County) -> None:
    nid = report(client, county)["id"]
    body = gql(
        client,
        document("dispatchNeed"),
        {"input": {"needId": nid, "toGridWorker": True}},
        token=county.token("resident"),
        expect_errors=True,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_rate_need_only_by_reporter(client: TestClient, engine: sa.Engine, county: County) -> None:
    need = _need_in(engine, county, NeedStatus.RESOLVED)
    nid = gid("Need", need.id)
    payload = step(client, county, "rateNeed", "coordinator", needId=nid, satisfaction=5)
    assert error_codes(payload) == ["FORBIDDEN"]
    payload = step(client, county, "rateNeed", "resident", needId=nid, satisfaction=0)
    assert payload["userErrors"][0]["field"] == ["input", "satisfaction"]
    assert need_row(engine, need.id or 0).status is NeedStatus.RESOLVED


def test_merge_needs(client: TestClient, engine: sa.Engine, county: County) -> None:
    first = report(client, county)
    second = report(client, county, location={"latitude": 27.0506, "longitude": 114.9206})
    neighbour = f.account(engine, Role.RESIDENT)
    third = ok(
        mutate(client, "reportNeed", report_input(title="路灯也不亮"), f.token_for(neighbour))
    )["need"]
    assert second["duplicateOf"] == {"id": first["id"]}
    # The neighbour may not see the resident's need their report duplicates (issue 10).
    assert third["duplicateOf"] is None
    q = "query($id: ID!) { need(id: $id) { duplicateOf { id } } }"
    seen = gql(client, q, {"id": third["id"]}, token=county.token("coordinator"))
    assert seen["data"]["need"]["duplicateOf"] == {"id": first["id"]}
    payload = ok(
        mutate(
            client,
            "mergeNeeds",
            {
                "survivorId": first["id"],
                "duplicates": [{"id": second["id"], "expectedVersion": 1}, {"id": third["id"]}],
                "note": "同一盏路灯",
            },
            county.token("coordinator"),
        )
    )
    assert payload["need"]["id"] == first["id"] and payload["need"]["status"] == "REPORTED"
    assert [(m["status"], m["mergedInto"]) for m in payload["merged"]] == [
        ("MERGED", {"id": first["id"]})
    ] * 2
    with Session(engine) as s:
        reporters = {n.id: n.reporter_account_id for n in s.exec(select(Need)).all()}
    assert reporters == {
        1: county.account("resident").id,
        2: county.account("resident").id,
        3: neighbour.id,
    }
    for need_id in (1, 2, 3):
        assert_need_log_consistent(engine, need_id)
    assert need_events(engine, 3)[-1].note == "同一盏路灯"
    again = mutate(
        client,
        "mergeNeeds",
        {"survivorId": first["id"], "duplicates": [{"id": second["id"]}]},
        county.token("coordinator"),
    )
    assert error_codes(again) == ["ILLEGAL_TRANSITION"]


def test_refuse_bad_merge(client: TestClient, engine: sa.Engine, county: County) -> None:
    a, b = report(client, county)["id"], report(client, county)["id"]
    token = county.token("coordinator")
    cases = [
        ({"survivorId": a, "duplicates": []}, ["input", "duplicates"], "BAD_USER_INPUT"),
        ({"survivorId": a, "duplicates": [{"id": a}]}, ["input", "duplicates"], "BAD_USER_INPUT"),
        (
            {"survivorId": a, "duplicates": [{"id": "zzz"}]},
            ["input", "duplicates", "0", "id"],
            "BAD_USER_INPUT",
        ),
        (
            {"survivorId": gid("Need", 99), "duplicates": [{"id": b}]},
            ["input", "survivorId"],
            "NOT_FOUND",
        ),
        (
            {"survivorId": a, "duplicates": [{"id": b, "expectedVersion": 7}]},
            ["input", "expectedVersion"],
            "CONFLICT",
        ),
    ]
    for input, field, code in cases:
        payload = mutate(client, "mergeNeeds", input, token)
        assert error_codes(payload) == [code] and payload["userErrors"][0]["field"] == field
    assert {need_row(engine, i).status for i in (1, 2)} == {NeedStatus.REPORTED}
    outside = mutate(
        client, "mergeNeeds", {"survivorId": a, "duplicates": [{"id": b}]}, county.token("outsider")
    )
    assert error_codes(outside) == ["FORBIDDEN"]


def test_report_need_locates_from_coordinates_only(client: TestClient, county: County) -> None:
    need = report(client, county, location=IN_COUNTY)
    assert need["community"]["name"] == "泉塘社区"


def test_limit_reports_per_caller(engine: sa.Engine, database_url: str, county: County) -> None:
    settings = make_settings(database_url, report_rate_limit=2)
    with TestClient(create_app(settings)) as c:
        for i in range(2):
            ok(mutate(c, "reportNeed", report_input(title=f"第{i}次"), county.token("resident")))
        body = gql(
            c,
            document("reportNeed"),
            {"input": report_input()},
            token=county.token("resident"),
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        ok(mutate(c, "reportNeed", report_input(), county.token("grid_worker")))  # someone else
    assert _count(engine, Need) == 3
