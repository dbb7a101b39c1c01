"""Bad input is a coded client error: IDs, tokens, bodies, text and operation names.

Every case here answered INTERNAL, a plain-text 500, or worse (a row written, the wrong object
resolved, the first of several operations run) before the HTTP edges were hardened.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select
from starlette.testclient import TestClient

from api.auth.tokens import ALGORITHM, ISSUER, LEEWAY_SECONDS, issue_token
from api.graphql.relay import to_global_id
from api.settings import DEFAULT_SECRET, Settings
from schema.enums import NeedStatus, Role
from schema.models import Need
from tests import factories as f

GQL_RESPONSE = "application/graphql-response+json"
HUGE = "9999999999999999999999999"
NODE = "query($id: ID!) { node(id: $id) { id } }"
REPORT = """mutation($input: ReportNeedInput!) {
  reportNeed(input: $input) { need { id title } userErrors { field message code } } }"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def post(
    client: TestClient,
    payload: dict[str, Any] | bytes,
    *,
    token: str | None = None,
    accept: str | None = None,
) -> Any:
    """POST a body as given (bytes) or as ASCII JSON (lone surrogates become escapes)."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if accept:
        headers["accept"] = accept
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post("/graphql", content=body, headers=headers)


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


def need_count(engine: sa.Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Need)).one()


@pytest.fixture
def coordinator_token(engine: sa.Engine) -> str:
    return f.token_for(f.account(engine, Role.COORDINATOR))  # county-wide: no community


# --- IDs -----------------------------------------------------------------------------------


def test_refuse_overflowing_id_in_node(raw_client: TestClient, coordinator_token: str) -> None:
    for query, variables in [
        (NODE, {"id": b64(f"Need:{HUGE}")}),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [b64(f"Person:{HUGE}")]}),
    ]:
        r = post(raw_client, {"query": query, "variables": variables}, token=coordinator_token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert code_of(body) == "BAD_USER_INPUT", body
        assert "malformed ID" in body["errors"][0]["message"]


def test_refuse_overflowing_need_id_in_mutation(
    raw_client: TestClient, coordinator_token: str
) -> None:
    query = """mutation($input: AcceptNeedInput!) {
      acceptNeed(input: $input) { need { id } userErrors { field code } } }"""
    r = post(
        raw_client,
        {"query": query, "variables": {"input": {"needId": b64(f"Need:{HUGE}")}}},
        token=coordinator_token,
    )
    body = r.json()
    assert r.status_code == 200 and "errors" not in body, body
    assert body["data"]["acceptNeed"]["userErrors"] == [
        {"field": ["input", "needId"], "code": "BAD_USER_INPUT"}
    ]


def test_refuse_overflowing_ids_in_to_person_ids(
    raw_client: TestClient, engine: sa.Engine, coordinator_token: str
) -> None:
    c = f.community(engine)
    need = f.need(engine, c.id, status=NeedStatus.ACCEPTED)
    helper = f.person(engine)
    query = """mutation($input: DispatchNeedInput!) {
      dispatchNeed(input: $input) { need { status } userErrors { field code } } }"""
    variables = {
        "input": {
            "needId": to_global_id("Need", need.id),
            "toPersonIds": [to_global_id("Person", helper.id), b64(f"Person:{HUGE}")],
        }
    }
    body = post(raw_client, {"query": query, "variables": variables}, token=coordinator_token)
    body = body.json()
    assert "errors" not in body, body
    assert body["data"]["dispatchNeed"] == {
        "need": None,
        "userErrors": [{"field": ["input", "toPersonIds", "1"], "code": "BAD_USER_INPUT"}],
    }


def test_accept_only_canonical_ids(
    raw_client: TestClient, engine: sa.Engine, coordinator_token: str
) -> None:
    c = f.community(engine)
    f.need(engine, c.id, id=10000)
    canonical = to_global_id("Need", 10000)
    found = post(
        raw_client, {"query": NODE, "variables": {"id": canonical}}, token=coordinator_token
    )
    assert found.json()["data"]["node"] == {"id": canonical}
    # The same bytes with a padding bit set: Python's decoder accepts it; it is not our spelling.
    assert canonical.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    tweaked = canonical[:-3] + alphabet[alphabet.index(canonical[-3]) | 1] + "=="
    assert tweaked != canonical and base64.b64decode(tweaked) == base64.b64decode(canonical)
    variants = [
        b64("Need: 10000 "),
        b64("Need:1_0000"),
        b64("Need:\u0661\u0660\u0660\u0660\u0660"),  # Arabic-Indic digits
        b64("Need:+10000"),
        b64("Need:010000"),
        tweaked,
        b64("Need:0"),
        b64("Need:-1"),
        b64(f"Need:{2**31}"),  # past PostgreSQL's INTEGER
        "TmVlZDoxMDAwMA",  # padding left off
        # Well-formed, but naming no type of ours (attack3: answered null without an error).
        b64("Foo:10000"),
        b64("Node:10000"),
        b64("Query:10000"),
        b64("RowType:10000"),
    ]
    for variant in variants:
        r = post(raw_client, {"query": NODE, "variables": {"id": variant}}, token=coordinator_token)
        body = r.json()
        assert body["data"] == {"node": None} and code_of(body) == "BAD_USER_INPUT", (variant, body)


def test_quote_only_a_short_prefix_of_bad_input(
    raw_client: TestClient, coordinator_token: str
) -> None:
    long_id = "A" * 6700
    r = post(raw_client, {"query": NODE, "variables": {"id": long_id}}, token=coordinator_token)
    message = r.json()["errors"][0]["message"]
    assert message == f"malformed ID '{'A' * 32}…'"
    assert len(r.content) < 600
    cursor = "B" * 6700
    query = "query($after: String) { communities(first: 1, after: $after) { totalCount } }"
    r = post(raw_client, {"query": query, "variables": {"after": cursor}}, token=coordinator_token)
    body = r.json()
    assert code_of(body) == "BAD_USER_INPUT" and len(r.content) < 600, body


def test_quote_no_long_value_of_an_invalid_variable(raw_client: TestClient) -> None:
    # attack4: quote pairing missed values nested in input objects or holding quote marks, and
    # 100,000 characters (a line break included) came back to anonymous callers.
    huge = "<b>x\ny" + "y" * 100_000
    cases = [
        ("query($f: CommunityFilter) { communities(first: 1, filter: $f) { totalCount } }",
         {"f": {"kind": huge}}),
        ("query($k: AreaKind) { communities(first: 1, filter: {kind: $k}) { totalCount } }",
         {"k": 'a"' + huge}),
        ("query($n: Int) { communities(first: $n) { totalCount } }", {"n": "9" * 300}),
    ]  # fmt: skip
    for query, variables in cases:
        body = post(raw_client, {"query": query, "variables": variables}).json()
        for error in body["errors"]:
            message = error["message"]
            assert len(message) <= 257 and len(message.splitlines()) == 1, message[:300]  # +"…"


# --- tokens --------------------------------------------------------------------------------


def _signed(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, DEFAULT_SECRET, algorithm=ALGORITHM)


def test_refuse_token_whose_sub_is_out_of_range(raw_client: TestClient) -> None:
    now = int(datetime.now(UTC).timestamp())
    base = {"role": "admin", "iat": now, "exp": now + 600, "iss": ISSUER}
    for sub in ["1" * 30, str(2**31), "0", "-1", "007", " 7"]:
        r = raw_client.get(
            "/graphql",
            params={"query": "{ me { username } }"},
            headers={"authorization": f"Bearer {_signed({**base, 'sub': sub})}"},
        )
        assert r.status_code == 401, (sub, r.text)
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_refuse_token_expired_within_leeway(raw_client: TestClient, engine: sa.Engine) -> None:
    account = f.account(engine, Role.VOLUNTEER)
    # Issued a minute and two seconds ago with a one-minute life: expired two seconds ago,
    # well inside the clock-skew leeway.
    issued = datetime.now(UTC) - timedelta(seconds=62)
    token, expires = issue_token(account, Settings(token_ttl_minutes=1), now=issued)
    assert datetime.now(UTC) - expires < timedelta(seconds=LEEWAY_SECONDS)
    r = post(raw_client, {"query": "{ me { username } }"}, token=token)
    assert r.status_code == 401, r.text
    assert r.json()["errors"][0] == {
        "message": "the token has expired; log in again",
        "extensions": {"code": "UNAUTHENTICATED"},
    }


# --- bodies --------------------------------------------------------------------------------


BAD_BODIES = [
    b"\xff\xfe",
    b"\xff\xfe{",
    b'{"query": "\xff\xfe"}',
    b"\xff\xfe" + '{"query": "{ __typename }"}'.encode("utf-16-le"),  # UTF-16: not for JSON
    b"1",
    b"null",
    b'"{ __typename }"',
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON parser's recursion
]


def test_refuse_body_that_is_not_utf8_json_object(raw_client: TestClient) -> None:
    for body in BAD_BODIES:
        for accept in (None, GQL_RESPONSE):
            r = post(raw_client, body, accept=accept)
            assert r.status_code == 400, (body[:20], r.text)
            assert "json" in r.headers["content-type"]
            assert code_of(r.json()) == "BAD_REQUEST_BODY"
    # A UTF-8 byte order mark is tolerated (RFC 8259 allows ignoring it).
    r = post(raw_client, b'\xef\xbb\xbf{"query": "{ __typename }"}')
    assert r.json()["data"] == {"__typename": "Query"}


# --- text ----------------------------------------------------------------------------------


def _report_input(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "category": "INFRASTRUCTURE",
        "location": {"latitude": 27.05, "longitude": 114.92},
        **extra,
    }


BAD_REPORTS = {
    "nul": _report_input("路灯\x00坏了"),
    "lone surrogate": _report_input("路灯\ud800坏了"),
    "nul in a list": _report_input("路灯坏了", mediaUrls=["https://img.example.cn/a.jpg", "\x00"]),
    "surrogate in another field": _report_input("路灯坏了", description="\udfff"),
}


def test_refuse_bad_text_in_variables(raw_client: TestClient, engine: sa.Engine) -> None:
    f.community(engine)
    token = f.token_for(f.account(engine, Role.RESIDENT))
    for case, report in BAD_REPORTS.items():
        payload = {"query": REPORT, "variables": {"input": report}}
        r = post(raw_client, payload, token=token, accept=GQL_RESPONSE)
        assert r.status_code == 400, (case, r.text)
        body = r.json()
        assert code_of(body) == "BAD_USER_INPUT" and "data" not in body, (case, body)
        r = post(raw_client, payload, token=token)  # application/json: 200, no data
        assert r.status_code == 200 and r.json()["data"] is None
        assert code_of(r.json()) == "BAD_USER_INPUT"
    assert need_count(engine) == 0
    # Astral characters, a backslash-u that is just text, a tab: all stored as sent.
    title = "路灯坏了 😀 \\u0000 \t tab"
    r = post(
        raw_client, {"query": REPORT, "variables": {"input": _report_input(title)}}, token=token
    )
    assert r.json()["data"]["reportNeed"]["need"]["title"] == title
    assert need_count(engine) == 1


def test_refuse_bad_text_over_websocket(raw_client: TestClient, engine: sa.Engine) -> None:
    f.community(engine)
    token = f.token_for(f.account(engine, Role.RESIDENT))
    with raw_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        for n, report in enumerate(BAD_REPORTS.values()):
            payload = {"query": REPORT, "variables": {"input": report}}
            ws.send_text(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
            message = ws.receive_json()
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert need_count(engine) == 0


def _literal_report(title_literal: str) -> str:
    return (
        f"mutation {{ reportNeed(input: {{title: {title_literal}, category: INFRASTRUCTURE, "
        "location: {latitude: 27.05, longitude: 114.92}}) { need { id } } }"
    )


BAD_LITERALS = [
    ('"路灯\\u0000坏了"', "BAD_USER_INPUT"),  # GraphQL escape
    ('"路灯\\u{0}坏了"', "BAD_USER_INPUT"),
    ('"路灯\x00坏了"', "BAD_USER_INPUT"),  # raw NUL, which the GraphQL lexer lets through
    ('"""路灯\x00坏了"""', "BAD_USER_INPUT"),
    # A lone surrogate, raw (a JSON escape in the body) or escaped: the GraphQL spec makes both
    # syntax errors, refused before anything runs.
    ('"路灯\ud800坏了"', "GRAPHQL_PARSE_FAILED"),
    ('"路灯\\uD800坏了"', "GRAPHQL_PARSE_FAILED"),
]


def test_refuse_bad_text_in_literals(raw_client: TestClient, engine: sa.Engine) -> None:
    f.community(engine)
    token = f.token_for(f.account(engine, Role.RESIDENT))
    for literal, code in BAD_LITERALS:
        query = _literal_report(literal)
        r = post(raw_client, {"query": query}, token=token, accept=GQL_RESPONSE)
        assert r.status_code == 400, (literal, r.text)
        assert code_of(r.json()) == code, (literal, r.json())
    assert need_count(engine) == 0
    r = post(raw_client, {"query": _literal_report('"井盖\\uD83D\\uDE00丢了"')}, token=token)
    assert r.json()["data"]["reportNeed"]["need"]["id"], r.json()
    assert need_count(engine) == 1


# --- operations ----------------------------------------------------------------------------


def test_refuse_several_operations_without_a_name(
    raw_client: TestClient, engine: sa.Engine
) -> None:
    f.community(engine)
    token = f.token_for(f.account(engine, Role.RESIDENT))
    report = _literal_report('"路灯坏了"')
    document = (
        report.replace("mutation {", "mutation First {", 1)
        + " "
        + report.replace("mutation {", "mutation Second {", 1)
    )
    r = post(raw_client, {"query": document}, token=token, accept=GQL_RESPONSE)
    assert r.status_code == 400 and r.headers["content-type"].startswith(GQL_RESPONSE)
    body = r.json()
    assert "data" not in body and code_of(body) == "OPERATION_RESOLUTION_FAILURE", body
    r = post(raw_client, {"query": document}, token=token)
    assert r.status_code == 200 and r.json()["data"] is None
    assert code_of(r.json()) == "OPERATION_RESOLUTION_FAILURE"
    assert need_count(engine) == 0
    for name in ["Third", "x" * 5000, 5]:
        payload = {"query": document, "operationName": name}
        r = post(raw_client, payload, token=token, accept=GQL_RESPONSE)
        assert r.status_code == 400, r.text
        assert code_of(r.json()) == "OPERATION_RESOLUTION_FAILURE"
        assert len(r.content) < 400
    assert need_count(engine) == 0
    r = post(raw_client, {"query": document, "operationName": "Second"}, token=token)
    assert r.json()["data"]["reportNeed"]["need"]["id"]
    assert need_count(engine) == 1
    r = post(raw_client, {"query": "{ __typename }", "operationName": None}, accept=GQL_RESPONSE)
    assert r.status_code == 200 and r.json()["data"] == {"__typename": "Query"}
