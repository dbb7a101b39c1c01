"""Tokens issued before a password change, a deactivation or a reactivation stop working at
once (the account's token version, carried in every token)."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from schema.enums import Role
from tests import factories as f

ME = "{ me { username } }"
LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) {
  token userErrors { code } } }"""


def me(client: TestClient, token: str) -> int:
    r = client.post("/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"})
    return r.status_code


def login(client: TestClient, username: str, password: str) -> str:
    body = client.post(
        "/graphql", json={"query": LOGIN, "variables": {"u": username, "p": password}}
    ).json()
    token = body["data"]["login"]["token"]
    assert token, body
    return str(token)


def test_revoke_tokens_on_password_change(client: TestClient, engine: sa.Engine) -> None:
    f.account(engine, Role.RESIDENT, username="wang.fang", password="first-long-password")
    old = login(client, "wang.fang", "first-long-password")
    change = """mutation { changePassword(currentPassword: "first-long-password",
      newPassword: "second-long-password") { userErrors { code } } }"""
    r = client.post("/graphql", json={"query": change}, headers={"authorization": f"Bearer {old}"})
    assert r.json()["data"]["changePassword"]["userErrors"] == []
    assert me(client, old) == 401  # the token from before the change
    assert me(client, login(client, "wang.fang", "second-long-password")) == 200


def test_keep_old_tokens_revoked_after_reactivation(client: TestClient, engine: sa.Engine) -> None:
    admin = f.account(engine, Role.ADMIN)
    user = f.account(engine, Role.VOLUNTEER, username="li.lei", password="a-long-password")
    old = login(client, "li.lei", "a-long-password")

    for mutation in ("deactivateAccount", "reactivateAccount"):
        query = f'mutation {{ {mutation}(id: "{to_global_id("Account", user.id)}") {{ account {{ id }} }} }}'  # noqa: E501
        r = client.post(
            "/graphql",
            json={"query": query},
            headers={"authorization": f"Bearer {f.token_for(admin)}"},
        )
        assert "errors" not in r.json(), r.json()
    assert me(client, old) == 401
    assert me(client, login(client, "li.lei", "a-long-password")) == 200
