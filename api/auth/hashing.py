"""A cap on password hashes running at once in this process.

argon2 is slow and memory-hard on purpose (64 MiB, 4 threads, ~0.1 s per hash), so every login
attempt costs the server real CPU. Without a cap, a flood of logins (even for unknown usernames,
which are verified against a dummy hash) fills the thread pool with hashes and starves every
other request. `run_hash` lets `password_hash_concurrency` hashes run at once and
`password_hash_waiting` more wait for a slot; past that it refuses at once with
`PasswordHashBusy` (RATE_LIMITED, with a retry hint) instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from api.graphql.errors import CodedError, ErrorCode

T = TypeVar("T")
RETRY_AFTER_SECONDS = 1


class PasswordHashBusy(CodedError):
    """Every hashing slot is taken and the waiting line is full; try again in a moment."""

    def __init__(self) -> None:
        message = "the server is busy checking passwords; try again shortly"
        super().__init__(message, ErrorCode.RATE_LIMITED)
        self.extensions = {**(self.extensions or {}), "retryAfter": RETRY_AFTER_SECONDS}


@dataclass
class _LoopGate:
    semaphore: asyncio.Semaphore
    waiting: int = 0
    running: int = 0


class PasswordHashGate:
    """At most `concurrency` hashes at once and `waiting` callers queued, per event loop (one
    per process when serving; tests run several loops one after another)."""

    def __init__(self, concurrency: int, waiting: int) -> None:
        if concurrency < 1 or waiting < 0:
            raise ValueError("password hashing needs concurrency >= 1 and waiting >= 0")
        self.concurrency, self.max_waiting = concurrency, waiting
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopGate] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> _LoopGate:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _LoopGate(asyncio.Semaphore(self.concurrency))
        return gate

    def load(self) -> tuple[int, int]:
        """(hashes running, callers waiting) on the current event loop."""
        gate = self._gate()
        return gate.running, gate.waiting

    async def run(self, fn: Callable[..., T], /, *args: object) -> T:
        """`fn(*args)` in a worker thread once a slot is free; `PasswordHashBusy` at once when
        the slots are taken and the waiting line is full."""
        gate = self._gate()
        if gate.semaphore.locked() and gate.waiting >= self.max_waiting:
            raise PasswordHashBusy
        gate.waiting += 1
        try:
            await gate.semaphore.acquire()
        finally:
            gate.waiting -= 1
        gate.running += 1

        def release(_: object) -> None:
            gate.running -= 1
            gate.semaphore.release()

        # The slot is freed when the hash ends, not when its caller goes away: a cancelled
        # request cannot let more hashes run at once than the cap.
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        work.add_done_callback(release)
        return await asyncio.shield(work)


_gate = PasswordHashGate(concurrency=1, waiting=4)


def configure(concurrency: int, waiting: int) -> None:
    """Set the process's cap (the app does, from its settings)."""
    global _gate
    _gate = PasswordHashGate(concurrency, waiting)


def gate() -> PasswordHashGate:
    return _gate


async def run_hash(fn: Callable[..., T], /, *args: object) -> T:
    """Run a password hash or verification under the process's cap."""
    return await _gate.run(fn, *args)
