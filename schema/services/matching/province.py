"""A province job: a matching job over several counties, solved as one child job per independent
part (`counties.plan_parts`) and gathered into one result on the province job.

The parts run wherever jobs run — queued for `luling worker`s (each part its own queue entry,
so parts solve in parallel on several workers or machines) or one after the other in-process
(`run_province_inline`). Each part's end calls `settle` in the transaction that ends it:

- a part failed or was cancelled: the province job fails with the part's reason and its other
  parts are cancelled (their workers stop solving); nothing of it can be committed;
- every part succeeded: `gather` moves the parts' proposals and unmatched items to the province
  job and records the sums (objective, bound, figures), one gap over the sums, and each part's
  own figures (`county_stats`), all in that one transaction;
- otherwise the province job's progress becomes the mean of its parts'.

`settle` locks the province job's row first (FOR UPDATE), so two parts ending at once on two
workers settle one after the other and exactly one of them gathers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from schema.enums import JobStatus
from schema.matching_jobs import MatchingJob, Proposal, UnmatchedItem
from schema.workflow import FINAL_JOB_STATUSES, LIVE_JOB_STATUSES, IllegalTransition

# (conn, job_id, action, **values): `jobs.move_job`, passed in (jobs imports this module).
Move = Callable[..., None]

# Each kind's own figures a job records (`runner.figures`); a province job's are its parts' sums.
JOB_FIGURES = (
    "seats_filled",
    "seats_total",
    "resources_allocated",
    "resources_requested",
    "helper_tasks_matched",
    "helper_tasks_total",
)


def parts_of(conn: sa.Connection, job_id: int) -> list[MatchingJob]:
    """A province job's parts, in county order (empty for any other job)."""
    rows = conn.execute(
        select(MatchingJob)
        .where(col(MatchingJob.province_job_id) == job_id)
        .order_by(col(MatchingJob.id))
    ).all()
    return [MatchingJob.model_validate(r._mapping) for r in rows]


def has_parts(conn: sa.Connection, job_id: int) -> bool:
    query = sa.select(sa.literal(1)).where(col(MatchingJob.province_job_id) == job_id).limit(1)
    return conn.execute(query).first() is not None


def part_stats(job: MatchingJob, *, pairs: int, seconds: float) -> dict[str, Any]:
    """A part's own figures, as the province job lists them."""
    return {
        "job_id": job.id,
        "counties": list(job.scope_counties or ()),
        "seconds": round(seconds, 3),
        "pairs": pairs,
    }


def create_parts(
    conn: sa.Connection,
    province_job_id: int,
    parts: Sequence[Sequence[str]],
    create: Callable[..., int],
    settings: Mapping[str, Any],
) -> list[int]:
    """One queued child job per part, each with the province job's settings."""
    ids = []
    for counties in parts:
        ids.append(
            create(
                conn,
                scope_community_id=None,
                scope_counties=list(counties),
                province_job_id=province_job_id,
                **settings,
            )
        )
    return ids


def start(conn: sa.Connection, province_job_id: int, move: Move) -> None:
    """The first part to run moves its province job to running."""
    with suppress(IllegalTransition):
        move(conn, province_job_id, "run", progress=0.05)


def _lock(conn: sa.Connection, job_id: int) -> MatchingJob | None:
    row = conn.execute(
        select(MatchingJob).where(col(MatchingJob.id) == job_id).with_for_update()
    ).first()
    return None if row is None else MatchingJob.model_validate(row._mapping)


