"""An ASGI wrapper for WebSocket connections: the message size limit, and "closed is closed".

- Every message larger than `max_bytes` (the HTTP body limit) closes the socket with 1009
  ("message too big") before the application sees, let alone parses, it. (`luling serve` also
  sets uvicorn's `ws_max_size`, so the server refuses such frames even earlier.)
- Once the socket is closed, by this wrapper or by the application (for instance from another
  task, when the caller's rights are withdrawn), the application's pending `receive` returns a
  disconnect at once, without waiting for the client's closing handshake, and whatever it still
  sends is dropped instead of raising.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MESSAGE_TOO_BIG = 1009


def too_big(message: Message, limit: int) -> bool:
    """Whether a `websocket.receive` message carries more than `limit` bytes."""
    data = message.get("bytes")
    if data is not None:
        return len(data) > limit
    text = message.get("text") or ""
    if len(text) > limit:
        return True
    if len(text) * 4 <= limit:  # UTF-8 takes at most 4 bytes a character
        return False
    return len(text.encode()) > limit


class WebSocketGuard:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        socket = _GuardedSocket(receive, send, self.max_bytes)
        await self.app(scope, socket.receive, socket.send)


class _GuardedSocket:
    def __init__(self, receive: Receive, send: Send, max_bytes: int) -> None:
        self._receive, self._send, self.max_bytes = receive, send, max_bytes
        self.closed_with: int | None = None
        self._closed: asyncio.Future[None] | None = None

    def _closed_future(self) -> asyncio.Future[None]:
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
        return self._closed

    def _mark_closed(self, code: int) -> None:
        if self.closed_with is None:
            self.closed_with = code
            closed = self._closed_future()
            if not closed.done():
                closed.set_result(None)

    def _disconnect(self) -> Message:
        return {"type": "websocket.disconnect", "code": self.closed_with or 1000}

    async def receive(self) -> Message:
        if self.closed_with is not None:
            return self._disconnect()
        closed = self._closed_future()
        pending: asyncio.Future[Any] = asyncio.ensure_future(self._receive())
        try:
            await asyncio.wait((pending, closed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
        if not pending.done() or pending.cancelled() or self.closed_with is not None:
            return self._disconnect()
        message: Message = pending.result()
        if message["type"] == "websocket.receive" and too_big(message, self.max_bytes):
            await self.send(
                {"type": "websocket.close", "code": MESSAGE_TOO_BIG, "reason": "message too big"}
            )
            return self._disconnect()
        if message["type"] == "websocket.disconnect":
            self._mark_closed(int(message.get("code", 1005)))
        return message

    async def send(self, message: Message) -> None:
        if self.closed_with is not None:
            return  # closed already: nothing more reaches the client
        if message["type"] == "websocket.close":
            self._mark_closed(int(message.get("code", 1000)))
        await self._send(message)
