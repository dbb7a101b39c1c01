"""The gate every plain HTTP request passes: one pure-ASGI middleware (`HTTPGate`) doing in a
single layer, with one `receive` and one `send` wrapper, what used to be five stacked ones.

- Security headers (`api.http_security.SECURITY_HEADERS`) on every response that lacks them,
  including the gate's own refusals below.
- Per-address fairness: at most `limit` requests in flight per client address (as the ASGI
  server sees it: behind a proxy run uvicorn with --proxy-headers); more get 429 at once, with
  `Retry-After: 1`. `/healthz` and `/readyz` are exempt, so probes see the server, not the queue.
  Counted in the app's `Slots` (api/slots.py) when it has shared ones (Redis): across every API
  process, so requests spread over N processes meet one limit; else in this process.
- Body size: a declared `Content-Length` over `max_bytes` is refused (413) before anything is
  read; a body that turns out larger while it arrives is refused (413) before it is all in
  memory.
- Body pace: while the body is still arriving, each chunk must come within `body_seconds`,
  else 408. A client that opens hundreds of requests and sends their bodies a byte at a time
  ("slowloris") holds nothing for long.
- A client that goes away: a request still running `watch_after` seconds after its body
  arrived is watched for the client's disconnect, and cancelled when it comes (its transaction
  rolls back whole; its database connection goes back to the pool at once). Without this, one
  address could open slow requests, drop them, and open more: the dropped ones kept running
  and held the pool's connections until every other caller's request timed out in it. A body
  cut off half-way ends the request quietly. Both are logged with status 499.
- The access log: one structured line per request (method, path, status, ms), at INFO.

WebSockets have their own limits (`api.ws`); they pass straight through.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http_security import SECURITY_HEADERS
from api.logs import log
from api.slots import Lease, Slots

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
CLIENT_GONE = 499  # the status logged for a request whose client left (nginx's convention)

_SECURITY_RAW = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_SECURITY_NAMES = frozenset(name for name, _ in _SECURITY_RAW)


def _refusal(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


def with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` plus every security header it does not set itself (names are lower case, as
    ASGI servers and Starlette send them)."""
    missing = _SECURITY_NAMES.difference(name.lower() for name, _ in headers)
    if not missing:
        return headers
    return [*headers, *(h for h in _SECURITY_RAW if h[0] in missing)]


class _SlowBody(Exception):
    pass


class _BodyTooLarge(Exception):
    pass


class HTTPGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        body_seconds: float,
        max_bytes: int,
        access_log: bool = True,
        slots: Slots | None = None,
        watch_after: float = 1.0,
    ) -> None:
        self.app = app
        # Requests quicker than this are never watched (a timer, no task): nearly all of them.
        self.watch_after = watch_after
        self.slots = slots if slots is not None else Slots()  # shared: Redis; else here
        self.limit, self.body_seconds, self.max_bytes = limit, body_seconds, max_bytes
        self.access_log = access_log
        self._too_large = _refusal(
            f"request body larger than {max_bytes} bytes", "PAYLOAD_TOO_LARGE"
        )
        self._slow = _refusal(
            f"the request body did not arrive within {body_seconds:g} s", "TIMEOUT"
        )
        self._busy = _refusal(
            f"more than {limit} requests at once from one address", "RATE_LIMITED"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = _Exchange(send)
        try:
            await self._serve(scope, receive, state)
        finally:
            if self.access_log:
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=state.status,
                    ms=round((time.perf_counter() - start) * 1000, 2),
                )

    async def _serve(self, scope: Scope, receive: Receive, state: _Exchange) -> None:
        send = state.send
        max_bytes = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > max_bytes:
                    await _answer(send, 413, self._too_large)
                    return
                break
        lease: Lease | None = None
        loop = asyncio.get_running_loop()
        if scope["path"] not in EXEMPT_PATHS:
            client = scope.get("client")
            address = client[0] if client else ""
            lease = await self.slots.acquire(f"http:address:{address}", self.limit)
            if lease is None:
                await _answer(send, 429, self._busy, [(b"retry-after", b"1")])
                return
        seen = 0
        body_done = False
        seconds = self.body_seconds
        task = asyncio.current_task()
        timer: asyncio.TimerHandle | None = None
        watcher: asyncio.Task[None] | None = None
        gone = False

        async def watch() -> None:
            nonlocal gone
            # After the body, ASGI's receive() blocks until the client disconnects. A GET's
            # app may never have read its (empty) body: that message comes first, once.
            try:
                for _ in range(2):
                    if (await receive())["type"] == "http.disconnect":
                        break
                else:
                    return
            except Exception:  # the server's receive failed: nothing to watch
                return
            if not state.finished and task is not None:
                gone = True
                task.cancel()

        def start_watching() -> None:
            nonlocal watcher
            watcher = loop.create_task(watch())

        if scope["method"] in ("GET", "HEAD"):  # no body to wait for: watched from the start
            timer = loop.call_later(self.watch_after, start_watching)

        async def gated_receive() -> Message:
            nonlocal seen, body_done, timer
            if body_done:  # the body is in: what comes now is the disconnect, untimed
                return await receive()
            try:
                async with asyncio.timeout(seconds):
                    message = await receive()
            except TimeoutError:
                raise _SlowBody from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise _BodyTooLarge
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            if body_done and timer is None:
                timer = loop.call_later(self.watch_after, start_watching)
            return message

        try:
            await self.app(scope, gated_receive, send)
        except asyncio.CancelledError:
            if not gone or task is None or task.uncancel() > 0:
                raise  # not ours: the server is stopping, or the task was cancelled otherwise
            state.status = CLIENT_GONE
        except ClientDisconnect:  # the body was cut off half-way: nobody to answer
            state.status = CLIENT_GONE
        except _SlowBody:
            if state.started:
                raise
            await _answer(send, 408, self._slow)
        except _BodyTooLarge:
            if state.started:
                raise
            await _answer(send, 413, self._too_large)
        finally:
            if timer is not None:
                timer.cancel()
            if watcher is not None:
                watcher.cancel()
            # The closures above hold the timer and the task, which hold the request's context
            # (its contextvars: the GraphQL context, the request, these closures): cycles that
            # left every request to the cyclic collector. Cut them as the request ends.
            timer = watcher = task = None
            if lease is not None:
                await self.slots.release(lease)


class _Exchange:
    """The response side of one request: its status (for the log), whether it has started,
    and the `send` that adds the security headers."""

    __slots__ = ("_send", "finished", "started", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500
        self.started = False
        self.finished = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            message["headers"] = with_security_headers(list(message.get("headers", ())))
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.finished = True
        await self._send(message)


async def _answer(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
