"""Per-connection fairness for plain HTTP: no address may hold more than its share of the
server, and no body may trickle in forever.

- `AddressConcurrency`: at most `limit` requests in flight per client address (as the ASGI
  server sees it: behind a proxy run uvicorn with --proxy-headers); more get 429 at once, with
  `Retry-After: 1`. `/healthz` and `/readyz` are exempt, so probes see the server, not the queue.
  Counted in the app's `Slots` (api/slots.py): across every API process when Redis is set, so
  requests spread over N processes meet one limit.
- `BodyTimeout`: each chunk of a request body must arrive within `seconds`, else 408. A client
  that opens hundreds of requests and sends their bodies a byte at a time ("slowloris") holds
  nothing for long.
WebSockets have their own limits (`api.ws`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.slots import Slots

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


def _refusal(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class AddressConcurrency:
    def __init__(self, app: ASGIApp, limit: int, slots: Slots | None = None) -> None:
        self.app, self.limit = app, limit
        self.slots = slots if slots is not None else Slots()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else ""
        lease = await self.slots.acquire(f"http:address:{address}", self.limit)
        if lease is None:
            body = _refusal(
                f"more than {self.limit} requests at once from one address", "RATE_LIMITED"
            )
            response = JSONResponse(body, status_code=429, headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            await self.slots.release(lease)


class BodyTimeout:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def timed_receive() -> dict[str, Any]:
            try:
                return dict(await asyncio.wait_for(receive(), self.seconds))
            except TimeoutError:
                raise _SlowBody from None

        try:
            await self.app(scope, timed_receive, send_tracking)
        except _SlowBody:
            if started:
                raise
            body = _refusal(f"the request body did not arrive within {self.seconds:g} s", "TIMEOUT")
            await JSONResponse(body, status_code=408)(scope, receive, send)


class _SlowBody(Exception):
    pass
