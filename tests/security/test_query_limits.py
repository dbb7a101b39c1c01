"""Hostile documents are refused before they cost anything: bounded validation, query cost,
list caps, and the per-minute cost budget (api/graphql/cost.py, limits.py, budget.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import parse
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.budget import CostBudget, RedisCostBudget
from api.graphql.cost import Limits, QueryRefused
from api.graphql.limits import cost_model
from api.graphql.schema import build_schema
from api.settings import Settings
from schema.enums import Role
from tests import factories as f
from tests.conftest import make_settings

GQL_RESPONSE = "application/graphql-response+json"
MODEL = cost_model(build_schema(Settings()))


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next twice: 2^levels selections once expanded."""
    body = " ".join(
        f"fragment F{i} on Skill {{ id ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ skills {{ ...F0 }} }} {body} fragment F{levels} on Skill {{ id }}"


def post(
    client: TestClient, query: str, token: str | None = None, **variables: Any
) -> tuple[int, dict[str, Any]]:
    headers = {"accept": GQL_RESPONSE} | ({"authorization": f"Bearer {token}"} if token else {})
    r = client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    return r.status_code, r.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def analyse(query: str, variables: dict[str, Any] | None = None, **limits: Any) -> Any:
    return MODEL.analyse(parse(query), None, variables, Limits(**limits))


# --- validation in bounded time ------------------------------------------------------------


@pytest.mark.parametrize("levels", [20, 40])
def test_refuse_fragment_bomb_at_once(client: TestClient, levels: int) -> None:
    started = time.perf_counter()
    status, body = post(client, fragment_bomb(levels))
    elapsed = time.perf_counter() - started
    assert status == 400
    assert codes(body) == ["QUERY_TOO_COMPLEX"]
    assert elapsed < 5  # minutes before the fix; generous for a noisy machine
    assert client.get("/healthz").status_code == 200


def test_measure_fragments_once_each() -> None:
    # 2^40 selections once expanded, yet measured in a few dozen steps: the refusal names
    # the expanded size it saw.
    with pytest.raises(QueryRefused) as refused:
        analyse(fragment_bomb(40))
    assert refused.value.code == "QUERY_TOO_COMPLEX"
    assert refused.value.extensions["selections"] > 1000


def test_count_aliases_and_depth_through_fragments() -> None:
    aliased = "{ ...A } fragment A on Query { " + " ".join(
        f"a{i}: countyStats {{ pairedUnits }}" for i in range(16)
    )
    with pytest.raises(QueryRefused) as refused:
        analyse(aliased + " } query Q { ...A ...B } fragment B on Query { ...A }")
    assert refused.value.code == "TOO_MANY_ALIASES"
    deep = "{ communities { nodes { ...G } } } fragment G on Community " + (
        "{ grids { community " * 6 + "{ name }" + " } }" * 6
    )
    with pytest.raises(QueryRefused) as too_deep:
        analyse(deep)
    assert too_deep.value.code == "QUERY_TOO_DEEP"


@pytest.mark.parametrize(
    "document",
    [
        "{ skills { " + "id " * 200 + "} }",  # wide duplication: quadratic in graphql-core
        "{ " + " ".join("s: skills { id }" for _ in range(100)) + " }",
        "{ skills { " + " ".join("... on Skill { id }" for _ in range(100)) + " } }",
    ],
    ids=["same field", "same alias", "inline fragments"],
)
def test_refuse_duplicated_fields(client: TestClient, document: str) -> None:
    status, body = post(client, document)
    assert status == 400 and codes(body) == ["QUERY_TOO_COMPLEX"]


def test_refuse_too_many_fragments_and_directives(client: TestClient) -> None:
    many = "{ skills { id } } " + " ".join(f"fragment F{i} on Skill {{ id }}" for i in range(101))
    assert codes(post(client, many)[1]) == ["QUERY_TOO_COMPLEX"]
    flood = "{ skills { id " + "@include(if: true) " * 11 + "} }"
    assert codes(post(client, flood)[1]) == ["QUERY_TOO_COMPLEX"]


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(1, 8),
    depth=st.integers(1, 30),
    doubled=st.booleans(),
)
def test_measure_any_fragment_chain_quickly(width: int, depth: int, doubled: bool) -> None:
    """Chains of fragments each spreading the next `width` times: the analysis takes time
    linear in the document, whatever the expansion."""
    spreads = lambda i: " ".join([f"...F{i + 1}"] * (width * (2 if doubled else 1)))  # noqa: E731
    body = " ".join(f"fragment F{i} on Skill {{ id {spreads(i)} }}" for i in range(depth))
    document = parse(f"{{ skills {{ ...F0 }} }} {body} fragment F{depth} on Skill {{ name }}")
    started = time.perf_counter()
    try:
        MODEL.analyse(document, None, None, Limits())
    except QueryRefused as refused:
        assert refused.code in ("QUERY_TOO_COMPLEX", "QUERY_TOO_DEEP")
    assert time.perf_counter() - started < 0.5


