"""Runs matching jobs off the event loop and tells subscribers how they progress.

The solver is CPU-bound and synchronous, so each job runs in a worker thread with its own sync
engine; progress goes to the broadcaster from that thread through the loop. One runner per API
process. What a job may do next, and which jobs are lost, is the job service's to say
(`schema.services.matching.jobs`); this module only owns the threads.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from api.broadcast import Broadcaster
from api.logs import log
from schema.db import make_engine
from schema.enums import JobStatus
from schema.services.matching.jobs import fail_jobs, fail_stale_jobs
from schema.services.matching.runner import run_job


def job_channel(job_id: int) -> str:
    return f"matching-job:{job_id}"


def failed_message(job_id: int) -> tuple[str, dict[str, Any]]:
    """The broadcast that tells a job's subscribers it was failed from outside its run."""
    message = {
        "jobId": job_id,
        "status": JobStatus.FAILED.value,
        "progress": 1.0,
        "stage": "failed",
    }
    return job_channel(job_id), message


class MatchingRunner:
    # Jobs run here, started after their row commits: nothing to queue with the row.
    enqueue = None

    def __init__(self, database_url: str, broadcaster: Broadcaster) -> None:
        self._url = database_url
        self._engine: sa.Engine | None = None
        self._broadcaster = broadcaster
        self._tasks: dict[int, asyncio.Task[Any]] = {}

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = make_engine(self._url)
        return self._engine

    def start(self, job_id: int) -> None:
        loop = asyncio.get_running_loop()

        def progress(jid: int, status: JobStatus, value: float, stage: str) -> None:
            message = {"jobId": jid, "status": status.value, "progress": value, "stage": stage}
            asyncio.run_coroutine_threadsafe(
                self._broadcaster.publish(job_channel(jid), message), loop
            )

        async def run() -> None:
            try:
                outcome = await asyncio.to_thread(
                    run_job, self.engine, job_id, on_progress=progress
                )
                log.info("matching job ended", job_id=job_id, status=outcome.status.value)
            except Exception as exc:  # run_job fails the job itself; this is the last guard
                log.error("matching job crashed", job_id=job_id, error=str(exc))
            finally:
                self._tasks.pop(job_id, None)

        self._tasks[job_id] = loop.create_task(run())

    async def wait(self, job_id: int) -> None:
        """Until the job's worker is done (tests and the CLI use it)."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        """On shutdown: jobs still solving are marked failed rather than left running forever."""
        if self._tasks and self._engine is not None:
            reason = "interrupted: the server stopped while the job ran"
            with self.engine.begin() as conn:
                fail_jobs(conn, list(self._tasks), reason)
        if self._engine is not None:
            self._engine.dispose()

    def running(self) -> frozenset[int]:
        """The jobs this process is solving now."""
        return frozenset(self._tasks)

    def fail_stale_jobs(self) -> int:
        """Jobs left queued or running by a process that died can never finish: fail them."""
        with self.engine.begin() as conn:
            return len(fail_stale_jobs(conn, running_here=set(self._tasks)))
