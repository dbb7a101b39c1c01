"""The GraphQL schema: feature modules' root fields merged into Query, Mutation, Subscription."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from api.auth.audit import AuditMutations
from api.graphql.accounts.mutations import AccountsMutation
from api.graphql.accounts.queries import AccountsQuery
from api.graphql.activities.mutations import VolunteeringMutation
from api.graphql.activities.queries import ActivitiesQuery
from api.graphql.areas.mutations import AreasMutation
from api.graphql.areas.queries import AreasQuery
from api.graphql.enterprise.mutations import EnterpriseMutation
from api.graphql.enterprise.queries import EnterpriseQuery
from api.graphql.errors import is_safe_to_show
from api.graphql.executor import FastExecutor, fast_enums
from api.graphql.matching.candidates import CandidatesQuery
from api.graphql.matching.mutations import MatchingMutation, MatchingSubscription
from api.graphql.matching.queries import MatchingQuery
from api.graphql.needs.mutations import NeedsMutation
from api.graphql.needs.queries import NeedsQuery
from api.graphql.needs.subscriptions import NeedsSubscription
from api.graphql.people.queries import PeopleQuery
from api.graphql.protection import CodedMaskErrors, CodeRequestErrors, QuietSchema
from api.graphql.relay import NodeQuery
from api.graphql.stats import StatsQuery
from api.graphql.text_input import TextInput
from api.graphql.units.queries import UnitsQuery
from api.settings import Settings

QUERY_TYPES: tuple[type, ...] = (
    StatsQuery,
    NodeQuery,
    AreasQuery,
    UnitsQuery,
    PeopleQuery,
    NeedsQuery,
    EnterpriseQuery,
    ActivitiesQuery,
    MatchingQuery,
    CandidatesQuery,
    AccountsQuery,
)
MUTATION_TYPES: tuple[type, ...] = (
    AccountsMutation,
    NeedsMutation,
    EnterpriseMutation,
    VolunteeringMutation,
    AreasMutation,
    MatchingMutation,
)
SUBSCRIPTION_TYPES: tuple[type, ...] = (NeedsSubscription, MatchingSubscription)


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions per request (the parser and
    # validation caches themselves live at module level, shared by every request).
    depth, aliases, tokens = settings.max_query_depth, settings.max_aliases, settings.max_tokens
    # The limiters' validation rules are built once, here: a limiter built per request makes a
    # new rule class each time, and the validation cache (keyed by the rules) would never hit.
    limits = [
        *QueryDepthLimiter(max_depth=depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=aliases).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: AddValidationRules(limits),
        lambda: MaxTokensLimiter(max_token_count=tokens),
        lambda: CodedMaskErrors(should_mask_error=lambda e: not is_safe_to_show(e)),
        CodeRequestErrors,
        AuditMutations,  # one audit row per mutation, in its own transaction
        TextInput,  # no NUL or lone surrogates in text; one operation, named when several
    ]
    if not settings.introspection_enabled:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    query = merge_types("Query", QUERY_TYPES)
    mutation = merge_types("Mutation", MUTATION_TYPES) if MUTATION_TYPES else None
    subscription = merge_types("Subscription", SUBSCRIPTION_TYPES) if SUBSCRIPTION_TYPES else None
    schema = QuietSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        extensions=extensions,
        execution_context_class=FastExecutor,
    )
    fast_enums(schema._schema)
    return schema


def export_sdl() -> str:
    """The SDL as committed in api/schema.graphql (introspection settings do not change it)."""
    return build_schema(Settings()).as_str() + "\n"
