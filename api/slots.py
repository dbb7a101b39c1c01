"""Things held at once, at most `limit` per key: open sockets per account and per client
address, HTTP requests in flight per address. In memory for one process; shared by every API
process through Redis when `LULING_REDIS_URL` (or `LULING_RATE_LIMIT_URL`) names one, so a
client that spreads its sockets or requests over N processes meets the same limits as against
one.

    lease = await slots.acquire("ws:account:7", limit=5)   # None: all taken, refuse
    ...
    await slots.release(lease)

In Redis a key is a sorted set of (holder, expiry in Redis's own clock): taking a slot drops
the expired holders, counts the rest and adds one, in one Lua call (atomic, so two processes
cannot both take the last slot). A process renews the leases it holds every third of
`lease_seconds`; a process that dies (kill -9, a lost machine) stops renewing, and its slots
are free again within `lease_seconds`. When Redis cannot be reached the process falls back to
counting in memory (a warning is logged): the limits then hold per process, as without Redis,
rather than not at all; after a failure it counts in memory for a few seconds without asking
Redis (api/redis_backoff.py), so a stalled Redis does not make each request wait out a timeout.
Every renewal writes back each lease the process holds, including those
Redis lost (an outage longer than a lease, a restarted Redis) and those taken in memory while it
was unreachable: once Redis answers again it counts every socket and request still open, so the
limit is not exceeded by what outlived the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from api.logs import log
from api.redis_backoff import RedisBackoff

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")

# KEYS[1] = the key; ARGV = limit, holder, lease (ms). Redis's clock, so processes on machines
# whose clocks differ agree on what has expired.
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""

# KEYS = keys; ARGV[1] = lease (ms), ARGV[2..] = the holder in each key. Writes back holders
# Redis no longer has (expired during an outage, lost with a restarted Redis, taken in memory
# while it was unreachable): they are still held, so they count. A slot released while this ran
# is removed again by `renew` afterwards.
_RENEW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local kept = 0
for i, key in ipairs(KEYS) do
  kept = kept + redis.call('ZADD', key, 'CH', now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return kept
"""


@dataclass(frozen=True)
class Lease:
    """One slot held: its key, its holder id, and whether Redis holds it (else memory)."""

    key: str
    holder: str
    shared: bool


class Slots:
    """In-memory slots (one process)."""

    def __init__(self) -> None:
        self.held: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def _next_holder(self) -> str:
        return f"{self._tag}-{next(self._ids)}"

    async def acquire(self, key: str, limit: int) -> Lease | None:
        return self._acquire_local(key, limit)

    def _acquire_local(self, key: str, limit: int) -> Lease | None:
        if self.held[key] >= limit:
            return None
        self.held[key] += 1
        return Lease(key, self._next_holder(), shared=False)

    async def release(self, lease: Lease) -> None:
        self._release_local(lease)

    def _release_local(self, lease: Lease) -> None:
        self.held[lease.key] -= 1
        if self.held[lease.key] <= 0:
            del self.held[lease.key]

    async def count(self, key: str) -> int:
        """Slots of `key` held now (by every process, when shared)."""
        return self.held[key]

    async def stop(self) -> None:
        pass

    @property
    def sharing(self) -> str:
        """How limits are counted now, for `/readyz`: `local` (no Redis configured)."""
        return "local"


