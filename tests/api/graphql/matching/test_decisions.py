"""Coordinators' decisions over HTTP: explanations that name units and resources, a rejection's
reason (kept, and carried to re-runs), bulk decisions all or nothing, changed decisions only on
purpose and recorded, and why a need has no candidates."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from schema.enums import ResourceKind, UnitKind
from schema.models import NeedResource, PairedUnit, Pairing, Resource
from tests.api.graphql.matching.test_jobs import LAT, LON, World, run, world
from tests.conftest import gql

__all__ = ["world"]

DECIDE = """mutation($id: ID!, $reason: String, $change: Boolean! = false) {
  %s(proposalId: $id, reason: $reason, change: $change) {
    proposal { id status decisionReason decisionHistory message }
    userErrors { field message code } } }"""
BULK = """mutation($ids: [ID!]!, $decision: ProposalDecision!, $reason: String) {
  decideProposals(ids: $ids, decision: $decision, reason: $reason) {
    proposals { id status decisionReason } userErrors { field message code } } }"""
STATUSES = """query($id: ID!) { matchingJob(id: $id) { proposals(first: 100) {
  nodes { id status } } } }"""


def _decide(client: TestClient, world: World, op: str, pid: str, **vars: Any) -> dict[str, Any]:
    body = gql(client, DECIDE % op, {"id": pid, **vars}, token=world.token())
    return body["data"][op]


def _statuses(client: TestClient, world: World, job_id: str) -> dict[str, str]:
    job = gql(client, STATUSES, {"id": job_id}, token=world.token())["data"]["matchingJob"]
    return {p["id"]: p["status"] for p in job["proposals"]["nodes"]}


def test_explanations_name_the_unit_and_resource(client: TestClient, world: World) -> None:
    with Session(world.engine) as s:
        unit = PairedUnit(name="县供电公司", kind=UnitKind.ENTERPRISE, latitude=LAT, longitude=LON)
        s.add(unit)
        s.flush()
        s.add(Pairing(unit_id=unit.id, community_id=world.home.id))
        s.add(
            Resource(
                name="应急发电车",
                kind=ResourceKind.VEHICLE,
                quantity=2,
                latitude=LAT,
                longitude=LON,
                unit_id=unit.id,
                unit_label="辆",
            )
        )
        s.add(NeedResource(need_id=world.needs[0].id, kind=ResourceKind.VEHICLE, quantity=1))
        s.commit()
        unit_id = unit.id
    job = run(client, world)
    (lent,) = [p for p in job["proposals"]["nodes"] if p["kind"] == "RESOURCE"]
    assert "县供电公司" in lent["message"] and "应急发电车" in lent["message"]
    assert f"paired unit {unit_id}" not in lent["message"]


def test_reject_with_reason_is_kept_and_carried_to_reruns(client: TestClient, world: World) -> None:
    job = run(client, world)
    first = job["proposals"]["nodes"][0]
    rejected = _decide(client, world, "rejectProposal", first["id"], reason="她本周已排满")
    assert rejected["proposal"]["decisionReason"] == "她本周已排满"
    rerun = run(client, world, parentJobId=job["id"])
    pair = (first["need"]["id"], first["person"]["id"])
    (carried,) = [
        p for p in rerun["proposals"]["nodes"] if (p["need"]["id"], p["person"]["id"]) == pair
    ]
    assert carried["status"] == "REJECTED" and "她本周已排满" in carried["message"]


def test_changing_a_decision_is_explicit_and_recorded(client: TestClient, world: World) -> None:
    job = run(client, world)
    pid = job["proposals"]["nodes"][0]["id"]
    assert _decide(client, world, "acceptProposal", pid)["proposal"]["status"] == "ACCEPTED"
    silent = _decide(client, world, "rejectProposal", pid)
    assert silent["proposal"] is None and "change" in silent["userErrors"][0]["message"]
    assert _statuses(client, world, job["id"])[pid] == "ACCEPTED"
    changed = _decide(client, world, "rejectProposal", pid, change=True, reason="改派他人")
    assert changed["proposal"]["status"] == "REJECTED"
    (entry,) = changed["proposal"]["decisionHistory"]
    assert entry["status"] == "accepted" and entry["changed_to"] == "rejected"
    assert entry["changed_by"] is not None and entry["changed_at"]


def test_decide_proposals_in_bulk_all_or_nothing(client: TestClient, world: World) -> None:
    job = run(client, world)
    ids = [p["id"] for p in job["proposals"]["nodes"]]
    missing = to_global_id("Proposal", 999_999)
    bad = gql(
        client, BULK, {"ids": [*ids, missing, "junk"], "decision": "ACCEPT"}, token=world.token()
    )["data"]["decideProposals"]
    assert bad["proposals"] == []
    assert [e["field"] for e in bad["userErrors"]] == [["ids", "3"], ["ids", "4"]]
    assert set(_statuses(client, world, job["id"]).values()) == {"PROPOSED"}  # none written
    good = gql(
        client, BULK, {"ids": ids, "decision": "REJECT", "reason": "重排"}, token=world.token()
    )["data"]["decideProposals"]
    assert good["userErrors"] == []
    assert {(p["status"], p["decisionReason"]) for p in good["proposals"]} == {("REJECTED", "重排")}


def test_need_candidates_say_why_they_are_empty(client: TestClient, world: World) -> None:
    query = """query($id: ID!) { needCandidateRanking(needId: $id) { candidates { rank }
      emptyReason emptyReasons } }"""
    far = gql(client, query, {"id": to_global_id("Need", world.far.id)}, token=world.token())
    ranking = far["data"]["needCandidateRanking"]
    assert ranking["candidates"] == [] and ranking["emptyReason"]
    assert ranking["emptyReasons"][0]["code"] == "no_one_in_reach"
    near = gql(client, query, {"id": to_global_id("Need", world.needs[0].id)}, token=world.token())
    assert near["data"]["needCandidateRanking"]["emptyReason"] is None
