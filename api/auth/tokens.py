"""Bearer tokens: HS256-signed JWTs that say who the caller is, and until when.

Claims: `sub` (the account id, as a string as RFC 7519 wants), `role` (informational: the
account row read on every request is what decides), `iat`, `exp`, `iss` ("luling").
The signing secret comes from the settings (`LULING_SECRET_KEY`), never from code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from api.inputs import parse_row_id
from api.settings import Settings
from schema.accounts import Account
from schema.enums import Role

ALGORITHM = "HS256"
ISSUER = "luling"
# Clock skew tolerated between API processes, for `iat` only: a token whose `exp` has passed
# is expired, whatever the leeway, as the README promises (401 the moment it lapses).
LEEWAY_SECONDS = 10


class InvalidToken(Exception):
    """A token that is forged, malformed, expired or otherwise unusable (message is safe)."""


@dataclass(frozen=True)
class TokenClaims:
    account_id: int
    role: Role
    issued_at: datetime
    expires_at: datetime
    version: int = 0  # the account's token version when it was issued


def issue_token(
    account: Account, settings: Settings, *, now: datetime | None = None
) -> tuple[str, datetime]:
    """A signed token for `account` and the moment it expires (aware UTC)."""
    if account.id is None:
        raise ValueError("the account must be saved before a token is issued")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    expires = issued + timedelta(minutes=settings.token_ttl_minutes)
    payload = {
        "sub": str(account.id),
        "role": Role(account.role).value,
        "iat": issued,
        "exp": expires,
        "iss": ISSUER,
        "ver": account.token_version,  # revoked when the account's version moves on
    }
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM), expires


# Tokens already verified, by token string: (the secret that verified it, its claims). A valid
# token is checked once per process, not on every request: its signature and claims never
# change, and what can change is checked on every use all the same — expiry here, revocation
# (the account's token version, its active flag) by `api.auth.caller` against the account row.
_VERIFIED: dict[str, tuple[str, TokenClaims, float]] = {}
_MAX_VERIFIED = 10_000


def verify_token(token: str, settings: Settings) -> TokenClaims:
    """`decode_token`, remembered for tokens that passed: a token seen before costs a lookup
    and an expiry check. Only valid tokens are remembered; a changed secret verifies anew."""
    hit = _VERIFIED.get(token)
    if hit is not None and hit[0] == settings.secret_key:
        if hit[2] <= time.time():
            del _VERIFIED[token]
            raise InvalidToken("the token has expired; log in again")
        return hit[1]
    claims = decode_token(token, settings)
    if len(_VERIFIED) >= _MAX_VERIFIED:
        _VERIFIED.clear()
    _VERIFIED[token] = (settings.secret_key, claims, claims.expires_at.timestamp())
    return claims


def decode_token(token: str, settings: Settings) -> TokenClaims:
    """Verify signature, issuer and expiry; raise `InvalidToken` with a message safe to show."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],  # pinned: never trust the token's own `alg` header
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the token has expired; log in again") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("the token is invalid") from exc
    if claims["exp"] <= time.time():  # expired within the leeway
        raise InvalidToken("the token has expired; log in again")
    # `sub` is an account key as a canonical decimal string; anything else (30 digits, "007",
    # a number instead of a string) is not one of ours.
    account_id = parse_row_id(claims["sub"]) if isinstance(claims["sub"], str) else None
    if account_id is None:
        raise InvalidToken("the token is invalid")
    try:
        return TokenClaims(
            account_id=account_id,
            role=Role(claims["role"]),
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            version=_version(claims.get("ver", 0)),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise InvalidToken("the token is invalid") from exc


def _version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValueError("token version out of range")
    return value
