"""WebSocket callers: a token in connection_init, anonymous sockets, bad and expired tokens, and
the allowed origins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from schema.enums import Role
from tests import factories as f
from tests.conftest import make_settings

WS = ["graphql-transport-ws"]
ME = "{ me { username } }"


def _ws_me(client: TestClient, payload: dict[str, Any] | None, **kw: Any) -> dict[str, Any]:
    with client.websocket_connect("/graphql", subprotocols=WS, **kw) as ws:
        ws.send_json({"type": "connection_init", "payload": payload or {}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": ME}})
        return ws.receive_json()


def test_authenticate_websocket_in_connection_init(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.VOLUNTEER, username="ws.user")
    msg = _ws_me(client, {"authorization": f"Bearer {f.token_for(a)}"})
    assert msg["type"] == "next" and msg["payload"]["data"]["me"] == {"username": "ws.user"}


def test_treat_websocket_without_credentials_as_anonymous(client: TestClient) -> None:
    msg = _ws_me(client, None)
    assert msg["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_close_websocket_with_bad_token(client: TestClient, engine: sa.Engine) -> None:
    a = f.account(engine, Role.ADMIN)
    forged = f.token_for(a, secret_key="some-other-secret-that-is-long-enough")
    for payload in ({"authorization": f"Bearer {forged}"}, {"authorization": 42}):
        with client.websocket_connect("/graphql", subprotocols=WS) as ws:
            ws.send_json({"type": "connection_init", "payload": payload})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert closed.value.code == 4403


def test_refuse_websocket_operations_once_token_expired(
    client: TestClient, engine: sa.Engine
) -> None:
    import time
    from datetime import UTC, datetime, timedelta

    from api.auth.tokens import issue_token
    from api.settings import Settings

    a = f.account(engine, Role.VOLUNTEER)
    settings = Settings()
    issued = (
        datetime.now(UTC) - timedelta(minutes=settings.token_ttl_minutes) + timedelta(seconds=2)
    )
    token = issue_token(a, settings, now=issued)[0]
    with client.websocket_connect("/graphql", subprotocols=WS) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        time.sleep(2.5)  # the token expires: the socket is closed (4401), nothing runs on it
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": ME}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


@pytest.fixture
def ws_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(database_url, websocket_origins=["https://app.luling.example"])
    with TestClient(create_app(settings)) as c:
        yield c


def test_accept_websocket_from_allowed_origin(ws_client: TestClient) -> None:
    msg = _ws_me(ws_client, None, headers={"origin": "https://app.luling.example"})
    assert msg["type"] == "next"


def test_refuse_websocket_from_other_origin(ws_client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect),  # denied before the socket is accepted
        ws_client.websocket_connect(
            "/graphql", subprotocols=WS, headers={"origin": "https://evil.example"}
        ) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": {}})
        ws.receive_json()
