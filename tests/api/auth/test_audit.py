"""The audit log over HTTP: secrets redacted, logins and refused mutations recorded, one row per
request with an outcome per root field, read by administrators only (api/auth/audit.py)."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from api.auth.audit import REDACTED, redact
from api.graphql.schema import export_sdl
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql
from tests.loop import audit_rows

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { token userErrors { code } }
}"""


def test_redact_secrets_recursively() -> None:
    value = {"username": "a", "password": "p", "input": {"newPassword": "x", "token": "t"}}
    assert redact(value) == {
        "username": "a",
        "password": REDACTED,
        "input": {"newPassword": REDACTED, "token": REDACTED},
    }


def test_audit_failed_and_successful_logins(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.RESIDENT, password="right-password", username="zhao")
    gql(client, LOGIN, {"u": "zhao", "p": "wrong-password"})
    # Inline literals are read from the document, and redacted just the same.
    gql(client, 'mutation { login(username: "zhao", password: "right-password") { token } }')
    failed, ok = audit_rows(engine)
    # A failed login stays anonymous: the name typed in is an argument, never the actor.
    assert (failed.operation, failed.username, failed.account_id) == ("login", "", None)
    assert failed.variables == {"username": "zhao", "password": REDACTED}
    assert not failed.ok and failed.error_code == "UNAUTHENTICATED"
    assert failed.client_ip == "testclient"
    assert ok.ok and ok.account_id == a.id and ok.username == "zhao" and ok.error_code is None
    assert ok.variables == {"username": "zhao", "password": REDACTED}
    assert ok.at.tzinfo is not None


def test_audit_refused_mutation(client: TestClient, engine: sa.Engine) -> None:
    resident = f.account(engine, Role.RESIDENT, username="res")
    q = """mutation { a: createAccount(input: {username: "x1", password: "long-enough-pw",
      role: ADMIN}) { userErrors { code } } }"""
    gql(client, q, token=f.token_for(resident), expect_errors=True)
    (row,) = audit_rows(engine)
    assert (row.operation, row.account_id, row.username) == ("createAccount", resident.id, "res")
    assert not row.ok and row.error_code == "FORBIDDEN"
    assert row.variables["input"]["password"] == REDACTED


def test_audit_every_root_field_of_a_document(client: TestClient, engine: sa.Engine) -> None:
    admin = f.account(engine, Role.ADMIN)
    q = """mutation {
      one: createAccount(input: {username: "u.one", password: "long-enough-pw", role: RESIDENT})
        { userErrors { code } }
      two: createAccount(input: {username: "u.one", password: "long-enough-pw", role: RESIDENT})
        { userErrors { code } }
    }"""
    gql(client, q, token=f.token_for(admin))
    (row,) = audit_rows(engine)  # one row per request, an outcome per root field
    assert [(o["key"], o["ok"], o["code"]) for o in row.outcomes] == [
        ("one", True, None),
        ("two", False, "CONFLICT"),
    ]
    assert not row.ok and row.error_code == "CONFLICT"
    assert row.operation == "createAccount,createAccount"
    assert set(row.variables) == {"one", "two"}


def test_read_audit_log_as_admin_only(client: TestClient, engine: sa.Engine) -> None:
    admin = f.account(engine, Role.ADMIN, username="boss")
    coordinator = f.account(engine, Role.COORDINATOR)
    gql(client, LOGIN, {"u": "boss", "p": "nope-nope-nope"})
    gql(client, LOGIN, {"u": "ghost", "p": "nope-nope-nope"})
    q = """query($op: String, $ok: Boolean) { auditLog(first: 10, operation: $op, ok: $ok) {
      totalCount nodes { id username operation arguments ok errorCode clientIp at accountId }
    } }"""
    log = gql(client, q, {"op": "login", "ok": False}, token=f.token_for(admin))
    entries = log["data"]["auditLog"]["nodes"]
    assert [e["arguments"]["username"] for e in entries] == ["ghost", "boss"]  # newest first
    assert [e["username"] for e in entries] == ["", ""]  # failed logins stay anonymous
    assert entries[0]["arguments"] == {"username": "ghost", "password": REDACTED}
    refused = gql(client, q, token=f.token_for(coordinator), expect_errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    if "node(" in export_sdl():  # fetching it by ID is guarded the same way
        node = gql(
            client,
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": entries[0]["id"]},
            token=f.token_for(coordinator),
            expect_errors=True,
        )
        assert node["errors"][0]["extensions"]["code"] == "FORBIDDEN"
