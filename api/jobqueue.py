"""Matching jobs on a real queue: procrastinate on PostgreSQL (`LULING_JOB_RUNNER=queue`).

Why procrastinate: the queue lives in the PostgreSQL we already run (no broker to operate), and a
job's queue entry is a row, so it is inserted in the same transaction as the `matching_job` row
(`enqueue`): a job is either stored and queued or neither. Workers (`luling worker`) take entries
with SKIP LOCKED, beat a heartbeat, and are woken by NOTIFY.

What procrastinate does not decide, the matching job's row does: `run_job` moves it by compare-
and-set, so a cancel from any API process (the row goes CANCELLED) is seen by whichever worker
solves it, which kills the solve (`api.solve_process`: each job solves in a child process) and
saves nothing. A worker killed mid-solve stops beating; `sweep` (run by
every worker and by the API's clock) finds its jobs once the heartbeat is older than
`LULING_WORKER_STALLED_SECONDS`, marks the queue entry failed and the job FAILED with the reason.
Its results were never half-saved: they are written in one transaction at the end of the solve.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from api.broadcast import Broadcaster, make_broadcaster
from api.logs import log
from api.matching_runner import MatchingRunner, failed_message, job_channel
from api.settings import Settings
from api.solve_process import solve_in_child, warm_up
from schema.base import utcnow
from schema.db import make_engine, normalise_url
from schema.enums import JobStatus
from schema.matching_jobs import MatchingJob
from schema.services.matching.jobs import fail_jobs, move_job, read_job
from schema.services.matching.province import live_provinces, settle
from schema.workflow import FINAL_JOB_STATUSES, LIVE_JOB_STATUSES

TASK_NAME = "luling.run_matching_job"
QUEUE_NAME = "matching"

# procrastinate's own function and row type (migration 0014): the same insert its
# `defer_async` makes, on our connection so it commits with the job's row.
_DEFER = sa.text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, "
    "CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1]))"
)

# Our task's entries being worked on by a worker that is gone (pruned) or silent.
_STALLED = sa.text(
    "SELECT j.id, (j.args->>'job_id')::bigint AS job_id, w.last_heartbeat "
    "FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
    "WHERE j.task_name = :task AND j.status = 'doing' "
    "AND (w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => :seconds)) "
    "FOR UPDATE OF j SKIP LOCKED"
)
_FINISH_FAILED = sa.text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)")
# Of these jobs, those whose queue entry is still waiting or being worked on.
_QUEUED = sa.text(
    "SELECT DISTINCT (args->>'job_id')::bigint FROM procrastinate_jobs "
    "WHERE task_name = :task AND status IN ('todo', 'doing') "
    "AND (args->>'job_id')::bigint IN :ids"
).bindparams(sa.bindparam("ids", expanding=True))


def enqueue(conn: sa.Connection, job_id: int) -> None:
    """Queue the job in the caller's transaction (it commits or rolls back with the job)."""
    conn.execute(
        _DEFER, {"queue": QUEUE_NAME, "task": TASK_NAME, "args": json.dumps({"job_id": job_id})}
    )


def sweep(conn: sa.Connection, *, stalled_seconds: float, now: datetime | None = None) -> list[int]:
    """Fail the jobs no worker will finish: those whose worker stopped beating for
    `stalled_seconds`, and those whose queue entry ended without ending the job."""
    failed: list[int] = []
    for entry_id, job_id, heartbeat in conn.execute(
        _STALLED, {"task": TASK_NAME, "seconds": stalled_seconds}
    ).all():
        conn.execute(_FINISH_FAILED, {"id": entry_id})
        silent = (
            "its worker is gone"
            if heartbeat is None
            else f"no heartbeat since {heartbeat:%H:%M:%S}"
        )
        reason = f"interrupted: its worker stopped while it ran ({silent}); start it again"
        failed += fail_jobs(conn, [job_id], reason, now=now)
    live_query = sa.select(col(MatchingJob.id)).where(
        col(MatchingJob.status).in_(LIVE_JOB_STATUSES)
    )
    live = {i for i in conn.execute(live_query).scalars() if i is not None}  # keys: never None
    # A province job has no queue entry of its own: its parts do. Settle it (it gathers or
    # fails) in case its last part ended without doing so.
    provinces = live_provinces(conn, live)
    for province_id in sorted(provinces):
        if settle(conn, province_id, move_job, now=now) is JobStatus.FAILED:
            failed.append(province_id)
    live -= provinces
    if live:
        queued = set(conn.execute(_QUEUED, {"task": TASK_NAME, "ids": sorted(live)}).scalars())
        reason = "interrupted: its queue entry ended before the job did; start it again"
        failed += fail_jobs(conn, sorted(live - queued), reason, now=now)
    return failed


