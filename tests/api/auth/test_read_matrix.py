"""The read side of the role matrix (issue 10): rows of another community, and rows that are
nobody's business of the caller's, are invisible through every path that reaches a row.

A third community, 远村, gets one row of every table with a row rule (`schema.visibility.RULES`):
a need with its event and assignment, a resident, a matching job with a proposal and an
unmatched item, an enterprise request with its event, a sign-up. Then every caller of the
test county but the county-level ones reads them through `node`, `nodes`, the root lists (their
`totalCount` too) and nested relations of public parents, and none of the rows may show up.
Administrators, reading the same way, see every one of them (the reads can find them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from api.graphql.relay import NODE_TYPES, from_global_id, to_global_id
from api.graphql.schema import build_schema
from api.settings import Settings
from schema import models as m
from schema.base import utcnow
from schema.enums import (
    ActivityStatus,
    EnterpriseAction,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    EvaluationDirection,
    JobStatus,
    NeedAction,
    NeedStatus,
    OfferStatus,
    PersonKind,
    ProposalKind,
    ProposalStatus,
    SignUpStatus,
)
from schema.visibility import RULES
from tests import factories as f
from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("enterprise")  # the enterprise's own account

REFUSALS = {"FORBIDDEN", "UNAUTHENTICATED"}
# Every caller of the test county that is neither an administrator nor county-level staff.
SCOPED_CALLERS = [
    "resident",
    "volunteer",
    "helper",
    "grid_worker",
    "grid_worker_hengxi",
    "coordinator",
    "outsider",
    "enterprise",  # an enterprise account: its own enterprise's requests only
    None,  # anonymous
]
TYPES = {
    m.Need: "Need",
    m.NeedEvent: "NeedEvent",
    m.NeedAssignment: "NeedAssignment",
    m.Person: "Person",
    m.MatchingJob: "MatchingJob",
    m.Proposal: "Proposal",
    m.UnmatchedItem: "UnmatchedItem",
    m.EnterpriseRequest: "EnterpriseRequest",
    m.EnterpriseRequestEvent: "EnterpriseRequestEvent",
    m.SignUp: "SignUp",
    m.InServiceMember: "InServiceMember",
    m.MemberReport: "MemberReport",
    m.MemberEvaluation: "MemberEvaluation",
    m.NeedOffer: "NeedOffer",
}


# Node types without a row rule, each a decision: public or reference data, or administrators'
# own (the policy lets only them read it).
UNRULED = {
    "Activity": "public",
    "Skill": "public",
    "ServiceOrganiser": "public",  # "1+6+12+N" organisers, like the activities they run
    "Community": "reference.read",
    "Compound": "reference.read",
    "Consultation": "reference.read",
    "Enterprise": "reference.read",
    "Grid": "reference.read",
    "PairedUnit": "reference.read",
    "Resource": "reference.read",
    # a public place; its keeper (a person) is read under person.read
    "SentinelPost": "reference.read",
    "Team": "reference.read",
    "Venue": "reference.read",
    "Account": "account.manage",
    "AuditLogEntry": "audit.read",
    # staff only (the policy), personal fields masked per record as residents' are
    "RegistryRecord": "registry.read",
}


def test_cover_every_ruled_table() -> None:
    assert set(TYPES) == set(RULES)


def test_give_every_node_type_a_row_rule_or_a_reason() -> None:
    """A new type of node must get a row rule (`schema.visibility.RULES`) or be listed above."""
    build_schema(Settings())
    for name, spec in NODE_TYPES.items():
        ruled = spec.type_cls.__model__ in RULES
        assert ruled or UNRULED.get(name) == (spec.operation or "public"), name


def _add(s: Session, row: Any) -> Any:
    s.add(row)
    s.flush()
    return row


@pytest.fixture
def far(engine: sa.Engine, county: County) -> dict[str, Any]:
    """One row of every ruled table, in a community none of the scoped callers works in."""
    other = f.community(engine, name="远村")
    now = utcnow()
    with Session(engine, expire_on_commit=False) as s:
        resident = _add(
            s,
            m.Person(
                name="远村居民",
                kind=PersonKind.RESIDENT,
                is_party_member=False,
                registered_community_id=other.id,
                phone="13900001111",
                latitude=27.2,
                longitude=115.0,
            ),
        )
        worker = _add(
            s,
            m.Person(
                name="远村网格员",
                kind=PersonKind.GRID_WORKER,
                registered_community_id=other.id,
                latitude=27.2,
                longitude=115.0,
            ),
        )
        need = _add(
            s,
            m.Need(
                **f.need_values(
                    other.id,
                    title="远村老人就医需要陪护",
                    reporter_person_id=resident.id,
                    reporter_name="远村居民",
                    status=NeedStatus.DISPATCHED,
                )
            ),
        )
        event = _add(
            s,
            m.NeedEvent(
                need_id=need.id,
                action=NeedAction.REPORT,
                to_status=NeedStatus.REPORTED,
                actor_name="远村居民",
            ),
        )
        assignment = _add(s, m.NeedAssignment(need_id=need.id, person_id=worker.id))
        job = _add(
            s,
            m.MatchingJob(
                status=JobStatus.SUCCEEDED,
                scope_community_id=other.id,
                kinds=["volunteer"],
                weights={},
            ),
        )
        proposal = _add(
            s,
            m.Proposal(
                job_id=job.id,
                kind=ProposalKind.VOLUNTEER,
                need_id=need.id,
                person_id=worker.id,
                cost=1.0,
                status=ProposalStatus.PROPOSED,
            ),
        )
        unmatched = _add(s, m.UnmatchedItem(job_id=job.id, need_id=need.id, seats_open=1))
        firm = _add(
            s,
            m.Enterprise(
                name="远村企业",
                credit_code="91360821000000FAR1",
                community_id=other.id,
                contact_name="远经理",
                latitude=27.2,
                longitude=115.0,
            ),
        )
        request = _add(
            s,
            m.EnterpriseRequest(
                enterprise_id=firm.id,
                kind=EnterpriseRequestKind.POLICY,
                title="远村企业政策咨询",
                # carried by someone else: out of the helpers' claim pool
                status=EnterpriseRequestStatus.ASSIGNED,
                helper_id=worker.id,
                deadline=now + timedelta(days=3),
            ),
        )
        request_event = _add(
            s,
            m.EnterpriseRequestEvent(
                request_id=request.id,
                action=EnterpriseAction.SUBMIT,
                to_status=EnterpriseRequestStatus.SUBMITTED,
                actor_name="远经理",
            ),
        )
        activity = _add(
            s,
            m.Activity(
                **{
                    "title": "远村活动",
                    "status": ActivityStatus.PLANNED,
                    "community_id": other.id,
                    "starts_at": now + timedelta(days=1),
                    "ends_at": now + timedelta(days=1, hours=2),
                    "capacity": 5,
                    "latitude": 27.2,
                    "longitude": 115.0,
                }
            ),
        )
        sign_up = _add(
            s,
            m.SignUp(person_id=worker.id, activity_id=activity.id, status=SignUpStatus.SIGNED_UP),
        )
        member = _add(
            s,
            m.InServiceMember(
                person_id=worker.id, community_id=other.id, post="联络员", responsibility="走访"
            ),
        )
        report = _add(s, m.MemberReport(member_id=member.id, period="2026", summary="述职"))
        evaluation = _add(
            s,
            m.MemberEvaluation(
                member_id=member.id,
                community_id=other.id,
                period="2026",
                direction=EvaluationDirection.COMMUNITY_RATES_MEMBER,
                score=90,
                comment="远村评语",
            ),
        )
        offer = _add(
            s, m.NeedOffer(need_id=need.id, person_id=worker.id, status=OfferStatus.OFFERED)
        )
        s.commit()
    ids = {
        "Need": need.id,
        "NeedEvent": event.id,
        "NeedAssignment": assignment.id,
        "Person": resident.id,
        "MatchingJob": job.id,
        "Proposal": proposal.id,
        "UnmatchedItem": unmatched.id,
        "EnterpriseRequest": request.id,
        "EnterpriseRequestEvent": request_event.id,
        "SignUp": sign_up.id,
        "InServiceMember": member.id,
        "MemberReport": report.id,
        "MemberEvaluation": evaluation.id,
        "NeedOffer": offer.id,
    }
    return {
        "gids": {t: to_global_id(t, pk) for t, pk in ids.items()},
        "community": to_global_id("Community", other.id),
        "enterprise": to_global_id("Enterprise", firm.id),
        "activity": to_global_id("Activity", activity.id),
    }


LISTS = """query($c: [ID!]) {
  needs(first: 100) { totalCount nodes { id } }
  scoped: needs(first: 100, filter: {community: $c}) { totalCount nodes { id } }
}"""
PEOPLE = """query($c: [ID!]) {
  people(first: 100) { totalCount nodes { id } }
  scoped: people(first: 100, filter: {registeredCommunity: $c, kind: [RESIDENT]}) {
    totalCount nodes { id } }
}"""
JOBS = "{ matchingJobs(first: 20) { totalCount nodes { id proposals(first: 5) { totalCount } } } }"
REQUESTS = "{ enterpriseRequests(first: 100) { totalCount nodes { id } } }"
MEMBERS = """query($c: ID) { inServiceMembers(first: 20, communityId: $c) {
  totalCount nodes { id reports { id } evaluations { id } } } }"""
NESTED = """query($c: ID!, $e: ID!, $a: ID!) {
  community(id: $c) {
    openNeeds(first: 100) { totalCount nodes { id } }
    members(first: 100) { totalCount nodes { id } }
  }
  node(id: $e) { ... on Enterprise { requests { id } } }
  activity(id: $a) { signUps { id } }
}"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
# The root fields that fetch one object by its ID (each has its own fast path).
SINGLE = {
    "Need": "query($id: ID!) { need(id: $id) { id } }",
    "Person": "query($id: ID!) { person(id: $id) { id } }",
    "MatchingJob": "query($id: ID!) { matchingJob(id: $id) { id } }",
    "EnterpriseRequest": "query($id: ID!) { enterpriseRequest(id: $id) { id } }",
}
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def _ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "id" and isinstance(v, str):
                yield v
            else:
                yield from _ids(v)
    elif isinstance(value, list):
        for v in value:
            yield from _ids(v)


