"""Every read type is reachable over HTTP with real queries, with its relations as fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.relay import NODE_TYPES
from api.graphql.schema import build_schema
from api.settings import Settings
from tests.conftest import gql, make_settings
from tests.county import EVERY_PART, County

pytestmark = pytest.mark.county(*EVERY_PART)

# Root connection of each row type: every scalar field is selected there (column pruning must
# cover each one).
ROOTS = {
    "Community": "communities",
    "Grid": "grids",
    "Compound": "compounds",
    "Venue": "venues",
    "Consultation": "consultations",
    "PairedUnit": "pairedUnits",
    "Resource": "resources",
    "Person": "people",
    "Team": "teams",
    "Need": "needs",
    "Enterprise": "enterprises",
    "EnterpriseRequest": "enterpriseRequests",
    "Activity": "activities",
    "MatchingJob": "matchingJobs",
}


@pytest.fixture
def client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    # These documents read every field of every type at once, to cover the types: far more
    # than a real client asks for, so the query cost limit is lifted for them.
    settings = make_settings(
        database_url, max_query_cost=100_000_000, cost_budget_per_minute=100_000_000
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _leaf(t: Any) -> Any:
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


def scalar_fields(type_name: str) -> list[str]:
    schema = build_schema(Settings())._schema
    obj = schema.type_map[type_name]
    assert isinstance(obj, GraphQLObjectType)
    return [
        name
        for name, fld in obj.fields.items()
        if isinstance(_leaf(fld.type), (GraphQLScalarType, GraphQLEnumType))
        and not any(isinstance(a.type, GraphQLNonNull) for a in fld.args.values())
    ]


@pytest.mark.parametrize("type_name", sorted(ROOTS))
def test_read_every_scalar_field_of_each_type(
    client: TestClient, county: County, type_name: str
) -> None:
    fields = " ".join(scalar_fields(type_name))
    query = f"{{ {ROOTS[type_name]}(first: 100) {{ totalCount nodes {{ __typename {fields} }} }} }}"
    data = gql(client, query, token=county.token("admin"))["data"][ROOTS[type_name]]
    assert data["totalCount"] >= 1 and len(data["nodes"]) == data["totalCount"]
    assert {n["__typename"] for n in data["nodes"]} == {type_name}


COMMUNITY = """
query($id: ID!) {
  community(id: $id) {
    __typename id name kind township mode
    grids { __typename code kind community { name }
            staff { __typename role person { name } grid { code } } }
    compounds { __typename name isRedProperty propertyUnit { name kind }
                venues { name kind services community { name } compound { name } } }
    venues { __typename name resources { __typename name } }
    pairedUnits { __typename name kind communities { name }
                  pairings { __typename since unit { name } community { name } }
                  resources { name kind quantity unitLabel unit { name } venue { name }
                              community { name } }
                  managedCompounds { name } employees { name } }
    teams { __typename name kind salesYuan memberCount serviceHours community { name }
            members { __typename isLeader joinedAt team { name } person { name } } }
    consultations { __typename topic disputesSettled community { name } needs { title } }
    members(first: 10) { totalCount pageInfo { hasNextPage } edges { cursor node {
      __typename name kind phone idNumber latitude longitude travelMode isCommando
      registeredCommunity { name } employerUnit { name }
      skills { __typename code name } availability { __typename weekday startMinute endMinute }
      teams { team { name } isLeader } gridRoles { role grid { code } }
      expertise signUps { status } serviceHours assignedRequests { title } } } }
    openNeeds(first: 10) { totalCount nodes { title urgency } }
    activities { __typename title placesLeft signedUpCount community { name }
                 venue { name } organiserTeam { name } skills { code }
                 signUps { __typename status minutes person { name } activity { title }
                           need { title } } }
  }
}"""


def test_read_community_with_its_relations(client: TestClient, county: County) -> None:
    c = gql(
        client, COMMUNITY, {"id": county.gid("Community", "quantang")}, token=county.token("admin")
    )["data"]["community"]
    assert c["name"] == "泉塘社区" and c["kind"] == "URBAN_COMMUNITY"
    assert [g["code"] for g in c["grids"]] == ["QT-01", "QT-02"]
    staff = c["grids"][0]["staff"]
    assert [(s["role"], s["person"]["name"]) for s in staff] == [
        ("LEADER", "李网格"),
        ("PART_TIME", "王建国"),
    ]
    assert c["compounds"][0]["propertyUnit"]["kind"] == "PROPERTY_COMPANY"
    assert c["compounds"][0]["venues"][0]["services"] == ["政策咨询", "矛盾调解"]
    assert sorted(u["name"] for u in c["pairedUnits"]) == ["县委组织部", "红色物业公司"]
    gov = next(u for u in c["pairedUnits"] if u["name"] == "县委组织部")
    assert sorted(x["name"] for x in gov["communities"]) == ["横溪村", "泉塘社区"]
    assert gov["resources"][0]["unitLabel"] == "辆" and gov["employees"] == [{"name": "王建国"}]
    team = c["teams"][0]
    assert team["memberCount"] == 2 and team["serviceHours"] == 2.0
    assert [mm["person"]["name"] for mm in team["members"]] == ["王建国", "陈骑手"]
    assert c["consultations"][0]["needs"] == [{"title": "邻里纠纷"}]
    members = c["members"]
    assert members["totalCount"] == 2
    wang = next(e["node"] for e in members["edges"] if e["node"]["name"] == "王建国")
    assert [s["code"] for s in wang["skills"]] == ["electrician", "psych"]
    assert wang["serviceHours"] == 2.0 and wang["employerUnit"]["name"] == "县委组织部"
    assert wang["phone"] == "13812345678"  # an administrator sees personal data
    open_needs = c["openNeeds"]
    assert open_needs["totalCount"] == 2
    assert [n["urgency"] for n in open_needs["nodes"]] == [5, 4]  # most urgent first
    soon = next(a for a in c["activities"] if a["title"] == "义善庐陵·敬老助餐")
    assert soon["placesLeft"] == 2 and soon["signedUpCount"] == 1  # a cancelled one frees it


NEED = """
query($id: ID!) {
  need(id: $id) {
    __typename id title tier status overdue arrivedOnTime resolvedOnTime allowedActions
    reporterName reporterPhone arriveBy resolveBy
    community { name } grid { code } compound { name } consultation { topic }
    duplicateOf { id } mergedInto { id } reporter { name }
    skills { code } resources { __typename kind quantity }
    assignments { __typename quantity active person { name } team { name }
                  resource { name } need { title } }
    events { __typename action fromStatus toStatus actorName at need { title } }
    latestEvent { action } signUps { status }
  }
}"""


def test_read_need_with_history_deadlines_and_assignees(client: TestClient, county: County) -> None:
    n = gql(
        client,
        NEED,
        {"id": county.gid("Need", "need_overdue")},
        token=county.token("county_coordinator"),
    )["data"]["need"]
    assert n["status"] == "DISPATCHED" and n["overdue"] is True
    assert n["arrivedOnTime"] is None  # nobody has arrived: not known yet, however late
    assert n["allowedActions"] == ["DISPATCH", "ARRIVE", "ESCALATE", "RETURN", "MERGE", "ALLOCATE"]
    assert [e["action"] for e in n["events"]] == ["REPORT", "ACCEPT", "DISPATCH"]
    assert n["latestEvent"] == {"action": "DISPATCH"}
    kinds = sorted(
        "person" if a["person"] else "resource" if a["resource"] else "team"
        for a in n["assignments"]
    )
    assert kinds == ["person", "resource"]
    assert n["community"]["name"] == "泉塘社区" and n["grid"]["code"] == "QT-02"


REQUEST = """
query($id: ID!) {
  enterpriseRequest(id: $id) {
    __typename title kind status overdue resolvedOnTime allowedActions deadline
    enterprise { __typename name creditCode contactPhone community { name }
                 requests { title } }
    helper { name expertise }
    events { __typename action fromStatus toStatus at request { title } }
  }
}"""


def test_read_enterprise_request_with_events(client: TestClient, county: County) -> None:
    r = gql(
        client,
        REQUEST,
        {"id": county.gid("EnterpriseRequest", "req_late")},
        token=county.token("county_coordinator"),
    )["data"]["enterpriseRequest"]
    assert r["overdue"] is True and r["resolvedOnTime"] is None
    assert r["allowedActions"] == ["ASSIGN", "NOTE", "RESOLVE"]
    assert [e["action"] for e in r["events"]] == ["SUBMIT", "ASSIGN"]
    assert r["helper"] == {"name": "赵小赣", "expertise": ["FINANCING"]}
    assert len(r["enterprise"]["requests"]) == 3


JOB = """
query($id: ID!) {
  matchingJob(id: $id) {
    __typename status kinds weights seatsFilled scopeCommunity { name } parentJob { id }
    proposals(first: 10) { totalCount nodes { __typename kind cost status reasons message
      job { status } need { title } enterpriseRequest { title } person { name }
      resource { name } } }
    accepted: proposals(status: [ACCEPTED]) { totalCount nodes { cost } }
    unmatched { __typename seatsOpen reasons message need { title } enterpriseRequest { id } }
  }
}"""


def test_read_matching_job_with_proposals_and_unmatched(client: TestClient, county: County) -> None:
    j = gql(
        client,
        JOB,
        {"id": county.gid("MatchingJob", "job")},
        token=county.token("county_coordinator"),
    )["data"]["matchingJob"]
    assert j["weights"] == {"distance": 1.0} and j["scopeCommunity"]["name"] == "泉塘社区"
    assert [p["cost"] for p in j["proposals"]["nodes"]] == [1.0, 2.0, 3.0, 5.0]  # cheapest first
    assert j["proposals"]["nodes"][0]["reasons"] == [{"code": "SKILL", "message": "会电工"}]
    assert j["accepted"] == {"totalCount": 1, "nodes": [{"cost": 1.0}]}
    assert j["unmatched"][0]["need"]["title"] == "山体滑坡隐患"


def test_read_skills_and_every_node_type_by_id(client: TestClient, county: County) -> None:
    skills = gql(client, "{ skills { id code } }")["data"]["skills"]
    assert [s["code"] for s in skills] == ["electrician", "legal", "psych"]
    ids = {
        "Community": "quantang",
        "Grid": "grid1",
        "Compound": "compound",
        "Venue": "station",
        "Consultation": "consultation",
        "PairedUnit": "gov",
        "Resource": "van",
        "Person": "volunteer",
        "Skill": "electrician",
        "Team": "team1",
        "Need": "need_open",
        "Enterprise": "enterprise",
        "EnterpriseRequest": "req_new",
        "Activity": "act_soon",
        "SignUp": "signup",
        "MatchingJob": "job",
    }
    gids = [county.gid(t, k) for t, k in ids.items()]
    nodes = gql(
        client,
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        {"ids": gids},
        token=county.token("admin"),
    )["data"]["nodes"]
    assert [n["__typename"] for n in nodes] == list(ids)
    assert [n["id"] for n in nodes] == gids
    children = {"NeedEvent", "NeedAssignment", "EnterpriseRequestEvent", "Proposal"}
    children |= {"NeedOffer"}  # tests/api/graphql/needs/test_offers.py
    # accounts: tested with auth; registry records: tests/registry/test_registry_search.py;
    # sentinel posts: tests/api/graphql/governance/test_sentinel_posts.py
    others = {"Account", "AuditLogEntry", "RegistryRecord", "SentinelPost"}
    # administration: tests/api/graphql/activities/test_administration.py, people/test_members.py
    others |= {"ServiceOrganiser", "InServiceMember", "MemberReport", "MemberEvaluation"}
    assert set(NODE_TYPES) - set(ids) <= children | {"UnmatchedItem"} | others


def test_describe_every_type_field_argument_and_value() -> None:
    from graphql import (
        GraphQLEnumType,
        GraphQLInputObjectType,
        GraphQLInterfaceType,
    )

    schema = build_schema(Settings())._schema
    missing: list[str] = []
    for name, t in schema.type_map.items():
        if name.startswith("__"):
            continue
        kinds = (GraphQLObjectType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLEnumType)
        roots = ("Query", "Mutation", "Subscription")
        if isinstance(t, kinds) and not t.description and name not in roots:
            missing.append(f"type {name}")
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for field_name, fld in t.fields.items():
                if not fld.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(fld, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(t, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in t.values.items() if not value.description]
    assert missing == []
