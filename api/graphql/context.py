"""Per-request context: the database, settings, the caller, and request-scoped DataLoaders."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from api.database import Database
from api.settings import Settings
from schema.accounts import Account
from schema.visibility import Viewer

if TYPE_CHECKING:
    from api.auth.audit import RefusalTally
    from api.auth.ratelimit import RateLimits


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    db: Database
    settings: Settings
    account: Account | None = None
    # DataLoaders live for one request only, so nothing cached leaks between callers.
    loaders: dict[str, Any] = field(default_factory=dict)
    # When the caller's token expires (a WebSocket may outlive it; `Can` then refuses).
    token_expires_at: datetime | None = None
    # The app's rate limiters (api/auth/ratelimit.py); None disables limiting.
    rate_limits: RateLimits | None = None
    # graphql-transport-ws `connection_init` payload (set by Strawberry on WebSockets).
    connection_params: dict[str, Any] | None = None
    # What came of each root mutation field, for the audit log (api/auth/audit.py), keyed by
    # (operation, response key): a WebSocket's operations share one context.
    audit_outcomes: dict[tuple[int, str], Any] = field(default_factory=dict)
    # Refused anonymous requests are tallied here, not written one by one (one per app).
    refusals: RefusalTally | None = None
    # The caller as the visibility rules see it, with the account it was built from (`viewer`).
    _viewer: tuple[Account | None, Viewer] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # The context of the request being served, for code that has no `info` (relations
        # read as plain attributes, `api.graphql.relay.loaders.ToOne`). Set here, in the task
        # that serves the request (the view builds its context there, before executing);
        # tasks it spawns (a WebSocket's operations) inherit it.
        _CURRENT.set(self)

    @property
    def viewer(self) -> Viewer:
        """`Viewer.of(account)`, built once per request (and again if `account` is replaced,
        as a WebSocket's handshake does): pages ask for it once or twice per object."""
        account = self.account
        cached = self._viewer
        if cached is not None and cached[0] is account:
            return cached[1]
        viewer = Viewer.of(account)
        self._viewer = (account, viewer)
        return viewer

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else ""


Info: TypeAlias = StrawberryInfo[Context, None]

_CURRENT: ContextVar[Context | None] = ContextVar("luling_request_context", default=None)


def current_context() -> Context:
    """The context of the request this task serves."""
    ctx = _CURRENT.get()
    if ctx is None:
        raise RuntimeError("no GraphQL request is being served in this task")
    return ctx
