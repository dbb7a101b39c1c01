"""Per-request context: the database, settings, the caller, and request-scoped DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from api.database import Database
from api.settings import Settings
from schema.accounts import Account


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    db: Database
    settings: Settings
    account: Account | None = None
    # DataLoaders live for one request only, so nothing cached leaks between callers.
    loaders: dict[str, Any] = field(default_factory=dict)


Info: TypeAlias = StrawberryInfo[Context, None]
