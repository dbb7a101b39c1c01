"""A request leaves no reference cycles behind: what it built is freed by reference counting
when it ends, not by the cyclic collector, whose pauses under load (~100 ms of CPU for a
collection of the middle generation) were the p99 of small queries (issue 16)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
from typing import Any

import orjson
import sqlalchemy as sa

from api.app import create_app
from schema.enums import Role
from tests import factories as f
from tests.conftest import make_settings

# A page (its to-one relation joined) and a to-many relation read through a DataLoader.
QUERY = orjson.dumps(
    {
        "query": "{ needs(first: 2) { nodes { id title community { name } } } "
        "communities(first: 2) { nodes { name grids { code } } } }"
    }
)


async def _serve_requests(app: Any, token: str, n: int) -> None:
    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(QUERY)).encode()),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }  # fmt: skip
    loop = asyncio.get_running_loop()
    for _ in range(n):
        sent: list[dict[str, Any]] = []
        given = False

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:
                await asyncio.sleep(3600)
            given = True
            return {"type": "http.request", "body": QUERY, "more_body": False}

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        # As the ASGI server does: each request is a task of its own.
        await loop.create_task(app(dict(scope), receive, send), context=contextvars.Context())
        assert sent[0]["status"] == 200 and b'"errors"' not in sent[1]["body"], sent
        del receive, send


def test_a_request_leaves_no_cyclic_garbage(engine: sa.Engine, database_url: str) -> None:
    community = f.community(engine)
    f.grid(engine, community.id)
    f.need(engine, community.id)
    token = f.token_for(f.account(engine, Role.ADMIN))
    app = create_app(make_settings(database_url))

    async def run() -> list[str]:
        async with app.router.lifespan_context(app):
            await _serve_requests(app, token, 3)  # warm: plans, caches, the pool
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                await _serve_requests(app, token, 5)
                gc.collect()
                return [type(o).__qualname__ for o in gc.garbage]
            finally:
                gc.set_debug(0)
                gc.garbage.clear()

    left = asyncio.run(run())
    # Cycles of one request hold its executor, its GraphQL context (with its loaders and their
    # rows) or the HTTP gate's state.
    ours = {"FastExecutor", "Context", "_Exchange", "Request", "TimerHandle", "Grid", "DataLoader"}
    assert not ours.intersection(left), sorted(set(left))
