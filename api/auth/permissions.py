"""Strawberry permission classes backed by the policy matrix."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from api.auth.policy import allowed
from api.graphql.context import Info


class Can(BasePermission):
    """`permission_classes=[Can("need.dispatch")]`: allowed when the caller's role may."""

    def __init__(self, operation: str) -> None:
        self.operation = operation
        self.error_extensions = {"code": "FORBIDDEN"}
        self.message = f"not allowed: {operation}"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        account = info.context.account
        if account is None:
            self.error_extensions = {"code": "UNAUTHENTICATED"}
            self.message = "authentication required"
            return allowed(self.operation, None)
        return allowed(self.operation, account.role)
