"""Who is calling: the bearer token of an HTTP request or a WebSocket handshake, checked.

Decision: a request WITHOUT credentials is anonymous; a request WITH credentials that fail
(forged, malformed, expired, unknown or deactivated account, another scheme than Bearer) is
refused as a whole with UNAUTHENTICATED, never downgraded to anonymous, so that a client whose
token expired learns it at once instead of seeing a silently poorer answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from api.auth.tokens import InvalidToken, decode_token
from api.database import Database
from api.settings import Settings
from schema.accounts import Account


class AuthenticationFailed(Exception):
    """Credentials were offered but are not good; the message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Caller:
    account: Account | None
    token_expires_at: datetime | None

    @classmethod
    def anonymous(cls) -> Caller:
        return cls(account=None, token_expires_at=None)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; None when no credentials at all."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("use 'Authorization: Bearer <token>'")
    return token.strip()


async def authenticate(db: Database, settings: Settings, authorization: str | None) -> Caller:
    """Resolve the caller from an Authorization value (raises `AuthenticationFailed`)."""
    token = bearer_token(authorization)
    if token is None:
        return Caller.anonymous()
    try:
        claims = decode_token(token, settings)
    except InvalidToken as exc:
        raise AuthenticationFailed(str(exc)) from exc
    async with db.session() as session:
        account = await session.get(Account, claims.account_id)
    if account is None or not account.is_active:
        raise AuthenticationFailed("the account is unknown or deactivated")
    if claims.version != account.token_version:
        raise AuthenticationFailed(
            "the token was revoked (password or account changed); log in again"
        )
    return Caller(account=account, token_expires_at=claims.expires_at)
