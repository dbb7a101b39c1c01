"""The county's clock in a serving process: an APScheduler job that runs
`schema.services.clock.tick` every `LULING_CLOCK_SECONDS` (0: off).

The tick is synchronous database work, so it runs in a worker thread; at most one runs at a time
in a process (`max_instances=1`, missed runs coalesced), and across processes the tick's own
PostgreSQL advisory lock lets one of them act per tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from datetime import datetime

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from api.broadcast import Broadcaster
from api.logs import log
from api.matching_runner import failed_message
from schema.services.clock import Tick, tick


class Clock:
    def __init__(
        self,
        engine: Callable[[], sa.Engine],
        seconds: float,
        running_here: Callable[[], Collection[int]] = frozenset,
        sweep_jobs: Callable[[sa.Connection, datetime], list[int]] | None = None,
        broadcaster: Broadcaster | None = None,
    ) -> None:
        self._engine = engine
        self._seconds = seconds
        self._running_here = running_here
        self._sweep_jobs = sweep_jobs
        self._broadcaster = broadcaster
        self._scheduler: AsyncIOScheduler | None = None

    async def tick(self) -> Tick:
        out = await asyncio.to_thread(
            tick,
            self._engine(),
            running_here=set(self._running_here()),
            sweep_jobs=self._sweep_jobs,
        )
        if out.ran and (out.started or out.finished or out.flagged or out.failed_jobs):
            log.info(
                "clock",
                activities_started=len(out.started),
                activities_finished=len(out.finished),
                no_shows=out.no_shows,
                needs_flagged_overdue=out.flagged,
                jobs_failed=out.failed_jobs,
            )
        if self._broadcaster is not None and out.failed_jobs:
            # Their subscribers, on any API process, learn that the job ended.
            await self._broadcaster.publish_many([failed_message(j) for j in out.failed_jobs])
        return out

    async def _safe_tick(self) -> None:
        try:
            await self.tick()
        except Exception as exc:  # a bad tick must not stop the clock; the next one retries
            log.error("clock tick failed", error=str(exc))

    def start(self) -> None:
        if self._seconds <= 0 or self._scheduler is not None:
            return
        self._scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
        self._scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=self._seconds,
            id="county-clock",
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
