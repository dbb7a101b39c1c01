"""A province on queue workers (the `topology` fixture: 2 API processes, 2 `luling worker`s on
PostgreSQL and Redis). The database holds the reference county and two small counties beside
it. A province job started through one API process is split into one queued part per county,
solved by the workers, and followed through the other process to ONE result: objective and bound
the sums of the parts', proposals covering each county. Cancelling it stops the part a worker is
solving; killing the worker solving a part fails the province with the reason."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from schema.enums import JobStatus
from schema.services.matching.jobs import read_job
from schema.services.matching.province import parts_of
from tests.multiproc.test_topology import (
    CANCEL,
    FINAL,
    follow,
    gql,
    pk,
    proposal_count,
    start,
    subscribe,
    wait_status,
)
from tests.multiproc.topology import HEARTBEAT_S, STALLED_S, Topology
from tests.province import SmallCounty, small_province

PROVINCE_JOB = """query($id: ID!) { matchingJob(id: $id) { id status error objective bound gap
  scopeCounties countyStats proposals(first: 100) { totalCount nodes { need { id } } } } }"""


@pytest.fixture(scope="module")
def small(topology: Topology) -> list[SmallCounty]:
    """Two small counties beside the reference county (numbers 1 and 2 of the layout)."""
    return small_province(topology.engine, 2, first=1)


def _parts(topology: Topology, job: int) -> list[Any]:
    with topology.engine.connect() as conn:
        return parts_of(conn, job)


def test_province_job_is_solved_by_the_workers_and_gathered_into_one_result(
    topology: Topology, token: str, small: list[SmallCounty]
) -> None:
    names = [c.name for c in small]
    job_id = start(topology, 0, token, counties=names)
    job = pk(job_id)
    parts = _parts(topology, job)
    assert [p.scope_counties for p in parts] == [[n] for n in names]
    with subscribe(topology, 1, token, job_id) as ws:
        states = follow(ws)
    assert states[-1]["status"] == "SUCCEEDED", states
    assert [s["progress"] for s in states] == sorted(s["progress"] for s in states)
    for p in parts:
        topology.worker_of(p.id)  # each part was taken by a worker
    parts = _parts(topology, job)
    result = gql(topology, 1, PROVINCE_JOB, token, id=job_id)["matchingJob"]
    assert result["scopeCounties"] == names
    assert result["objective"] == pytest.approx(sum(p.objective for p in parts))
    assert result["bound"] == pytest.approx(sum(p.bound for p in parts))
    assert [s["counties"] for s in result["countyStats"]] == [[n] for n in names]
    assert all(s["pairs"] > 0 and s["gap"] is not None for s in result["countyStats"])
    need_county = {n: c.name for c in small for n in c.need_ids}
    from api.graphql.relay import decode_id

    covered = {
        need_county[decode_id(node["need"]["id"], "Need")]
        for node in result["proposals"]["nodes"]
        if node["need"] is not None
    }
    assert covered == set(names)
    assert all(proposal_count(topology, p.id) == 0 for p in parts)  # moved to the province


def _start_long(topology: Topology, token: str) -> tuple[str, int, Any]:
    """A province job over every county: the reference county's part solves for a while."""
    job_id = start(topology, 0, token, timeLimitSeconds=60)
    job = pk(job_id)
    parts = _parts(topology, job)
    big = next(p for p in parts if p.scope_counties == ["吉安县"])
    wait_status(topology, big.id, {"RUNNING"}, timeout=60)
    time.sleep(1.0)  # well into its load and solve
    return job_id, job, big


def test_cancel_of_the_province_stops_its_parts_on_the_workers(
    topology: Topology, token: str, small: list[SmallCounty]
) -> None:
    job_id, job, big = _start_long(topology, token)
    worker = topology.workers[topology.worker_of(big.id)]
    cancelled = gql(topology, 1, CANCEL, token, id=job_id)["cancelMatchingJob"]
    assert cancelled["job"]["status"] == "CANCELLED"
    asked = time.monotonic()
    while f"job_id={big.id} status=cancelled" not in worker.text():  # killed, not run out
        assert time.monotonic() - asked < HEARTBEAT_S + 10, worker.text()[-2000:]
        time.sleep(0.05)
    assert wait_status(topology, big.id, FINAL) == "CANCELLED"
    for p in _parts(topology, job):
        assert p.status in (JobStatus.CANCELLED, JobStatus.SUCCEEDED), p
    assert proposal_count(topology, job) == 0


def test_a_killed_worker_fails_the_province_with_the_reason(
    topology: Topology, token: str, small: list[SmallCounty]
) -> None:
    job_id, job, big = _start_long(topology, token)
    victim = topology.worker_of(big.id)
    with subscribe(topology, 1, token, job_id) as ws:
        topology.workers[victim].kill()
        states = follow(ws, timeout=STALLED_S + 30)
    assert states[-1]["status"] == "FAILED", states
    with topology.engine.connect() as conn:
        province = read_job(conn, job)
    assert "吉安县" in (province.error or "") and "its worker stopped" in (province.error or "")
    assert proposal_count(topology, job) == 0  # never half a province
    statuses = {p.status for p in _parts(topology, job)}
    assert statuses <= {JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUCCEEDED}
    with topology.engine.connect() as conn:
        live = conn.execute(
            sa.text("SELECT count(*) FROM matching_job WHERE status IN ('queued', 'running')")
        ).scalar_one()
    assert live == 0
    topology.replace_worker(victim)
