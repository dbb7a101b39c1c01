"""The county's clock in a serving process: an APScheduler job that runs
`schema.services.clock.tick` every `LULING_CLOCK_SECONDS` (0: off), and beside it the
notification dispatcher's rounds every `LULING_NOTIFY_DISPATCH_SECONDS` (api/notify/).
The notifications a tick writes (slot reminders, deadline warnings) reach the recipients'
`myNotifications` subscriptions through `publish`.

The tick is synchronous database work, so it runs in a worker thread; at most one runs at a time
in a process (`max_instances=1`, missed runs coalesced), and across processes the tick's own
PostgreSQL advisory lock lets one of them act per tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from api.broadcast import inbox_messages
from api.logs import log
from api.matching_runner import failed_message
from api.notify.dispatcher import Dispatcher
from schema.services.clock import Tick, tick
from schema.services.notify import published

Publish = Callable[[list[tuple[str, dict[str, Any]]]], Awaitable[None]]


class Clock:
    def __init__(
        self,
        engine: Callable[[], sa.Engine],
        seconds: float,
        running_here: Callable[[], Collection[int]] = frozenset,
        *,
        sweep_jobs: Callable[[sa.Connection, datetime], list[int]] | None = None,
        publish: Publish | None = None,
        dispatcher: Dispatcher | None = None,
        dispatch_seconds: float = 0,
    ) -> None:
        self._engine = engine
        self._seconds = seconds
        self._running_here = running_here
        self._sweep_jobs = sweep_jobs
        self._publish = publish
        self._dispatcher = dispatcher
        self._dispatch_seconds = dispatch_seconds if dispatcher is not None else 0
        self._scheduler: AsyncIOScheduler | None = None

    async def tick(self) -> Tick:
        out = await asyncio.to_thread(
            tick,
            self._engine(),
            running_here=set(self._running_here()),
            sweep_jobs=self._sweep_jobs,
        )
        changed = out.started or out.finished or out.flagged or out.failed_jobs
        if out.ran and (changed or out.notifications):
            log.info(
                "clock",
                activities_started=len(out.started),
                activities_finished=len(out.finished),
                no_shows=out.no_shows,
                needs_flagged_overdue=out.flagged,
                jobs_failed=out.failed_jobs,
                slot_reminders=out.reminded,
                deadline_warnings=out.warned,
            )
        if out.notifications and self._publish is not None:
            await self._publish(inbox_messages(published(out.notifications)["items"]))
        if out.failed_jobs and self._publish is not None:
            # Their subscribers, on any API process, learn that the job ended.
            await self._publish([failed_message(j) for j in out.failed_jobs])
        return out

    async def _safe_dispatch(self) -> None:
        assert self._dispatcher is not None
        try:
            await asyncio.to_thread(self._dispatcher.run_once)
        except Exception as exc:  # a bad round must not stop the dispatcher; the next retries
            log.error("notification round failed", error=str(exc))

    async def _safe_tick(self) -> None:
        try:
            await self.tick()
        except Exception as exc:  # a bad tick must not stop the clock; the next one retries
            log.error("clock tick failed", error=str(exc))

    def start(self) -> None:
        if self._scheduler is not None or (self._seconds <= 0 and self._dispatch_seconds <= 0):
            return
        self._scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
        jobs = (
            ("county-clock", self._safe_tick, self._seconds),
            ("notifications", self._safe_dispatch, self._dispatch_seconds),
        )
        for job_id, run, seconds in jobs:
            if seconds > 0:
                self._scheduler.add_job(
                    run, "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True
                )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
