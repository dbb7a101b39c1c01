"""Account management over GraphQL: administrators create, list and deactivate accounts (never
the last administrator), anyone signed in changes their own password."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from schema.accounts import Account
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql

LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"""
ME = "{ me { username } }"


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


CREATE = """mutation($input: CreateAccountInput!) {
  createAccount(input: $input) {
    account { id username role communityId } userErrors { field code }
  }
}"""


def test_create_account_as_admin(client: TestClient, engine: sa.Engine) -> None:
    admin = f.account(engine, Role.ADMIN)
    c = f.community(engine)
    from api.graphql.relay import to_global_id

    data = {
        "username": "grid.zhang",
        "password": "long-enough-pass",
        "role": "GRID_WORKER",
        "communityId": to_global_id("Community", c.id),
    }
    payload = gql(client, CREATE, {"input": data}, token=f.token_for(admin))["data"]
    created = payload["createAccount"]
    assert created["userErrors"] == []
    assert created["account"]["role"] == "GRID_WORKER"
    assert created["account"]["communityId"] == to_global_id("Community", c.id)
    login = gql(client, LOGIN, {"u": "grid.zhang", "p": "long-enough-pass"})["data"]["login"]
    assert login["token"]
    again = gql(client, CREATE, {"input": data}, token=f.token_for(admin))["data"]
    assert again["createAccount"]["userErrors"] == [{"field": ["username"], "code": "CONFLICT"}]
    short = data | {"username": "other", "password": "short"}
    bad = gql(client, CREATE, {"input": short}, token=f.token_for(admin))["data"]
    assert bad["createAccount"]["userErrors"] == [{"field": ["password"], "code": "BAD_USER_INPUT"}]


def test_refuse_create_account_to_coordinator(client: TestClient, engine: sa.Engine) -> None:
    coordinator = f.account(engine, Role.COORDINATOR)
    data = {"username": "sneaky", "password": "long-enough-pass", "role": "ADMIN"}
    body = gql(client, CREATE, {"input": data}, token=f.token_for(coordinator), expect_errors=True)
    assert _code(body) == "FORBIDDEN" and body["data"] is None
    with Session(engine) as s:
        assert s.exec(select(Account).where(Account.username == "sneaky")).first() is None


DEACTIVATE = """mutation($id: ID!) {
  deactivateAccount(id: $id) { account { isActive } userErrors { field code } }
}"""


def test_deactivate_account_stops_its_tokens(client: TestClient, engine: sa.Engine) -> None:
    from api.graphql.relay import to_global_id

    admin = f.account(engine, Role.ADMIN)
    victim = f.account(engine, Role.VOLUNTEER)
    token = f.token_for(victim)
    gql(client, ME, token=token)
    out = gql(
        client, DEACTIVATE, {"id": to_global_id("Account", victim.id)}, token=f.token_for(admin)
    )
    assert out["data"]["deactivateAccount"]["account"] == {"isActive": False}
    assert _code(gql(client, ME, token=token, expect_errors=True)) == "UNAUTHENTICATED"


def test_refuse_deactivating_oneself(client: TestClient, engine: sa.Engine) -> None:
    from api.graphql.relay import to_global_id

    admin = f.account(engine, Role.ADMIN)
    f.account(engine, Role.ADMIN)  # not the last administrator: still refused
    out = gql(
        client, DEACTIVATE, {"id": to_global_id("Account", admin.id)}, token=f.token_for(admin)
    )
    assert out["data"]["deactivateAccount"]["userErrors"] == [
        {"field": ["id"], "code": "FORBIDDEN"}
    ]


def test_list_accounts_as_admin(client: TestClient, engine: sa.Engine) -> None:
    admin = f.account(engine, Role.ADMIN, username="root")
    f.account(engine, Role.RESIDENT, username="res1")
    f.account(engine, Role.RESIDENT, username="res2", is_active=False)
    q = "query($r: Role) { accounts(role: $r, first: 10) { totalCount nodes { username } } }"
    out = gql(client, q, {"r": "RESIDENT"}, token=f.token_for(admin))["data"]["accounts"]
    assert out["nodes"] == [{"username": "res1"}] and out["totalCount"] == 1
    q2 = "{ accounts(includeInactive: true) { nodes { username } } }"
    names = [
        n["username"]
        for n in gql(client, q2, token=f.token_for(admin))["data"]["accounts"]["nodes"]
    ]
    assert names == ["root", "res1", "res2"]


CHANGE = """mutation($c: String!, $n: String!) {
  changePassword(currentPassword: $c, newPassword: $n) {
    account { username } userErrors { field code }
  }
}"""


def test_change_own_password(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.VOLUNTEER, password="old-password-1", username="vol")
    token = f.token_for(a)
    wrong = gql(client, CHANGE, {"c": "not-it-at-all", "n": "new-password-2"}, token=token)
    assert wrong["data"]["changePassword"]["userErrors"] == [
        {"field": ["currentPassword"], "code": "UNAUTHENTICATED"}
    ]
    ok = gql(client, CHANGE, {"c": "old-password-1", "n": "new-password-2"}, token=token)
    assert ok["data"]["changePassword"] == {"account": {"username": "vol"}, "userErrors": []}
    assert gql(client, LOGIN, {"u": "vol", "p": "old-password-1"})["data"]["login"]["token"] is None
    assert gql(client, LOGIN, {"u": "vol", "p": "new-password-2"})["data"]["login"]["token"]
    anonymous = gql(client, CHANGE, {"c": "x", "n": "y"}, expect_errors=True)
    assert _code(anonymous) == "UNAUTHENTICATED"
