"""A matching job's life: start (queued), run, progress, succeed, fail, cancel, commit, and the
jobs a stopped process left behind.

`move_job` is the one writer of a job's status: a compare-and-set over `schema.workflow`'s
JOB_TRANSITIONS (`UPDATE … WHERE status IN (<the action's sources>)`), so the worker thread and a
coordinator's cancel can race safely, and a move the current status does not allow raises
IllegalTransition. It runs on a synchronous connection, as the worker does; requests reach it
through `move` (`AsyncSession.run_sync`), in their own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.base import utcnow
from schema.enums import JobStatus
from schema.matching_jobs import MatchingJob
from schema.models import Community
from schema.services.common import Actor, get_current, now_or
from schema.services.errors import Conflict, Forbidden, Invalid, NotFound
from schema.services.matching.counties import counties_in, plan_parts
from schema.services.matching.loader import KINDS, weights_from
from schema.services.matching.province import cancel_parts, create_parts, settle
from schema.workflow import (
    FINAL_JOB_STATUSES,
    JOB_TRANSITIONS,
    LIVE_JOB_STATUSES,
    IllegalTransition,
    JobAction,
    next_job_status,
)

MAX_TIME_LIMIT_S = 600.0
# A job still queued or running this long after its time limit was lost with its process.
STALE_AFTER = timedelta(seconds=300)


def require_coordinator(actor: Actor, community_id: int | None) -> None:
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators run and decide on matching jobs")
    actor.require_scope(community_id)


# ---------------------------------------------------------------- the one status writer


def move_job(
    conn: sa.Connection,
    job_id: int,
    action: JobAction,
    *,
    now: datetime | None = None,
    **values: Any,
) -> None:
    """Moves the job by `action` (other columns set from `values`): `started_at` when it runs,
    `finished_at` when it ends. IllegalTransition when its status does not allow the action."""
    if "status" in values:
        raise ValueError("a job's status changes only by an action")
    now = now_or(now)
    sources, target = JOB_TRANSITIONS[action]
    if action == "run":
        values["started_at"] = now
    if target in FINAL_JOB_STATUSES:
        values["finished_at"] = now
    stmt = (
        sa.update(MatchingJob)
        .where(col(MatchingJob.id) == job_id, col(MatchingJob.status).in_(sources))
        .values(status=target, **values)
    )
    if conn.execute(stmt).rowcount == 1:
        return
    current = job_status(conn, job_id)
    if current is None:
        raise NotFound("matching job", job_id, field="job_id")
    next_job_status(current, action)  # raises IllegalTransition: the status did not allow it
    raise Conflict("the job changed at the same time; reload and retry", field="job_id")


async def move(
    session: AsyncSession, job_id: int, action: JobAction, *, now: datetime, **values: Any
) -> MatchingJob:
    """`move_job` in the session's transaction; the job as it is now."""
    await session.run_sync(lambda s: move_job(s.connection(), job_id, action, now=now, **values))
    return await get_job(session, job_id)


def job_status(conn: sa.Connection, job_id: int) -> JobStatus | None:
    query = sa.select(col(MatchingJob.status)).where(col(MatchingJob.id) == job_id)
    status: JobStatus | None = conn.execute(query).scalar()
    return status


def read_job(conn: sa.Connection, job_id: int) -> MatchingJob:
    row = conn.execute(select(MatchingJob).where(col(MatchingJob.id) == job_id)).first()
    if row is None:
        raise NotFound("matching job", job_id, field="job_id")
    return MatchingJob.model_validate(row._mapping)


async def get_job(session: AsyncSession, job_id: int, *, field: str = "job_id") -> MatchingJob:
    return await get_current(session, MatchingJob, job_id, kind="matching job", field=field)


# ---------------------------------------------------------------- start and cancel


