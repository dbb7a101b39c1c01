"""One address cannot hold the server, bodies cannot trickle in forever nor grow past the
limit, and every answer carries the security headers (api/http_limits.py `HTTPGate`),
exercised at the ASGI level with real concurrency."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Receive, Scope, Send

from api.http_limits import HTTPGate
from api.http_security import API_CSP


def scope(
    address: str, path: str = "/graphql", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": headers or [],
        "client": (address, 1),
    }


def gate(app: Any, limit: int = 2, body_seconds: float = 5, max_bytes: int = 100) -> HTTPGate:
    return HTTPGate(app, limit=limit, body_seconds=body_seconds, max_bytes=max_bytes)


async def call(app: Any, sc: dict[str, Any], receive: Receive | None = None) -> tuple[int, Any]:
    status, _, body = await exchange(app, sc, receive)
    return status, body


async def exchange(
    app: Any, sc: dict[str, Any], receive: Receive | None = None
) -> tuple[int, dict[bytes, bytes], Any]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def no_body() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app(sc, receive or no_body, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), json.loads(body) if body else None


def test_limit_requests_in_flight_per_address() -> None:
    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = gate(slow, limit=2)

    async def run() -> list[int]:
        held = [asyncio.create_task(call(app, scope("10.0.0.1"))) for _ in range(2)]
        await asyncio.sleep(0.05)
        refused_status, refused = await call(app, scope("10.0.0.1"))
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        other = asyncio.create_task(call(app, scope("10.0.0.2")))  # another address: served
        probe = asyncio.create_task(call(app, scope("10.0.0.1", "/healthz")))  # exempt
        await asyncio.sleep(0.05)
        release.set()
        done = await asyncio.gather(*held, other, probe)
        after, _ = await call(app, scope("10.0.0.1"))  # slots were given back
        return [refused_status, *(s for s, _ in done), after]

    assert asyncio.run(run()) == [429, 200, 200, 200, 200, 200]
    assert not app.slots.held


def test_refuse_bodies_that_trickle() -> None:
    async def reads_body(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def stalled() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    app = gate(reads_body, body_seconds=0.1)
    status, body = asyncio.run(call(app, scope("10.0.0.1"), stalled))
    assert status == 408 and body["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert asyncio.run(call(app, scope("10.0.0.1")))[0] == 200


def test_refuse_bodies_over_the_limit_declared_or_not() -> None:
    reached: list[bytes] = []

    async def reads_body(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        reached.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = gate(reads_body, max_bytes=100)
    declared = scope("10.0.0.1", headers=[(b"content-length", b"101")])
    status, _, body = asyncio.run(exchange(app, declared))
    assert status == 413 and body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    chunks = iter([b"x" * 60, b"x" * 60])

    async def undeclared() -> dict[str, Any]:
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    status, _, body = asyncio.run(exchange(app, scope("10.0.0.1"), undeclared))
    assert status == 413 and body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert reached == []  # the application never saw either body

    exact = scope("10.0.0.1", headers=[(b"content-length", b"100")])
    assert asyncio.run(exchange(app, exact))[0] == 200
    assert not app.slots.held


def test_secure_the_gate_own_refusals_and_keep_a_response_own_policy() -> None:
    own_policy = (b"content-security-policy", b"default-src 'self'")

    async def answers(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [own_policy] if scope["path"] == "/console" else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    app = gate(answers, max_bytes=10)
    too_large = scope("10.0.0.1", headers=[(b"content-length", b"11")])
    for sc in (scope("10.0.0.1"), too_large, scope("10.0.0.1", "/console")):
        status, headers, _ = asyncio.run(exchange(app, sc))
        assert headers[b"x-content-type-options"] == b"nosniff", status
        assert headers[b"x-frame-options"] == b"DENY", status
        assert headers[b"referrer-policy"] == b"no-referrer", status
        policy = headers[b"content-security-policy"]
        assert policy == (own_policy[1] if sc["path"] == "/console" else API_CSP.encode())


def test_a_request_whose_client_left_is_cancelled_and_frees_its_slot() -> None:
    # attack3: dropped slow requests kept running and held the pool's connections.
    cancelled = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()  # the body
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app = HTTPGate(slow, limit=1, body_seconds=5, max_bytes=100, watch_after=0.05)
    left = asyncio.Event()

    async def client_leaves() -> dict[str, Any]:
        if not left.is_set():
            left.set()
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await asyncio.sleep(0.2)  # then the client goes away
        return {"type": "http.disconnect"}

    async def run() -> None:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await asyncio.wait_for(app(scope("10.0.0.9"), client_leaves, send), 5)
        assert cancelled.is_set() and sent == []  # nobody is answered
        assert not app.slots.held  # the address may send again
        status, _ = await call(HTTPGate(_ok, limit=1, body_seconds=5, max_bytes=100), scope("x"))
        assert status == 200

    asyncio.run(run())


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_a_finished_request_is_not_cancelled_by_the_disconnect_after_it() -> None:
    done = asyncio.Event()

    async def answers_late(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await asyncio.sleep(0.15)  # watched from 0.05 s on
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})
        done.set()

    app = HTTPGate(answers_late, limit=1, body_seconds=5, max_bytes=100, watch_after=0.05)
    first = True

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await done.wait()  # as servers do: the disconnect comes once the response is out
        return {"type": "http.disconnect"}

    status, _ = asyncio.run(call(app, scope("10.0.0.8"), receive))
    assert status == 200 and done.is_set()


def test_a_body_cut_off_half_way_ends_the_request_quietly() -> None:
    from starlette.requests import ClientDisconnect

    async def reads(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        raise ClientDisconnect

    messages = iter(
        [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]
    )

    async def receive() -> dict[str, Any]:
        return next(messages)

    app = gate(reads)

    async def run() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope("10.0.0.7"), receive, send)  # no exception reaches the server
        return sent

    assert asyncio.run(run()) == [] and not app.slots.held


def test_a_get_whose_client_left_is_cancelled_too() -> None:
    # A GET's app never reads its empty body: the watcher takes that message, then the leave.
    cancelled = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app = HTTPGate(slow, limit=1, body_seconds=5, max_bytes=100, watch_after=0.05)
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(0.1)
        return {"type": "http.disconnect"}

    async def run() -> None:
        async def send(message: dict[str, Any]) -> None:
            raise AssertionError("nobody to answer")

        await asyncio.wait_for(app({**scope("10.0.0.6"), "method": "GET"}, receive, send), 5)
        assert cancelled.is_set() and not app.slots.held

    asyncio.run(run())
