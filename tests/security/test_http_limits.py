"""One address cannot hold the server, and bodies cannot trickle in forever
(api/http_limits.py), exercised at the ASGI level with real concurrency."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Receive, Scope, Send

from api.http_limits import AddressConcurrency, BodyTimeout


def scope(address: str, path: str = "/graphql") -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": path, "headers": [], "client": (address, 1)}


async def call(app: Any, sc: dict[str, Any], receive: Receive | None = None) -> tuple[int, Any]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def no_body() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app(sc, receive or no_body, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body) if body else None


def test_limit_requests_in_flight_per_address() -> None:
    release = asyncio.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    app = AddressConcurrency(slow, limit=2)

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

    app = BodyTimeout(reads_body, seconds=0.1)
    status, body = asyncio.run(call(app, scope("10.0.0.1"), stalled))
    assert status == 408 and body["errors"][0]["extensions"]["code"] == "TIMEOUT"
    assert asyncio.run(call(app, scope("10.0.0.1")))[0] == 200