def create_job(
    conn: sa.Connection,
    *,
    scope_community_id: int | None,
    kinds: Iterable[str],
    weights: Mapping[str, float] | None,
    time_limit_s: float,
    emergency: bool = False,
    parent_job_id: int | None = None,
    account_id: int | None = None,
    now: datetime | None = None,
    scope_counties: Sequence[str] | None = None,
    province_job_id: int | None = None,
) -> int:
    """A queued job; its settings are checked here, so a job that cannot run is never stored."""
    kinds = list(dict.fromkeys(kinds))
    if not kinds or set(kinds) - set(KINDS):
        raise Invalid("kinds", f"kinds must be a non-empty subset of {', '.join(KINDS)}")
    weights_from(weights, emergency=emergency)
    if not 0 < time_limit_s <= MAX_TIME_LIMIT_S:
        raise Invalid(
            "time_limit_seconds", f"time limit must be between 0 and {MAX_TIME_LIMIT_S:g} seconds"
        )
    job_id = conn.execute(
        sa.insert(MatchingJob)
        .values(
            status=JobStatus.QUEUED,
            scope_community_id=scope_community_id,
            kinds=kinds,
            weights=dict(weights or {}),
            emergency=emergency,
            time_limit_s=time_limit_s,
            parent_job_id=parent_job_id,
            scope_counties=list(scope_counties) if scope_counties is not None else None,
            province_job_id=province_job_id,
            created_by_account_id=account_id,
            created_at=now_or(now),
            progress=0.0,
        )
        .returning(col(MatchingJob.id))
    ).scalar_one()
    return cast(int, job_id)  # RETURNING the new primary key: never NULL


def create_scoped_job(
    conn: sa.Connection,
    *,
    scope_community_id: int | None,
    counties: Sequence[str] | None = None,
    parent_job_id: int | None = None,
    enqueue: Callable[[sa.Connection, int], None] | None = None,
    **settings: Any,
) -> int:
    """A queued job over a community, the county, or a province: with no community, a job over
    `counties` (or over every county, when the database holds several) is a province job whose
    parts are queued in its stead (`enqueue`, on the same connection). Returns the job's id."""
    province: list[str] | None = None
    if scope_community_id is None:
        present = counties_in(conn)
        if counties is not None:
            unknown = [c for c in counties if c not in present]
            if unknown or not counties:
                raise Invalid("counties", f"no such county: {', '.join(unknown) or '(none named)'}")
            province = list(dict.fromkeys(counties))
        elif len(present) > 1:
            province = present
    elif counties is not None:
        raise Invalid("counties", "name either a community or counties, not both")
    if province is not None and parent_job_id is not None:
        raise Invalid("parent_job_id", "a province job is not re-run; re-run a community's job")
    job_id = create_job(
        conn,
        scope_community_id=scope_community_id,
        parent_job_id=parent_job_id,
        scope_counties=province,
        **settings,
    )
    if province is None:
        if enqueue is not None:
            enqueue(conn, job_id)
        return job_id
    for part_id in create_parts(conn, job_id, plan_parts(conn, province), create_job, settings):
        if enqueue is not None:
            enqueue(conn, part_id)
    return job_id