class QueueRunner:
    """The API process's side of the queue: the same face as `MatchingRunner`, but jobs are
    queued by `enqueue` in the request's transaction and run by `luling worker`."""

    def __init__(self, database_url: str, *, stalled_seconds: float) -> None:
        self._url = database_url
        self._engine: sa.Engine | None = None
        self.stalled_seconds = stalled_seconds
        self.enqueue = enqueue

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = make_engine(self._url)
        return self._engine

    def start(self, job_id: int) -> None:
        """Nothing to do: the job was queued with its row."""

    async def wait(self, job_id: int, *, timeout: float = 600.0) -> None:
        """Until a worker has ended the job (tests and the CLI use it)."""
        deadline = time.monotonic() + timeout
        query = sa.select(col(MatchingJob.status)).where(col(MatchingJob.id) == job_id)
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                if conn.execute(query).scalar() in FINAL_JOB_STATUSES:
                    return
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def running(self) -> frozenset[int]:
        return frozenset()  # this process solves nothing

    def sweep(self, conn: sa.Connection, now: datetime) -> list[int]:
        return sweep(conn, stalled_seconds=self.stalled_seconds, now=now)

    def fail_stale_jobs(self) -> int:
        with self.engine.begin() as conn:
            return len(self.sweep(conn, utcnow()))


def make_runner(settings: Settings, broadcaster: Broadcaster) -> MatchingRunner | QueueRunner:
    """The API process's runner as `LULING_JOB_RUNNER` says; the queue needs PostgreSQL."""
    if settings.job_runner == "process":
        return MatchingRunner(settings.database_url, broadcaster)
    if not is_postgresql(settings.database_url):
        raise ValueError("LULING_JOB_RUNNER=queue needs PostgreSQL (DATABASE_URL=postgresql://…)")
    return QueueRunner(settings.database_url, stalled_seconds=settings.worker_stalled_seconds)


def is_postgresql(database_url: str) -> bool:
    return normalise_url(database_url).get_backend_name() == "postgresql"


# ---------------------------------------------------------------- the worker process


def procrastinate_app(database_url: str) -> Any:
    import procrastinate
    from sqlalchemy.engine import make_url

    # libpq's URL: no "+driver" suffix
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=dsn, min_size=1, max_size=4)
    )


