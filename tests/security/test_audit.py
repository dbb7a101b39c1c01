"""The audit log: one row per request, decided by the server, small, and never attributed to
a name taken from an argument (api/auth/audit.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from schema.accounts import AuditLog
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql

WS = ["graphql-transport-ws"]
CREATE = """mutation($u: String!) { createAccount(input: {username: $u,
  password: "long-enough-pw", role: RESIDENT}) { account { id } } }"""


def rows(engine: sa.Engine) -> list[AuditLog]:
    with Session(engine) as s:
        return list(s.exec(select(AuditLog).order_by(AuditLog.id)))


def reports(count: int, media: int) -> dict[str, Any]:
    """`count` aliased reportNeed fields sharing `media` photo links (as a variable)."""
    fields = " ".join(
        f'r{i}: reportNeed(input: {{title: "路灯不亮{i}", category: INFRASTRUCTURE, '
        "location: {latitude: 27.0655, longitude: 114.9249}, mediaUrls: $media}) "
        "{ need { id } }"
        for i in range(count)
    )
    urls = [f"https://img.example.cn/luling/{n:05d}-{'x' * 60}.jpg" for n in range(media)]
    return {"query": f"mutation($media: [String!]!) {{ {fields} }}", "variables": {"media": urls}}


def test_tally_refused_anonymous_requests(client: TestClient, engine: sa.Engine) -> None:
    request = reports(30, 2100)
    for _ in range(3):
        body = client.post("/graphql", json=request).json()
        assert {e["extensions"]["code"] for e in body["errors"]} == {"UNAUTHENTICATED"}
    (row,) = rows(engine)  # three requests of 30 fields: one tally row, no arguments
    assert row.account_id is None and not row.ok and row.error_code == "UNAUTHENTICATED"
    assert row.variables == {} and row.count == 1
    assert len(row.outcomes) == 30


def test_keep_arguments_small(client: TestClient, engine: sa.Engine) -> None:
    resident = f.account(engine, Role.RESIDENT)
    f.community(engine)
    client.post(
        "/graphql",
        json=reports(1, 2100),
        headers={"Authorization": f"Bearer {f.token_for(resident)}"},
    )
    (row,) = rows(engine)
    import json

    assert len(json.dumps(row.variables, ensure_ascii=False).encode()) <= 5_000
    assert row.account_id == resident.id


def test_decide_outcome_without_user_errors_selected(client: TestClient, engine: sa.Engine) -> None:
    f.account(engine, Role.RESIDENT, password="right-password", username="zhao")
    admin = f.account(engine, Role.ADMIN)
    # Neither document selects userErrors: the server still knows what happened.
    gql(client, 'mutation { login(username: "zhao", password: "wrong-password") { token } }')
    gql(client, CREATE, {"u": "new.one"}, token=f.token_for(admin))
    gql(client, CREATE, {"u": "new.one"}, token=f.token_for(admin))
    failed_login, created, conflict = rows(engine)
    assert not failed_login.ok and failed_login.error_code == "UNAUTHENTICATED"
    assert failed_login.username == "" and failed_login.account_id is None
    assert created.ok and created.error_code is None
    assert not conflict.ok and conflict.error_code == "CONFLICT"


def test_record_fields_that_never_ran(client: TestClient, engine: sa.Engine) -> None:
    resident = f.account(engine, Role.RESIDENT)
    document = """mutation {
      a: createAccount(input: {username: "x.one", password: "long-enough-pw", role: ADMIN})
        { account { id } }
      b: changePassword(currentPassword: "secret-pass", newPassword: "another-long-pw")
        { account { id } }
    }"""
    gql(client, document, token=f.token_for(resident), expect_errors=True)
    (row,) = rows(engine)
    assert not row.ok
    assert [(o["key"], o["code"]) for o in row.outcomes] == [("a", "FORBIDDEN"), ("b", "NOT_RUN")]


def test_never_attribute_to_a_name_from_an_argument(client: TestClient, engine: sa.Engine) -> None:
    f.account(engine, Role.ADMIN, username="demo.admin")
    login = 'mutation { login(username: "demo.admin", password: "wrong-password") { token } }'
    with client.websocket_connect("/graphql", subprotocols=WS) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        create = CREATE.replace("($u: String!)", "").replace("$u", '"sneaky"')
        for n, query in enumerate((login, create)):
            payload: dict[str, Any] = {"query": query}
            ws.send_json({"id": str(n), "type": "subscribe", "payload": payload})
            ws.receive_json()
    assert all(r.username == "" and r.account_id is None for r in rows(engine))
    with Session(engine) as s:
        assert s.exec(select(AuditLog).where(AuditLog.username == "demo.admin")).first() is None


def test_tally_writes_a_count_once_a_minute() -> None:
    from api.auth.audit import TALLY_SECONDS, RefusalTally

    now = [0.0]
    tally = RefusalTally(clock=lambda: now[0])
    assert tally.add("1.2.3.4", "FORBIDDEN") == 1  # the first is written at once
    assert [tally.add("1.2.3.4", "FORBIDDEN") for _ in range(5)] == [None] * 5
    now[0] = TALLY_SECONDS
    assert tally.add("1.2.3.4", "FORBIDDEN") == 6  # then the count, once a minute
    assert tally.add("5.6.7.8", "FORBIDDEN") == 1  # per address
