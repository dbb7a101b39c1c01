"""Subscriptions over graphql-transport-ws: a community board and a resident following a report
receive every step of its life; the broadcaster carries events between app instances through
Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient
from starlette.testclient import WebSocketTestSession as WS

from api.app import create_app
from api.broadcast import Broadcaster, PostgresBroadcaster, make_broadcaster
from tests.api.graphql.mutate import error_codes, gid, mutate, ok, report_input
from tests.conftest import make_settings
from tests.county import County

PROTOCOL = ["graphql-transport-ws"]
BOARD = """subscription($c: ID!) { needEvents(communityId: $c) {
  action fromStatus toStatus actorName note need { id status } } }"""
FOLLOW = """subscription($id: ID!) { needUpdated(id: $id) {
  id status version satisfaction arriveBy events { action } } }"""
REDIS_URL = "redis://127.0.0.1:6379/0"
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def subscribe(
    client: TestClient, token: str | None, query: str, variables: dict[str, Any]
) -> Iterator[WS]:
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        auth = {"authorization": f"Bearer {token}"} if token else {}
        ws.send_json({"type": "connection_init", "payload": auth})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )
        yield ws


def wait_for_subscriber(client: TestClient, channel: str, count: int = 1) -> None:
    """The subscription is live once the app's broadcaster lists it (messages are not queued
    for subscribers that do not exist yet)."""
    broadcaster: Broadcaster = client.app.state.broadcaster
    deadline = time.monotonic() + 10
    while broadcaster.subscriber_count(channel) < count:
        assert time.monotonic() < deadline, f"nobody subscribed to {channel}"
        time.sleep(0.01)


def next_data(ws: WS) -> dict[str, Any]:
    message = ws.receive_json()
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message["payload"]
    return message["payload"]["data"]


def walk_loop(client: TestClient, county: County, need_id: str) -> None:
    coordinator = county.token("coordinator")
    ok(mutate(client, "acceptNeed", {"needId": need_id}, coordinator))
    ok(mutate(client, "dispatchNeed", {"needId": need_id, "toGridWorker": True}, coordinator))
    ok(
        mutate(
            client, "arriveNeed", {"needId": need_id, "note": "已到"}, county.token("grid_worker")
        )
    )
    ok(mutate(client, "resolveNeed", {"needId": need_id}, county.token("grid_worker")))
    ok(mutate(client, "rateNeed", {"needId": need_id, "satisfaction": 5}, county.token("resident")))


LIFE = ["REPORT", "ACCEPT", "DISPATCH", "ARRIVE", "RESOLVE", "RATE"]


def test_receive_whole_life_of_a_report(client: TestClient, county: County) -> None:
    home = gid("Community", county.quantang.id)
    with subscribe(client, county.token("coordinator"), BOARD, {"c": home}) as board:
        wait_for_subscriber(client, f"community:{county.quantang.id}:needs")
        need = ok(mutate(client, "reportNeed", report_input(), county.token("resident")))["need"]
        first = next_data(board)["needEvents"]
        assert first["action"] == "REPORT" and first["need"] == {
            "id": need["id"],
            "status": "REPORTED",
        }
        with subscribe(client, county.token("resident"), FOLLOW, {"id": need["id"]}) as follow:
            wait_for_subscriber(client, "need:1")
            walk_loop(client, county, need["id"])
            updates = [next_data(follow)["needUpdated"] for _ in range(5)]
        board_events = [first] + [next_data(board)["needEvents"] for _ in range(5)]
        assert [e["action"] for e in board_events] == LIFE
        assert [e["toStatus"] for e in board_events][-1] == "CLOSED"
        assert [e["actorName"] for e in board_events][3] == "李网格"
        assert board_events[3]["note"] == "已到"
        assert [u["status"] for u in updates] == [
            "ACCEPTED",
            "DISPATCHED",
            "ARRIVED",
            "RESOLVED",
            "CLOSED",
        ]
        assert [u["version"] for u in updates] == [2, 3, 4, 5, 6]
        assert updates[1]["arriveBy"] and updates[-1]["satisfaction"] == 5
        assert [e["action"] for e in updates[-1]["events"]] == LIFE  # fresh, not cached

        # A refused step publishes nothing: the board's next message is the next real change.
        refused = mutate(client, "acceptNeed", {"needId": need["id"]}, county.token("coordinator"))
        assert error_codes(refused) == ["ILLEGAL_TRANSITION"]
        other = ok(
            mutate(client, "reportNeed", report_input(category="SAFETY"), county.token("resident"))
        )
        nxt = next_data(board)["needEvents"]
        assert nxt["action"] == "REPORT" and nxt["need"]["id"] == other["need"]["id"]


def test_refuse_board_outside_area_or_anonymous(client: TestClient, county: County) -> None:
    home = gid("Community", county.quantang.id)
    for token, code in ((county.token("outsider"), "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        with subscribe(client, token, BOARD, {"c": home}) as ws:
            message = ws.receive_json()
            errors = (
                message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            )
            assert errors[0]["extensions"]["code"] == code, message
    with subscribe(client, county.token("resident"), FOLLOW, {"id": gid("Need", 77)}) as ws:
        message = ws.receive_json()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _postgres_up() -> bool:
    try:
        engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            engine.dispose()


@pytest.mark.parametrize("backend", ["redis", "postgresql"])
def test_carry_events_between_app_instances(
    county: County, database_url: str, backend: str
) -> None:
    if backend == "redis" and not _redis_up():
        pytest.skip("no Redis server on 127.0.0.1:6379")
    if backend == "postgresql" and not _postgres_up():
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    tag = uuid.uuid4().hex[:12]
    url = (
        f"{REDIS_URL}?channel_prefix=luling:test:{tag}:"
        if backend == "redis"
        else f"{PG_URL}?channel=luling_test_{tag}"
    )
    # rate limits stay in memory: the limiter would otherwise share the broadcast's Redis URL
    settings = make_settings(database_url, broadcast_url=url, rate_limit_url="memory://")
    with TestClient(create_app(settings)) as writer, TestClient(create_app(settings)) as reader:
        assert type(reader.app.state.broadcaster) is not Broadcaster
        home = gid("Community", county.quantang.id)
        with subscribe(reader, county.token("coordinator"), BOARD, {"c": home}) as board:
            wait_for_subscriber(reader, f"community:{county.quantang.id}:needs")
            need = ok(mutate(writer, "reportNeed", report_input(), county.token("resident")))
            walk_loop(writer, county, need["need"]["id"])
            assert [next_data(board)["needEvents"]["action"] for _ in LIFE] == LIFE


async def _pass_between(first: Broadcaster, second: Broadcaster) -> list[dict[str, Any]]:
    try:
        async with second.subscribe("need:7") as messages:
            await first.publish("need:7", {"n": 1})
            await first.publish("need:8", {"n": "elsewhere"})
            await first.publish("need:7", {"n": 2})
            return [await asyncio.wait_for(messages.__anext__(), 5) for _ in range(2)]
    finally:
        await first.stop()
        await second.stop()


@pytest.mark.skipif(not _postgres_up(), reason="no PostgreSQL server on 127.0.0.1:5432")
def test_carry_events_between_processes_through_postgres() -> None:
    channel = f"luling_test_{uuid.uuid4().hex[:12]}"
    first, second = (make_broadcaster(f"{PG_URL}?channel={channel}") for _ in range(2))
    assert isinstance(first, PostgresBroadcaster)
    assert asyncio.run(_pass_between(first, second)) == [{"n": 1}, {"n": 2}]


@pytest.mark.skipif(not _redis_up(), reason="no Redis server on 127.0.0.1:6379")
def test_carry_events_between_processes_through_redis() -> None:
    url = f"{REDIS_URL}?channel_prefix=luling:test:{uuid.uuid4().hex}:"
    first, second = make_broadcaster(url), make_broadcaster(url)
    assert asyncio.run(_pass_between(first, second)) == [{"n": 1}, {"n": 2}]


def test_end_subscription_of_slow_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    import api.broadcast as b

    monkeypatch.setattr(b, "QUEUE_SIZE", 3)

    async def scenario() -> list[Any]:
        memory = Broadcaster()
        async with memory.subscribe("x") as messages:
            for i in range(5):
                await memory.publish("x", {"i": i})
            received = [m async for m in messages]  # ends instead of blocking the publisher
        assert memory.subscriber_count("x") == 0
        return received

    received = asyncio.run(scenario())
    assert len(received) < 5
