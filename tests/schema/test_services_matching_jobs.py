"""The matching-job service (`schema.services.matching.jobs`): every status write goes through
JOB_TRANSITIONS, an illegal one raises and changes nothing, lost jobs are failed, and
`luling match` runs a job to its end through the same service."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col
from typer.testing import CliRunner

from api.cli import app
from schema.base import utcnow
from schema.enums import JobStatus, NeedStatus, Role
from schema.models import MatchingJob
from schema.services.errors import Forbidden, Invalid
from schema.services.matching import jobs
from schema.workflow import JOB_TRANSITIONS, IllegalTransition, JobAction, next_job_status
from tests import factories as f
from tests.loop import actor, run

ROOT = Path(__file__).resolve().parents[2]


def _new_job(engine: sa.Engine, **values: object) -> int:
    with engine.begin() as conn:
        job_id = jobs.create_job(
            conn, scope_community_id=None, kinds=["volunteer"], weights=None, time_limit_s=5
        )
        if values:  # a job as a test wants it, written around the service on purpose
            conn.execute(
                sa.update(MatchingJob).where(col(MatchingJob.id) == job_id).values(**values)
            )
    return job_id


def _job(engine: sa.Engine, job_id: int) -> MatchingJob:
    with Session(engine) as s:
        job = s.get(MatchingJob, job_id)
        assert job is not None
        return job


def test_every_move_follows_the_table(engine: sa.Engine) -> None:
    actions: list[JobAction] = list(JOB_TRANSITIONS)
    for status, action in itertools.product(JobStatus, actions):
        job_id = _new_job(engine, status=status)
        sources, target = JOB_TRANSITIONS[action]
        with engine.begin() as conn:
            if status in sources:
                jobs.move_job(conn, job_id, action)
            else:
                with pytest.raises(IllegalTransition):
                    jobs.move_job(conn, job_id, action)
        job = _job(engine, job_id)
        assert job.status is (target if status in sources else status), (status, action)
        if status in sources:
            assert next_job_status(status, action) is target
            assert (job.started_at is not None) == (action == "run")
            assert (job.finished_at is not None) == (
                action in ("succeed", "fail", "cancel", "commit")
            )


def test_refuse_a_status_written_as_a_value(engine: sa.Engine) -> None:
    job_id = _new_job(engine)
    with engine.begin() as conn, pytest.raises(ValueError):
        jobs.move_job(conn, job_id, "progress", status=JobStatus.SUCCEEDED)


def test_no_module_writes_a_job_status_but_the_service() -> None:
    writes = re.compile(r"status\s*=\s*JobStatus\.|\.status\s*=\s*JobStatus\.")
    allowed = {ROOT / "schema/services/matching/jobs.py"}  # its insert of a queued job
    found = [
        str(path.relative_to(ROOT))
        for package in ("api", "schema", "matching", "seed", "bench")
        for path in (ROOT / package).rglob("*.py")
        if path not in allowed and writes.search(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_start_scopes_a_community_coordinator_to_their_own(
    engine: sa.Engine, database_url: str
) -> None:
    home = f.community(engine)
    scoped = actor(f.account(engine, Role.COORDINATOR, community_id=home.id))
    job = run(database_url, jobs.start_job, actor=scoped, kinds=["volunteer"], time_limit_s=1)
    assert (job.status, job.scope_community_id) == (JobStatus.QUEUED, home.id)
    volunteer = actor(f.account(engine, Role.VOLUNTEER))
    with pytest.raises(Forbidden):
        run(database_url, jobs.start_job, actor=volunteer)
    with pytest.raises(Invalid) as refused:
        run(database_url, jobs.start_job, actor=scoped, time_limit_s=601)
    assert refused.value.field == "time_limit_seconds"
    with pytest.raises(Invalid) as refused:
        run(database_url, jobs.start_job, actor=scoped, parent_job_id=job.id)
    assert refused.value.field == "parent_job_id"  # queued, not yet a result to re-run


def test_cancel_only_a_live_job(engine: sa.Engine, database_url: str) -> None:
    coordinator = actor(f.account(engine, Role.COORDINATOR))
    job_id = _new_job(engine, status=JobStatus.RUNNING)
    cancelled = run(database_url, jobs.cancel_job, job_id=job_id, actor=coordinator)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.finished_at is not None
    with pytest.raises(IllegalTransition):
        run(database_url, jobs.cancel_job, job_id=job_id, actor=coordinator)


def test_fail_stale_jobs_but_those_still_running_here(engine: sa.Engine) -> None:
    long_ago = utcnow() - timedelta(hours=1)
    stale, here = (_new_job(engine, status=JobStatus.RUNNING, created_at=long_ago) for _ in "ab")
    queued_long_ago = _new_job(engine, created_at=long_ago)
    fresh = _new_job(engine)
    done = _new_job(engine, status=JobStatus.SUCCEEDED, created_at=long_ago)
    with engine.begin() as conn:
        failed = jobs.fail_stale_jobs(conn, running_here={here})
    assert sorted(failed) == sorted([stale, queued_long_ago])
    statuses = {j: _job(engine, j).status for j in (stale, here, queued_long_ago, fresh, done)}
    assert statuses == {
        stale: JobStatus.FAILED,
        here: JobStatus.RUNNING,
        queued_long_ago: JobStatus.FAILED,
        fresh: JobStatus.QUEUED,
        done: JobStatus.SUCCEEDED,
    }
    assert "interrupted" in (_job(engine, stale).error or "")


def test_luling_match_runs_a_job_through_the_service(engine: sa.Engine, database_url: str) -> None:
    home = f.community(engine, name="泉塘社区")
    f.person(engine, registered_community_id=home.id, weekly_capacity_minutes=600)
    f.need(engine, home.id, status=NeedStatus.ACCEPTED)
    args = ["match", "--scope", "泉塘社区", "--time-limit", "5", "--json"]
    result = CliRunner().invoke(app, [*args, "--database-url", database_url])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    job = _job(engine, summary["job_id"])
    assert job.status is JobStatus.SUCCEEDED and summary["status"] == "succeeded"
    assert job.started_at is not None and job.finished_at is not None and job.progress == 1.0
    refused = CliRunner().invoke(
        app, ["match", "--kinds", "nothing", "--database-url", database_url]
    )
    assert refused.exit_code == 2 and "kinds" in refused.output