def _counts_match(value: Any) -> bool:
    """Every connection read whole (fewer than 100 rows) counts exactly the rows it lists."""
    if isinstance(value, dict):
        whole = "totalCount" in value and "nodes" in value and value["totalCount"] < 100
        if whole and value["totalCount"] != len(value["nodes"]):
            return False
        return all(_counts_match(v) for v in value.values())
    if isinstance(value, list):
        return all(_counts_match(v) for v in value)
    return True


def _read(client: TestClient, token: str | None, query: str, variables: dict[str, Any]) -> Any:
    body = gql(client, query, variables, token=token, expect_errors=True)
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors", [])}
    assert codes <= REFUSALS, body["errors"]
    return body.get("data")


def _reads(client: TestClient, token: str | None, far: dict[str, Any]) -> dict[str, Any]:
    gids = list(far["gids"].values())
    nested = {"c": far["community"], "e": far["enterprise"], "a": far["activity"]}
    return {
        "node": [_read(client, token, NODE, {"id": g}) for g in gids],
        "single": [_read(client, token, q, {"id": far["gids"][t]}) for t, q in SINGLE.items()],
        "nodes": _read(client, token, NODES, {"ids": gids}),
        "needs": _read(client, token, LISTS, {"c": [far["community"]]}),
        "people": _read(client, token, PEOPLE, {"c": [far["community"]]}),
        "jobs": _read(client, token, JOBS, {}),
        "requests": _read(client, token, REQUESTS, {}),
        "members": _read(client, token, MEMBERS, {"c": far["community"]}),
        "nested": _read(client, token, NESTED, nested),
    }


