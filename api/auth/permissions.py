"""Strawberry permission classes backed by the policy matrix.

    @strawberry.mutation(permission_classes=can("need.dispatch"))

`can(operation)` lists one `Can(operation)`, which answers from POLICY by the caller's role
(anonymous: PUBLIC) and refuses with a coded error: UNAUTHENTICATED when nobody (or an expired
token on a long-lived WebSocket) is calling and signing in could help, FORBIDDEN when the
caller's role may not. Operations with a per-caller rate limit (`api.auth.ratelimit.PER_CALLER`,
e.g. need.report) are counted here too, after the permission is granted, and refused with
RATE_LIMITED.

An operation without a POLICY row is refused for everybody (fail closed) and logged; the matrix
test (tests/api/test_auth_matrix.py) makes such a field fail CI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from strawberry.permission import BasePermission

from api.auth.policy import POLICY, allowed
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.logs import log


class Can(BasePermission):
    """Allowed when the caller's role may do `operation` (listed on a field with `can`)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.error_extensions = {"code": ErrorCode.FORBIDDEN.value}
        self.message = f"not allowed: {operation}"

    def __call__(self) -> Can:
        # Strawberry instantiates each entry of `permission_classes`; an instance stands for
        # itself, so `Can("op")` can be listed directly.
        return self

    def __repr__(self) -> str:
        return f"Can({self.operation!r})"

    @property
    def same_for_every_object(self) -> bool:
        """Its answer depends on the caller, never on the object, and asking counts nothing
        (no per-caller rate limit): a list's executor may ask once for all its objects."""
        from api.auth.ratelimit import PER_CALLER

        return self.operation not in PER_CALLER

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        # Raises instead of returning False: the instance is shared by every request, so the
        # error (and its code) is built here rather than stored on `self`.
        context = info.context
        account = context.account
        if self.operation not in POLICY:
            log.error("no authorisation rule", operation=self.operation)
            raise CodedError(f"not allowed: {self.operation}", ErrorCode.FORBIDDEN)
        expires = context.token_expires_at
        if account is not None and expires is not None and expires <= datetime.now(UTC):
            raise CodedError("the token has expired; log in again", ErrorCode.UNAUTHENTICATED)
        if not allowed(self.operation, account.role if account is not None else None):
            if account is None:
                raise CodedError("authentication required", ErrorCode.UNAUTHENTICATED)
            raise CodedError(f"not allowed: {self.operation}", ErrorCode.FORBIDDEN)
        if context.rate_limits is not None:
            from api.auth.ratelimit import enforce_rate_limit

            enforce_rate_limit(info, self.operation)
        return True


def can(operation: str) -> list[type[BasePermission]]:
    """`permission_classes=can("need.dispatch")`: the field needs POLICY's `operation`.

    Strawberry types `permission_classes` as classes but only calls each entry (see
    `Can.__call__`), so the one shared `Can` instance is listed as the class it stands for."""
    return [cast("type[BasePermission]", Can(operation))]


def operation_of(permission: object) -> str | None:
    """The POLICY operation a permission instance stands for (None if it is not a `Can`)."""
    return permission.operation if isinstance(permission, Can) else None
