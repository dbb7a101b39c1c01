"""Tokens issued before a password change, a deactivation, a reactivation or a change of role or
area stop working at once (the account's token version, carried in every token)."""

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


CHANGE_ROLE = """mutation($input: ChangeAccountRoleInput!) { changeAccountRole(input: $input) {
  account { role communityId } userErrors { field code } } }"""


def change_role(client: TestClient, admin_token: str, **input: object) -> dict[str, object]:
    r = client.post(
        "/graphql",
        json={"query": CHANGE_ROLE, "variables": {"input": input}},
        headers={"authorization": f"Bearer {admin_token}"},
    )
    payload: dict[str, object] = r.json()["data"]["changeAccountRole"]
    return payload


def test_revoke_tokens_on_role_or_area_change(client: TestClient, engine: sa.Engine) -> None:
    admin = f.token_for(f.account(engine, Role.ADMIN))
    one, two = f.community(engine), f.community(engine)
    user = f.account(engine, Role.COORDINATOR, username="zhou.qi", community_id=one.id)
    uid, area = to_global_id("Account", user.id), to_global_id("Community", one.id)
    old = f.token_for(user)
    # Nothing changes: the tokens stay good.
    assert (
        change_role(client, admin, id=uid, role="COORDINATOR", communityId=area)["userErrors"] == []
    )
    assert me(client, old) == 200
    # Another area: the old token carried the old scope.
    moved = change_role(
        client, admin, id=uid, role="COORDINATOR", communityId=to_global_id("Community", two.id)
    )
    assert moved["userErrors"] == []
    assert me(client, old) == 401
    newer = login(client, "zhou.qi", "secret-pass")
    demoted = change_role(client, admin, id=uid, role="VOLUNTEER")
    assert demoted == {"account": {"role": "VOLUNTEER", "communityId": None}, "userErrors": []}
    assert me(client, newer) == 401


def test_refuse_weak_new_password(client: TestClient, engine: sa.Engine) -> None:
    f.account(engine, Role.RESIDENT, username="wang.fang", password="first-long-password")
    token = login(client, "wang.fang", "first-long-password")
    for weak, why in [
        ("aaaaaaaaaa", "repeated"),
        ("1234567890", "sequence"),
        (" " * 10, "repeated"),
        ("wang.fang", "at least 10"),
        ("Wang.Fang-2026", "username"),
        ("iloveyou123", "common or breached"),
    ]:
        change = """mutation($p: String!) { changePassword(currentPassword: "first-long-password",
          newPassword: $p) { userErrors { field message code } } }"""
        r = client.post(
            "/graphql",
            json={"query": change, "variables": {"p": weak}},
            headers={"authorization": f"Bearer {token}"},
        )
        [error] = r.json()["data"]["changePassword"]["userErrors"]
        assert (error["field"], error["code"]) == (["newPassword"], "BAD_USER_INPUT")
        assert why in error["message"], (weak, error)
    assert me(client, token) == 200  # nothing changed
