"""The Starlette application: GraphQL over HTTP and WebSocket at /graphql, /healthz, and the
operators' console at / (api/console)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from api.auth import hashing
from api.auth.audit import RefusalTally
from api.auth.caller import AuthenticationFailed, Caller, authenticate
from api.auth.ratelimit import RateLimits
from api.broadcast import Broadcaster, make_broadcaster
from api.clock import Clock
from api.console import console_routes
from api.database import Database
from api.graphql.context import Context
from api.graphql.http import GraphQLOverHTTP
from api.graphql.schema import build_schema
from api.http_limits import HTTPGate
from api.http_security import internal_error
from api.jobqueue import QueueRunner, make_runner
from api.logs import configure_logging, log
from api.notify.dispatcher import Dispatcher
from api.settings import Settings, get_settings
from api.slots import Slots, make_slots
from api.ws.guard import WebSocketGuard
from api.ws.handler import LulingTransportWSHandler
from api.ws.sessions import SocketRegistry
from api.ws.shared import SharedReads
from schema.migrate import is_behind


class LulingGraphQL(GraphQLOverHTTP, GraphQL[Context, None]):
    # Socket limits, the caller's rights over the socket's life: see api/ws/handler.py.
    graphql_transport_ws_handler_class = LulingTransportWSHandler

    def __init__(
        self,
        settings: Settings,
        db: Database,
        broadcaster: Broadcaster | None = None,
        slots: Slots | None = None,
    ) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.websocket_init_timeout_seconds),
            max_subscriptions_per_connection=None,  # the handler applies its own, with a code
            # Browsers apply no CORS to WebSockets: pages on other origins are refused (403)
            # unless listed; same-origin pages and non-browser clients (no Origin) may connect.
            allowed_origins=settings.websocket_origins,
        )
        self.settings = settings
        self.db = db
        self.rate_limits = RateLimits.from_settings(settings)
        self.refusals = RefusalTally()
        self.sockets = SocketRegistry(
            settings, db, broadcaster or make_broadcaster("memory://"), slots
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        fast, accept = self.fast_post_headers(scope)
        if not fast:  # not JSON: Strawberry's view answers (and refuses) it
            response = await self.run(request)
            await response(scope, receive, send)
            return
        answer: tuple[int, list[tuple[bytes, bytes]], bytes] | Response
        data = await self.fast_post_request(request, receive)
        if data is None:  # malformed: Strawberry's view refuses it, with the same words
            answer = await self.run(request)
        else:
            async with self.db.request_scope():  # the request's reads share one connection
                try:
                    context = await self.get_context(request, None)
                    answer = await self.execute_post(request, data, context, accept)
                except AuthenticationFailed as exc:
                    answer = _unauthenticated(exc)
        if isinstance(answer, Response):
            await answer(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        caller = Caller.anonymous()
        if not isinstance(request, WebSocket):  # WebSockets authenticate in connection_init
            caller = await authenticate(
                self.db, self.settings, request.headers.get("authorization")
            )
        return Context(
            request=request,
            response=response,
            db=self.db,
            settings=self.settings,
            account=caller.account,
            token_expires_at=caller.token_expires_at,
            rate_limits=self.rate_limits,
            refusals=self.refusals,
        )

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if not isinstance(request, Request):  # a WebSocket: its reads are its own
            return await self._run(request, context, root_value)
        async with self.db.request_scope():  # the request's reads share one connection
            return await self._run(request, context, root_value)

    async def _run(self, request: Any, context: Any, root_value: Any) -> Any:
        try:
            return await super().run(request, context, root_value)
        except AuthenticationFailed as exc:
            return _unauthenticated(exc)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws handshake: `connection_init` payload `{"authorization":
        "Bearer <token>"}` (or the upgrade request's Authorization header). No credentials:
        anonymous (acknowledged; public data only, no mutation); bad credentials: the socket is
        closed with 4403. The handler then applies the per-account socket limit."""
        params = context.connection_params or {}
        authorization = params.get("authorization") or params.get("Authorization")
        if authorization is None:
            authorization = context.request.headers.get("authorization")
        if authorization is not None and not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": "authorization must be a string"})
        try:
            caller = await authenticate(self.db, self.settings, authorization)
        except AuthenticationFailed as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc
        context.account = caller.account
        context.token_expires_at = caller.token_expires_at
        return UNSET


