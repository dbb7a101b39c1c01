"""Limits on what one client holds at once are counted across API processes (api/slots.py):
2 real `luling serve` processes sharing Redis. A client that spreads its sockets or its
requests in flight over both meets the limits it would meet against one; a killed process's
places are free again within the lease time.

The client's address is 127.0.0.1 for every connection here, so the per-address limits apply
to all of them together."""

from __future__ import annotations

import json
import socket as sockets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

import httpx
import pytest
import redis
from sqlmodel import Session, select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from schema.models import Account
from tests import factories as f
from tests.multiproc.conftest import started_topology
from tests.multiproc.topology import REDIS_URL, Topology

PER_ACCOUNT = 2
PER_ADDRESS = 5
IN_FLIGHT = 4
LEASE_S = 3.0
TOO_MANY = 4429
PROTOCOL = [Subprotocol("graphql-transport-ws")]
ADDRESS = "127.0.0.1"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    env = {
        "LULING_WEBSOCKET_MAX_PER_ACCOUNT": str(PER_ACCOUNT),
        "LULING_WEBSOCKET_MAX_PER_ADDRESS": str(PER_ADDRESS),
        "LULING_MAX_REQUESTS_PER_ADDRESS": str(IN_FLIGHT),
        "LULING_SHARED_SLOT_LEASE_SECONDS": str(LEASE_S),
        "LULING_BODY_TIMEOUT_SECONDS": "60",  # the held requests below send no body
    }
    with started_topology(tmp_path_factory, workers=0, env=env) as topology:
        yield topology


@pytest.fixture(scope="module")
def token(topology: Topology) -> str:
    with Session(topology.engine) as s:
        admin = s.exec(select(Account).where(Account.username == "demo-admin")).one()
    return f.token_for(admin)


def held(topology: Topology, key: str) -> int:
    """Places of `key` held now by every process (unexpired leases in Redis)."""
    client = redis.Redis.from_url(REDIS_URL)
    seconds, micros = client.time()
    now = seconds * 1000 + micros // 1000
    return int(client.zcount(f"{topology.key_prefix}slot:{key}", f"({now}", "+inf"))


def wait_held(topology: Topology, key: str, count: int, timeout: float = 10) -> None:
    """Until exactly `count` places of `key` are held (closing sockets give theirs back)."""
    deadline = time.monotonic() + timeout
    while held(topology, key) != count:
        if time.monotonic() > deadline:
            pytest.fail(f"{key}: {held(topology, key)} places held, expected {count}")
        time.sleep(0.05)


@contextmanager
def socket(topology: Topology, i: int, token: str | None = None) -> Iterator[ClientConnection]:
    """A graphql-transport-ws socket to API process `i`, `connection_init` sent."""
    with connect(topology.ws_url(i), subprotocols=PROTOCOL, open_timeout=10) as ws:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        with suppress(ConnectionClosed):  # refused before it could be sent: `answer` says why
            ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        yield ws


def answer(ws: ClientConnection) -> str | int:
    """'connection_ack', or the code the socket was closed with."""
    try:
        return str(json.loads(ws.recv(timeout=10))["type"])
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code


@contextmanager
def request_in_flight(topology: Topology, i: int) -> Iterator[None]:
    """A POST to API process `i` whose body never comes: it holds its place until closed."""
    with sockets.create_connection(("127.0.0.1", topology.ports[i]), timeout=10) as conn:
        conn.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: luling\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n"
        )
        yield


def query_status(topology: Topology, i: int) -> int:
    response = httpx.post(f"{topology.url(i)}/graphql", json={"query": "{ __typename }"})
    return response.status_code


def test_sockets_of_one_account_spread_over_processes_meet_one_limit(
    topology: Topology, token: str
) -> None:
    key = "ws:account:" + str(_admin_id(topology))
    with ExitStack() as open_sockets:
        for i in range(PER_ACCOUNT):  # one through each process
            ws = open_sockets.enter_context(socket(topology, i % 2, token))
            assert answer(ws) == "connection_ack"
        assert held(topology, key) == PER_ACCOUNT
        for i in range(2):  # one more, through either process: refused
            with socket(topology, i, token) as extra:
                assert answer(extra) == TOO_MANY
    wait_held(topology, key, 0)  # closed sockets gave their places back
    with socket(topology, 1, token) as again:
        assert answer(again) == "connection_ack"


def test_anonymous_sockets_from_one_address_spread_over_processes_meet_one_limit(
    topology: Topology,
) -> None:
    key = f"ws:address:{ADDRESS}"
    wait_held(topology, key, 0)
    with ExitStack() as open_sockets:
        for i in range(PER_ADDRESS):  # alternately through each process
            ws = open_sockets.enter_context(socket(topology, i % 2))
            assert answer(ws) == "connection_ack"
        for i in range(2):
            with socket(topology, i) as extra:
                assert answer(extra) == TOO_MANY
    wait_held(topology, key, 0)


def test_requests_in_flight_from_one_address_are_counted_across_processes(
    topology: Topology,
) -> None:
    key = f"http:address:{ADDRESS}"
    wait_held(topology, key, 0)
    with ExitStack() as holding:
        for i in range(IN_FLIGHT):  # half through each process
            holding.enter_context(request_in_flight(topology, i % 2))
        wait_held(topology, key, IN_FLIGHT)
        assert [query_status(topology, i) for i in range(2)] == [429, 429]
    wait_held(topology, key, 0)
    assert [query_status(topology, i) for i in range(2)] == [200, 200]


def test_places_held_by_a_killed_process_are_free_within_the_lease(
    topology: Topology, token: str
) -> None:
    account_key = "ws:account:" + str(_admin_id(topology))
    wait_held(topology, account_key, 0)
    with ExitStack() as open_sockets:
        for _ in range(PER_ACCOUNT):
            ws = open_sockets.enter_context(socket(topology, 0, token))
            assert answer(ws) == "connection_ack"
        held_long = time.monotonic() + 2 * LEASE_S
        while time.monotonic() < held_long:  # renewed while held: outlives its lease
            time.sleep(0.2)
        assert held(topology, account_key) == PER_ACCOUNT
        topology.apis[0].kill()  # SIGKILL: nothing given back
        killed = time.monotonic()
        with socket(topology, 1, token) as refused:  # the dead process's places still count
            assert answer(refused) == TOO_MANY
        while True:
            with socket(topology, 1, token) as ws:
                if answer(ws) == "connection_ack":
                    break
            assert time.monotonic() - killed < LEASE_S + 5, "the killed process's places stayed"
            time.sleep(0.2)
    topology.apis[0].start()
    topology.wait_healthy(topology.ports[0], topology.apis[0])


def _admin_id(topology: Topology) -> int:
    with Session(topology.engine) as s:
        admin = s.exec(select(Account).where(Account.username == "demo-admin")).one()
    assert admin.id is not None
    return admin.id