# --- cost ----------------------------------------------------------------------------------


def test_cost_connections_by_page_and_lists_by_cap() -> None:
    page = analyse("{ needs(first: 10) { nodes { id community { name } } } }")
    assert page.cost == 2 + 10 * (1 + 1)  # the connection, then per node: itself, community
    bigger = analyse("{ needs(first: 100) { nodes { id community { name } } } }")
    assert bigger.cost == 2 + 100 * 2
    by_variable = analyse("query($n: Int) { needs(first: $n) { nodes { id } } }", {"n": 5})
    assert by_variable.cost == 2 + 5
    capped = analyse("{ skills { id } }")
    assert capped.cost == MODEL.caps[("Query", "skills")]


def test_measures_are_remembered_per_document_variables_and_limits() -> None:
    """One document measured again with the same variables is not walked again; other
    variables, other limits or another operation are measured for themselves, and a refusal is
    never remembered as a pass."""
    document = parse(
        "query A($n: Int) { needs(first: $n) { nodes { id } } } query B { skills { id } }"
    )
    five = MODEL.analyse(document, "A", {"n": 5}, Limits())
    assert MODEL.analyse(document, "A", {"n": 5}, Limits()) is five
    assert MODEL.analyse(document, "A", {"n": 50}, Limits()).cost == 2 + 50
    assert MODEL.analyse(document, "B", {"n": 5}, Limits()).cost == MODEL.caps[("Query", "skills")]
    with pytest.raises(QueryRefused):
        MODEL.analyse(document, "A", {"n": 5}, Limits(max_cost=3))
    with pytest.raises(QueryRefused):  # again: refusals are measured each time
        MODEL.analyse(document, "A", {"n": 5}, Limits(max_cost=3))
    assert MODEL.analyse(document, "A", {"n": 5}, Limits()) is five
    # The same text parsed again is another document: measured anew, to the same figure.
    assert analyse("query($n: Int) { needs(first: $n) { nodes { id } } }", {"n": 5}).cost == 7
    # Variables JSON cannot encode are measured without being remembered.
    huge = MODEL.analyse(document, "A", {"n": 5, "x": 2**70}, Limits())
    assert huge.cost == five.cost and huge is not five


def test_every_plain_list_of_objects_is_capped() -> None:
    assert MODEL.uncapped_lists() == []


def test_refuse_nested_lists_before_running(client: TestClient, engine: sa.Engine) -> None:
    volunteer = f.account(engine, Role.VOLUNTEER)
    document = (
        "{activities(first:1){nodes{signUps{person{signUps{activity{signUps{person{signUps"
        "{id}}}}}}}}}}"
    )
    status, body = post(client, document, token=f.token_for(volunteer))
    assert status == 400
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] > error["extensions"]["limit"] == 20_000
    assert body["extensions"]["cost"]["requested"] == error["extensions"]["cost"]


def test_refuse_aliased_anonymous_list_nesting(client: TestClient) -> None:
    one = 'activity(id: "QWN0aXZpdHk6MQ==") { signUps { activity { signUps { id } } } }'
    document = "{ " + " ".join(f"a{i}: {one}" for i in range(10)) + " }"
    status, body = post(client, document)
    assert status == 400 and codes(body) == ["QUERY_TOO_COSTLY"]


def test_cap_plain_lists_when_they_resolve(client: TestClient, engine: sa.Engine) -> None:
    cap = MODEL.caps[("Query", "skills")]
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO skill (code, name) VALUES (:code, :name)"),
            [{"code": f"s{i:04d}", "name": f"技能{i}"} for i in range(cap + 5)],
        )
    _, body = post(client, "{ skills { code } }")
    assert len(body["data"]["skills"]) == cap  # the estimate is a true upper bound
    sdl = build_schema(Settings()).as_str()
    assert f"At most {cap}." in sdl  # and the schema says so


def test_report_cost_on_every_response(client: TestClient) -> None:
    _, body = post(client, "{ skills { id } }")
    cost = body["extensions"]["cost"]
    assert cost["requested"] == 200 and cost["limit"] == 20_000  # the list's cap
    assert cost["remaining"] == cost["budgetPerMinute"] - 200
    _, bad = post(client, "{ countyStats { ")
    assert "cost" in bad["extensions"]


# --- budget --------------------------------------------------------------------------------


