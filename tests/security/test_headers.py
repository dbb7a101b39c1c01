"""Security headers on every kind of response, GraphiQL's own policy, and no server banner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import LulingGraphQL, create_app
from schema.enums import Role
from tests import factories as f
from tests.conftest import make_settings
from tests.served import serving

STRICT_CSP = "default-src 'none'"


def assert_secured(response: httpx.Response, *, csp: str = STRICT_CSP) -> None:
    h = response.headers
    what = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert h.get("x-content-type-options") == "nosniff", what
    assert h.get("x-frame-options") == "DENY", what
    assert h.get("referrer-policy") == "no-referrer", what
    policy = h.get("content-security-policy", "")
    assert policy.startswith(csp) and "frame-ancestors 'none'" in policy, (what, policy)
    assert "server" not in h, what


def test_secure_every_kind_of_response(raw_client: TestClient, engine: sa.Engine) -> None:
    forged = f.token_for(f.account(engine, Role.ADMIN), secret_key="x" * 40)
    responses = [
        raw_client.post("/graphql", json={"query": "{ countyStats { pairedUnits } }"}),
        raw_client.get("/graphql", params={"query": "{ __typename }"}),
        raw_client.get("/healthz"),
        raw_client.get("/no-such-page"),  # 404
        raw_client.post("/healthz"),  # 405
        raw_client.post(
            "/graphql", content=b"\xff\xfe", headers={"content-type": "application/json"}
        ),
        raw_client.post("/graphql", content=b"x" * 1_100_000),  # 413
        raw_client.post(
            "/graphql",
            json={"query": "{ me { username } }"},
            headers={"authorization": f"Bearer {forged}"},
        ),  # 401
        raw_client.post(
            "/graphql",
            json={"query": "{ nope }"},
            headers={"accept": "application/graphql-response+json"},
        ),  # 400
        raw_client.options(  # CORS preflight
            "/graphql",
            headers={
                "origin": "http://localhost:5173",
                "access-control-request-method": "POST",
            },
        ),
    ]
    assert {r.status_code for r in responses} >= {200, 400, 401, 404, 405, 413}
    for response in responses:
        assert_secured(response)


def test_answer_unexpected_failures_with_json_and_headers(
    engine: sa.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(LulingGraphQL, "get_context", broken)
    app = create_app(make_settings(database_url))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/graphql", json={"query": "{ __typename }"})
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
    assert r.json() == {
        "errors": [{"message": "Unexpected error.", "extensions": {"code": "INTERNAL"}}]
    }
    assert_secured(r)


def test_let_graphiql_and_the_console_load_from_this_origin_only(raw_client: TestClient) -> None:
    for page in (raw_client.get("/graphql", headers={"accept": "text/html"}), raw_client.get("/")):
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert_secured(page, csp="default-src 'self'")
        policy = dict(
            (d.split()[0], d.split()[1:])
            for d in page.headers["content-security-policy"].split("; ")
        )
        assert "'unsafe-inline'" not in str(policy) and "'unsafe-eval'" not in str(policy)
        assert "script-src" not in policy and "connect-src" not in policy  # 'self' for both
        html = page.text
        # Every script and stylesheet the page names is a file this app serves; none inline.
        scripts = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
        styles = re.findall(r"<link[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]+)\"", html, re.S)
        assert scripts and styles
        for url in scripts + styles:
            assert url.startswith("/static/"), url
            assert raw_client.get(url).status_code == 200, url
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html)
        assert "<style" not in html and " style=" not in html
    # The API's own answers keep the strict policy.
    api = raw_client.get("/graphql", params={"query": "{ __typename }"})
    assert api.headers["content-security-policy"].startswith(STRICT_CSP)


def test_configure_uvicorn_without_server_banner() -> None:
    from api.cli import uvicorn_options  # the keyword arguments `luling serve` runs with

    options = uvicorn_options(host="127.0.0.1", port=8000)
    assert options["server_header"] is False
    assert options["date_header"] is True  # RFC 9110: an origin server with a clock sends Date
    # The fast pair, never uvicorn's silent fallback to h11 and asyncio.
    assert (options["http"], options["loop"]) == ("httptools", "uvloop")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`luling serve` on a free port over a fresh SQLite database; yields its base URL."""
    with serving(f"sqlite:///{tmp_path}/served.db", tmp_path) as base:
        yield base


def test_serve_without_server_banner(served: str) -> None:
    for response in [
        httpx.get(f"{served}/healthz"),
        httpx.post(f"{served}/graphql", json={"query": "{ __typename }"}),
        httpx.get(f"{served}/no-such-page"),
        httpx.post(
            f"{served}/graphql", content=b"\xff\xfe", headers={"content-type": "application/json"}
        ),
    ]:
        assert "server" not in response.headers, response.headers
        assert "date" in response.headers
        assert_secured(response)
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"] == {
        "code": "BAD_REQUEST_BODY"
    }
