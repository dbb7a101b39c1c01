"""Rate limits: a sliding-window log per key, in memory or shared through Redis.

`RateLimiter(limit, window)` allows at most `limit` hits per key in any `window` seconds;
`check(key)` records a hit and answers whether it was allowed. One process keeps counts in
memory; several API processes share them through Redis (`LULING_RATE_LIMIT_URL`, or the
broadcast URL when that is a redis:// URL).

Limits are configured per app (`RateLimits.from_settings`) and reached through the request
context. Two kinds:
- per caller, by operation name: `Can("need.report")` enforces it on its own (see permissions.py),
  keyed on the account (or the client IP when anonymous); add a row to `PER_CALLER` to limit
  another operation.
- custom keys: `enforce_rate_limit(info, "login", f"{username}|{ip}")` in a resolver; logins
  are also limited per client IP (`LOGIN_ADDRESS`) and per username (`LOGIN_USERNAME`).
A refused hit raises a coded GraphQL error RATE_LIMITED, with `extensions.retryAfter` (whole
seconds) when the limiter knows it.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.graphql.errors import CodedError, ErrorCode
from api.logs import log
from api.redis_backoff import RedisBackoff
from api.settings import Settings

if TYPE_CHECKING:
    from api.graphql.context import Info


class RateLimiter:
    """In-memory sliding-window log (one process). Thread-safe; memory is bounded."""

    max_keys = 100_000

    def __init__(
        self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit, self.window, self._clock = limit, float(window), clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> bool:
        """Record a hit for `key`; False (and nothing recorded) when the limit is reached."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may hit again (0 when it may now)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if not hits or len(hits) < self.limit:
                return 0.0
            return max(0.0, hits[0] + self.window - now)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def _prune(self, now: float) -> None:
        stale = [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]
        for k in stale:
            del self._hits[k]
        if len(self._hits) >= self.max_keys:  # still full: forget the oldest half
            for k in list(self._hits)[: self.max_keys // 2]:
                del self._hits[k]


# KEYS[1] = the key; ARGV = now (ms), window (ms), limit, a unique member.
_SLIDING_WINDOW_LUA = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class RedisRateLimiter(RateLimiter):
    """The same sliding window kept in Redis sorted sets, shared by every API process.

    One atomic Lua call per hit (a fraction of a millisecond on a local network). When Redis
    cannot be reached the hit is allowed and a warning logged: the limits protect against
    abuse, they must not take the service down with them.
    """

    def __init__(self, limit: int, window: float, *, url: str, prefix: str) -> None:
        super().__init__(limit, window)
        import redis

        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._script = self._redis.register_script(_SLIDING_WINDOW_LUA)
        self._backoff = RedisBackoff()

    def check(self, key: str) -> bool:
        import redis

        if self._backoff.skipping():  # failed a moment ago: allow without waiting on it
            return True
        now_ms = int(time.time() * 1000)
        window_ms = math.ceil(self.window * 1000)
        try:
            allowed = self._script(
                keys=[f"{self.prefix}:{key}"],
                args=[now_ms, window_ms, self.limit, f"{now_ms}-{uuid.uuid4().hex[:8]}"],
            )
        except redis.RedisError as exc:
            self._backoff.failed()
            log.warning("rate limiter unavailable, allowing", error=str(exc))
            return True
        return bool(allowed)

    def retry_after(self, key: str) -> float:
        return self.window

    def reset(self) -> None:
        for k in self._redis.scan_iter(match=f"{self.prefix}:*"):
            self._redis.delete(k)


# Operations limited per caller (account, or client IP when anonymous), enforced by `Can`:
# operation -> (settings attribute of the limit, settings attribute of the window in seconds).
PER_CALLER: dict[str, tuple[str, str]] = {
    "need.report": ("report_rate_limit", "report_rate_window_seconds"),
    # A keeper's suggestions are reports too (any signed-in keeper may send them).
    "sentinel.suggest": ("report_rate_limit", "report_rate_window_seconds"),
}
LOGIN = "login"  # per (username, client IP)
LOGIN_ADDRESS = "login.address"  # per client IP, whatever the username: password spraying
LOGIN_USERNAME = "login.username"  # per username, whatever the address
_LOGIN_RULES: dict[str, tuple[str, str]] = {
    LOGIN: ("login_rate_limit", "login_rate_window_seconds"),
    LOGIN_ADDRESS: ("login_address_rate_limit", "login_address_rate_window_seconds"),
    LOGIN_USERNAME: ("login_username_rate_limit", "login_username_rate_window_seconds"),
}


@dataclass
class RateLimits:
    """The app's limiters by name (operation names for per-caller limits, and "login")."""

    limiters: dict[str, RateLimiter] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        url, prefix = settings.shared_limits_url, settings.redis_key_prefix
        rules = {**_LOGIN_RULES, **PER_CALLER}

        def make(name: str, limit: int, window: float) -> RateLimiter:
            if url and url.startswith(("redis://", "rediss://", "unix://")):
                return RedisRateLimiter(limit, window, url=url, prefix=f"{prefix}rl:{name}")
            return RateLimiter(limit, window)

        return cls(
            {
                name: make(name, getattr(settings, lim), getattr(settings, win))
                for name, (lim, win) in rules.items()
            }
        )

    def check(self, name: str, key: str) -> bool:
        limiter = self.limiters.get(name)
        return True if limiter is None else limiter.check(key)

    def retry_after(self, name: str, key: str) -> int | None:
        """Whole seconds until `key` may hit `name` again (None when unknown)."""
        limiter = self.limiters.get(name)
        return None if limiter is None else math.ceil(limiter.retry_after(key))


def caller_key(info: Info) -> str:
    account = info.context.account
    return f"account:{account.id}" if account is not None else f"ip:{info.context.client_ip}"


def enforce_rate_limit(info: Info, name: str, key: str | None = None) -> None:
    """Count one hit of `name` for `key` (default: the caller); raise RATE_LIMITED when over."""
    limits = info.context.rate_limits
    if limits is None:
        return
    key = key if key is not None else caller_key(info)
    if not limits.check(name, key):
        error = CodedError("too many requests; try again later", ErrorCode.RATE_LIMITED)
        retry_after = limits.retry_after(name, key)
        if retry_after:  # seconds, as in an HTTP Retry-After header
            error.extensions = {**(error.extensions or {}), "retryAfter": retry_after}
        raise error
