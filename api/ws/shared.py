"""Reads shared by the subscriptions of one process: an event that reaches N subscribers costs
one database read, not N.

    row = await shared_reads_of(info).get(("need-event", event_id), partial(read, db, event_id))

The first subscriber to ask starts the read; the others, asking while it runs or up to `TTL`
seconds later, await the same result. Keys name something that does not change once published
(an event id, a job's reported stage). Results are plain column values: every subscriber builds
its own objects from them, so that fields resolved per caller (masked names and phones, scope
checks) see that subscriber's context, and nothing one subscriber caches reaches another.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any, TypeVar

from api.graphql.context import Info

T = TypeVar("T")
TTL = 10.0  # seconds a result is kept for subscribers that lag behind


class SharedReads:
    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._entries: OrderedDict[Hashable, tuple[float, asyncio.Task[Any]]] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an app restarted on a new loop: nothing carries over
            self._entries.clear()
            self._loop = loop
        now = loop.time()
        while self._entries:  # drop expired entries (the oldest come first)
            first = next(iter(self._entries.values()))
            if first[0] > now:
                break
            self._entries.popitem(last=False)
        entry = self._entries.get(key)
        if entry is None:
            task: asyncio.Task[T] = loop.create_task(_run(load))
            self._entries[key] = (now + self.ttl, task)
            task.add_done_callback(lambda done: self._forget_failed(key, done))
        else:
            task = entry[1]
        # Shielded: a subscriber that goes away does not cancel the read the others await.
        return await asyncio.shield(task)

    def _forget_failed(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is not None:
            entry = self._entries.get(key)
            if entry is not None and entry[1] is task:
                del self._entries[key]  # the next subscriber tries again

    def __len__(self) -> int:
        return len(self._entries)


async def _run(load: Callable[[], Awaitable[T]]) -> T:
    return await load()


class Columns:
    """Column values in the shape `RowType.from_row` reads (`row._mapping`)."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._mapping = mapping


def shared_reads_of(info: Info) -> SharedReads:
    return info.context.request.app.state.shared_reads