@pytest.fixture
def tight(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(database_url, cost_budget_anonymous_per_minute=300)
    with TestClient(create_app(settings)) as c:
        yield c


def test_spend_budget_then_refuse_with_retry_time(tight: TestClient) -> None:
    query = "{ skills { id } }"  # 200 points: its cap
    status, first = post(tight, query)
    assert status == 200 and first["extensions"]["cost"]["remaining"] == 100
    status, refused = post(tight, query)
    assert status == 429
    (error,) = refused["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= error["extensions"]["retryAfter"] <= 60
    r = tight.post("/graphql", json={"query": query})  # application/json: 429 too
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # A cheap query still fits in what is left.
    assert post(tight, "{ __typename }")[0] == 200


def test_refill_budget_over_time() -> None:
    now = [0.0]
    budget = CostBudget(clock=lambda: now[0])
    assert budget.spend("k", 60, 60).allowed
    assert not budget.spend("k", 1, 60).allowed
    now[0] = 30.0  # half a minute: half the budget back
    spent = budget.spend("k", 30, 60)
    assert spent.allowed and spent.remaining == 0


def _redis_url() -> str | None:
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/15", socket_connect_timeout=0.2).ping()
    except Exception:
        return None
    return "redis://127.0.0.1:6379/15"


def test_share_budget_through_redis() -> None:
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis on 127.0.0.1:6379")
    first, second = (
        RedisCostBudget(url, prefix="luling:test:cost"),
        RedisCostBudget(url, prefix="luling:test:cost"),
    )
    first.reset()
    assert first.spend("k", 50, 60).allowed
    refused = second.spend("k", 20, 60)  # another process sees what the first spent
    assert not refused.allowed and refused.remaining == 10 and refused.retry_after > 0
    first.reset()


def test_refuse_deeply_nested_inline_fragments(client: TestClient) -> None:
    nested = "{ " + "... on Query { " * 40 + "__typename" + " }" * 40 + " }"
    status, body = post(client, nested)
    assert status == 400 and codes(body) == ["QUERY_TOO_DEEP"]
    assert body["errors"][0]["extensions"]["nesting"] > 30


def test_refuse_documents_of_many_operations(client: TestClient) -> None:
    document = " ".join(f"query Q{i} {{ __typename }}" for i in range(51))
    r = client.post(
        "/graphql",
        json={"query": document, "operationName": "Q0"},
        headers={"accept": GQL_RESPONSE},
    )
    assert r.status_code == 400 and codes(r.json()) == ["QUERY_TOO_COMPLEX"]


def test_refuse_huge_variables_before_coercing_them(client: TestClient) -> None:
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    status, body = post(client, query, ids=["QWN0aXZpdHk6MQ=="] * 10_001)
    assert status == 400 and codes(body) == ["QUERY_TOO_COMPLEX"]


# --- found by attacking the first version from outside ---------------------------------------


def test_refuse_long_documents_before_parsing(client: TestClient) -> None:
    # Whitespace is no token: half a million line breaks cost graphql-core seconds to place
    # 100 errors on their lines.
    newlines = "{" + "\n" * 499_000 + " ".join(f"a{i}" for i in range(101)) + "}"
    status, body = post(client, newlines)
    assert status == 400 and codes(body) == ["QUERY_TOO_LARGE"]
    commented = "query { __typename } #" + "x" * 40_000
    assert codes(post(client, commented)[1]) == ["QUERY_TOO_LARGE"]
    lines = "{" + "\n" * 1_990 + " ".join(f"a{i}" for i in range(101)) + "}"
    status, body = post(client, lines)
    assert status == 400 and len(body["errors"]) <= 11  # validation stops after 10 errors


def test_cost_variables_by_their_defaults_and_integral_floats() -> None:
    query = "query($n: Int = 100) { needs(first: $n) { nodes { id } } }"
    assert analyse(query).cost == 2 + 100
    assert analyse(query, {"n": 5}).cost == 2 + 5
    assert analyse("query($n: Int) { needs(first: $n) { nodes { id } } }", {"n": 100.0}).cost == 102


def test_charge_expensive_fields_their_own_cost(client: TestClient) -> None:
    stats = "{ " + " ".join(f"a{i}: countyStats {{ pairedUnits }}" for i in range(24)) + " }"
    assert codes(post(client, stats)[1]) == ["QUERY_TOO_COSTLY"]
    one = analyse('{ needCandidates(needId: "TmVlZDox", limit: 1) { rank } }')
    assert one.cost >= 10_000


def test_limit_what_a_subscription_may_select() -> None:
    board = (
        "subscription($c: ID!) { needEvents(communityId: $c) { action need { title "
        "community { openNeeds(first: 100) { nodes { title skills { name } } } } } } }"
    )
    with pytest.raises(QueryRefused) as refused:
        analyse(board, {"c": "Q29tbXVuaXR5OjE="})
    assert refused.value.code == "QUERY_TOO_COSTLY" and refused.value.extensions["limit"] == 1_000


def test_refuse_out_of_range_times_as_client_errors(client: TestClient) -> None:
    for moment in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        query = "query($t: DateTime) { countyStats(reportedTo: $t) { pairedUnits } }"
        _, body = post(client, query, t=moment)
        assert codes(body) == ["BAD_USER_INPUT"], body
        literal = f'{{ countyStats(reportedFrom: "{moment}") {{ pairedUnits }} }}'
        assert "INTERNAL" not in codes(post(client, literal)[1])


def test_echo_only_a_prefix_of_what_was_sent(client: TestClient) -> None:
    _, body = post(client, "{ " + "x" * 5_000 + " }")
    (error,) = body["errors"]
    assert len(error["message"]) < 120 and "x" * 32 + "…" in error["message"]
