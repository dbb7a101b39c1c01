"""Beyond one process: 2 API processes and 2 workers on PostgreSQL and Redis (the `topology`
fixture). A job started through one API process is solved on a worker, followed and committed
through the other; rate limits count across processes; a worker killed mid-solve leaves its job
FAILED with the reason within the stalled timeout; a cancel through either process stops the
solve on its worker; an API process restarted under an open socket is reconnected to and the
subscription resumes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.multiproc.topology import HEARTBEAT_S, LOGIN_LIMIT, STALLED_S, Topology

START = """mutation($input: StartMatchingJobInput!) { startMatchingJob(input: $input) {
  job { id status } userErrors { message } } }"""
JOB = """query($id: ID!) { matchingJob(id: $id) { id status error
  proposals(first: 5) { totalCount nodes { id } } } }"""
PROGRESS = """subscription($id: ID!) { matchingJobProgress(jobId: $id) {
  id status progress error } }"""
ACCEPT = """mutation($id: ID!) { acceptProposal(proposalId: $id) { proposal { id status }
  userErrors { message } } }"""
COMMIT = """mutation($id: ID!) { commitMatchingJob(jobId: $id) { job { id status }
  committed { id } userErrors { message } } }"""
CANCEL = """mutation($id: ID!) { cancelMatchingJob(jobId: $id) { job { id status }
  userErrors { message } } }"""
FINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "COMMITTED"}


@pytest.fixture(scope="module")
def community(topology: Topology) -> int:
    """The community with the most open needs: a job over it solves in a few seconds."""
    query = (
        "SELECT community_id FROM need WHERE status = 'accepted' "
        "GROUP BY community_id ORDER BY count(*) DESC LIMIT 1"
    )
    with topology.engine.connect() as conn:
        return int(conn.execute(sa.text(query)).scalar_one())


def gql(topology: Topology, i: int, query: str, token: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{topology.url(i)}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def start(topology: Topology, i: int, token: str, **input: Any) -> str:
    payload = gql(topology, i, START, token, input={"timeLimitSeconds": 2, **input})
    started = payload["startMatchingJob"]
    assert started["userErrors"] == [] and started["job"]["status"] == "QUEUED", started
    return str(started["job"]["id"])


def pk(global_id: str) -> int:
    from api.graphql.relay import decode_id

    return decode_id(global_id, "MatchingJob")


@contextmanager
def subscribe(topology: Topology, i: int, token: str, job_id: str) -> Iterator[ClientConnection]:
    """A graphql-transport-ws socket to API process `i`, subscribed to the job's progress."""
    with connect(topology.ws_url(i), subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        ws.send(json.dumps(init))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        query = {"query": PROGRESS, "variables": {"id": job_id}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
        yield ws


def follow(ws: ClientConnection, timeout: float = 60) -> list[dict[str, Any]]:
    """The job's states pushed on the socket until it ends (or the socket closes)."""
    states: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if message["type"] == "complete":
            break
        assert message["type"] == "next", message
        states.append(message["payload"]["data"]["matchingJobProgress"])
        if states[-1]["status"] in FINAL:
            break
    return states


def wait_status(topology: Topology, job: int, wanted: set[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with topology.engine.connect() as conn:
            status = conn.execute(
                sa.text("SELECT status FROM matching_job WHERE id = :j"), {"j": job}
            ).scalar_one()
        if status.upper() in wanted:
            return str(status).upper()
        time.sleep(0.05)
    pytest.fail(f"job {job} never became {wanted}")


def proposal_count(topology: Topology, job: int) -> int:
    with topology.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM proposal WHERE job_id = :j"), {"j": job}
            ).scalar_one()
        )


def test_job_started_on_one_api_is_followed_and_committed_on_the_other(
    topology: Topology, token: str, community: int
) -> None:
    job_id = start(topology, 0, token, scopeCommunityId=_community_gid(community))
    with subscribe(topology, 1, token, job_id) as ws:
        states = follow(ws)
    assert states[-1]["status"] == "SUCCEEDED", states
    # Pushed as the worker went, through Redis: more than the state read when subscribing.
    assert len(states) >= 2 and states[0]["status"] in ("QUEUED", "RUNNING")
    assert [s["progress"] for s in states] == sorted(s["progress"] for s in states)
    topology.worker_of(pk(job_id))  # a worker solved it, not an API process
    job = gql(topology, 1, JOB, token, id=job_id)["matchingJob"]
    first = job["proposals"]["nodes"][0]["id"]
    accepted = gql(topology, 1, ACCEPT, token, id=first)["acceptProposal"]
    assert accepted["proposal"]["status"] == "ACCEPTED"
    committed = gql(topology, 1, COMMIT, token, id=job_id)["commitMatchingJob"]
    assert committed["userErrors"] == [] and committed["job"]["status"] == "COMMITTED"
    assert [p["id"] for p in committed["committed"]] == [first]


def test_cancel_through_either_api_stops_the_solve_on_the_worker(
    topology: Topology, token: str
) -> None:
    job_id = start(topology, 0, token, timeLimitSeconds=30)  # county-wide: a long solve
    job = pk(job_id)
    worker = topology.workers[topology.worker_of(job)]
    wait_status(topology, job, {"RUNNING"})
    time.sleep(1.0)  # well into the load and solve
    cancelled = gql(topology, 1, CANCEL, token, id=job_id)["cancelMatchingJob"]
    assert cancelled["job"]["status"] == "CANCELLED"
    asked = time.monotonic()
    pattern = re.compile(rf"matching job ended\s+job_id={job} status=cancelled")
    while not pattern.search(worker.text()):  # its solve is killed, not run to its end
        assert time.monotonic() - asked < HEARTBEAT_S + 5, worker.text()[-2000:]
        time.sleep(0.05)
    assert wait_status(topology, job, FINAL) == "CANCELLED"
    assert proposal_count(topology, job) == 0  # the worker saved nothing


def test_client_reconnects_to_a_restarted_api_and_resumes(
    topology: Topology, token: str, community: int
) -> None:
    job_id = start(topology, 0, token, scopeCommunityId=_community_gid(community))
    with subscribe(topology, 1, token, job_id) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "next"
        topology.restart_api(1)
        with pytest.raises(ConnectionClosed):  # the restart closed the socket
            while True:
                ws.recv(timeout=10)
    with subscribe(topology, 1, token, job_id) as again:  # the client reconnects and resumes
        states = follow(again)
    assert states[-1]["status"] == "SUCCEEDED", states


def test_every_process_answers_its_probes(topology: Topology) -> None:
    for i in range(2):
        ready = httpx.get(f"{topology.url(i)}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    for port in topology.worker_ports:
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text


def test_rate_limits_are_counted_across_api_processes(topology: Topology) -> None:
    login = 'mutation { login(username: "demo-admin", password: "wrong") { token } }'
    codes = []
    for attempt in range(LOGIN_LIMIT + 1):  # alternately through each process
        response = httpx.post(f"{topology.url(attempt % 2)}/graphql", json={"query": login})
        errors = response.json().get("errors") or [{}]
        codes.append(errors[0].get("extensions", {}).get("code"))
    assert codes == [None] * LOGIN_LIMIT + ["RATE_LIMITED"], codes


def test_killed_worker_leaves_its_job_failed_with_a_reason_in_bounded_time(
    topology: Topology, token: str
) -> None:
    job_id = start(topology, 0, token, timeLimitSeconds=30)  # county-wide: a long solve
    job = pk(job_id)
    with subscribe(topology, 1, token, job_id) as ws:
        victim = topology.worker_of(job)
        wait_status(topology, job, {"RUNNING"})
        time.sleep(1.0)  # well into the load and solve
        killed_at = time.monotonic()
        topology.workers[victim].kill()
        states = follow(ws, timeout=STALLED_S + 15)
    failed_after = time.monotonic() - killed_at
    assert states[-1]["status"] == "FAILED", states
    assert "its worker stopped while it ran" in states[-1]["error"]
    # Bounded: the stalled timeout, plus a heartbeat for a sweep to run, plus slack.
    assert failed_after < STALLED_S + 2 * HEARTBEAT_S + 5, failed_after
    assert proposal_count(topology, job) == 0  # nothing half-saved
    with topology.engine.connect() as conn:
        entry = conn.execute(
            sa.text("SELECT status FROM procrastinate_jobs WHERE (args->>'job_id')::int = :j"),
            {"j": job},
        ).scalar_one()
    assert entry == "failed"
    with pytest.raises(httpx.TransportError):  # the dead worker's probe is gone with it
        httpx.get(f"http://127.0.0.1:{topology.worker_ports[victim]}/healthz", timeout=2)


def _community_gid(community: int) -> str:
    from api.graphql.relay import to_global_id

    return to_global_id("Community", community)
