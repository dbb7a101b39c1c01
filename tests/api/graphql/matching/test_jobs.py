"""Coordinators' matching jobs over HTTP: start, progress, proposals with reasons, decisions,
re-run, commit through the closed loop, stale refusal, cancel, restart recovery, ranking."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.relay import to_global_id
from schema.enums import JobStatus, NeedStatus, ResourceKind, TravelMode
from schema.models import (
    MatchingJob,
    Need,
    NeedAssignment,
    NeedEvent,
    NeedResource,
    NeedSkill,
    PersonSkill,
    Resource,
    Skill,
)
from schema.services.matching.jobs import create_job
from tests import factories as f
from tests.conftest import gql, make_settings
from tests.county import County

LAT, LON = 27.05, 114.92

START = """mutation($input: StartMatchingJobInput!) { startMatchingJob(input: $input) {
  job { id status } userErrors { field message code } } }"""
JOB = """query($id: ID!) { matchingJob(id: $id) { id status progress objective bound gap optimal
  seatsFilled seatsTotal error
  proposals(first: 100) { totalCount nodes { id kind status message reasons cost
    need { id } person { id } } }
  unmatched { seatsOpen message reasons need { id } } } }"""
DECIDE = """mutation($id: ID!) { %s(proposalId: $id) { proposal { id status }
  userErrors { field message code } } }"""
COMMIT = """mutation($id: ID!) { commitMatchingJob(jobId: $id) { job { id status }
  committed { id need { id } } stale { id need { id } } userErrors { field message code } } }"""
CANCEL = """mutation($id: ID!) { cancelMatchingJob(jobId: $id) { job { id status }
  userErrors { field message code } } }"""


class World:
    """On top of the county: four electricians in Quantang near three accepted needs, and a
    need far out in Hengxi that nobody can reach in time."""

    def __init__(self, county: County) -> None:
        self.engine = engine = county.engine
        self.home, self.other = county.quantang, county.hengxi
        with Session(engine) as s:
            skill = Skill(code="electrician", name="电工")
            s.add(skill)
            s.commit()
            self.skill_id = skill.id
        self.people = [
            f.person(
                engine,
                name=f"电工{i}",
                latitude=LAT + 0.001 * i,
                longitude=LON,
                travel_mode=TravelMode.EBIKE,
                weekly_capacity_minutes=600,
                registered_community_id=self.home.id,
            )
            for i in range(4)
        ]
        self.needs = [
            f.need(
                engine,
                self.home.id,
                title=f"线路故障{i}",
                status=NeedStatus.ACCEPTED,
                latitude=LAT + 0.002,
                longitude=LON + 0.001 * i,
                headcount=1,
                duration_minutes=60,
            )
            for i in range(3)
        ]
        # Nobody can reach this one within the 1341 arrival promise.
        self.far = f.need(
            engine,
            self.other.id,
            title="远处停电",
            status=NeedStatus.ACCEPTED,
            latitude=27.3,
            longitude=115.3,
        )
        with Session(engine) as s:
            for p in self.people:
                s.add(PersonSkill(person_id=p.id, skill_id=self.skill_id))
            for n in [*self.needs, self.far]:
                s.add(NeedSkill(need_id=n.id, skill_id=self.skill_id))
            s.commit()
        self.coordinator = county.account("county_coordinator")
        self.scoped = county.account("outsider")  # Hengxi's coordinator
        self.volunteer = county.account("volunteer")

    def token(self, account: Any = None) -> str:
        return f.token_for(account or self.coordinator)


@pytest.fixture
def world(county: County) -> World:
    return World(county)


def start(client: TestClient, token: str, **input: Any) -> dict[str, Any]:
    body = gql(client, START, {"input": {"timeLimitSeconds": 5, **input}}, token=token)
    return body["data"]["startMatchingJob"]


def wait_for(client: TestClient, token: str, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = gql(client, JOB, {"id": job_id}, token=token)["data"]["matchingJob"]
        if job["status"] not in ("QUEUED", "RUNNING") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def run(client: TestClient, world: World, **input: Any) -> dict[str, Any]:
    started = start(client, world.token(), **input)
    assert started["userErrors"] == [], started
    assert started["job"]["status"] == "QUEUED"
    return wait_for(client, world.token(), started["job"]["id"])


def decide(client: TestClient, world: World, mutation: str, proposal_id: str) -> dict[str, Any]:
    body = gql(client, DECIDE % mutation, {"id": proposal_id}, token=world.token())
    return body["data"][mutation]


def test_run_matching_job_with_reasons(client: TestClient, world: World) -> None:
    job = run(client, world)
    assert job["status"] == "SUCCEEDED", job
    assert job["seatsFilled"] == 3 and job["seatsTotal"] == 4
    assert job["bound"] <= job["objective"]
    assert job["gap"] == pytest.approx((job["objective"] - job["bound"]) / max(1, job["objective"]))
    proposals = job["proposals"]["nodes"]
    assert {p["need"]["id"] for p in proposals} == {to_global_id("Need", n.id) for n in world.needs}
    assert len({p["person"]["id"] for p in proposals}) == 3  # fair load: one need each
    for p in proposals:
        assert p["kind"] == "VOLUNTEER" and p["status"] == "PROPOSED"
        assert "electrician" in p["message"] and p["reasons"]
    (unmatched,) = job["unmatched"]
    assert unmatched["need"]["id"] == to_global_id("Need", world.far.id)
    assert unmatched["seatsOpen"] == 1 and unmatched["message"]


def test_commit_accepted_proposals_through_closed_loop(
    client: TestClient, world: World, engine: sa.Engine
) -> None:
    job = run(client, world)
    first, second, third = job["proposals"]["nodes"]
    assert decide(client, world, "acceptProposal", first["id"])["proposal"]["status"] == "ACCEPTED"
    assert decide(client, world, "pinProposal", second["id"])["proposal"]["status"] == "PINNED"
    assert decide(client, world, "rejectProposal", third["id"])["proposal"]["status"] == "REJECTED"
    payload = gql(client, COMMIT, {"id": job["id"]}, token=world.token())["data"][
        "commitMatchingJob"
    ]
    assert payload["userErrors"] == [] and payload["job"]["status"] == "COMMITTED"
    assert {p["id"] for p in payload["committed"]} == {first["id"], second["id"]}
    assert payload["stale"] == []
    with Session(engine) as s:
        for p in (first, second):
            need = s.exec(select(Need).where(Need.id == _pk(p["need"]["id"]))).one()
            assert need.status is NeedStatus.DISPATCHED
            assert need.arrive_by == need.dispatched_at + timedelta(minutes=10)
            assert need.resolve_by == need.dispatched_at + timedelta(minutes=30)
            actions = [
                e.action.value
                for e in s.exec(select(NeedEvent).where(NeedEvent.need_id == need.id))
            ]
            assert actions[-1] == "dispatch"
        rejected = s.exec(select(Need).where(Need.id == _pk(third["need"]["id"]))).one()
        assert rejected.status is NeedStatus.ACCEPTED
    again = gql(client, COMMIT, {"id": job["id"]}, token=world.token())["data"]["commitMatchingJob"]
    assert again["userErrors"][0]["code"] == "ILLEGAL_TRANSITION"


def test_refuse_stale_proposals_on_commit(
    client: TestClient, world: World, engine: sa.Engine
) -> None:
    job = run(client, world)
    for p in job["proposals"]["nodes"]:
        decide(client, world, "acceptProposal", p["id"])
    changed = job["proposals"]["nodes"][0]
    with engine.begin() as conn:  # someone escalates the need after the solve
        conn.execute(
            sa.update(Need)
            .where(col(Need.id) == _pk(changed["need"]["id"]))
            .values(version=Need.version + 1)
        )
    payload = gql(client, COMMIT, {"id": job["id"]}, token=world.token())["data"][
        "commitMatchingJob"
    ]
    assert [p["id"] for p in payload["stale"]] == [changed["id"]]
    assert len(payload["committed"]) == 2
    with Session(engine) as s:
        stale_need = s.exec(select(Need).where(Need.id == _pk(changed["need"]["id"]))).one()
        assert stale_need.status is NeedStatus.ACCEPTED


def test_rerun_keeps_pinned_and_never_repeats_rejected(client: TestClient, world: World) -> None:
    job = run(client, world)
    pinned, rejected = job["proposals"]["nodes"][:2]
    decide(client, world, "pinProposal", pinned["id"])
    decide(client, world, "rejectProposal", rejected["id"])
    rerun = run(client, world, parentJobId=job["id"])
    assert rerun["status"] == "SUCCEEDED"
    pairs = {(p["need"]["id"], p["person"]["id"]): p for p in rerun["proposals"]["nodes"]}
    assert (pinned["need"]["id"], pinned["person"]["id"]) in pairs
    assert pairs[(pinned["need"]["id"], pinned["person"]["id"])]["status"] == "PINNED"
    # Carried over as a rejection (with its reason), never proposed again.
    assert pairs[(rejected["need"]["id"], rejected["person"]["id"])]["status"] == "REJECTED"
    assert rerun["seatsFilled"] == 3  # the rejected need got someone else


def test_refuse_decisions_on_unfinished_or_unknown(client: TestClient, world: World) -> None:
    missing = to_global_id("Proposal", 999_999)
    errors = decide(client, world, "acceptProposal", missing)["userErrors"]
    assert errors[0]["code"] == "NOT_FOUND"
    body = gql(client, COMMIT, {"id": "not-an-id"}, token=world.token())
    assert body["data"]["commitMatchingJob"]["userErrors"][0]["code"] == "BAD_USER_INPUT"


def test_refuse_bad_job_input(client: TestClient, world: World) -> None:
    for bad, field in (
        ({"timeLimitSeconds": 0}, "timeLimitSeconds"),
        ({"timeLimitSeconds": 601}, "timeLimitSeconds"),
        ({"kinds": []}, "kinds"),
        ({"weights": {"travelPerMinute": -1}}, "weights"),
    ):
        payload = gql(client, START, {"input": bad}, token=world.token())["data"][
            "startMatchingJob"
        ]
        assert payload["job"] is None and payload["userErrors"][0]["field"] == ["input", field], bad
    with Session(world.engine) as s:
        assert s.exec(select(MatchingJob)).all() == []


def test_refuse_job_outside_coordinators_area(client: TestClient, world: World) -> None:
    payload = start(
        client, world.token(world.scoped), scopeCommunityId=to_global_id("Community", world.home.id)
    )
    assert payload["userErrors"][0]["code"] == "FORBIDDEN"
    denied = gql(
        client, START, {"input": {}}, token=world.token(world.volunteer), expect_errors=True
    )
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_scope_job_to_coordinators_own_community(client: TestClient, world: World) -> None:
    payload = start(client, world.token(world.scoped))
    job = wait_for(client, world.token(world.scoped), payload["job"]["id"])
    assert job["status"] == "SUCCEEDED"
    assert job["seatsTotal"] == 1  # only the village's need


def test_emergency_weights_apply(client: TestClient, world: World) -> None:
    job = run(client, world, emergency=True, weights={"fairness": 0})
    assert job["status"] == "SUCCEEDED" and job["seatsFilled"] == 3


def test_cancel_queued_job(client: TestClient, world: World, engine: sa.Engine) -> None:
    with engine.begin() as conn:
        job_id = create_job(
            conn, scope_community_id=None, kinds=["volunteer"], weights=None, time_limit_s=5
        )
    gid = to_global_id("MatchingJob", job_id)
    payload = gql(client, CANCEL, {"id": gid}, token=world.token())["data"]["cancelMatchingJob"]
    assert payload["job"]["status"] == "CANCELLED"
    again = gql(client, CANCEL, {"id": gid}, token=world.token())["data"]["cancelMatchingJob"]
    assert again["userErrors"][0]["code"] == "ILLEGAL_TRANSITION"


def test_fail_interrupted_jobs_on_restart(engine: sa.Engine, database_url: str) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with engine.begin() as conn:
        old = create_job(
            conn, scope_community_id=None, kinds=["volunteer"], weights=None, time_limit_s=5
        )
        fresh = create_job(
            conn, scope_community_id=None, kinds=["volunteer"], weights=None, time_limit_s=5
        )
        conn.execute(
            sa.update(MatchingJob)
            .where(col(MatchingJob.id) == old)
            .values(status=JobStatus.RUNNING, created_at=long_ago, started_at=long_ago)
        )
    with TestClient(create_app(make_settings(database_url))):
        pass
    with Session(engine) as s:
        jobs = {j.id: j for j in s.exec(select(MatchingJob))}
    assert jobs[old].status is JobStatus.FAILED and "interrupted" in (jobs[old].error or "")
    assert jobs[fresh].status is JobStatus.QUEUED  # could still belong to a live process


def test_push_job_progress_over_subscription(client: TestClient, world: World) -> None:
    started = start(client, world.token())
    job_id = started["job"]["id"]
    query = "subscription($id: ID!) { matchingJobProgress(jobId: $id) { status progress } }"
    seen: list[str] = []
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {world.token()}"}}
        )
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": query, "variables": {"id": job_id}},
            }
        )
        while True:
            message = ws.receive_json()
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            seen.append(message["payload"]["data"]["matchingJobProgress"]["status"])
    assert seen[-1] == "SUCCEEDED"


def test_rank_candidates_for_one_need(client: TestClient, world: World) -> None:
    query = """query($id: ID!) { needCandidates(needId: $id, limit: 3) { rank cost distanceKm
      travelMinutes message person { id } } }"""
    need = world.needs[0]
    ranked = gql(client, query, {"id": to_global_id("Need", need.id)}, token=world.token())["data"]
    ranked = ranked["needCandidates"]
    assert [c["rank"] for c in ranked] == [1, 2, 3]
    assert [c["cost"] for c in ranked] == sorted(c["cost"] for c in ranked)
    assert all("electrician" in c["message"] for c in ranked)
    far = gql(client, query, {"id": to_global_id("Need", world.far.id)}, token=world.token())
    assert far["data"]["needCandidates"] == []


def _pk(global_id: str) -> int:
    from api.graphql.relay import from_global_id

    return from_global_id(global_id)[1]


def _lend_a_hall(world: World) -> int:
    """The first need also wants a hall for 20; a unit nearby lends one for 30."""
    with Session(world.engine) as s:
        hall = Resource(
            name="党群服务中心会议室",
            kind=ResourceKind.VENUE,
            quantity=30,
            latitude=LAT,
            longitude=LON,
            community_id=world.home.id,
        )
        s.add(hall)
        s.add(NeedResource(need_id=world.needs[0].id, kind=ResourceKind.VENUE, quantity=20))
        s.commit()
        assert hall.id is not None
        return hall.id


def test_commit_resource_only_proposal_records_allocation(
    client: TestClient, world: World, engine: sa.Engine
) -> None:
    hall_id = _lend_a_hall(world)
    job = run(client, world)
    resource = [p for p in job["proposals"]["nodes"] if p["kind"] == "RESOURCE"]
    assert len(resource) == 1 and resource[0]["need"]["id"] == to_global_id(
        "Need", world.needs[0].id
    )
    decide(client, world, "acceptProposal", resource[0]["id"])
    payload = gql(client, COMMIT, {"id": job["id"]}, token=world.token())["data"][
        "commitMatchingJob"
    ]
    assert payload["userErrors"] == [] and len(payload["committed"]) == 1
    with Session(engine) as s:
        need = s.exec(select(Need).where(Need.id == world.needs[0].id)).one()
        assert need.status is NeedStatus.ACCEPTED and need.version == 2
        (event,) = s.exec(
            select(NeedEvent).where(NeedEvent.need_id == need.id, NeedEvent.action == "allocate")
        ).all()
        assert event.data == {"resources": [{"resource_id": hall_id, "quantity": 20}]}
        (lent,) = s.exec(select(NeedAssignment).where(NeedAssignment.need_id == need.id)).all()
        assert (lent.resource_id, lent.quantity, lent.active) == (hall_id, 20, True)
