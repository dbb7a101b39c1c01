"""Logging in, bearer tokens, `me`, and how bad credentials are refused (api/auth/tokens.py,
caller.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from api.auth import tokens
from api.auth.tokens import InvalidToken, decode_token, issue_token, verify_token
from api.graphql.schema import export_sdl
from api.settings import Settings
from schema.accounts import Account
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql

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


def test_refuse_a_remembered_token_once_it_expires_or_the_secret_changes(
    client: TestClient, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A token verified once is remembered, but its expiry is checked on every use.
    a = f.account(engine, Role.ADMIN)
    token, expires = issue_token(a, Settings())
    assert gql(client, ME, token=token)["data"]["me"]["role"] == "ADMIN"
    assert verify_token(token, Settings()).account_id == a.id
    later = expires.timestamp() + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    r = client.post("/graphql", json={"query": STATS}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.json()["errors"][0]["message"]
    monkeypatch.undo()
    # Under another secret the remembered verification does not count.
    with pytest.raises(InvalidToken):
        verify_token(f.token_for(a), Settings(secret_key="another-secret-" + "x" * 32))


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