def settle(
    conn: sa.Connection, province_job_id: int, move: Move, *, now: datetime | None = None
) -> JobStatus | None:
    """After a part moved: fail, gather or advance the province job (see the module). Returns
    the province job's status afterwards (None if it has none)."""
    province = _lock(conn, province_job_id)
    if province is None:
        return None
    if province.status not in LIVE_JOB_STATUSES:
        return province.status
    parts = parts_of(conn, province_job_id)
    broken = [p for p in parts if p.status in (JobStatus.FAILED, JobStatus.CANCELLED)]
    if broken:
        reasons = "; ".join(
            f"{', '.join(p.scope_counties or ())} (job {p.id}): "
            + (p.error if p.status is JobStatus.FAILED and p.error else p.status.value)
            for p in broken
        )
        move(conn, province_job_id, "fail", now=now, error=f"a county's part ended: {reasons}")
        for p in parts:
            if p.status in LIVE_JOB_STATUSES and p.id is not None:
                with suppress(IllegalTransition):
                    move(conn, p.id, "cancel", now=now)
        return JobStatus.FAILED
    if parts and all(p.status is JobStatus.SUCCEEDED for p in parts):
        gather(conn, province, parts, move, now=now)
        return JobStatus.SUCCEEDED
    if province.status is JobStatus.RUNNING and parts:
        done = sum(1.0 if p.status in FINAL_JOB_STATUSES else p.progress for p in parts)
        mean = round(min(0.95, done / len(parts)), 4)
        # Never backwards: the province starts at 0.05, and parts report in any order.
        move(conn, province_job_id, "progress", progress=max(province.progress, mean))
    return province.status


def gather(
    conn: sa.Connection,
    province: MatchingJob,
    parts: list[MatchingJob],
    move: Move,
    *,
    now: datetime | None = None,
) -> None:
    """One result from every part: proposals, sums, one gap, each part's figures."""
    assert province.id is not None
    part_ids = [p.id for p in parts]
    for table in (Proposal, UnmatchedItem):
        conn.execute(
            sa.update(table).where(col(table.job_id).in_(part_ids)).values(job_id=province.id)
        )
    objective = sum(p.objective or 0.0 for p in parts)
    bound = sum(p.bound or 0.0 for p in parts)
    stats = []
    for p in parts:
        own: dict[str, Any] = dict(p.county_stats[0]) if p.county_stats else {"job_id": p.id}
        own.update(
            counties=list(p.scope_counties or ()),
            objective=p.objective,
            bound=p.bound,
            gap=p.gap,
            optimal=p.optimal,
            seconds=p.seconds,
            started_at=p.started_at.isoformat() if p.started_at else None,
            finished_at=p.finished_at.isoformat() if p.finished_at else None,
        )
        stats.append(own)
    figures: dict[str, Any] = {}
    for name in JOB_FIGURES:
        values = [getattr(p, name) for p in parts if getattr(p, name) is not None]
        figures[name] = sum(values) if values else None
    if province.status is JobStatus.QUEUED:
        move(conn, province.id, "run", now=now)
    move(
        conn,
        province.id,
        "succeed",
        now=now,
        progress=1.0,
        objective=objective,
        bound=bound,
        gap=(objective - bound) / max(1.0, abs(objective)),
        optimal=all(bool(p.optimal) for p in parts),
        seconds=round(sum(p.seconds or 0.0 for p in parts), 4),
        emergency=any(p.emergency for p in parts),
        weights=parts[0].weights,
        county_stats=stats,
        **figures,
    )


def cancel_parts(
    conn: sa.Connection, province_job_id: int, move: Move, *, now: datetime | None = None
) -> list[int]:
    """Cancel every part still queued or running (their workers then stop solving)."""
    cancelled = []
    for p in parts_of(conn, province_job_id):
        if p.id is not None and p.status in LIVE_JOB_STATUSES:
            with suppress(IllegalTransition):
                move(conn, p.id, "cancel", now=now)
                cancelled.append(p.id)
    return cancelled


def live_provinces(conn: sa.Connection, job_ids: Iterable[int]) -> set[int]:
    """Of these jobs, the province jobs (those with parts)."""
    ids = list(job_ids)
    if not ids:
        return set()
    query = (
        sa.select(col(MatchingJob.province_job_id))
        .where(col(MatchingJob.province_job_id).in_(ids))
        .distinct()
    )
    return {i for i in conn.execute(query).scalars() if i is not None}
