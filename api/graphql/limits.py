"""Query limits, enforced between parsing and validation, and the cost reported to clients.

`QueryLimits` is a Strawberry schema extension (it replaces Strawberry's `ValidationCache`,
whose cached validation it runs itself): before graphql-core validates a document, the
document is measured by `api.graphql.cost` in time linear in its length. A document over a
limit (depth, aliases, size after expanding fragments, fragments, directives, cost) is refused
with a coded error and never reaches graphql-core's rules, so no document within the token
limit can keep a core busy. A valid document's cost is then spent from the caller's budget
(`api.graphql.budget`), and every response says what it cost:

    "extensions": {"cost": {"requested": 42, "limit": 50000, "remaining": 99958,
                            "budgetPerMinute": 100000}}
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql import build_schema as build_graphql_schema
from strawberry.extensions import ValidationCache

from api.graphql.budget import CostBudget, Spend
from api.graphql.cost import Analysis, CostModel, Limits, QueryRefused
from api.graphql.errors import ErrorCode
from api.graphql.lists import MaxItems
from api.graphql.relay import DEFAULT_PAGE, MAX_PAGE
from api.settings import Settings

RATE_LIMITED = ErrorCode.RATE_LIMITED.value


def list_caps(schema: strawberry.Schema) -> dict[tuple[str, str], int]:
    """(type, field) -> cap of every list field that carries `MaxItems`."""
    graphql_schema = build_graphql_schema(schema.as_str())
    caps: dict[tuple[str, str], int] = {}
    for type_name, type_ in graphql_schema.type_map.items():
        for field_name in getattr(type_, "fields", None) or ():
            field = schema.get_field_for_type(field_name, type_name)
            for extension in getattr(field, "extensions", None) or ():
                if isinstance(extension, MaxItems):
                    caps[(type_name, field_name)] = extension.cap
    return caps


def cost_model(schema: strawberry.Schema) -> CostModel:
    return CostModel(
        build_graphql_schema(schema.as_str()),
        list_caps(schema),
        default_page=DEFAULT_PAGE,
        max_page=MAX_PAGE,
    )


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_selections=settings.max_query_selections,
        max_fragments=settings.max_query_fragments,
        max_directives=settings.max_query_directives,
        max_same_field=settings.max_same_field,
        max_operations=settings.max_query_operations,
        max_nesting=settings.max_query_nesting,
        max_variable_values=settings.max_variable_values,
        max_cost=settings.max_query_cost,
    )


@dataclass
class LimitsConfig:
    """What every request's `QueryLimits` shares: set once the schema exists."""

    limits: Limits
    budget: CostBudget
    anonymous_per_minute: int
    signed_in_per_minute: int
    model: CostModel | None = None


class QueryLimits(ValidationCache):
    """Measure, refuse or charge, then validate (cached). One instance per request."""

    def __init__(self, config: LimitsConfig) -> None:
        super().__init__(maxsize=512)
        self.config = config
        self.analysis: Analysis | None = None
        self.spent: Spend | None = None
        self.requested = 0

    def on_validate(self) -> Iterator[None]:  # type: ignore[override]
        ec = self.execution_context
        config = self.config
        try:
            if config.model is None or ec.graphql_document is None:
                raise RuntimeError("QueryLimits used before its schema was built")
            self.analysis = config.model.analyse(
                ec.graphql_document, ec.operation_name, ec.variables, config.limits
            )
        except QueryRefused as refused:
            self.requested = int(refused.extensions.get("cost", 0))
            ec.pre_execution_errors = [_error(refused.message, refused.code, refused.extensions)]
            yield
            return
        self.requested = self.analysis.cost
        validation = super().on_validate()
        next(validation)  # validates (cached) and sets pre_execution_errors
        if not ec.pre_execution_errors:
            self.spent = self._spend(self.requested)
            if not self.spent.allowed:
                retry = max(1, round(self.spent.retry_after + 0.5))
                message = (
                    f"cost budget spent: this query costs {self.requested} points and "
                    f"{self.spent.remaining} are left; try again in {retry} s"
                )
                ec.pre_execution_errors = [
                    _error(message, RATE_LIMITED, {"retryAfter": retry, "cost": self.requested})
                ]
        yield
        for _ in validation:  # let the cache's generator finish
            pass

    def get_results(self) -> dict[str, Any]:
        spent = self.spent or self._spend(0)
        return {
            "cost": {
                "requested": self.requested,
                "limit": self.config.limits.max_cost,
                "remaining": spent.remaining,
                "budgetPerMinute": self._per_minute(),
            }
        }

    def _per_minute(self) -> int:
        context = self.execution_context.context
        signed_in = getattr(context, "account", None) is not None
        config = self.config
        return config.signed_in_per_minute if signed_in else config.anonymous_per_minute

    def _spend(self, cost: int) -> Spend:
        context = self.execution_context.context
        account = getattr(context, "account", None)
        if account is not None:
            key = f"account:{account.id}"
        else:
            key = f"ip:{getattr(context, 'client_ip', '')}"
        return self.config.budget.spend(key, cost, self._per_minute())


def _error(message: str, code: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})