class RedisSlots(Slots):
    """Slots shared by every API process through Redis sorted sets with leases."""

    def __init__(self, url: str, *, prefix: str, lease_seconds: float = 30.0) -> None:
        super().__init__()
        if lease_seconds <= 0:
            raise ValueError("slot leases need lease_seconds > 0")
        self.url, self.prefix = url, prefix
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self._mine: dict[Lease, None] = {}  # leases this process holds in Redis, to renew
        self._loop: asyncio.AbstractEventLoop | None = None
        self._redis: Any = None
        self._acquire: Any = None
        self._renew: Any = None
        self._renewer: asyncio.Task[None] | None = None
        self._degraded = False
        self._backoff = RedisBackoff()

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or an app restarted on a new loop
            import redis.asyncio as redis

            self._loop = loop
            self._mine.clear()
            self.held.clear()
            self._renewer = None
            self._redis = redis.Redis.from_url(
                self.url, socket_timeout=0.25, socket_connect_timeout=0.25
            )
            self._acquire = self._redis.register_script(_ACQUIRE_LUA)
            self._renew = self._redis.register_script(_RENEW_LUA)
        return self._redis

    @property
    def sharing(self) -> str:
        """`shared` while Redis answers; `degraded` while this process counts alone because it
        does not (its limits are then per process: monitoring should see that)."""
        return "degraded" if self._degraded else "shared"

    def _full(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def _unavailable(self, exc: Exception) -> None:
        if not self._degraded:
            log.warning("shared slots unavailable, counting in this process", error=str(exc))
        self._degraded = True

    async def acquire(self, key: str, limit: int) -> Lease | None:
        import redis

        self._client()
        holder = self._next_holder()
        try:
            if self._backoff.skipping():  # failed a moment ago: count in memory without waiting
                raise redis.ConnectionError("failed less than a few seconds ago")
            taken = await self._acquire(keys=[self._full(key)], args=[limit, holder, self.lease_ms])
        except (redis.RedisError, OSError) as exc:
            if not self._backoff.skipping():
                self._backoff.failed()
            self._unavailable(exc)
            local = self._acquire_local(key, limit)
            if local is not None:  # written to Redis by the renewer once it answers again
                self._hold(local)
            return local
        self._reachable()
        if not taken:
            return None
        lease = Lease(key, holder, shared=True)
        self.held[key] += 1  # what falling back to memory would count, should Redis go
        self._hold(lease)
        return lease

    def _reachable(self) -> None:
        if self._degraded:
            log.info("shared slots reachable again")
            self._degraded = False

    def _hold(self, lease: Lease) -> None:
        self._mine[lease] = None
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(
                self._renew_loop(), name="luling-slot-leases"
            )

    async def release(self, lease: Lease) -> None:
        import redis

        self._mine.pop(lease, None)
        self._release_local(lease)
        if not lease.shared and self._degraded:  # not in Redis yet (or expiring there alone)
            return
        try:
            await self._client().zrem(self._full(lease.key), lease.holder)
        except (redis.RedisError, OSError) as exc:  # the lease expires on its own
            self._unavailable(exc)

    async def count(self, key: str) -> int:
        import redis

        try:
            # Holders not yet expired (Redis's clock), as `acquire` counts them.
            seconds, micros = await self._client().time()
            now = seconds * 1000 + micros // 1000
            return int(await self._client().zcount(self._full(key), f"({now}", "+inf"))
        except (redis.RedisError, OSError):
            return self.held[key]

    async def renew(self) -> None:
        """Extend every lease this process holds by `lease_seconds` (the renewer's one round)."""
        leases = list(self._mine)
        for start in range(0, len(leases), 500):
            chunk = leases[start : start + 500]
            await self._renew(
                keys=[self._full(lease.key) for lease in chunk],
                args=[self.lease_ms, *(lease.holder for lease in chunk)],
            )
            # Released while the renewal ran: it may have written them back after their release
            # removed them; remove them again, now that it has.
            for lease in chunk:
                if lease not in self._mine:
                    await self._redis.zrem(self._full(lease.key), lease.holder)
            self._reachable()

    async def _renew_loop(self) -> None:
        import redis

        while self._mine:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                await self.renew()
            except (redis.RedisError, OSError) as exc:
                self._unavailable(exc)

    async def stop(self) -> None:
        """Give back every slot this process holds (a clean stop; a kill leaves them to expire)."""
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await renewer
        if self._redis is None or self._loop is not asyncio.get_running_loop():
            return
        leases, self._mine = list(self._mine), {}
        with contextlib.suppress(Exception):
            for lease in leases:
                await self._redis.zrem(self._full(lease.key), lease.holder)
        with contextlib.suppress(Exception):
            await self._redis.aclose()
        self._redis = self._loop = None


def make_slots(url: str | None, *, prefix: str, lease_seconds: float) -> Slots:
    if url and url.startswith(REDIS_SCHEMES):
        return RedisSlots(url, prefix=f"{prefix}slot:", lease_seconds=lease_seconds)
    return Slots()
