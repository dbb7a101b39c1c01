"""The broadcaster: committed changes reach every API process's subscriptions.

`publish(channel, message)` after a transaction commits; `subscribe(channel)` in a subscription
resolver. Each process fans messages out to its own subscribers from memory; between processes
they travel through the backend `LULING_BROADCAST_URL` names:

- `memory://` (default): one process only.
- `redis://host:6379/0`: Redis pub/sub. Each process holds one connection subscribed to the
  pattern `luling:ev:*` and fans out locally, so subscribers cost no Redis connection each.
- `postgresql://…`: PostgreSQL LISTEN/NOTIFY on one channel (`luling_events`); no extra server.

Delivery is at most once, as pub/sub is: a subscriber that falls `QUEUE_SIZE` messages behind
is ended (the client re-subscribes and reloads), and messages sent while a backend connection
is down are lost. Subscriptions are live views, the event tables remain the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from api.logs import log

QUEUE_SIZE = 1000
_CLOSED = object()


class Subscription:
    """One subscriber's queue of messages on one channel (an async iterator).

    `on_deliver(message)`, if given, runs synchronously as the message is delivered, before the
    subscriber's task reads it (e.g. to hold a socket's events until an account is re-checked).
    """

    def __init__(
        self,
        broadcaster: Broadcaster,
        channel: str,
        on_deliver: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.broadcaster, self.channel = broadcaster, channel
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.on_deliver = on_deliver

    def deliver(self, message: dict[str, Any]) -> None:
        if self.on_deliver is not None:
            self.on_deliver(message)
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("subscriber too slow; ending its subscription", channel=self.channel)
            self.close()

    def close(self) -> None:
        with contextlib.suppress(asyncio.QueueEmpty):
            while self.queue.full():
                self.queue.get_nowait()
        self.queue.put_nowait(_CLOSED)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        message = await self.queue.get()
        if message is _CLOSED:
            raise StopAsyncIteration
        return message


class Broadcaster:
    """In-memory fan-out; subclasses add a backend between processes."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._started = False
        self._start_lock: asyncio.Lock | None = None

    async def start(self) -> None:
        """Connect the backend (idempotent; `publish` and `subscribe` call it as needed)."""
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if not self._started:
                await self._connect()
                self._started = True

    async def stop(self) -> None:
        for subs in list(self._subscribers.values()):
            for sub in list(subs):
                sub.close()
        self._subscribers.clear()
        if self._started:
            self._started = False
            await self._disconnect()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self.start()
        await self._send(channel, message)

    async def publish_many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """Publish each (channel, message); a backend failure is logged, never raised: the
        change is committed already, and subscriptions are a convenience, not the record."""
        for channel, message in messages:
            try:
                await self.publish(channel, message)
            except Exception as exc:  # the backend is down: log and carry on
                log.warning("broadcast failed", channel=channel, error=str(exc))

    @contextlib.asynccontextmanager
    async def subscribe(
        self, channel: str, *, on_deliver: Callable[[dict[str, Any]], None] | None = None
    ) -> AsyncIterator[Subscription]:
        """`async with broadcaster.subscribe(ch) as messages: async for m in messages: …`"""
        await self.start()
        sub = Subscription(self, channel, on_deliver)
        self._subscribers.setdefault(channel, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subscribers.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[channel]

    def subscriber_count(self, channel: str) -> int:
        return len(self._subscribers.get(channel, ()))

    def _deliver(self, channel: str, message: dict[str, Any]) -> None:
        for sub in list(self._subscribers.get(channel, ())):
            sub.deliver(message)

    # backends override these
    async def _connect(self) -> None:
        return None

    async def _disconnect(self) -> None:
        return None

    async def _send(self, channel: str, message: dict[str, Any]) -> None:
        self._deliver(channel, message)


class RedisBroadcaster(Broadcaster):
    """Redis pub/sub: PUBLISH luling:ev:<channel>; one PSUBSCRIBE per process."""

    def __init__(self, url: str, *, prefix: str = "luling:ev:") -> None:
        super().__init__()
        self.url, self.prefix = url, prefix
        self._redis: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(self.url)
        await self._listen()
        self._reader = asyncio.create_task(self._read(), name="luling-broadcast-redis")

    async def _listen(self) -> None:
        self._pubsub = self._redis.pubsub()
        await self._pubsub.psubscribe(self.prefix + "*")
        # Wait for the confirmation, so that nothing published after start() is missed.
        while True:
            confirmation = await self._pubsub.get_message(timeout=5.0)
            if confirmation is None:
                raise ConnectionError("Redis did not confirm the subscription")
            if confirmation["type"] == "psubscribe":
                return

    async def _read(self) -> None:
        delay = 0.5
        while True:
            try:
                async for item in self._pubsub.listen():
                    delay = 0.5
                    if item.get("type") != "pmessage":
                        continue
                    channel = item["channel"]
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    self._deliver(channel[len(self.prefix) :], json.loads(item["data"]))
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost: resubscribe with back-off
                log.warning("broadcast reader lost Redis; reconnecting", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                with contextlib.suppress(Exception):
                    await self._pubsub.aclose()
                with contextlib.suppress(Exception):
                    await self._listen()

    async def _disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()

    async def _send(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self.prefix + channel, json.dumps(message))


class PostgresBroadcaster(Broadcaster):
    """PostgreSQL LISTEN/NOTIFY on one channel; the payload names the logical channel."""

    def __init__(self, url: str, *, pg_channel: str = "luling_events") -> None:
        super().__init__()
        from sqlalchemy.engine import make_url

        if not pg_channel.replace("_", "").isalnum():
            raise ValueError("the NOTIFY channel must be letters, digits and underscores")
        self.pg_channel = pg_channel

        # psycopg wants a libpq URL: postgresql://user@host:port/db without a driver suffix
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._listener: Any = None
        self._sender: Any = None
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        import psycopg

        self._listener = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await self._listener.execute(f"LISTEN {self.pg_channel}")
        self._sender = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        self._reader = asyncio.create_task(self._read(), name="luling-broadcast-pg")

    async def _read(self) -> None:
        import psycopg

        delay = 0.5
        while True:
            try:
                async for notify in self._listener.notifies():
                    delay = 0.5
                    body = json.loads(notify.payload)
                    self._deliver(body["c"], body["m"])
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("broadcast reader lost PostgreSQL; reconnecting", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                with contextlib.suppress(Exception):
                    await self._listener.close()
                with contextlib.suppress(Exception):
                    self._listener = await psycopg.AsyncConnection.connect(
                        self.dsn, autocommit=True
                    )
                    await self._listener.execute(f"LISTEN {self.pg_channel}")

    async def _disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        for conn in (self._listener, self._sender):
            with contextlib.suppress(Exception):
                await conn.close()

    async def _send(self, channel: str, message: dict[str, Any]) -> None:
        payload = json.dumps({"c": channel, "m": message})
        async with self._send_lock:
            await self._sender.execute("SELECT pg_notify(%s, %s)", (self.pg_channel, payload))


def make_broadcaster(url: str) -> Broadcaster:
    """From `LULING_BROADCAST_URL`. Deployments sharing one server keep apart with
    `redis://…?channel_prefix=luling:prod:` or `postgresql://…?channel=luling_prod`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = dict(parse_qsl(parts.query))
    key = "channel_prefix" if scheme.startswith(("redis", "unix")) else "channel"
    option = query.pop(key, None)
    plain = urlunsplit(parts._replace(query=urlencode(query)))
    if scheme == "memory":
        return Broadcaster()
    if scheme in ("redis", "rediss", "unix"):
        return RedisBroadcaster(plain, prefix=option or "luling:ev:")
    if scheme.startswith(("postgresql", "postgres")):
        return PostgresBroadcaster(plain, pg_channel=option or "luling_events")
    raise ValueError(f"unsupported broadcast URL '{url}': use memory://, redis:// or postgresql://")


# Channel names, shared by publishers and subscribers.
def need_channel(need_id: int) -> str:
    return f"need:{need_id}"


def community_needs_channel(community_id: int) -> str:
    return f"community:{community_id}:needs"


def account_channel(account_id: int) -> str:
    """An account's changes (deactivated, reactivated, password): its open sockets re-check."""
    return f"account:{account_id}"


def inbox_channel(person_id: int | None, account_id: int | None) -> str:
    """A recipient's new notifications (`myNotifications`): a person's, or an account's own."""
    return f"inbox:person:{person_id}" if person_id is not None else f"inbox:account:{account_id}"


def inbox_messages(items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(channel, message) for new notifications ({"id", "person_id", "account_id"} each)."""
    return [
        (inbox_channel(i["person_id"], i["account_id"]), {"notificationId": i["id"]}) for i in items
    ]


def activity_channel(activity_id: int) -> str:
    """An activity's administration (published, updated, cancelled, finished)."""
    return f"activity:{activity_id}"


def mobilisation_channel(person_id: int) -> str:
    """A person's commando mobilisations (党员突击队): mobilised, stood down."""
    return f"person:{person_id}:mobilisation"
