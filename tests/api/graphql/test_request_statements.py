"""What each request of the benchmark's four queries costs in SQL statements (bench/peer_queries):
at most two, whatever the page size (one for a need with its events on PostgreSQL); the caller's
token check costs none on a warm cache."""

from __future__ import annotations

import base64

import sqlalchemy as sa
from starlette.testclient import TestClient

from bench.peer_queries import LULING_COMMUNITIES, LULING_NEED, LULING_NEEDS
from schema.enums import Role
from tests import factories as f
from tests.api.graphql.test_statements import counting, populate
from tests.conftest import gql


def _statements(seen: list[str]) -> list[str]:
    return [s for s in seen if not s.lstrip().upper().startswith("PRAGMA")]


def test_each_benchmark_query_takes_at_most_two_statements(
    cached_client: TestClient, engine: sa.Engine
) -> None:
    client = cached_client
    postgres = engine.dialect.name == "postgresql"
    populate(engine, 120)
    token = f.token_for(f.account(engine, Role.ADMIN))
    with engine.connect() as conn:
        need_id = conn.execute(sa.text("SELECT min(id) FROM need")).scalar_one()
    gid = base64.b64encode(f"Need:{need_id}".encode()).decode()
    cases = {
        "needs 20": (LULING_NEEDS, {"first": 20}, 1),
        "needs 100": (LULING_NEEDS, {"first": 100}, 1),
        "communities with grids": (LULING_COMMUNITIES, {}, 2),
        # PostgreSQL folds the events into the need's own statement (api/graphql/relay/folds).
        "need with events": (LULING_NEED, {"id": gid}, 1 if postgres else 2),
    }
    gql(client, "{ me { username } }", token=token)  # warm: the token check's cache
    for name, (query, variables, expected) in cases.items():
        with counting(client) as seen:
            data = gql(client, query, variables, token=token)["data"]
        statements = _statements(seen)
        assert len(statements) == expected, (name, statements)
        assert not any("FROM account" in s for s in statements), name
        assert data
    need = gql(client, LULING_NEED, {"id": gid}, token=token)["data"]["need"]
    assert need["community"]["name"] and len(need["events"]) == 2


def test_single_need_reads_only_selected_columns_with_its_community_joined(
    cached_client: TestClient, engine: sa.Engine
) -> None:
    client = cached_client
    populate(engine, 2)
    token = f.token_for(f.account(engine, Role.COORDINATOR))
    with engine.connect() as conn:
        need_id = conn.execute(sa.text("SELECT min(id) FROM need")).scalar_one()
    gid = base64.b64encode(f"Need:{need_id}".encode()).decode()
    query = "query($id: ID!) { need(id: $id) { title community { name } } }"
    gql(client, query, {"id": gid}, token=token)
    with counting(client) as seen:
        need = gql(client, query, {"id": gid}, token=token)["data"]["need"]
    (statement,) = _statements(seen)
    selected = statement.split("FROM")[0]
    assert "need.title" in selected and "need.description" not in selected
    assert "JOIN community" in statement
    assert need["title"] and need["community"]["name"]
    missing = base64.b64encode(b"Need:999999").decode()
    assert gql(client, query, {"id": missing}, token=token)["data"]["need"] is None
