"""Cost budgets: each caller may spend so many cost points a minute (a token bucket).

Anonymous callers are counted per client address, signed-in ones per account. A bucket holds
at most one minute's budget and refills continuously; a query that costs more than is left is
refused with RATE_LIMITED and the seconds until it would fit. One process keeps buckets in
memory; several API processes share them in Redis (`LULING_RATE_LIMIT_URL`, or the broadcast
URL when that is a redis:// URL), where one Lua call spends atomically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.logs import log
from api.redis_backoff import RedisBackoff


@dataclass(frozen=True)
class Spend:
    """The outcome of spending: whether it was allowed, what is left, when it would fit."""

    allowed: bool
    remaining: int
    retry_after: float


class CostBudget:
    """In-memory token buckets (one process). Thread-safe; the number of keys is bounded."""

    max_keys = 100_000

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def spend(self, key: str, cost: int, per_minute: int) -> Spend:
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            if cost > tokens:
                self._store(key, tokens, now)
                return Spend(False, int(tokens), (cost - tokens) / rate)
            tokens -= cost
            self._store(key, tokens, now)
            return Spend(True, int(tokens), 0.0)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _store(self, key: str, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            # Full: forget the oldest half (a forgotten bucket starts full again).
            for old in list(self._buckets)[: self.max_keys // 2]:
                del self._buckets[old]
        self._buckets[key] = (tokens, now)


# KEYS[1] = bucket; ARGV = now (ms), cost, capacity, rate (tokens per ms).
_SPEND_LUA = """
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local capacity, rate = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
if cost <= tokens then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, tostring(tokens)}
"""


class RedisCostBudget(CostBudget):
    """The same buckets in Redis hashes, shared by every API process. When Redis cannot be
    reached the query is allowed and a warning logged: the budget protects against abuse, it
    must not take the service down with it."""

    def __init__(self, url: str, *, prefix: str = "luling:cost") -> None:
        super().__init__()
        import redis

        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._script = self._redis.register_script(_SPEND_LUA)
        self._backoff = RedisBackoff()

    def spend(self, key: str, cost: int, per_minute: int) -> Spend:
        import redis

        if self._backoff.skipping():  # failed a moment ago: allow without waiting on it
            return Spend(True, per_minute, 0.0)
        rate = per_minute / 60_000.0  # per millisecond
        try:
            allowed, tokens = self._script(
                keys=[f"{self.prefix}:{key}"],
                args=[int(time.time() * 1000), cost, per_minute, repr(rate)],
            )
        except redis.RedisError as exc:
            self._backoff.failed()
            log.warning("cost budget unavailable, allowing", error=str(exc))
            return Spend(True, per_minute, 0.0)
        left = float(tokens)
        if allowed:
            return Spend(True, int(left), 0.0)
        return Spend(False, int(left), (cost - left) / (rate * 1000))

    def reset(self) -> None:
        for k in self._redis.scan_iter(match=f"{self.prefix}:*"):
            self._redis.delete(k)


def make_budget(url: str | None, key_prefix: str = "luling:") -> CostBudget:
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisCostBudget(url, prefix=f"{key_prefix}cost")
    return CostBudget()
