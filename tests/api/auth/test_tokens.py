"""Logging in, bearer tokens, `me`, account management, and how bad credentials are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from api.app import create_app
from api.auth.tokens import decode_token, issue_token
from api.graphql.schema import export_sdl
from api.settings import Settings
from schema.accounts import Account
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql, make_settings

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) {
    token expiresAt account { username role } userErrors { field message code }
  }
}"""
ME = "{ me { id username displayName role isActive communityId personId } }"
STATS = "{ countyStats { pairedUnits } }"


def _code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def test_log_in_with_password_returns_token(client: TestClient, engine: sa.Engine) -> None:
    f.account(engine, Role.COORDINATOR, password="correct-horse", username="li.ming")
    body = gql(client, LOGIN, {"u": "li.ming", "p": "correct-horse"})
    payload = body["data"]["login"]
    assert payload["userErrors"] == []
    assert payload["account"] == {"username": "li.ming", "role": "COORDINATOR"}
    claims = decode_token(payload["token"], Settings())
    assert claims.role is Role.COORDINATOR
    assert datetime.fromisoformat(payload["expiresAt"]) == claims.expires_at
    me = gql(client, ME, token=payload["token"])["data"]["me"]
    assert me["username"] == "li.ming" and me["role"] == "COORDINATOR"


def test_record_last_login(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.RESIDENT, password="correct-horse", username="wang")
    gql(client, LOGIN, {"u": "wang", "p": "correct-horse"})
    with Session(engine) as s:
        assert s.get(Account, a.id).last_login_at is not None


@pytest.mark.parametrize(
    ("username", "password"),
    [("li.ming", "wrong-password"), ("nobody", "correct-horse"), ("li.ming", "")],
)
def test_refuse_login_with_wrong_credentials(
    client: TestClient, engine: sa.Engine, username: str, password: str
) -> None:
    f.account(engine, Role.COORDINATOR, password="correct-horse", username="li.ming")
    payload = gql(client, LOGIN, {"u": username, "p": password})["data"]["login"]
    assert payload["token"] is None and payload["account"] is None
    # One message whether the username exists or not: no account enumeration.
    assert payload["userErrors"] == [
        {"field": ["password"], "message": "wrong username or password", "code": "UNAUTHENTICATED"}
    ]


def test_refuse_login_of_deactivated_account(client: TestClient, engine: sa.Engine) -> None:
    f.account(engine, Role.RESIDENT, password="correct-horse", username="gone", is_active=False)
    payload = gql(client, LOGIN, {"u": "gone", "p": "correct-horse"})["data"]["login"]
    assert payload["token"] is None
    assert payload["userErrors"][0]["code"] == "UNAUTHENTICATED"


def test_refuse_me_without_token(client: TestClient) -> None:
    body = gql(client, ME, expect_errors=True)
    assert body["data"] is None and _code(body) == "UNAUTHENTICATED"


def test_refuse_expired_token_even_for_public_fields(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.ADMIN)
    stale = issue_token(a, Settings(), now=datetime.now(UTC) - timedelta(days=2))[0]
    for query in (ME, STATS):
        r = client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {stale}"}
        )
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "expired" in r.json()["errors"][0]["message"]


def _forgeries(account: Account) -> dict[str, str]:
    now = datetime.now(UTC)
    claims = {"sub": str(account.id), "role": "admin", "iss": "luling", "iat": now}
    claims["exp"] = now + timedelta(hours=1)
    good = f.token_for(account)
    head, body, sig = good.split(".")
    return {
        "other secret": jwt.encode(claims, "not-the-server-secret-at-all-0123456789", "HS256"),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "tampered signature": f"{head}.{body}.{sig[:-4]}AAAA",
        "garbage": "not-a-jwt",
        "unknown account": jwt.encode(claims | {"sub": "999999"}, Settings().secret_key, "HS256"),
        "no expiry": jwt.encode(
            {k: v for k, v in claims.items() if k != "exp"}, Settings().secret_key, "HS256"
        ),
        "other issuer": jwt.encode(claims | {"iss": "evil"}, Settings().secret_key, "HS256"),
    }


def test_refuse_forged_tokens(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.RESIDENT)
    for name, token in _forgeries(a).items():
        body = gql(client, ME, token=token, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", name


def test_refuse_other_authorization_schemes(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.RESIDENT)
    for value in (f"Basic {f.token_for(a)}", "Bearer", "Bearer   "):
        r = client.post("/graphql", json={"query": STATS}, headers={"Authorization": value})
        assert r.status_code == 401, value


def test_refuse_token_of_deactivated_account(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.COORDINATOR)
    token = f.token_for(a)
    assert gql(client, ME, token=token)["data"]["me"]["isActive"] is True
    with Session(engine) as s:
        s.execute(sa.update(Account).where(Account.id == a.id).values(is_active=False))
        s.commit()
    assert _code(gql(client, ME, token=token, expect_errors=True)) == "UNAUTHENTICATED"


def test_follow_role_changes_without_new_token(client: TestClient, engine: sa.Engine) -> None:
    # The account row decides on every request, not the role claim in the token.
    a = f.account(engine, Role.ADMIN)
    token = f.token_for(a)
    with Session(engine) as s:
        s.execute(sa.update(Account).where(Account.id == a.id).values(role=Role.RESIDENT))
        s.commit()
    assert gql(client, ME, token=token)["data"]["me"]["role"] == "RESIDENT"
    body = gql(client, "{ accounts { nodes { username } } }", token=token, expect_errors=True)
    assert _code(body) == "FORBIDDEN"


def test_never_expose_password_hash() -> None:
    sdl = export_sdl().lower()
    assert "passwordhash" not in sdl and "password_hash" not in sdl


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


def test_keep_last_admin_active(client: TestClient, engine: sa.Engine) -> None:
    from api.graphql.relay import to_global_id

    admin = f.account(engine, Role.ADMIN)
    out = gql(
        client, DEACTIVATE, {"id": to_global_id("Account", admin.id)}, token=f.token_for(admin)
    )
    assert out["data"]["deactivateAccount"]["userErrors"] == [{"field": ["id"], "code": "CONFLICT"}]


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


def test_turn_off_graphiql_and_introspection_in_production(
    engine: sa.Engine, database_url: str
) -> None:
    settings = make_settings(database_url, environment="production")
    with TestClient(create_app(settings)) as c:
        page = c.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 404
        body = gql(c, "{ __schema { queryType { name } } }", expect_errors=True)
        assert "introspection" in body["errors"][0]["message"].lower()
        assert "data" in gql(c, STATS)  # ordinary queries still work
    with TestClient(create_app(make_settings(database_url))) as c:
        assert c.get("/graphql", headers={"accept": "text/html"}).status_code == 200
        assert gql(c, "{ __schema { queryType { name } } }")["data"]["__schema"]


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
