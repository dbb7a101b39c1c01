"""The fast executor (api/graphql/executor.py) answers exactly as Strawberry's own: the same
data, the same errors, field for field, over a county where every table has rows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.executor import FastExecutor
from api.graphql.relay import to_global_id
from api.graphql.schema import build_schema
from api.settings import Settings
from tests.conftest import make_settings
from tests.county import EVERY_PART, build

PAGE = """fragment N on Need { id title status tier category source urgency reportedAt
  resolveBy overdue headcount allowedActions arrivedOnTime resolvedOnTime
  community { id name township mode } grid { code name } }
query Pages($after: String) {
  needs(first: 5, after: $after, orderBy: {field: URGENCY, direction: DESC}) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...N } } nodes { ...N skills { code } events { action at } } }
  communities(first: 10) { nodes { id name kind population
    members(first: 2) { totalCount nodes { id name kind isCommando } }
    openNeeds(last: 2) { pageInfo { hasPreviousPage } nodes { id urgency } }
    grids { code staff { role person { name } } } } }
  enterpriseRequests(first: 10) { nodes { id title status overdue deadline
    enterprise { name industry } helper { name } events { action toStatus } } }
  activities(first: 10) { nodes { id title status placesLeft signedUpCount
    community { name } venue { name } skills { code } } }
  matchingJobs(first: 5) { nodes { id status kinds weights
    proposals(first: 3) { nodes { kind cost reasons need { title } person { name } } }
    unmatched { seatsOpen message } } }
}"""

NODES = """query Nodes($ids: [ID!]!) { nodes(ids: $ids) { __typename id
  ... on Community { name } ... on Consultation { topic community { name } } } }"""

ERRORS = """{ need(id: "not-an-id") { id } communities(first: 1) { nodes { name } } }"""
TOO_LONG = """{ needs(first: 101) { totalCount } }"""


def _post(client: TestClient, query: str, variables: dict[str, Any], token: str) -> Any:
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json()


def test_the_setting_picks_the_executor() -> None:
    assert build_schema(Settings(executor="fast")).execution_context_class is FastExecutor
    assert build_schema(Settings(executor="strawberry")).execution_context_class is not (
        FastExecutor
    )


def test_fast_executor_answers_as_strawberrys(engine: sa.Engine, database_url: str) -> None:
    county = build(engine, *EVERY_PART)
    token = county.token("coordinator")
    ids = [
        county.gid("Community", "hengxi"),
        county.gid("Consultation", "consultation"),
        to_global_id("Need", 2**31 - 1),  # no such row: null, as Strawberry answers it
    ]
    requests = [(PAGE, {}), (NODES, {"ids": ids}), (ERRORS, {}), (TOO_LONG, {})]
    answers: dict[str, list[Any]] = {}
    for executor in ("fast", "strawberry"):
        settings = make_settings(
            database_url,
            executor=executor,
            max_query_cost=100_000_000,
            cost_budget_per_minute=100_000_000,
        )
        with TestClient(create_app(settings)) as client:
            answers[executor] = [_post(client, q, v, token) for q, v in requests]
    for answer in (*answers["fast"], *answers["strawberry"]):
        answer[1].get("extensions", {}).pop("cost", None)  # the budget refills with time
    assert answers["fast"] == answers["strawberry"]
    (status, page), (_, nodes), (_, errors), (_, too_long) = answers["fast"]
    assert status == 200 and "errors" not in page, page
    assert "errors" not in nodes, nodes
    data = page["data"]
    assert data["needs"]["nodes"] and data["communities"]["nodes"]
    assert data["enterpriseRequests"]["nodes"] and data["matchingJobs"]["nodes"]
    assert [n and n["__typename"] for n in nodes["data"]["nodes"]] == [
        "Community",
        "Consultation",
        None,
    ]
    assert [e["extensions"]["code"] for e in errors["errors"]] == ["BAD_USER_INPUT"]
    assert errors["data"]["need"] is None and errors["data"]["communities"]["nodes"]
    assert [e["extensions"]["code"] for e in too_long["errors"]] == ["BAD_USER_INPUT"]
