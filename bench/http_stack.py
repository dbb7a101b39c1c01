"""What the HTTP side costs per request: the whole ASGI application (gate, CORS, router,
GraphQL-over-HTTP view, token check, context, encoding) driven in process, without sockets,
against `schema.execute` alone on the same operation, in CPU time per request.

    python bench/http_stack.py [--database-url postgresql://…] [--requests 2000]

The operation is `{ __typename }` signed in as an administrator (a bearer token, checked on
every request), so that execution costs almost nothing and the difference is the stack's own
fixed cost. Without --database-url a temporary SQLite database with the reference county is
used (as bench/api.py does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import SECRET, coordinator_token, prepare_database  # noqa: E402

QUERY = json.dumps({"query": "{ __typename }"}).encode()


def _scope(app: Any, token: str) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(QUERY)).encode()),
    ]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip


async def measure(url: str, token: str, requests: int) -> dict[str, float]:
    from starlette.requests import Request
    from strawberry.types.graphql import OperationType

    from api.app import LulingGraphQL, create_app
    from api.graphql.context import Context
    from api.settings import Settings

    # The default log level: the access line of every request is part of the cost (written to
    # /dev/null here, see main).
    app = create_app(Settings(DATABASE_URL=url, secret_key=SECRET))
    view = next(r.app for r in app.routes if isinstance(getattr(r, "app", None), LulingGraphQL))

    async def over_asgi() -> None:
        sent: list[dict[str, Any]] = []
        done = False

        async def receive() -> dict[str, Any]:
            nonlocal done
            if done:
                await asyncio.sleep(3600)
            done = True
            return {"type": "http.request", "body": QUERY, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(_scope(app, token), receive, send)
        if sent[0]["status"] != 200:
            raise SystemExit(f"the app answered {sent[0]['status']}: {sent[1:]}")

    request = Request({**_scope(app, token), "app": app})

    async def executed() -> None:
        async with view.db.request_scope():
            context = Context(request=request, response=None, db=view.db, settings=view.settings)
            result = await view.schema.execute(
                "{ __typename }", context_value=context,
                allowed_operation_types={OperationType.QUERY},
            )  # fmt: skip
        if result.errors:
            raise SystemExit(f"schema.execute failed: {result.errors}")

    async def cpu_per_request(run: Any) -> float:
        for _ in range(100):  # warm: caches, the pool, the token's account row
            await run()
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for _ in range(requests):
                await run()
            best = min(best, (time.process_time() - start) / requests * 1e6)
        return best

    async with app.router.lifespan_context(app):
        stack = await cpu_per_request(over_asgi)
        alone = await cpu_per_request(executed)
    return {"asgi_app_us": round(stack), "schema_execute_us": round(alone)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="Database to use (default: temporary SQLite).")
    parser.add_argument("--requests", type=int, default=2000, help="Requests per measure.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="luling-bench-") as tmp:
        url = prepare_database(args.database_url, Path(tmp))
        token, _ = coordinator_token(url, "admin")
        import uvloop

        stderr, sys.stderr = sys.stderr, open(os.devnull, "w")  # noqa: SIM115  # the access log
        try:
            figures = uvloop.run(measure(url, token, args.requests))
        finally:
            sys.stderr.close()
            sys.stderr = stderr
    stack, alone = figures["asgi_app_us"], figures["schema_execute_us"]
    print("CPU per request, { __typename } signed in (best of 3 runs):")
    print(f"  whole ASGI application   {stack:6d} µs")
    print(f"  schema.execute alone     {alone:6d} µs")
    print(f"  the HTTP side's own cost {stack - alone:6d} µs")


if __name__ == "__main__":
    main()