@pytest.mark.parametrize("who", SCOPED_CALLERS, ids=lambda w: w or "anonymous")
def test_hide_rows_of_another_community_on_every_path(
    client: TestClient, county: County, far: dict[str, Any], who: str | None
) -> None:
    token = county.token(who) if who else None
    reads = _reads(client, token, far)
    for path, data in reads.items():
        leaked = set(_ids(data)) & set(far["gids"].values())
        assert not leaked, f"{who} reads {leaked} through {path}"
        assert _counts_match(data), f"{who}: totalCount counts rows not listed ({path})"
    for name in ("needs", "people"):
        scoped = (reads[name] or {}).get("scoped")
        assert scoped is None or scoped["totalCount"] == 0, (who, name)


def test_show_every_enterprise_request_to_the_business_office(
    client: TestClient, county: County, far: dict[str, Any]
) -> None:
    reads = _reads(client, county.token("business_office"), far)
    requests = {far["gids"]["EnterpriseRequest"], far["gids"]["EnterpriseRequestEvent"]}
    assert requests <= set(_ids(reads["node"]))
    assert far["gids"]["EnterpriseRequest"] in set(_ids(reads["requests"]))
    assert far["gids"]["EnterpriseRequest"] in set(_ids(reads["nested"]))
    # and no other table's rows of another community
    others = set(far["gids"].values()) - requests
    assert not set(_ids(reads)) & others


def test_show_the_claim_pool_to_helpers_and_no_enterprise_another_ones_requests(
    client: TestClient, engine: sa.Engine, county: County, far: dict[str, Any]
) -> None:
    firm = from_global_id(far["enterprise"])[1]
    pool = to_global_id("EnterpriseRequest", f.enterprise_request(engine, firm).id)
    for who, sees in (("helper", True), ("enterprise", False), ("coordinator", False)):
        found = _read(client, county.token(who), NODE, {"id": pool})
        assert (found["node"] is not None) is sees, who
        listed = set(_ids(_read(client, county.token(who), REQUESTS, {})))
        assert (pool in listed) is sees, who


def test_show_every_row_to_administrators(
    client: TestClient, county: County, far: dict[str, Any]
) -> None:
    reads = _reads(client, county.token("admin"), far)
    assert set(_ids(reads["nodes"])) == set(far["gids"].values())
    assert all(_counts_match(data) for data in reads.values())
    nested = set(_ids(reads["nested"]))
    for kind in ("Need", "Person", "EnterpriseRequest", "SignUp"):
        assert far["gids"][kind] in nested, kind
