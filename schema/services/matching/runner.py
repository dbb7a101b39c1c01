"""Running a matching job: load the scope's open work, solve, store proposals and figures.

Synchronous on purpose: the API runs it in a worker thread (off the event loop), the CLI runs
it directly. The job's row is the single source of truth for its state and every change of it
goes through `jobs.move_job`, so a cancel from another request, or a crash, is always visible.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import sqlalchemy as sa

from matching.result import Result
from matching.solver import solve
from schema.enums import JobStatus
from schema.services.matching.jobs import move_job, read_job
from schema.services.matching.loader import (
    Decisions,
    Snapshot,
    decisions_of,
    load_problem,
    save_result,
)
from schema.workflow import IllegalTransition

ProgressFn = Callable[[int, JobStatus, float, str], None]


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    status: JobStatus
    result: Result | None
    error: str | None = None


def _noop(job_id: int, status: JobStatus, progress: float, stage: str) -> None:
    pass


def run_job(engine: sa.Engine, job_id: int, *, on_progress: ProgressFn = _noop) -> JobOutcome:
    """Run a queued job to its end; never raises for a solver or data error (the job fails)."""
    with engine.begin() as conn:
        job = read_job(conn, job_id)
        try:
            move_job(conn, job_id, "run", progress=0.05)
        except IllegalTransition:
            return JobOutcome(job_id, job.status, None, "job was not queued")
    on_progress(job_id, JobStatus.RUNNING, 0.05, "loading")
    try:
        with engine.connect() as conn:
            decisions: Decisions = (
                decisions_of(conn, job.parent_job_id) if job.parent_job_id is not None else {}
            )
            snapshot: Snapshot = load_problem(
                conn,
                scope_community_id=job.scope_community_id,
                kinds=job.kinds,
                weights=job.weights,
                emergency=job.emergency or None,
                **decisions,
            )
        _progress(engine, job_id, 0.2)
        on_progress(job_id, JobStatus.RUNNING, 0.2, "solving")
        t = time.perf_counter()
        result = solve(snapshot.problem, time_limit_s=job.time_limit_s)
        seconds = time.perf_counter() - t
        _progress(engine, job_id, 0.9)
        on_progress(job_id, JobStatus.RUNNING, 0.9, "saving")
        with engine.begin() as conn:
            try:
                move_job(
                    conn,
                    job_id,
                    "succeed",
                    progress=1.0,
                    objective=float(result.objective),
                    bound=float(result.bound),
                    gap=result.gap,
                    optimal=result.optimal,
                    seconds=round(seconds, 4),
                    seats_filled=result.stats.seats_filled,
                    seats_total=result.stats.seats_total,
                )
            except IllegalTransition:
                finished = False  # a cancel that arrived while solving wins: nothing is saved
            else:
                save_result(conn, job_id, snapshot, result)
                finished = True
    except Exception as exc:  # any failure ends in a failed job with the reason
        # Cancelled meanwhile: it stays cancelled.
        with engine.begin() as conn, suppress(IllegalTransition):
            move_job(conn, job_id, "fail", error=f"{type(exc).__name__}: {exc}")
        on_progress(job_id, JobStatus.FAILED, 1.0, "failed")
        return JobOutcome(job_id, JobStatus.FAILED, None, str(exc))
    if not finished:
        on_progress(job_id, JobStatus.CANCELLED, 1.0, "cancelled")
        return JobOutcome(job_id, JobStatus.CANCELLED, None)
    on_progress(job_id, JobStatus.SUCCEEDED, 1.0, "done")
    return JobOutcome(job_id, JobStatus.SUCCEEDED, result)


def _progress(engine: sa.Engine, job_id: int, progress: float) -> None:
    # Cancelled meanwhile: the end of the run finds out and saves nothing.
    with engine.begin() as conn, suppress(IllegalTransition):
        move_job(conn, job_id, "progress", progress=progress)
