"""Skip a Redis that just failed, for a few seconds.

The rate limiters and cost budgets call Redis synchronously, on the event loop. When Redis
stalls (paused, overloaded, packets dropped) each call waits out its 0.25 s timeout with the
whole process blocked; measured with two API processes and `redis-cli CLIENT PAUSE`, one process
then served 21 requests in 4 s instead of 231. After a failure the limiter allows (as it did on
each failure before) without asking Redis for `seconds`, then tries it again: a stall costs a
process one timeout per limiter every few seconds, not one per request.
"""

from __future__ import annotations

import time

RETRY_SECONDS = 5.0


class RedisBackoff:
    def __init__(self, seconds: float = RETRY_SECONDS) -> None:
        self.seconds = seconds
        self._until = 0.0

    def skipping(self) -> bool:
        """True while Redis failed less than `seconds` ago."""
        return time.monotonic() < self._until

    def failed(self) -> None:
        self._until = time.monotonic() + self.seconds
