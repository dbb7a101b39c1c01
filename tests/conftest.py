"""Shared fixtures: a real database per session (SQLite or PostgreSQL), clean for every test,
and the test county (tests/county) on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.limits import forget_validated
from api.settings import Settings
from schema.db import make_engine
from schema.migrate import upgrade
from tests import county as test_county
from tests.dbutil import empty_all_tables, fresh_database


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "county(*parts): the parts the `county` fixture adds to the base county "
        f"({', '.join(p for p in test_county.PARTS if p not in test_county.BASE)})",
    )


@pytest.fixture(autouse=True)
def _release_schemas() -> Iterator[None]:
    """Forget the validated documents after each test. Strawberry's validation cache is one
    LRU per process, keyed by schema and document; a server has one schema, but every test's
    app builds its own, and the cache (of the size QueryLimits asks for) kept up to 512 of them
    alive: millions of objects, and garbage collections that stalled tests for seconds."""
    yield
    forget_validated()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(Path(tmp_path_factory.mktemp("db")), "test") as url:
        upgrade(url)  # tables come from the migrations, exactly as in production
        yield url


@pytest.fixture(scope="session")
def _session_engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_session_engine: sa.Engine) -> sa.Engine:
    """The session's database, emptied before the test so every test starts clean."""
    empty_all_tables(_session_engine)
    return _session_engine


@pytest.fixture
def county(engine: sa.Engine, request: pytest.FixtureRequest) -> test_county.County:
    """The test county: its base (areas, people, accounts), plus the parts named by the
    closest `pytest.mark.county(...)` (on the test, or `pytestmark` of its module)."""
    marker = request.node.get_closest_marker("county")
    return test_county.build(engine, *(marker.args if marker else ()))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "log_json": False,
        "log_level": "WARNING",
        # Tests change accounts behind the API's back and expect the next request to see it;
        # the token check's cache has its own tests (tests/api/auth/test_token_cache.py).
        "token_check_seconds": 0,
        "gc_tuning": False,  # frozen objects would outlive each test's app
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url))) as c:
        yield c


@pytest.fixture
def cached_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    """`client` with the token check's cache at its default lifetime (seconds)."""
    ttl = Settings().token_check_seconds
    with TestClient(create_app(make_settings(database_url, token_check_seconds=ttl))) as c:
        yield c


def gql(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    expect_errors: bool = False,
) -> dict[str, Any]:
    """POST a GraphQL operation; unless errors are expected, fail loudly on any."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    if not expect_errors:
        assert response.status_code == 200, body
        assert "errors" not in body, body["errors"]
    return body
