"""`MaxItems(n)`: a plain list field returns at most `n` objects; `Cost(n)`: a field costs more
than its objects.

Every list of objects that is not a connection carries one, so that a query's cost
(`api.graphql.cost`) has a true upper bound: the cost model multiplies a list's selection by
its cap, and the cap is enforced here when the field resolves. Caps sit above what the county's
data holds (the field's description says so); a list that can outgrow its cap belongs in a
connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField


class MaxItems(FieldExtension):
    """`strawberry.field(extensions=[MaxItems(200)])`: the first 200 items, never more."""

    def __init__(self, cap: int) -> None:
        if cap < 1:
            raise ValueError("a list cap must be at least 1")
        self.cap = cap

    def apply(self, field: StrawberryField) -> None:
        # The cap is part of the field's contract: say it where clients read the schema.
        note = f"At most {self.cap}."
        if note not in (field.description or ""):
            field.description = f"{field.description} {note}" if field.description else note

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        return _cut(next_(source, info, **kwargs), self.cap)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        result = next_(source, info, **kwargs)
        if isinstance(result, Awaitable):
            result = await result
        return _cut(result, self.cap)


class Cost(FieldExtension):
    """`strawberry.field(extensions=[Cost(5_000)])`: a field whose work is not the objects it
    returns (an aggregate over the county, an optimiser run) costs this much more each time a
    query selects it (see `api.graphql.cost`). It changes nothing when the field resolves."""

    def __init__(self, points: int) -> None:
        if points < 1:
            raise ValueError("a field cost must be at least 1")
        self.points = points

    def apply(self, field: StrawberryField) -> None:
        note = f"Costs {self.points} query points."
        if note not in (field.description or ""):
            field.description = f"{field.description} {note}" if field.description else note


def _cut(items: Any, cap: int) -> Any:
    if items is None:
        return None
    items = list(items)
    return items if len(items) <= cap else items[:cap]
