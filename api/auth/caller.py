"""Who is calling: the bearer token of an HTTP request or a WebSocket handshake, checked.

A token is verified (signature, claims) once per process and remembered (`verify_token`; its
expiry is checked on every use). A valid token costs no statement while its account's row is
fresh in this process's cache (`Settings.token_check_seconds`, a few seconds): the row (role,
community, person, active, token version) is re-read at most that often, so a token revoked by
another process (a password change, `luling user deactivate`) stops working within those
seconds; in this process `publish_account_change` forgets the row at once.

Decision: a request WITHOUT credentials is anonymous; a request WITH credentials that fail
(forged, malformed, expired, unknown or deactivated account, another scheme than Bearer) is
refused as a whole with UNAUTHENTICATED, never downgraded to anonymous, so that a client whose
token expired learns it at once instead of seeing a silently poorer answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from api.auth.tokens import InvalidToken, verify_token
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
        claims = verify_token(token, settings)
    except InvalidToken as exc:
        raise AuthenticationFailed(str(exc)) from exc
    account = await _account(db, claims.account_id, settings.token_check_seconds)
    if account is None or not account.is_active:
        raise AuthenticationFailed("the account is unknown or deactivated")
    if claims.version != account.token_version:
        raise AuthenticationFailed(
            "the token was revoked (password or account changed); log in again"
        )
    return Caller(account=account, token_expires_at=claims.expires_at)


# Accounts read for tokens, per database handle: account id -> (row, when read, monotonic).
_ACCOUNTS: WeakKeyDictionary[Database, dict[int, tuple[Account, float]]] = WeakKeyDictionary()
_MAX_CACHED = 10_000


async def _account(db: Database, account_id: int, ttl: float) -> Account | None:
    """The account row, from the cache while it is younger than `ttl` seconds."""
    cache = _ACCOUNTS.get(db)
    if cache is None:
        cache = _ACCOUNTS[db] = {}
    now = time.monotonic()
    hit = cache.get(account_id)
    if hit is not None and now - hit[1] < ttl:
        return hit[0]
    async with db.session() as session:
        account = await session.get(Account, account_id)
    if account is None:
        cache.pop(account_id, None)
        return None
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[account_id] = (account, now)  # detached: read-only for every request sharing it
    return account


def forget_account(account_id: int) -> None:
    """Drop an account's cached row (it changed): its next request re-reads it."""
    for cache in list(_ACCOUNTS.values()):
        cache.pop(account_id, None)
