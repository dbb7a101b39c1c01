"""Rate limits (api/auth/ratelimit.py): the sliding window in memory and through Redis, logins per
username and address, need reports per caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
import strawberry
from starlette.testclient import TestClient

from api.app import create_app
from api.auth.permissions import Can
from api.auth.ratelimit import RateLimiter, RateLimits, RedisRateLimiter
from api.database import Database
from api.graphql.context import Context
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql, make_settings
from tests.loop import audit_rows

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { token userErrors { code } }
}"""


def test_limit_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(3, 60, clock=lambda: now[0])
    assert [limiter.check("k") for _ in range(4)] == [True, True, True, False]
    assert limiter.check("other")
    now[0] = 59.0
    assert not limiter.check("k")
    now[0] = 60.5  # the first three hits left the window
    assert limiter.check("k") and limiter.check("k") and limiter.check("k")
    assert not limiter.check("k")


def _redis_url() -> str | None:
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except redis.RedisError:
        return None
    return url


def test_limit_through_redis() -> None:
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    import uuid

    a = RedisRateLimiter(2, 30, url=url, prefix=f"test:{uuid.uuid4().hex}")
    b = RedisRateLimiter(2, 30, url=url, prefix=a.prefix)  # another process, same counts
    assert a.check("k") and b.check("k") and not a.check("k") and not b.check("k")
    assert a.check("other")
    a.reset()
    assert b.check("k")
    a.reset()


def test_allow_when_redis_is_down() -> None:
    limiter = RedisRateLimiter(1, 30, url="redis://127.0.0.1:1/0", prefix="test:down")
    assert limiter.check("k") and limiter.check("k")


def test_choose_redis_limiter_from_settings(database_url: str) -> None:
    memory = RateLimits.from_settings(make_settings(database_url))
    assert type(memory.limiters["login"]) is RateLimiter
    shared = make_settings(database_url, broadcast_url="redis://127.0.0.1:6379/15")
    assert isinstance(RateLimits.from_settings(shared).limiters["need.report"], RedisRateLimiter)


def test_limit_login_per_username_and_ip(engine: sa.Engine, database_url: str) -> None:
    f.account(engine, Role.RESIDENT, password="right-password", username="target")
    f.account(engine, Role.RESIDENT, password="right-password", username="bystander")
    settings = make_settings(database_url, login_rate_limit=3)
    with TestClient(create_app(settings)) as c:
        for _ in range(3):
            out = gql(c, LOGIN, {"u": "target", "p": "guess"})["data"]["login"]
            assert out["userErrors"][0]["code"] == "UNAUTHENTICATED"
        body = gql(c, LOGIN, {"u": "target", "p": "right-password"}, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert body["data"] is None
        # Another account from the same client is not locked out.
        assert gql(c, LOGIN, {"u": "bystander", "p": "right-password"})["data"]["login"]["token"]


REPORT = """mutation($title: String!) { reportNeed(input: {title: $title,
  category: INFRASTRUCTURE, location: {latitude: 27.05, longitude: 114.92}}) {
  need { id } userErrors { code } } }"""


def test_limit_report_need_per_caller_over_http(engine: sa.Engine, database_url: str) -> None:
    f.community(engine)
    alice, bob = f.account(engine, Role.RESIDENT), f.account(engine, Role.RESIDENT)
    with TestClient(create_app(make_settings(database_url, report_rate_limit=2))) as c:
        for n in range(2):
            gql(c, REPORT, {"title": f"路灯坏了{n}"}, token=f.token_for(alice))
        body = gql(c, REPORT, {"title": "第三次"}, token=f.token_for(alice), expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert gql(c, REPORT, {"title": "别人的"}, token=f.token_for(bob))["data"]["reportNeed"]
    rows = audit_rows(engine)
    assert [r.error_code for r in rows if r.account_id == alice.id] == [None, None, "RATE_LIMITED"]


@strawberry.type
class _Q:
    ok: bool = True


@strawberry.type
class _M:
    @strawberry.mutation(permission_classes=[Can("need.report")])
    def report_need(self) -> bool:
        return True


def test_limit_need_reports_per_caller(engine: sa.Engine, database_url: str) -> None:
    asyncio.run(_limit_need_reports_per_caller(engine, database_url))


async def _limit_need_reports_per_caller(engine: sa.Engine, database_url: str) -> None:
    # Can("need.report") counts every permitted call against the caller, whatever resolver
    # carries it; this runs it on a stand-in mutation (reportNeed's own test lives with it).
    settings = make_settings(database_url, report_rate_limit=2)
    limits, db = RateLimits.from_settings(settings), Database(database_url)
    schema = strawberry.Schema(query=_Q, mutation=_M)
    alice, bob = f.account(engine, Role.RESIDENT), f.account(engine, Role.RESIDENT)

    async def report(account: Any) -> str | None:
        ctx = Context(
            request=_Request(), response=None, db=db, settings=settings, rate_limits=limits
        )
        ctx.account = account
        result = await schema.execute("mutation { reportNeed }", context_value=ctx)
        return None if not result.errors else result.errors[0].extensions["code"]

    try:
        assert [await report(alice) for _ in range(3)] == [None, None, "RATE_LIMITED"]
        assert await report(bob) is None
        assert await report(None) == "UNAUTHENTICATED"  # refused before it is counted
    finally:
        await db.dispose()


class _Request:
    client = None
    headers: dict[str, str] = {}  # noqa: RUF012