def _unauthenticated(exc: AuthenticationFailed) -> Response:
    """Offered credentials are bad: the request is refused as a whole (never anonymous)."""
    return JSONResponse(
        {"errors": [{"message": exc.message, "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def tune_gc() -> None:
    """Freeze what startup built out of the collector's scans (a full collection walked the
    whole schema every few requests) and collect young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    hashing.configure(settings.password_hash_concurrency, settings.password_hash_waiting)
    db = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=settings.db_pool_pre_ping,
        prepared_statements=settings.db_prepared_statements,
    )
    # Connects on first use; shared by every request and subscription of this process.
    broadcaster = make_broadcaster(settings.broadcast_backend_url)
    # Sockets and requests in flight per address and account: in Redis when set (api/slots.py).
    slots = make_slots(
        settings.shared_limits_url,
        prefix=settings.redis_key_prefix,
        lease_seconds=settings.shared_slot_lease_seconds,
    )
    graphql_app = LulingGraphQL(settings, db, broadcaster, slots)
    matching = make_runner(settings, broadcaster)
    clock = Clock(
        lambda: matching.engine,
        settings.clock_seconds,
        matching.running,
        sweep_jobs=matching.sweep if isinstance(matching, QueueRunner) else None,
        publish=broadcaster.publish_many,
        dispatcher=Dispatcher(lambda: matching.engine, settings),
        dispatch_seconds=settings.notify_dispatch_seconds,
    )

    async def healthz(_: Request) -> Response:
        try:
            async with db.session() as session:
                await session.execute(sa.select(1))
        except Exception as exc:  # the probe reports, it never raises
            log.warning("healthz failed", error=str(exc))
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    migrated = False  # once the database has caught up it does not fall behind again

    async def readyz(_: Request) -> Response:
        """Ready to take traffic: database up, migrated at least to this code's revision, and
        the broadcaster connected. A reverse proxy sends requests only to ready processes.
        `limits` says whether request and socket limits are shared (Redis), per process by
        configuration, or per process because Redis does not answer (`degraded`)."""
        nonlocal migrated
        checks: dict[str, str] = {}
        try:
            async with db.session() as session:
                await session.execute(sa.select(1))
            checks["database"] = "up"
            if not migrated:
                migrated = not await asyncio.to_thread(is_behind, settings.database_url)
            checks["migrations"] = "current" if migrated else "behind"
        except Exception as exc:  # the probe reports, it never raises
            log.warning("readyz: database", error=str(exc))
            checks["database"] = "down"
        try:
            await asyncio.wait_for(broadcaster.start(), timeout=2)
            checks["broadcaster"] = "up"
        except Exception as exc:
            log.warning("readyz: broadcaster", error=str(exc))
            checks["broadcaster"] = "down"
        ready = checks == {"database": "up", "migrations": "current", "broadcaster": "up"}
        # Reported, not required: with Redis unreachable the limits still hold per process, and
        # taking every process out of rotation for that would be the worse outage.
        body = {"status": "ready" if ready else "unavailable", **checks, "limits": slots.sharing}
        return JSONResponse(body, status_code=200 if ready else 503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info("starting", environment=settings.environment)
        if settings.gc_tuning:
            tune_gc()
        try:
            failed = await asyncio.to_thread(matching.fail_stale_jobs)
        except sa.exc.SQLAlchemyError as exc:  # no database yet: /healthz will say so
            log.warning("could not check for interrupted matching jobs", error=str(exc))
        else:
            if failed:
                log.warning("marked interrupted matching jobs failed", jobs=failed)
        clock.start()
        yield
        clock.stop()
        await matching.stop()
        await graphql_app.sockets.stop()
        await slots.stop()
        await broadcaster.stop()
        await db.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *console_routes(),
        ],
        middleware=[
            # One layer for plain HTTP: security headers, per-address limit, body size and
            # pace, access log (api/http_limits.py).
            Middleware(
                HTTPGate,
                limit=settings.max_requests_per_address,
                body_seconds=settings.body_timeout_seconds,
                max_bytes=settings.max_body_bytes,
                slots=slots,
            ),
            Middleware(WebSocketGuard, max_bytes=settings.max_body_bytes),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Accept"],
            ),
        ],
        lifespan=lifespan,
        exception_handlers={Exception: internal_error},  # a JSON 500, never plain text
    )
    app.state.db = db
    app.state.settings = settings
    app.state.broadcaster = broadcaster
    app.state.shared_reads = SharedReads()  # subscriptions' reads, one per event (api/ws/shared)
    app.state.matching = matching
    app.state.clock = clock
    return app
