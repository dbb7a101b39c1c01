"""A valid token costs no account read while the account's row is cached (a few seconds), and a
token revoked elsewhere stops working within that time (`token_check_seconds`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from schema.enums import Role
from tests import factories as f
from tests.api.graphql.test_statements import counting
from tests.conftest import gql, make_settings

TTL = 0.5
ME = "{ me { username role } }"


@pytest.fixture
def short_ttl_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(database_url, token_check_seconds=TTL)
    with TestClient(create_app(settings)) as c:
        yield c


def _account_reads(seen: list[str]) -> int:
    return sum("FROM account" in s for s in seen)


def test_no_account_read_on_a_warm_cache(cached_client: TestClient, engine: sa.Engine) -> None:
    client = cached_client
    token = f.token_for(f.account(engine, Role.COORDINATOR))
    query = "{ communities(first: 1) { nodes { name } } }"
    with counting(client) as seen:
        gql(client, query, token=token)
    assert _account_reads(seen) == 1  # cold: the row is read once
    with counting(client) as seen:
        gql(client, query, token=token)
    assert _account_reads(seen) == 0


def test_revoked_elsewhere_fails_within_the_ttl(
    short_ttl_client: TestClient, engine: sa.Engine
) -> None:
    account = f.account(engine, Role.COORDINATOR)
    token = f.token_for(account)
    assert gql(short_ttl_client, ME, token=token)["data"]["me"]["role"] == "COORDINATOR"
    with engine.begin() as conn:  # another process bumps the version (password change …)
        conn.execute(
            sa.text("UPDATE account SET token_version = token_version + 1 WHERE id = :id"),
            {"id": account.id},
        )
    time.sleep(TTL + 0.1)
    response = short_ttl_client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"][0]["message"]


def test_deactivated_elsewhere_fails_within_the_ttl(
    short_ttl_client: TestClient, engine: sa.Engine
) -> None:
    account = f.account(engine, Role.COORDINATOR)
    token = f.token_for(account)
    gql(short_ttl_client, ME, token=token)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE account SET is_active = false WHERE id = :id"), {"id": account.id}
        )
    time.sleep(TTL + 0.1)
    response = short_ttl_client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


def test_a_change_made_through_this_process_applies_at_once(
    cached_client: TestClient, engine: sa.Engine
) -> None:
    """The default TTL is seconds, but a password change served here forgets the row now."""
    client = cached_client
    account = f.account(engine, Role.COORDINATOR, password="old-secret-pass")
    token = f.token_for(account)
    gql(client, ME, token=token)
    change = """mutation { changePassword(currentPassword: "old-secret-pass",
      newPassword: "a-new-secret-pass-42") { userErrors { message } } }"""
    assert gql(client, change, token=token)["data"]["changePassword"]["userErrors"] == []
    response = client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
