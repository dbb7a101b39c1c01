"""Errors the API shows: `userErrors` for expected failures, coded GraphQL errors otherwise."""

from __future__ import annotations

import enum

import strawberry
from graphql import GraphQLError


@strawberry.enum(description="Machine-readable reason of an error.")
class ErrorCode(enum.Enum):
    BAD_USER_INPUT = strawberry.enum_value("BAD_USER_INPUT", description="Input failed validation.")
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="No such object.")
    UNAUTHENTICATED = strawberry.enum_value(
        "UNAUTHENTICATED", description="A valid bearer token is required."
    )
    FORBIDDEN = strawberry.enum_value("FORBIDDEN", description="The caller may not do this.")
    ILLEGAL_TRANSITION = strawberry.enum_value(
        "ILLEGAL_TRANSITION", description="The object's status does not allow this action."
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT", description="The object changed since it was read (version mismatch)."
    )
    CAPACITY_REACHED = strawberry.enum_value(
        "CAPACITY_REACHED",
        description="No room left: an activity is full, a helper carries all they may.",
    )
    RATE_LIMITED = strawberry.enum_value("RATE_LIMITED", description="Too many requests.")
    INTERNAL = strawberry.enum_value("INTERNAL", description="An unexpected server error.")


@strawberry.type(description="An expected failure of a mutation; nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, if one is."
    )
    message: str = strawberry.field(description="What went wrong, for people.")
    code: ErrorCode = strawberry.field(description="What went wrong, for programs.")


class CodedError(GraphQLError):
    """A top-level GraphQL error that carries `extensions.code` and is safe to show."""

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message, extensions={"code": code.value})


def is_safe_to_show(error: GraphQLError) -> bool:
    """Anything not deliberately coded (or a GraphQL validation error) gets masked."""
    original = error.original_error
    return original is None or isinstance(original, CodedError)
