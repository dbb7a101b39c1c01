"""Cursor connections: forward and backward, cursors, limits, totalCount, nested connections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.graphql.relay import MAX_PAGE
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql

PAGE = """query($first: Int, $after: String, $last: Int, $before: String) {
  communities(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
    nodes { name }
  }
}"""


@pytest.fixture
def names(engine: sa.Engine) -> list[str]:
    out = [f"社区{i:02d}" for i in range(25)]
    for name in reversed(out):  # inserted in reverse: the order comes from ORDER BY, not ids
        f.community(engine, name=name)
    return out


@pytest.fixture
def token(engine: sa.Engine) -> str:
    """Communities and grids are reference data: read as a signed-in caller."""
    return f.signed_in_token(engine)


def page(client: TestClient, token: str, **args: object) -> dict:
    return gql(client, PAGE, args, token=token)["data"]["communities"]


def test_page_forward_through_every_item(client: TestClient, names: list[str], token: str) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        p = page(client, token, first=10, after=after)
        assert p["totalCount"] == 25
        assert [e["node"]["name"] for e in p["edges"]] == [n["name"] for n in p["nodes"]]
        seen += [n["name"] for n in p["nodes"]]
        assert p["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert p["pageInfo"]["endCursor"] == p["edges"][-1]["cursor"]
        pages += 1
        if not p["pageInfo"]["hasNextPage"]:
            break
        after = p["pageInfo"]["endCursor"]
    assert seen == names and pages == 3


def test_page_backward_through_every_item(client: TestClient, names: list[str], token: str) -> None:
    seen: list[str] = []
    before = None
    while True:
        p = page(client, token, last=10, before=before)
        seen = [n["name"] for n in p["nodes"]] + seen
        assert p["pageInfo"]["startCursor"] == p["edges"][0]["cursor"]
        if not p["pageInfo"]["hasPreviousPage"]:
            break
        assert p["pageInfo"]["hasNextPage"] is (before is not None)
        before = p["pageInfo"]["startCursor"]
    assert seen == names


def test_page_from_a_middle_cursor_both_ways(
    client: TestClient, names: list[str], token: str
) -> None:
    first = page(client, token, first=12)
    cursor = first["edges"][11]["cursor"]  # the 12th item
    assert [n["name"] for n in page(client, token, first=3, after=cursor)["nodes"]] == names[12:15]
    assert [n["name"] for n in page(client, token, last=3, before=cursor)["nodes"]] == names[8:11]


def test_return_default_page_of_twenty(client: TestClient, names: list[str], token: str) -> None:
    p = page(client, token)
    assert len(p["nodes"]) == 20 and p["pageInfo"]["hasNextPage"] is True


def test_return_empty_page_for_zero(client: TestClient, names: list[str], token: str) -> None:
    p = page(client, token, first=0)
    assert p["nodes"] == [] and p["totalCount"] == 25 and p["pageInfo"]["endCursor"] is None


def test_return_full_page_of_a_hundred(client: TestClient, engine: sa.Engine, token: str) -> None:
    c = f.community(engine)
    for _ in range(MAX_PAGE + 1):
        f.grid(engine, c.id)
    data = gql(
        client,
        "{ grids(first: 100) { totalCount pageInfo { hasNextPage } nodes { code } } }",
        token=token,
    )
    grids = data["data"]["grids"]
    assert len(grids["nodes"]) == 100 and grids["totalCount"] == 101
    assert grids["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"first": 101}, "exceeds the maximum page size of 100"),
        ({"last": 500}, "exceeds the maximum page size of 100"),
        ({"first": -1}, "must not be negative"),
        ({"first": 5, "last": 5}, "either `first` or `last`"),
        ({"first": 5, "before": "x"}, "`before` goes with `last`"),
        ({"last": 5, "after": "x"}, "`after` goes with `first`"),
        ({"first": 5, "after": "bm90IGEgY3Vyc29y"}, "invalid cursor"),
        ({"first": 5, "after": "!!"}, "invalid cursor"),
    ],
)
def test_refuse_bad_page_arguments(
    client: TestClient, names: list[str], token: str, args: dict, message: str
) -> None:
    body = gql(client, PAGE, args, token=token, expect_errors=True)
    (error,) = body["errors"]
    assert message in error["message"] and error["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["data"] is None


def test_refuse_cursor_of_another_ordering(
    client: TestClient, engine: sa.Engine, token: str
) -> None:
    c = f.community(engine)
    f.grid(engine, c.id)
    grids = gql(client, "{ grids { pageInfo { endCursor } } }", token=token)["data"]["grids"]
    cursor = grids["pageInfo"]
    body = gql(
        client, PAGE, {"first": 1, "after": cursor["endCursor"]}, token=token, expect_errors=True
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_page_needs_in_each_ordering(client: TestClient, engine: sa.Engine) -> None:
    c = f.community(engine)
    now = datetime.now(UTC)
    for i in range(7):
        f.need(
            engine, c.id, title=f"诉求{i}", urgency=1 + i % 5, reported_at=now - timedelta(hours=i)
        )
    token = f.token_for(f.account(engine, Role.COORDINATOR))
    query = """query($order: NeedOrder, $after: String) {
      needs(orderBy: $order, first: 3, after: $after) {
        pageInfo { endCursor hasNextPage } nodes { title urgency reportedAt } } }"""
    for field in ("REPORTED_AT", "UPDATED_AT", "URGENCY", "RESOLVE_BY"):
        for direction in ("ASC", "DESC"):
            order = {"field": field, "direction": direction}
            seen, after = [], None
            while True:
                p = gql(client, query, {"order": order, "after": after}, token=token)
                p = p["data"]["needs"]
                seen += p["nodes"]
                if not p["pageInfo"]["hasNextPage"]:
                    break
                after = p["pageInfo"]["endCursor"]
            assert len(seen) == 7 and len({n["title"] for n in seen}) == 7
            if field == "URGENCY":
                urg = [n["urgency"] for n in seen]
                assert urg == sorted(urg, reverse=direction == "DESC")
            if field == "REPORTED_AT":
                at = [n["reportedAt"] for n in seen]
                assert at == sorted(at, reverse=direction == "DESC")


def test_page_nested_connection_per_parent(client: TestClient, engine: sa.Engine) -> None:
    a, b = f.community(engine), f.community(engine)
    for i in range(5):
        f.person(engine, name=f"甲{i}", registered_community_id=a.id)
    for i in range(2):
        f.person(engine, name=f"乙{i}", registered_community_id=b.id)
    token = f.token_for(f.account(engine, Role.COORDINATOR))
    query = """query($after: String) { communities { nodes { name
      members(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        nodes { name } } } } }"""
    nodes = gql(client, query, token=token)["data"]["communities"]["nodes"]
    by_name = {n["name"]: n["members"] for n in nodes}
    ma, mb = by_name[a.name], by_name[b.name]
    assert [p["name"] for p in ma["nodes"]] == ["甲0", "甲1", "甲2"]
    assert ma["totalCount"] == 5 and ma["pageInfo"]["hasNextPage"] is True
    assert [p["name"] for p in mb["nodes"]] == ["乙0", "乙1"] and mb["totalCount"] == 2
    assert mb["pageInfo"]["hasNextPage"] is False
    one = """query($id: ID!, $after: String) { community(id: $id) {
      members(first: 3, after: $after) { nodes { name } pageInfo { hasNextPage } } } }"""
    gid_a = next(
        n
        for n in gql(client, "{ communities { nodes { id name } } }", token=token)["data"][
            "communities"
        ]["nodes"]
        if n["name"] == a.name
    )["id"]
    rest = gql(client, one, {"id": gid_a, "after": ma["pageInfo"]["endCursor"]}, token=token)
    members = rest["data"]["community"]["members"]
    assert [p["name"] for p in members["nodes"]] == ["甲3", "甲4"]
    assert members["pageInfo"]["hasNextPage"] is False