class Worker:
    """One `luling worker`: solves queued jobs one at a time (the solver is CPU-bound), publishes
    their progress through the broadcaster, and sweeps up jobs of workers that died."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.broadcaster: Broadcaster = make_broadcaster(settings.broadcast_backend_url)
        self.app = procrastinate_app(settings.database_url)
        self.app.task(name=TASK_NAME, queue=QUEUE_NAME)(self.run_matching_job)
        self.last_sweep: float | None = None  # monotonic time of the last sweep that reached the DB

    async def run_matching_job(self, job_id: int) -> None:
        province_id = await asyncio.to_thread(self._province_of, job_id)

        async def progress(status: str, value: float, stage: str) -> None:
            message = {"jobId": job_id, "status": status, "progress": value, "stage": stage}
            messages = [(job_channel(job_id), message)]
            if province_id is not None:  # a part: its province's subscribers follow it too
                messages.append(await asyncio.to_thread(self._province_message, province_id))
            await self.broadcaster.publish_many(messages)

        log.info("matching job taken", job_id=job_id, worker=os.getpid())
        ended = await solve_in_child(
            self.settings.database_url,
            self.engine,
            job_id,
            on_progress=progress,
            check_every=self.settings.worker_heartbeat_seconds,
            nice=self.settings.worker_nice,
        )
        if ended.startswith("killed"):
            reason = f"interrupted: {ended.removeprefix('killed: ')}; start it again"
            with self.engine.begin() as conn:
                failed = fail_jobs(conn, [job_id], reason)
            if failed:
                await self.broadcaster.publish_many([failed_message(j) for j in failed])
        elif province_id is not None:
            message = await asyncio.to_thread(self._province_message, province_id)
            await self.broadcaster.publish_many([message])
        log.info("matching job ended", job_id=job_id, status=ended)

    def _province_of(self, job_id: int) -> int | None:
        with self.engine.connect() as conn:
            return read_job(conn, job_id).province_job_id

    def _province_message(self, province_id: int) -> tuple[str, dict[str, Any]]:
        """Where the province job of a part stands now, for its subscribers."""
        with self.engine.connect() as conn:
            job = read_job(conn, province_id)
        stage = "solving parts" if job.status in LIVE_JOB_STATUSES else job.status.value
        message = {
            "jobId": province_id,
            "status": job.status.value,
            "progress": job.progress,
            "stage": stage,
        }
        return job_channel(province_id), message

    def sweep_once(self) -> list[int]:
        with self.engine.begin() as conn:
            return sweep(conn, stalled_seconds=self.settings.worker_stalled_seconds)

    async def _sweeper(self) -> None:
        while True:
            try:
                failed = await asyncio.to_thread(self.sweep_once)
                self.last_sweep = time.monotonic()
                if failed:
                    log.warning("failed matching jobs of stopped workers", jobs=failed)
                    await self.broadcaster.publish_many([failed_message(j) for j in failed])
            except Exception as exc:  # the next round retries
                log.warning("queue sweep failed", error=str(exc))
            await asyncio.sleep(self.settings.worker_heartbeat_seconds)

    def healthy(self) -> bool:
        """Its loop turns and its database answers: a sweep reached it within 3 heartbeats."""
        if self.last_sweep is None:
            return False
        return time.monotonic() - self.last_sweep < 3 * self.settings.worker_heartbeat_seconds + 5

    async def _answer_probe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """GET /healthz on `LULING_WORKER_HEALTH_PORT`: 200 when healthy, else 503."""
        with contextlib.suppress(Exception):
            request = await asyncio.wait_for(reader.readline(), timeout=5)
            if request.split(b" ")[1:2] != [b"/healthz"]:
                status, body = "404 Not Found", {"status": "not found"}
            elif self.healthy():
                status, body = "200 OK", {"status": "ok", "database": "up"}
            else:
                status, body = "503 Service Unavailable", {"status": "unavailable"}
            payload = json.dumps(body).encode()
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        writer.close()

    async def run(self) -> None:
        await asyncio.to_thread(warm_up)
        await self.broadcaster.start()
        sweeper = asyncio.create_task(self._sweeper(), name="luling-queue-sweep")
        probe = None
        if self.settings.worker_health_port is not None:
            probe = await asyncio.start_server(
                self._answer_probe,
                self.settings.worker_health_host,
                self.settings.worker_health_port,
            )
        try:
            async with self.app.open_async():
                await self.app.run_worker_async(
                    queues=[QUEUE_NAME],
                    name=f"luling-worker-{os.getpid()}",
                    concurrency=self.settings.worker_concurrency,
                    update_heartbeat_interval=self.settings.worker_heartbeat_seconds,
                    stalled_worker_timeout=self.settings.worker_stalled_seconds,
                    fetch_job_polling_interval=self.settings.worker_poll_seconds,
                    # SIGTERM/SIGINT: take no new job, finish the one in hand; twice: exit at once.
                    install_signal_handlers=True,
                )
        finally:
            if probe is not None:
                probe.close()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await self.broadcaster.stop()
            self.engine.dispose()


async def run_worker(settings: Settings) -> None:
    """Until SIGTERM or SIGINT."""
    await Worker(settings).run()
