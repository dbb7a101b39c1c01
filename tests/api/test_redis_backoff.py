"""A rate limiter, cost budget or slot count whose Redis stalls waits out one timeout, then skips
Redis for a few seconds instead of making every request wait (api/redis_backoff.py). Redis
here is a real TCP server that accepts connections and never answers, as a paused Redis does;
each call that asks it opens one connection (redis-py drops a connection that timed out)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from api.auth.ratelimit import RedisRateLimiter
from api.graphql.budget import RedisCostBudget
from api.slots import RedisSlots


@pytest.fixture
def silent_redis() -> Iterator[tuple[str, list[socket.socket]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0", accepted
    server.close()
    for conn in accepted:
        conn.close()


def test_a_stalled_redis_is_asked_once_by_a_rate_limiter(
    silent_redis: tuple[str, list[socket.socket]],
) -> None:
    url, accepted = silent_redis
    limiter = RedisRateLimiter(1, 60, url=url, prefix="luling:test:rl")
    allowed = [limiter.check("ip:10.0.0.1") for _ in range(5)]  # fails open, as before
    assert allowed == [True] * 5
    assert len(accepted) == 1


def test_a_stalled_redis_is_asked_once_by_a_cost_budget(
    silent_redis: tuple[str, list[socket.socket]],
) -> None:
    url, accepted = silent_redis
    budget = RedisCostBudget(url, prefix="luling:test:cost")
    spent = [budget.spend("ip:10.0.0.1", 10, 100).allowed for _ in range(5)]
    assert spent == [True] * 5
    assert len(accepted) == 1


def test_a_stalled_redis_is_asked_once_for_slots(
    silent_redis: tuple[str, list[socket.socket]],
) -> None:
    url, accepted = silent_redis

    async def run() -> tuple[list[bool], int]:
        slots = RedisSlots(url, prefix="luling:test:slot:")
        leases = [await slots.acquire("http:address:10.0.0.1", 3) for _ in range(4)]
        asked = len(accepted)
        await slots.stop()
        return [lease is not None for lease in leases], asked  # counted in memory meanwhile

    assert asyncio.run(run()) == ([True, True, True, False], 1)
