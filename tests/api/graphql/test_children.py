"""Fields declared with `children_field` (a row's children by foreign key, e.g. a community's
grids): the fast executor reads them for a whole list of parents at once — one permission check
per request, one statement per field — and answers exactly as Strawberry's executor does, with
the same rows, caps, refusals and errors."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
import strawberry
from starlette.testclient import TestClient

from api.app import create_app
from api.auth.permissions import Can
from api.database import Database
from api.graphql.context import Context, Info
from api.graphql.executor import FastExecutor
from api.graphql.relay import RowType, children_field, make_rows, table_columns
from schema import models as m
from schema.accounts import Account
from tests.api.graphql.test_statements import counting
from tests.conftest import make_settings
from tests.county import EVERY_PART, build

CHILDREN = """{ communities(first: 10) { nodes { id name
  grids { id code name kind } compounds { name households } venues { name kind }
  teams { name } consultations { topic } activities { title } } }
  needs(first: 5) { nodes { title community { name grids { code } } } } }"""

# `staff` is an ordinary resolver: the grids' lists go back to graphql-core's path.
MIXED = """{ communities(first: 10) { nodes { name grids { code staff { role } } } } }"""

TWO_FIELDS = """{ communities(first: 50) { nodes { name grids { code } compounds { name } } } }"""


def _post(client: TestClient, query: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post("/graphql", json={"query": query}, headers=headers)
    return response.status_code, response.json()


def test_children_answer_as_strawberrys_for_every_caller(
    engine: sa.Engine, database_url: str
) -> None:
    county = build(engine, *EVERY_PART)
    callers = ["admin", "coordinator", "outsider", "resident", "volunteer", None]
    answers: dict[str, list[Any]] = {}
    for executor in ("fast", "strawberry"):
        settings = make_settings(
            database_url,
            executor=executor,
            max_query_cost=100_000_000,
            cost_budget_per_minute=100_000_000,
        )
        with TestClient(create_app(settings)) as client:
            answers[executor] = [
                _post(client, q, county.token(who) if who else None)
                for who in callers
                for q in (CHILDREN, MIXED)
            ]
    for answer in (*answers["fast"], *answers["strawberry"]):
        answer[1].get("extensions", {}).pop("cost", None)  # the budget refills with time
    assert answers["fast"] == answers["strawberry"]
    status, admin = answers["fast"][0]
    assert status == 200 and "errors" not in admin, admin
    communities = admin["data"]["communities"]["nodes"]
    assert any(c["grids"] for c in communities) and any(c["compounds"] for c in communities)
    assert any(n["community"]["grids"] for n in admin["data"]["needs"]["nodes"])
    assert answers["fast"][1][1]["data"]["communities"]["nodes"], answers["fast"][1]


def test_each_children_field_of_a_page_is_one_statement(
    engine: sa.Engine, database_url: str
) -> None:
    county = build(engine)
    settings = make_settings(database_url, executor="fast", max_query_cost=100_000_000)
    with TestClient(create_app(settings)) as client:
        token = county.token("admin")
        _post(client, TWO_FIELDS, token)  # warm
        with counting(client) as seen:
            status, answer = _post(client, TWO_FIELDS, token)
    assert status == 200 and "errors" not in answer, answer
    statements = [s for s in seen if not s.lstrip().upper().startswith("PRAGMA")]
    # The page, the grids of all its communities, their compounds (the token check is cached).
    assert sum("FROM community" in s for s in statements) == 1, statements
    assert sum("FROM grid" in s for s in statements) == 1, statements
    assert sum("FROM compound" in s for s in statements) == 1, statements


def test_only_permissions_asked_the_same_for_every_object_are_asked_once() -> None:
    assert Can("reference.read").same_for_every_object
    assert not Can("need.report").same_for_every_object  # counted per call (rate limit)


# A schema of its own: children behind a permission only some callers have, capped at 1.


@strawberry.type
class Spot(RowType):
    __model__ = m.Grid

    code: str


@strawberry.type
class Place(RowType):
    __model__ = m.Community

    name: str
    spots: list[Spot] = children_field(
        Spot,
        "community_id",
        order_by=[m.Grid.code.desc()],
        cap=1,
        description="Its last grid by code.",
        permission_classes=[Can("person.read")],
    )


@strawberry.type
class Query:
    @strawberry.field
    async def places(self, info: Info) -> list[Place]:
        model = m.Community
        names, rows = await info.context.db.select(
            sa.select(*table_columns(model)).order_by(model.id)
        )
        return make_rows(Place, names, rows)


PLACES = "{ places { name spots { code } } }"


async def _places(url: str, account: Account | None, fast: bool) -> tuple[Any, list[Any]]:
    settings = make_settings(url)
    db = Database(url)
    schema = strawberry.Schema(Query, execution_context_class=FastExecutor if fast else None)
    try:
        ctx = Context(request=None, response=None, db=db, settings=settings, account=account)  # type: ignore[arg-type]  # no HTTP request in a direct call
        result = await schema.execute(PLACES, context_value=ctx)
    finally:
        await db.dispose()
    errors = [(e.path, e.message, (e.extensions or {}).get("code")) for e in result.errors or []]
    return result.data, errors


def test_a_refused_children_field_is_refused_per_object_as_before(
    engine: sa.Engine, database_url: str
) -> None:
    county = build(engine)
    for who in ("coordinator", "admin", "resident", None):
        account = county.account(who) if who else None
        fast = asyncio.run(_places(database_url, account, fast=True))
        plain = asyncio.run(_places(database_url, account, fast=False))
        assert fast == plain, who
        data, errors = fast
        if who in ("coordinator", "admin"):
            assert not errors and data is not None
            assert all(len(p["spots"]) <= 1 for p in data["places"])
            assert any(p["spots"] for p in data["places"])
        else:
            assert data is None and errors, who  # a non-null list refused: nothing shown
            assert {code for _, _, code in errors} <= {"FORBIDDEN", "UNAUTHENTICATED"}
