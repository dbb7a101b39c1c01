"""Slots held at once (api/slots.py) on the real Redis: two instances (two API processes) share
one limit, a clean stop gives back what it held, renewals keep a held slot past its lease, and
an unreachable Redis falls back to counting in the process rather than allowing everything."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from api.slots import RedisSlots, Slots, make_slots
from tests.multiproc.topology import REDIS_URL


@pytest.fixture
def prefix() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}): .ci/run starts it")
    return f"luling:test:{uuid.uuid4().hex[:8]}:slot:"


def test_two_processes_share_one_limit_and_give_back_on_release(prefix: str) -> None:
    async def run() -> list[object]:
        a, b = RedisSlots(REDIS_URL, prefix=prefix), RedisSlots(REDIS_URL, prefix=prefix)
        first = await a.acquire("ws:account:1", 2)
        second = await b.acquire("ws:account:1", 2)
        refused = [await a.acquire("ws:account:1", 2), await b.acquire("ws:account:1", 2)]
        other_key = await b.acquire("ws:account:2", 2)  # another account: its own limit
        held = await a.count("ws:account:1")
        assert first is not None and second is not None and other_key is not None
        await a.release(first)
        again = await b.acquire("ws:account:1", 2)  # a's place, given back, is b's now
        await b.stop()  # a clean stop gives back every place it holds
        after_stop = await a.count("ws:account:1")
        await a.stop()
        return [refused, held, again is not None, after_stop]

    assert asyncio.run(run()) == [[None, None], 2, True, 0]


def test_held_slots_are_renewed_and_outlive_their_lease(prefix: str) -> None:
    async def run() -> tuple[int, int]:
        slots = RedisSlots(REDIS_URL, prefix=prefix, lease_seconds=0.6)
        lease = await slots.acquire("http:address:10.0.0.1", 1)
        assert lease is not None
        for _ in range(4):  # four leases long, renewed meanwhile
            await asyncio.sleep(0.6)
            await slots.renew()
        held = await slots.count("http:address:10.0.0.1")
        refused = await slots.acquire("http:address:10.0.0.1", 1)
        await slots.stop()
        return held, 0 if refused is None else 1

    assert asyncio.run(run()) == (1, 0)


def test_an_unrenewed_slot_expires(prefix: str) -> None:
    """What a killed process leaves: a slot nobody renews is free after its lease."""

    async def run() -> tuple[bool, bool]:
        dead = RedisSlots(REDIS_URL, prefix=prefix, lease_seconds=0.3)
        assert await dead.acquire("ws:address:10.0.0.9", 1) is not None
        dead._mine.clear()  # it stops renewing, as a killed process does
        alive = RedisSlots(REDIS_URL, prefix=prefix, lease_seconds=30)
        refused_at_once = await alive.acquire("ws:address:10.0.0.9", 1) is None
        for _ in range(200):  # expires after 0.3 s; give up after 10 s
            if not await alive.count("ws:address:10.0.0.9"):
                break
            await asyncio.sleep(0.05)
        taken_after = await alive.acquire("ws:address:10.0.0.9", 1) is not None
        await alive.stop()
        await dead.stop()
        return refused_at_once, taken_after

    assert asyncio.run(run()) == (True, True)


def test_unreachable_redis_falls_back_to_counting_in_the_process() -> None:
    async def run() -> list[bool]:
        slots = RedisSlots("redis://127.0.0.1:1/0", prefix="luling:test:")
        first = await slots.acquire("http:address:10.0.0.1", 1)
        second = await slots.acquire("http:address:10.0.0.1", 1)  # still limited
        assert first is not None and not first.shared
        await slots.release(first)
        third = await slots.acquire("http:address:10.0.0.1", 1)
        await slots.stop()
        return [second is None, third is not None]

    assert asyncio.run(run()) == [True, True]


def test_without_redis_slots_are_counted_in_memory() -> None:
    assert type(make_slots(None, prefix="luling:", lease_seconds=30)) is Slots
    assert type(make_slots("memory://", prefix="luling:", lease_seconds=30)) is Slots
    shared = make_slots(REDIS_URL, prefix="luling:", lease_seconds=30)
    assert isinstance(shared, RedisSlots)