async def start_job(
    *,
    session: AsyncSession,
    actor: Actor,
    scope_community_id: int | None = None,
    kinds: Iterable[str] = KINDS,
    weights: Mapping[str, float] | None = None,
    time_limit_s: float = 10.0,
    emergency: bool = False,
    parent_job_id: int | None = None,
    now: datetime | None = None,
    enqueue: Callable[[sa.Connection, int], None] | None = None,
    counties: Sequence[str] | None = None,
) -> MatchingJob:
    """A queued job over the open work of a scope (the caller then has it run). `enqueue`, if
    given, queues it for a worker on the same connection, so job and queue entry commit together.

    A community's coordinator who names no scope matches their own community; a re-run
    (`parent_job_id`) starts from a succeeded job's decisions. A job over several counties
    (`counties`, or no scope in a database holding more than one) is a province job: one part
    per county is queued instead (`schema.services.matching.province`).
    """
    scope = scope_community_id
    if scope is None and not actor.in_scope(None):
        scope = actor.community_id
    if scope is not None and await session.get(Community, scope) is None:
        raise NotFound("community", scope, field="scope_community_id")
    require_coordinator(actor, scope)
    if parent_job_id is not None:
        parent = await get_job(session, parent_job_id, field="parent_job_id")
        actor.require_scope(parent.scope_community_id)
        if parent.status is not JobStatus.SUCCEEDED:
            raise Invalid("parent_job_id", "re-run only a finished, uncommitted job")
        if parent.scope_counties is not None:
            raise Invalid("parent_job_id", "a province job is not re-run; re-run a community's job")

    def create(conn: sa.Connection) -> int:
        return create_scoped_job(
            conn,
            scope_community_id=scope,
            counties=counties,
            kinds=kinds,
            weights=weights,
            time_limit_s=time_limit_s,
            emergency=emergency,
            parent_job_id=parent_job_id,
            account_id=actor.account_id,
            now=now,
            enqueue=enqueue,
        )

    job_id = await session.run_sync(lambda s: create(s.connection()))
    return await get_job(session, job_id)


async def cancel_job(
    *, session: AsyncSession, job_id: int, actor: Actor, now: datetime | None = None
) -> MatchingJob:
    """Cancel a queued or running job; a solve in flight finds it cancelled and saves nothing.
    A province job is cancelled with all its parts (cancelling a part cancels its province)."""
    job = await get_job(session, job_id)
    require_coordinator(actor, job.scope_community_id)
    if job.province_job_id is not None:
        job_id = job.province_job_id
    now = now_or(now)
    job = await move(session, job_id, "cancel", now=now)
    await session.run_sync(lambda s: cancel_parts(s.connection(), job_id, move_job, now=now))
    return job


# ---------------------------------------------------------------- jobs nobody will finish


def is_stale(job: MatchingJob, now: datetime) -> bool:
    """Queued or running well past its time limit: its process is gone."""
    limit = timedelta(seconds=job.time_limit_s) + STALE_AFTER
    return job.status in LIVE_JOB_STATUSES and now - job.created_at > limit


def fail_jobs(
    conn: sa.Connection, job_ids: Iterable[int], reason: str, *, now: datetime | None = None
) -> list[int]:
    """Fails each of these jobs still queued or running; the ones it failed."""
    failed = []
    for job_id in job_ids:
        try:
            move_job(conn, job_id, "fail", now=now, error=reason)
        except IllegalTransition:
            continue  # it ended meanwhile
        failed.append(job_id)
        # A failed part fails its province; a failed province stops its parts.
        province_id = conn.execute(
            sa.select(col(MatchingJob.province_job_id)).where(col(MatchingJob.id) == job_id)
        ).scalar()
        if province_id is not None and settle(conn, province_id, move_job, now=now) is (
            JobStatus.FAILED
        ):
            failed.append(province_id)
        cancel_parts(conn, job_id, move_job, now=now)
    return failed


def fail_stale_jobs(
    conn: sa.Connection, *, running_here: Collection[int] = (), now: datetime | None = None
) -> list[int]:
    """Fails the stale jobs (`is_stale`) but those this process is still running."""
    now = now or utcnow()
    live = conn.execute(
        select(MatchingJob).where(col(MatchingJob.status).in_(LIVE_JOB_STATUSES))
    ).all()
    stale = [
        job.id
        for job in (MatchingJob.model_validate(row._mapping) for row in live)
        if job.id is not None
        and job.id not in running_here
        and job.province_job_id not in running_here  # its province solves its parts here
        and is_stale(job, now)
    ]
    reason = "interrupted: its server process stopped before it finished"
    return fail_jobs(conn, stale, reason, now=now)
