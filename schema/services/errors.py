"""Typed domain errors the services raise; the API turns each into a `userError`.

`code` matches the API's `ErrorCode` names. `schema.workflow.IllegalTransition` is the fifth kind
(ILLEGAL_TRANSITION) and is raised as it is.
"""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure: the transaction is rolled back and nothing changes."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def problems(self) -> list[tuple[str | None, str]]:
        """(field, message) pairs; one for most errors, several for invalid input."""
        return [(self.field, self.message)]


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, what: str, ident: object, *, field: str | None = None) -> None:
        super().__init__(f"no such {what}", field=field)
        self.what, self.ident = what, ident


class Conflict(DomainError):
    """The row changed since the caller read it (version mismatch)."""

    code = "CONFLICT"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Unauthenticated(DomainError):
    """Credentials that do not hold (a wrong current password)."""

    code = "UNAUTHENTICATED"


class Invalid(DomainError):
    """Input that fails validation; may carry several problems at once."""

    code = "BAD_USER_INPUT"

    def __init__(
        self,
        field: str | None = None,
        message: str = "",
        *,
        problems: list[tuple[str | None, str]] | None = None,
    ) -> None:
        all_problems = problems if problems is not None else [(field, message)]
        first_field, first_message = all_problems[0]
        super().__init__(first_message, field=first_field)
        self._problems = all_problems

    @property
    def problems(self) -> list[tuple[str | None, str]]:
        return list(self._problems)


class LimitReached(Invalid):
    """No room left: an activity is full, a helper carries as many requests as they may."""

    code = "CAPACITY_REACHED"


class Problems:
    """Collects validation problems so that a caller learns of all of them in one answer."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, str]] = []

    def add(self, field: str | None, message: str) -> None:
        self.items.append((field, message))

    def check(self, ok: bool, field: str | None, message: str) -> bool:
        if not ok:
            self.add(field, message)
        return ok

    def raise_if_any(self) -> None:
        if self.items:
            raise Invalid(problems=self.items)
