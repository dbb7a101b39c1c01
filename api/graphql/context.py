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
    # Who the audit log names when the caller is anonymous (`login` sets the account it tried).
    audit_actor: Account | None = None
    audit_username: str | None = None

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else ""


Info: TypeAlias = StrawberryInfo[Context, None]
