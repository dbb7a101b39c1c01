"""Per-request context: the database, settings, the caller, and request-scoped DataLoaders."""

from __future__ import annotations

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

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else ""


Info: TypeAlias = StrawberryInfo[Context, None]
