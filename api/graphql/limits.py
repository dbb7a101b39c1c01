"""Query limits, enforced between parsing and validation, and the cost reported to clients.

`QueryLimits` (run by the one schema extension, `api.graphql.checks.RequestChecks`; it replaces
Strawberry's `ValidationCache`: it validates, cached, itself, stopping at
`MAX_VALIDATION_ERRORS`): before graphql-core validates a document, the document is measured by
`api.graphql.cost` in time linear in its length. A document over a limit (depth, aliases, size
after expanding fragments, fragments, directives, cost) is refused with a coded error and never
reaches graphql-core's rules, so no document within the token limit can keep a core busy. A
valid document's cost is then spent from the caller's budget (`api.graphql.budget`), and every
response says what it cost:

    "extensions": {"cost": {"requested": 42, "limit": 50000, "remaining": 99958,
                            "budgetPerMinute": 100000}}
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from graphql import build_schema as build_graphql_schema
from graphql.validation import ASTValidationRule, validate
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from api.graphql.budget import CostBudget, Spend
from api.graphql.cost import Analysis, CostModel, Limits, QueryRefused
from api.graphql.errors import ErrorCode
from api.graphql.lists import Cost, MaxItems
from api.graphql.relay import DEFAULT_PAGE, MAX_PAGE
from api.settings import Settings

# A member named outright is typed as its `enum_value(...)`; @strawberry.enum made it a str.
RATE_LIMITED: str = ErrorCode.RATE_LIMITED.value  # type: ignore[assignment]
QUERY_TOO_LARGE = "QUERY_TOO_LARGE"


def field_extensions(
    schema: strawberry.Schema, graphql_schema: GraphQLSchema
) -> Iterator[tuple[tuple[str, str], Any]]:
    """((type, field), extension) for every field extension of the schema's object types."""
    for type_name, type_ in graphql_schema.type_map.items():
        for field_name in getattr(type_, "fields", None) or ():
            field = schema.get_field_for_type(field_name, type_name)
            for extension in getattr(field, "extensions", None) or ():
                yield (type_name, field_name), extension


def cost_model(schema: strawberry.Schema) -> CostModel:
    graphql_schema = build_graphql_schema(schema.as_str())
    extensions = list(field_extensions(schema, graphql_schema))
    return CostModel(
        graphql_schema,
        {key: e.cap for key, e in extensions if isinstance(e, MaxItems)},
        default_page=DEFAULT_PAGE,
        max_page=MAX_PAGE,
        field_costs={key: e.points for key, e in extensions if isinstance(e, Cost)},
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
        max_subscription_cost=settings.max_subscription_cost,
        max_cost=settings.max_query_cost,
    )


@dataclass
class LimitsConfig:
    """What every request's `QueryLimits` shares: set once the schema exists."""

    limits: Limits
    budget: CostBudget
    anonymous_per_minute: int
    signed_in_per_minute: int
    max_bytes: int
    max_lines: int
    max_tokens: int
    model: CostModel | None = None


_PLACEHOLDER = parse("{ __typename }")


@lru_cache(maxsize=512)
def parse_document(query: str, max_tokens: int) -> DocumentNode:
    """The parsed document, cached by its text (its size is bounded before it gets here)."""
    return parse(query, max_tokens=max_tokens)


def _too_large(query: str, max_bytes: int, max_lines: int) -> GraphQLError | None:
    if len(query) <= max_bytes // 4 and query.count("\n") < max_lines:  # the common case
        return None
    size = len(query.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        message = f"the document is {size} bytes long; at most {max_bytes} are allowed"
        return _error(message, QUERY_TOO_LARGE, {"bytes": size, "limit": max_bytes})
    lines = query.count("\n") + query.count("\r") + 1
    if lines > max_lines:
        message = f"the document has {lines} lines; at most {max_lines} are allowed"
        return _error(message, QUERY_TOO_LARGE, {"lines": lines, "limit": max_lines})
    return None


MAX_VALIDATION_ERRORS = 10  # each costs graphql-core a walk over the document to place it


# Validation errors by (schema, document) identity: the parser cache hands out the same document
# object for the same text, so a lookup costs no walk (graphql-core's AST nodes hash and compare
# by their whole tree: an `lru_cache` keyed by the document hashed it on every request).
_VALIDATED: dict[tuple[int, int, tuple[type[ASTValidationRule], ...]], tuple[Any, ...]] = {}
_VALIDATED_MAX = 512


def validate_document(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """graphql-core's validation with Strawberry's own rules (as Strawberry runs it), stopping
    after `MAX_VALIDATION_ERRORS`; remembered per schema and document object."""
    key = (id(schema), id(document), rules)
    hit = _VALIDATED.get(key)
    if hit is not None and hit[0] is schema and hit[1] is document:  # held: ids stay theirs
        errors: list[GraphQLError] = hit[2]
        return errors
    all_rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    errors = validate(schema, document, all_rules, max_errors=MAX_VALIDATION_ERRORS)
    if len(_VALIDATED) >= _VALIDATED_MAX:
        del _VALIDATED[next(iter(_VALIDATED))]  # the oldest
    _VALIDATED[key] = (schema, document, errors)
    return errors


def forget_validated() -> None:
    """Drop every remembered validation (tests build a schema per app)."""
    _VALIDATED.clear()


class QueryLimits(SchemaExtension):
    """Measure, refuse or charge, then validate (cached). One instance per request: its
    `parse` and `validate` run in the hooks of `api.graphql.checks.RequestChecks`."""

    def __init__(self, config: LimitsConfig) -> None:
        super().__init__()
        self.config = config
        self.analysis: Analysis | None = None
        self.too_large: GraphQLError | None = None
        self.spent: Spend | None = None
        self.requested = 0

    def parse(self) -> None:
        """Refuse a document too long to parse, or parse it (cached): tokens are limited by
        the parser, but whitespace and comments are not, and half a million line breaks cost
        graphql-core seconds to place a hundred errors on their lines (and would fill the
        parser cache). The refusal is reported at validation, so that it reaches the client on
        every transport; the placeholder document it leaves is never run."""
        ec = self.execution_context
        query, limits = ec.query, self.config
        if query is not None:
            self.too_large = _too_large(query, limits.max_bytes, limits.max_lines)
            if self.too_large is not None:
                ec.graphql_document = _PLACEHOLDER
            else:
                with contextlib.suppress(GraphQLError):  # Strawberry parses again and reports it
                    ec.graphql_document = parse_document(query, limits.max_tokens)

    def validate(self) -> None:
        """Measure (refusing what is over a limit), validate (cached), then spend the cost."""
        ec = self.execution_context
        config = self.config
        if self.too_large is not None:
            ec.pre_execution_errors = [self.too_large]
            return
        try:
            if config.model is None or ec.graphql_document is None:
                raise RuntimeError("QueryLimits used before its schema was built")
            self.analysis = config.model.analyse(
                ec.graphql_document, ec.operation_name, ec.variables, config.limits
            )
        except QueryRefused as refused:
            self.requested = int(refused.extensions.get("cost", 0))
            ec.pre_execution_errors = [_error(refused.message, refused.code, refused.extensions)]
            return
        self.requested = self.analysis.cost
        # Setting the errors (even none) tells Strawberry validation has run.
        ec.pre_execution_errors = list(
            validate_document(
                ec.schema._schema,  # the executable schema, as Strawberry's own cache reads it
                ec.graphql_document,
                tuple(ec.validation_rules),
            )
        )
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
