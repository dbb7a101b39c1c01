"""Running a matching job: load the scope's open work, solve, store proposals and figures.

Synchronous on purpose: the API runs it in a worker thread (off the event loop), the CLI runs
it directly. The job's row is the single source of truth for its state and every change of it
goes through `jobs.move_job`, so a cancel from another request, or a crash, is always visible.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from matching.result import Result
from matching.solver import solve
from schema.enums import JobStatus
from schema.services.matching import province
from schema.services.matching.jobs import fail_jobs, move_job, read_job
from schema.services.matching.loader import (
    KEEP,
    Decisions,
    Snapshot,
    decisions_of,
    load_problem,
    save_result,
)
from schema.workflow import LIVE_JOB_STATUSES, IllegalTransition

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
    """Run a queued job to its end; never raises for a solver or data error (the job fails).
    A province job runs its parts here, one after the other (`run_province_inline`)."""
    with engine.begin() as conn:
        job = read_job(conn, job_id)
        if province.has_parts(conn, job_id):
            inline = True
        else:
            inline = False
            try:
                move_job(conn, job_id, "run", progress=0.05)
            except IllegalTransition:
                return JobOutcome(job_id, job.status, None, "job was not queued")
            if job.province_job_id is not None:
                province.start(conn, job.province_job_id, move_job)
    if inline:
        return run_province_inline(engine, job_id, on_progress=on_progress)
    on_progress(job_id, JobStatus.RUNNING, 0.05, "loading")
    try:
        with engine.connect() as conn:
            decisions: Decisions = (
                decisions_of(conn, job.parent_job_id) if job.parent_job_id is not None else {}
            )
            snapshot: Snapshot = load_problem(
                conn,
                scope_community_id=job.scope_community_id,
                scope_counties=job.scope_counties,
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
                    emergency=snapshot.emergency,
                    weights=dataclasses.asdict(snapshot.problem.weights),
                    county_stats=[]
                    if job.province_job_id is None
                    else [
                        province.part_stats(
                            job, pairs=result.stats.candidate_pairs, seconds=seconds
                        )
                    ],
                    **figures(job.kinds, snapshot, result),
                )
            except IllegalTransition:
                finished = False  # a cancel that arrived while solving wins: nothing is saved
            else:
                save_result(conn, job_id, snapshot, result)
                finished = True
                if job.province_job_id is not None:  # the last part gathers its province
                    province.settle(conn, job.province_job_id, move_job)
    except Exception as exc:  # any failure ends in a failed job with the reason
        # Cancelled meanwhile: it stays cancelled. A part failing fails its province.
        with engine.begin() as conn:
            fail_jobs(conn, [job_id], f"{type(exc).__name__}: {exc}")
        on_progress(job_id, JobStatus.FAILED, 1.0, "failed")
        return JobOutcome(job_id, JobStatus.FAILED, None, str(exc))
    if not finished:
        on_progress(job_id, JobStatus.CANCELLED, 1.0, "cancelled")
        return JobOutcome(job_id, JobStatus.CANCELLED, None)
    on_progress(job_id, JobStatus.SUCCEEDED, 1.0, "done")
    return JobOutcome(job_id, JobStatus.SUCCEEDED, result)


def figures(kinds: list[str], snapshot: Snapshot, result: Result) -> dict[str, Any]:
    """Each kind's own figures (None for a kind the job did not match): seats filled of seats,
    resource units allocated of units requested (kept ones included), helper tasks matched."""
    kept = sum(
        c.quantity for c in snapshot.carried if c.resource_id is not None and c.status in KEEP
    )
    out: dict[str, Any] = dict.fromkeys(province.JOB_FIGURES)
    problem = snapshot.problem
    if "volunteer" in kinds:
        out["seats_filled"] = result.stats.seats_filled
        out["seats_total"] = result.stats.seats_total
    if "resource" in kinds:
        out["resources_allocated"] = kept + sum(r.quantity for r in result.resource_allocations)
        out["resources_requested"] = kept + sum(
            q for n in problem.needs for _, q in n.required_resources
        )
    if "helper" in kinds:
        out["helper_tasks_matched"] = len(result.helper_assignments)
        out["helper_tasks_total"] = len(problem.enterprise_tasks)
    return out


def _progress(engine: sa.Engine, job_id: int, progress: float) -> None:
    # Cancelled meanwhile: the end of the run finds out and saves nothing.
    with engine.begin() as conn, suppress(IllegalTransition):
        move_job(conn, job_id, "progress", progress=progress)
        province_id = read_job(conn, job_id).province_job_id
        if province_id is not None:
            province.settle(conn, province_id, move_job)


def run_province_inline(
    engine: sa.Engine, job_id: int, *, on_progress: ProgressFn = _noop
) -> JobOutcome:
    """A province job's parts, one after the other in this process (SQLite, the CLI, the API
    without a queue); progress is reported as the province's. Stops at the first part that
    does not succeed (the province has then failed or was cancelled)."""
    with engine.connect() as conn:
        parts = [p.id for p in province.parts_of(conn, job_id) if p.id is not None]

    def relay(part_id: int, status: JobStatus, value: float, stage: str) -> None:
        with engine.connect() as conn:
            job = read_job(conn, job_id)
        if job.status in LIVE_JOB_STATUSES:
            on_progress(job_id, job.status, job.progress, f"{stage} (part job {part_id})")

    for part_id in parts:
        outcome = run_job(engine, part_id, on_progress=relay)
        if outcome.status is not JobStatus.SUCCEEDED:
            break
    with engine.begin() as conn:
        job = read_job(conn, job_id)
        if job.status in LIVE_JOB_STATUSES:  # a part was cancelled before it ran
            province.settle(conn, job_id, move_job)
            job = read_job(conn, job_id)
    stage = {JobStatus.SUCCEEDED: "done", JobStatus.FAILED: "failed"}.get(job.status, "cancelled")
    on_progress(job_id, job.status, 1.0, stage)
    return JobOutcome(job_id, job.status, None, job.error)
