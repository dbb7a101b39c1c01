"""GraphQL over WebSocket: message size, the init deadline, anonymous sockets, socket limits, the
caller's rights re-checked over the socket's life (expiry, deactivation, password change, from
the API and from the CLI), and one database read per event whatever the number of subscribers.

Real sockets through Starlette's TestClient; a real database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
import strawberry
from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as WS
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from api import cli
from api.app import create_app
from api.auth.permissions import Can
from api.auth.tokens import issue_token
from api.settings import Settings
from schema.accounts import Account, AuditLog
from tests.api.graphql.mutate import document, gid, mutate, ok, report_input
from tests.api.graphql.needs.test_subscriptions import PG_URL, _postgres_up, wait_for_subscriber
from tests.conftest import gql, make_settings
from tests.county import County

PROTOCOL = ["graphql-transport-ws"]
BOARD = """subscription($c: ID!) { needEvents(communityId: $c) {
  action actorName need { id status reporterName } } }"""
FOLLOW = """subscription($id: ID!) { needUpdated(id: $id) { id status version reporterName } }"""
LOGIN = 'mutation { login(username: "nobody", password: "wrong-password") { token } }'


@contextlib.contextmanager
def app_client(database_url: str, **overrides: Any) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url, **overrides))) as client:
        yield client


def receive_within(ws: WS, seconds: float = 10.0) -> dict[str, Any]:
    """The server's next message; a close raises WebSocketDisconnect. Fails after `seconds`
    instead of hanging (the TestClient's own receive waits for ever)."""

    async def next_message() -> dict[str, Any]:
        with anyio.fail_after(seconds):
            return await ws._send_rx.receive()

    try:
        message = ws.portal.call(next_message)
    except TimeoutError:
        pytest.fail(f"nothing from the server within {seconds} s")
    ws._raise_on_close(message)
    return json.loads(message["text"])


def close_code(ws: WS, seconds: float = 10.0) -> int:
    """The code the server closes the socket with (fails if a message comes first)."""
    with pytest.raises(WebSocketDisconnect) as closed:
        message = receive_within(ws, seconds)
        pytest.fail(f"expected the socket to close, got {message}")
    return closed.value.code


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def init(ws: WS, token: str) -> None:
    ws.send_json({"type": "connection_init", "payload": bearer(token)})
    assert receive_within(ws)["type"] == "connection_ack"


def start(ws: WS, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
    payload = {"query": query, "variables": variables or {}}
    ws.send_json({"id": op_id, "type": "subscribe", "payload": payload})


@contextlib.contextmanager
def socket(client: TestClient, token: str | None = None) -> Iterator[WS]:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        if token is not None:
            init(ws, token)
        yield ws


def error_code(message: dict[str, Any]) -> str:
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    return str(errors[0]["extensions"]["code"])


def next_data(ws: WS) -> dict[str, Any]:
    message = receive_within(ws)
    assert message["type"] == "next" and "errors" not in message["payload"], message
    return message["payload"]["data"]


@contextlib.contextmanager
def watch_board(client: TestClient, county: County, token: str) -> Iterator[WS]:
    """A socket subscribed to the home community's board."""
    with socket(client, token) as ws:
        start(ws, "board", BOARD, {"c": gid("Community", county.quantang.id)})
        wait_for_subscriber(client, f"community:{county.quantang.id}:needs")
        yield ws


def report(client: TestClient, county: County) -> dict[str, Any]:
    return ok(mutate(client, "reportNeed", report_input(), county.token("resident")))["need"]


# --- message size, init deadline, anonymous sockets ------------------------------------------


def test_close_socket_on_message_over_body_limit(county: County, database_url: str) -> None:
    with app_client(database_url) as client:
        with socket(client) as ws:  # a 1.1 MB subscribe before connection_init
            padding = " " * 1_100_000
            start(ws, "1", 'subscription { needUpdated(id: "x") { id } }' + padding)
            assert close_code(ws) == 1009
        with socket(client, county.token("coordinator")) as ws:  # and on a signed-in socket
            query = "{ __typename }" + " " * 3_200_000
            start(ws, "1", query)
            assert close_code(ws) == 1009
        with socket(client) as ws:  # bytes count, not characters: 400k × 3-byte characters
            ws.send_json({"type": "connection_init", "payload": {"x": "吉" * 400_000}})
            assert close_code(ws) == 1009
        with socket(client, county.token("coordinator")) as ws:  # under the limit: served
            start(ws, "1", "{ __typename }" + " " * 20_000)
            assert next_data(ws) == {"__typename": "Query"}
            # (a longer document is refused as a GraphQL error: QUERY_TOO_LARGE)
            assert receive_within(ws) == {"id": "1", "type": "complete"}
            start(ws, "2", "{ __typename }" + " " * 900_000)
            assert error_code(receive_within(ws)) == "QUERY_TOO_LARGE"


def test_close_socket_without_connection_init_4408(engine: sa.Engine, database_url: str) -> None:
    with (
        app_client(database_url, websocket_init_timeout_seconds=0.3) as client,
        socket(client) as ws,
    ):
        assert close_code(ws, seconds=5) == 4408


def test_anonymous_socket_runs_no_mutation(
    engine: sa.Engine, county: County, database_url: str
) -> None:
    need = None
    with app_client(database_url) as client:
        with socket(client) as ws:
            ws.send_json({"type": "connection_init", "payload": {}})
            assert receive_within(ws)["type"] == "connection_ack"  # anonymous is acknowledged
            start(ws, "login", LOGIN)
            assert error_code(receive_within(ws)) == "UNAUTHENTICATED"
            start(ws, "report", document("reportNeed"), {"input": report_input()})
            assert error_code(receive_within(ws)) == "UNAUTHENTICATED"
            start(ws, "follow", FOLLOW, {"id": gid("Need", 1)})  # not public: refused
            assert error_code(receive_within(ws)) == "UNAUTHENTICATED"
            start(ws, "q", "{ __typename }")  # public reads are served as over HTTP
            assert next_data(ws) == {"__typename": "Query"}
        # A signed-in socket runs mutations as HTTP does.
        with socket(client, county.token("resident")) as ws:
            start(ws, "report", document("reportNeed"), {"input": report_input()})
            need = next_data(ws)["reportNeed"]["need"]
        assert need is not None and need["status"] == "REPORTED"
    with engine.connect() as conn:
        operations = conn.execute(sa.select(AuditLog.operation, AuditLog.ok)).all()
        logged_in = conn.execute(
            sa.text("SELECT count(*) FROM account WHERE last_login_at IS NOT NULL")
        ).scalar()
    assert [tuple(r) for r in operations] == [("reportNeed", True)]  # refused ones never ran
    assert logged_in == 0


# --- limits ---------------------------------------------------------------------------------


def test_limit_sockets_per_account_and_address(county: County, database_url: str) -> None:
    limits = {"websocket_max_per_account": 2, "websocket_max_per_address": 3}
    with app_client(database_url, **limits) as client, contextlib.ExitStack() as open_sockets:
        token = county.token("coordinator")
        first = open_sockets.enter_context(socket(client, token))
        open_sockets.enter_context(socket(client, token))
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as third:
            third.send_json({"type": "connection_init", "payload": bearer(token)})
            assert close_code(third) == 4429  # a third socket for the account: refused
        # Another account still connects: 3 sockets from this address now.
        open_sockets.enter_context(socket(client, county.token("resident")))
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as fourth:
            assert close_code(fourth) == 4429  # a fourth from the address, before any init
        start(first, "q", "{ __typename }")  # the sockets within the limits still work
        assert next_data(first) == {"__typename": "Query"}
    with app_client(database_url, **limits) as client:  # closed sockets free their places
        for _ in range(2):
            with socket(client, county.token("coordinator")) as ws:
                start(ws, "q", "{ __typename }")
                assert next_data(ws) == {"__typename": "Query"}


def test_limit_operations_per_socket(county: County, database_url: str) -> None:
    with app_client(database_url, websocket_max_subscriptions=2) as client:
        need = report(client, county)
        with socket(client, county.token("resident")) as ws:
            start(ws, "a", FOLLOW, {"id": need["id"]})
            start(ws, "b", FOLLOW, {"id": need["id"]})
            wait_for_subscriber(client, "need:" + str(need_pk(need)), count=2)
            start(ws, "c", FOLLOW, {"id": need["id"]})
            refused = receive_within(ws)
            assert refused["id"] == "c" and error_code(refused) == "RATE_LIMITED"
            ws.send_json({"id": "a", "type": "complete"})
            wait_for_subscriber(client, "need:" + str(need_pk(need)), count=1)
            wait_for_count(client, "need:" + str(need_pk(need)), 1)
            start(ws, "c", FOLLOW, {"id": need["id"]})  # room again
            wait_for_subscriber(client, "need:" + str(need_pk(need)), count=2)


def need_pk(need: dict[str, Any]) -> int:
    from api.graphql.relay import from_global_id

    return from_global_id(need["id"])[1]


def wait_for_count(client: TestClient, channel: str, count: int) -> None:
    import time

    broadcaster = client.app.state.broadcaster
    deadline = time.monotonic() + 10
    while broadcaster.subscriber_count(channel) != count:
        assert time.monotonic() < deadline, f"{channel}: never {count} subscribers"
        time.sleep(0.01)


# --- rights withdrawn -----------------------------------------------------------------------


def test_deactivation_closes_socket_4403_before_any_further_event(
    county: County, database_url: str
) -> None:
    with (
        app_client(database_url) as client,
        watch_board(client, county, county.token("coordinator")) as ws,
    ):
        report(client, county)
        assert next_data(ws)["needEvents"]["action"] == "REPORT"
        # Another account's deactivation changes nothing for this socket.
        deactivate(client, county, county.account("outsider"))
        report(client, county)
        assert next_data(ws)["needEvents"]["action"] == "REPORT"
        deactivate(client, county, county.account("coordinator"))
        report(client, county)  # published after the deactivation: must not arrive
        assert close_code(ws) == 4403
        with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as again:
            token = county.token("coordinator")
            again.send_json({"type": "connection_init", "payload": bearer(token)})
            assert close_code(again) == 4403


def deactivate(client: TestClient, county: County, account: Account) -> None:
    body = gql(
        client,
        "mutation($id: ID!) { deactivateAccount(id: $id) { userErrors { code } } }",
        {"id": gid("Account", account.id)},
        token=county.token("admin"),
    )
    assert body["data"]["deactivateAccount"]["userErrors"] == []


def test_password_change_closes_socket_4401(county: County, database_url: str) -> None:
    with (
        app_client(database_url) as client,
        watch_board(client, county, county.token("coordinator")) as ws,
    ):
        body = gql(
            client,
            'mutation { changePassword(currentPassword: "secret-pass", '
            'newPassword: "a-new-long-secret") { userErrors { code } } }',
            token=county.token("coordinator"),
        )
        assert body["data"]["changePassword"]["userErrors"] == []
        report(client, county)
        assert close_code(ws) == 4401


def test_role_change_closes_socket_4401(county: County, database_url: str) -> None:
    with (
        app_client(database_url) as client,
        watch_board(client, county, county.token("coordinator")) as ws,
    ):
        body = gql(
            client,
            "mutation($input: ChangeAccountRoleInput!) { changeAccountRole(input: $input) "
            "{ userErrors { code } } }",
            {
                "input": {
                    "id": gid("Account", county.account("coordinator").id),
                    "role": "GRID_WORKER",
                    "communityId": gid("Community", county.quantang.id),
                }
            },
            token=county.token("admin"),
        )
        assert body["data"]["changeAccountRole"]["userErrors"] == []
        report(client, county)  # published after the change: must not arrive
        assert close_code(ws) == 4401


def test_token_version_change_alone_closes_socket_4401(
    county: County, database_url: str, engine: sa.Engine
) -> None:
    """Whatever moved the version on (here a bare UPDATE), the periodic re-read sees it."""
    with (
        app_client(database_url, websocket_recheck_seconds=0.2) as client,
        watch_board(client, county, county.token("coordinator")) as ws,
    ):
        with engine.begin() as conn:
            conn.execute(
                sa.update(Account)
                .where(sa.column("id") == county.account("coordinator").id)
                .values(token_version=sa.column("token_version") + 1)
            )
        assert close_code(ws) == 4401


def test_token_expiry_closes_socket_4401(county: County, database_url: str) -> None:
    settings = Settings()
    # A token with about two seconds to live.
    issued = datetime.now(UTC) - timedelta(minutes=settings.token_ttl_minutes, seconds=-3)
    token, expires = issue_token(county.account("coordinator"), settings, now=issued)
    assert expires > datetime.now(UTC)
    with app_client(database_url) as client, watch_board(client, county, token) as ws:
        assert close_code(ws, seconds=15) == 4401
    assert datetime.now(UTC) >= expires - timedelta(seconds=1)  # not before its time


def test_no_event_sent_once_token_expired() -> None:
    from api.ws.sessions import LiveSocket

    async def scenario() -> tuple[bool, list[tuple[int, str]]]:
        closed: list[tuple[int, str]] = []
        live = LiveSocket("127.0.0.1", lambda code, reason: closed.append((code, reason)))
        live.expires_at = datetime.now(UTC) - timedelta(seconds=1)  # the timer has not run yet
        return await live.may_send(), closed

    may, closed = asyncio.run(scenario())
    assert may is False and [code for code, _ in closed] == [4401]


def test_cli_deactivation_closes_socket_by_periodic_recheck(
    county: County, database_url: str
) -> None:
    """memory:// cannot carry the CLI's message to the server: its periodic re-read does."""
    with (
        app_client(database_url, websocket_recheck_seconds=0.2) as client,
        watch_board(client, county, county.token("coordinator")) as ws,
    ):
        result = CliRunner().invoke(
            cli.app,
            [
                "user",
                "deactivate",
                county.account("coordinator").username,
                "--database-url",
                database_url,
            ],
        )
        assert result.exit_code == 0, result.output
        assert close_code(ws) == 4403


@pytest.mark.skipif(not _postgres_up(), reason="no PostgreSQL server on 127.0.0.1:5432")
def test_cli_deactivation_reaches_other_processes_through_broadcaster(
    county: County, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{PG_URL}?channel=luling_test_{uuid.uuid4().hex[:12]}"
    # No periodic re-read during the test: only the broadcast can close the socket.
    overrides = {"broadcast_url": url, "rate_limit_url": "memory://"}
    settings = make_settings(database_url, websocket_recheck_seconds=3600, **overrides)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    with (
        TestClient(create_app(settings)) as client,
        watch_board(client, county, county.token("coordinator")) as ws,
    ):
        result = CliRunner().invoke(
            cli.app,
            [
                "user",
                "deactivate",
                county.account("coordinator").username,
                "--database-url",
                database_url,
            ],
        )
        assert result.exit_code == 0, result.output
        assert close_code(ws) == 4403


# --- fan-out --------------------------------------------------------------------------------


@contextlib.contextmanager
def counting_statements(client: TestClient) -> Iterator[list[str]]:
    statements: list[str] = []
    sync_engine = client.app.state.db.engine.sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa.event.listen(sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(sync_engine, "before_cursor_execute", count)


def publish(client: TestClient, channel: str, message: dict[str, Any]) -> None:
    broadcaster = client.app.state.broadcaster
    client.portal.call(broadcaster.publish, channel, message)


def test_fan_out_one_read_per_event(engine: sa.Engine, county: County, database_url: str) -> None:
    with app_client(database_url, websocket_max_per_account=20) as client:
        need = report(client, county)
        offer = "mutation($id: ID!) { offerNeed(input: { needId: $id }) { userErrors { code } } }"
        offered = gql(client, offer, {"id": need["id"]}, token=county.token("volunteer"))
        ok(offered["data"]["offerNeed"])
        with engine.connect() as conn:
            event_id = conn.execute(sa.text("SELECT id FROM need_event")).scalar_one()
            version = conn.execute(sa.text("SELECT version FROM need")).scalar_one()
        message = {
            "needId": need_pk(need),
            "communityId": county.quantang.id,
            "eventId": event_id,
            "action": "REPORT",
            "toStatus": "REPORTED",
            "version": version,
        }
        with contextlib.ExitStack() as stack:
            # Ten board watchers (a coordinator and the county's administrator, who may see the
            # reporter's name) and ten followers (the reporter, and volunteers who may not: they
            # offered to take the need, so they may follow it).
            board = [
                stack.enter_context(socket(client, county.token(who)))
                for who in ["coordinator"] * 5 + ["admin"] * 5
            ]
            for ws in board:
                start(ws, "board", BOARD, {"c": gid("Community", county.quantang.id)})
            follow = [
                stack.enter_context(socket(client, county.token(who)))
                for who in ["resident"] * 5 + ["volunteer"] * 5
            ]
            for ws in follow:
                start(ws, "follow", FOLLOW, {"id": need["id"]})
            wait_for_subscriber(client, f"community:{county.quantang.id}:needs", count=10)
            wait_for_subscriber(client, f"need:{need_pk(need)}", count=10)

            with counting_statements(client) as statements:
                publish(client, f"community:{county.quantang.id}:needs", message)
                events = [next_data(ws)["needEvents"] for ws in board]
            assert len(statements) == 1, statements
            assert {e["need"]["reporterName"] for e in events} == {"李阿姨"}
            assert {e["actorName"] for e in events} == {"李阿姨"}

            with counting_statements(client) as statements:
                publish(client, f"need:{need_pk(need)}", message)
                updates = [next_data(ws)["needUpdated"] for ws in follow]
            # One read of the need; for the volunteers (one reader, five sockets), one check
            # that they still may see it (their grant, the sign-up, is another row) and one of
            # whether they are dispatched to it (which shows the reporter): shared per reader.
            assert len(statements) == 3, statements
            # Each follower sees the need as their own caller may: in full, or masked.
            assert [u["reporterName"] for u in updates] == ["李阿姨"] * 5 + ["李**"] * 5
            assert {u["version"] for u in updates} == {version}


@strawberry.type(name="Query")
class _Query:
    ok: bool = True


@strawberry.type(name="Subscription")
class _Subscription:
    @strawberry.subscription(permission_classes=[Can("stats.read")])
    async def figures(self) -> AsyncGenerator[int, None]:
        yield 1

    @strawberry.subscription
    async def unguarded(self) -> AsyncGenerator[int, None]:
        yield 1


def test_anonymous_sockets_subscribe_to_public_fields_only() -> None:
    """Fail closed: a subscription without a PUBLIC `Can` rule is refused to anonymous sockets,
    whatever its resolver checks."""
    from api.ws.handler import anonymous_refusal

    schema = strawberry.Schema(query=_Query, subscription=_Subscription)._schema

    def refusal(query: str, name: str | None = None) -> str | None:
        return anonymous_refusal(schema, query, name, 4000)

    assert refusal("subscription { figures }") is None
    assert refusal("subscription { unguarded }") is not None
    assert refusal("subscription S { ...F } fragment F on Subscription { unguarded }") is not None
    assert refusal("query Q { ok } subscription S { unguarded }", "S") is not None
    assert refusal("query Q { ok } subscription S { unguarded }", "Q") is None
    assert refusal("mutation { anything }") is not None


def test_refuse_malformed_protocol_messages_with_4400(client: TestClient) -> None:
    for bad in ("[]", "42", '{"type": 1}', "[" * 100_000 + "]" * 100_000):
        with socket(client) as ws:
            ws.send_text(bad)
            assert close_code(ws) == 4400
    with socket(client) as ws:  # a subscribe without a query
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": 7}})
        assert close_code(ws) == 4400


def test_take_an_empty_operation_name_as_none(client: TestClient) -> None:
    with socket(client) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        payload = {"query": "{ __typename }", "operationName": ""}
        ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        assert next_data(ws) == {"__typename": "Query"}
