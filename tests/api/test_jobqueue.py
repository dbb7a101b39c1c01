"""The matching job queue's own rules on PostgreSQL (api/jobqueue.py): a job and its queue entry
commit or roll back together; the sweep fails the jobs of a silent or vanished worker, and those
whose entry ended, with a reason, and leaves a live worker's job alone. Worker processes, killed
and all, are in tests/multiproc."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from api.jobqueue import TASK_NAME, enqueue, sweep
from api.matching_runner import MatchingRunner
from schema.enums import JobStatus
from schema.services.matching.jobs import create_job, create_scoped_job, job_status
from schema.services.matching.province import parts_of
from tests.conftest import gql, make_settings
from tests.county import County
from tests.province import small_province

pytestmark = pytest.mark.usefixtures("_queue_tables")


@pytest.fixture
def _queue_tables(engine: sa.Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        pytest.skip("the job queue is PostgreSQL's (procrastinate); SQLite runs jobs in-process")
    yield
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE procrastinate_jobs, procrastinate_workers CASCADE"))


def new_job(conn: sa.Connection) -> int:
    return create_job(
        conn, scope_community_id=None, kinds=["volunteer"], weights={}, time_limit_s=5
    )


def entries(conn: sa.Connection) -> list[Any]:
    query = "SELECT (args->>'job_id')::int, status, queue_name FROM procrastinate_jobs ORDER BY id"
    return [tuple(row) for row in conn.execute(sa.text(query))]


def take(conn: sa.Connection, job_id: int, heartbeat_age_s: float | None) -> None:
    """As a worker does: the entry is 'doing' for a worker whose last beat is this old (None:
    a worker that was pruned), and the job RUNNING."""
    worker_id = None
    if heartbeat_age_s is not None:
        worker_id = conn.execute(
            sa.text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - make_interval(secs => :age)) RETURNING id"
            ),
            {"age": heartbeat_age_s},
        ).scalar_one()
    conn.execute(
        sa.text(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w "
            "WHERE (args->>'job_id')::int = :j"
        ),
        {"w": worker_id, "j": job_id},
    )
    conn.execute(sa.text("UPDATE matching_job SET status = 'running' WHERE id = :j"), {"j": job_id})


def test_job_and_queue_entry_commit_or_roll_back_together(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        with conn.begin() as tx:
            job_id = new_job(conn)
            enqueue(conn, job_id)
            tx.rollback()
        assert job_status(conn, job_id) is None and entries(conn) == []
    with engine.begin() as conn:
        job_id = new_job(conn)
        enqueue(conn, job_id)
    with engine.connect() as conn:
        assert job_status(conn, job_id) is JobStatus.QUEUED
        assert entries(conn) == [(job_id, "todo", "matching")]


def test_sweep_fails_jobs_of_silent_or_gone_workers_with_a_reason(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        silent, gone, alive, waiting = (new_job(conn) for _ in range(4))
        for job_id in (silent, gone, alive, waiting):
            enqueue(conn, job_id)
        take(conn, silent, heartbeat_age_s=30)
        take(conn, gone, heartbeat_age_s=None)
        take(conn, alive, heartbeat_age_s=1)
    with engine.begin() as conn:
        assert sorted(sweep(conn, stalled_seconds=10)) == sorted([silent, gone])
    with engine.begin() as conn:
        assert sweep(conn, stalled_seconds=10) == []  # idempotent
        rows = conn.execute(sa.text("SELECT id, status, error FROM matching_job ORDER BY id")).all()
        states = {row.id: (row.status, row.error) for row in rows}
        assert states[alive] == ("running", None) and states[waiting] == ("queued", None)
        for job_id in (silent, gone):
            status, error = states[job_id]
            assert status == "failed" and "its worker stopped while it ran" in error
        assert "no heartbeat since" in states[silent][1]
        assert "its worker is gone" in states[gone][1]
        assert [e[1] for e in entries(conn)] == ["failed", "failed", "doing", "todo"]


def test_sweep_fails_jobs_whose_queue_entry_ended(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        lost, never_queued = new_job(conn), new_job(conn)
        enqueue(conn, lost)
        conn.execute(sa.text("UPDATE procrastinate_jobs SET status = 'failed'"))
    with engine.begin() as conn:
        assert sorted(sweep(conn, stalled_seconds=10)) == [lost, never_queued]
        assert job_status(conn, lost) is JobStatus.FAILED


def test_queue_mode_api_queues_the_job_with_its_row(county: County, database_url: str) -> None:
    settings = make_settings(database_url, job_runner="queue")
    with TestClient(create_app(settings)) as client:
        assert not isinstance(client.app.state.matching, MatchingRunner)  # type: ignore[attr-defined]
        body = gql(
            client,
            """mutation { startMatchingJob(input: {timeLimitSeconds: 2}) {
                 job { id status } userErrors { message } } }""",
            token=county.token("county_coordinator"),
        )
    payload = body["data"]["startMatchingJob"]
    assert payload["userErrors"] == [] and payload["job"]["status"] == "QUEUED"
    with county.engine.connect() as conn:
        ((job_id, status, queue),) = entries(conn)
        assert (status, queue) == ("todo", "matching")
        task = conn.execute(sa.text("SELECT task_name FROM procrastinate_jobs")).scalar()
        assert task == TASK_NAME
        assert job_status(conn, job_id) is JobStatus.QUEUED


def test_queue_mode_needs_postgresql(tmp_path: Any) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/x.db", job_runner="queue")
    with pytest.raises(ValueError, match="needs PostgreSQL"):
        create_app(settings)


def test_province_job_queues_its_parts_and_the_sweep_settles_it(engine: sa.Engine) -> None:
    """A province job has no queue entry of its own (its parts do): the sweep leaves it alone
    while its parts are queued, and fails it with the reason when a part's worker is gone."""
    counties = small_province(engine, 2)
    with engine.begin() as conn:
        province_id = create_scoped_job(
            conn,
            scope_community_id=None,
            kinds=["volunteer"],
            weights=None,
            time_limit_s=5,
            enqueue=enqueue,
        )
        parts = [p.id for p in parts_of(conn, province_id)]
        assert [e[0] for e in entries(conn)] == parts and province_id not in parts
        assert len(parts) == len(counties)
    with engine.begin() as conn:
        assert sweep(conn, stalled_seconds=10) == []
        assert job_status(conn, province_id) is JobStatus.QUEUED
        assert parts[0] is not None
        take(conn, parts[0], heartbeat_age_s=None)
    with engine.begin() as conn:
        assert sweep(conn, stalled_seconds=10) == [parts[0], province_id]
        assert job_status(conn, province_id) is JobStatus.FAILED
        assert job_status(conn, parts[1] or 0) is JobStatus.CANCELLED
        error = conn.execute(
            sa.text("SELECT error FROM matching_job WHERE id = :j"), {"j": province_id}
        ).scalar_one()
        assert counties[0].name in error and "its worker is gone" in error
