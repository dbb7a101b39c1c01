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


def test_slots_redis_lost_are_written_back_by_the_next_renewal(prefix: str) -> None:
    """An outage longer than a lease, or a restarted Redis, loses the leases of sockets still
    open; the holder's next renewal writes them back, so the limit counts them again."""

    async def run() -> list[object]:
        a, b = RedisSlots(REDIS_URL, prefix=prefix), RedisSlots(REDIS_URL, prefix=prefix)
        held = [await a.acquire("ws:address:10.0.0.3", 2) for _ in range(2)]
        redis.Redis.from_url(REDIS_URL).delete(f"{prefix}ws:address:10.0.0.3")  # Redis restarted
        await a.renew()
        counted = await b.count("ws:address:10.0.0.3")
        refused = await b.acquire("ws:address:10.0.0.3", 2)
        for lease in held:
            assert lease is not None
            await a.release(lease)
        after = await b.count("ws:address:10.0.0.3")
        await a.stop()
        await b.stop()
        return [counted, refused, after]

    assert asyncio.run(run()) == [2, None, 0]


def test_slots_taken_while_redis_failed_count_there_once_it_answers(prefix: str) -> None:
    """A slot taken in memory while Redis failed (here: a key of the wrong type makes Redis
    refuse) is written to Redis by the next renewal once it answers, and removed on release."""

    async def run() -> list[object]:
        key = "ws:address:10.0.0.4"
        client = redis.Redis.from_url(REDIS_URL)
        client.set(f"{prefix}{key}", "not a sorted set")
        a, b = RedisSlots(REDIS_URL, prefix=prefix), RedisSlots(REDIS_URL, prefix=prefix)
        local = await a.acquire(key, 1)
        assert local is not None and not local.shared
        client.delete(f"{prefix}{key}")  # Redis answers again
        await a.renew()
        counted = await b.count(key)
        refused = await b.acquire(key, 1)
        await a.release(local)
        after = await b.count(key)
        await a.stop()
        await b.stop()
        return [counted, refused, after]

    assert asyncio.run(run()) == [1, None, 0]


def test_falling_back_to_memory_counts_the_slots_already_held(prefix: str) -> None:
    async def run() -> object:
        key = "ws:account:77"
        slots = RedisSlots(REDIS_URL, prefix=prefix)
        held = await slots.acquire(key, 1)
        assert held is not None and held.shared
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(f"{prefix}{key}")
        client.set(f"{prefix}{key}", "not a sorted set")  # Redis refuses from now on
        refused = await slots.acquire(key, 1)  # in memory: this process holds one already
        client.delete(f"{prefix}{key}")
        await slots.stop()
        return refused

    assert asyncio.run(run()) is None


def test_a_slot_released_while_renewed_is_not_written_back(prefix: str) -> None:
    async def run() -> int:
        slots = RedisSlots(REDIS_URL, prefix=prefix)
        lease = await slots.acquire("http:address:10.0.0.5", 4)
        assert lease is not None
        await asyncio.gather(slots.renew(), slots.release(lease))
        left = await slots.count("http:address:10.0.0.5")
        await slots.stop()
        return left

    assert asyncio.run(run()) == 0
