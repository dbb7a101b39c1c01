"""The app over HTTP (api/app.py): answers, health, the body limit, the committed SDL, and
production mode (no GraphiQL, no introspection)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.schema import export_sdl
from tests import factories as f
from tests.conftest import gql, make_settings

SDL_FILE = Path(__file__).resolve().parents[2] / "api" / "schema.graphql"

STATS = """{ countyStats { pairedUnits partyMembers urbanGrids ruralGrids serviceStations
  enterpriseHelpers volunteerTeams enterpriseRequests } }"""


def test_answer_county_stats_over_http(client: TestClient, engine: sa.Engine) -> None:
    c = f.community(engine)
    f.grid(engine, c.id)
    f.grid(engine, c.id, kind="rural")
    f.person(engine)
    stats = gql(client, STATS)["data"]["countyStats"]
    assert stats["urbanGrids"] == 1 and stats["ruralGrids"] == 1
    assert stats["partyMembers"] == 1 and stats["pairedUnits"] == 0


def test_answer_query_over_get(client: TestClient) -> None:
    r = client.get("/graphql", params={"query": "{ countyStats { pairedUnits } }"})
    assert r.status_code == 200 and r.json()["data"]["countyStats"]["pairedUnits"] == 0


def test_report_health_with_database_up(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "up"}


def test_report_health_with_database_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/missing-dir/none.db"
    with TestClient(create_app(make_settings(url))) as c:
        r = c.get("/healthz")
    assert r.status_code == 503 and r.json()["database"] == "down"


def test_report_ready_when_migrated_and_connected(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.json()
    assert r.json() == {
        "status": "ready",
        "database": "up",
        "migrations": "current",
        "broadcaster": "up",
        "limits": "local",  # no Redis configured: each process counts its own
    }


def test_readiness_says_when_limits_are_no_longer_shared(database_url: str) -> None:
    """Found attacking two processes: with its limit Redis unreachable a process counted
    sockets and requests alone (a limit of 4 let 8 in) while `/readyz` said nothing. It stays
    ready (limits still hold per process) and says `degraded`."""
    settings = make_settings(database_url, rate_limit_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as c:
        before = c.get("/readyz").json()
        c.post("/graphql", json={"query": "{ __typename }"})  # takes a slot: Redis fails
        after = c.get("/readyz")
    assert before["limits"] == "shared"
    assert after.status_code == 200 and after.json()["limits"] == "degraded"


def test_report_unready_while_database_is_behind(tmp_path: Path) -> None:
    from schema.migrate import upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0009")  # an older revision: this code waits for `luling db upgrade`
    with TestClient(create_app(make_settings(url))) as c:
        behind = c.get("/readyz")
        upgrade(url)
        caught_up = c.get("/readyz")
    assert behind.status_code == 503 and behind.json()["migrations"] == "behind"
    assert caught_up.status_code == 200


def test_refuse_oversized_body(client: TestClient) -> None:
    r = client.post(
        "/graphql", content=b"x" * 1_100_000, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_keep_committed_sdl_current() -> None:
    assert SDL_FILE.read_text(encoding="utf-8") == export_sdl(), (
        "api/schema.graphql is stale: run `luling export-schema --output api/schema.graphql`"
    )


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
