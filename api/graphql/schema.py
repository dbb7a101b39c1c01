"""The GraphQL schema: feature modules' root fields merged into Query, Mutation, Subscription."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.tools import merge_types
from strawberry.types.base import get_object_definition

from api.auth.audit import AuditOutcome
from api.graphql.accounts.mutations import AccountsMutation
from api.graphql.accounts.queries import AccountsQuery
from api.graphql.activities.admin import (
    ActivityAdminMutation,
    ActivityAdminQuery,
    ActivityAdminSubscription,
)
from api.graphql.activities.mutations import VolunteeringMutation
from api.graphql.activities.queries import ActivitiesQuery
from api.graphql.areas.mutations import AreasMutation
from api.graphql.areas.queries import AreasQuery
from api.graphql.budget import make_budget
from api.graphql.checks import RequestChecks
from api.graphql.cost import CostModel
from api.graphql.enterprise.mutations import EnterpriseMutation
from api.graphql.enterprise.queries import EnterpriseQuery
from api.graphql.errors import is_safe_to_show
from api.graphql.executor import FastExecutor, ReleasedExecutor, fast_enums
from api.graphql.governance.mutations import GovernanceMutation
from api.graphql.governance.queries import GovernanceQuery
from api.graphql.limits import (
    LimitsConfig,
    cost_model,
    limits_from,
)
from api.graphql.matching.candidates import CandidatesQuery
from api.graphql.matching.mutations import MatchingMutation, MatchingSubscription
from api.graphql.matching.queries import MatchingQuery
from api.graphql.me.queries import MeQuery
from api.graphql.needs.mutations import NeedsMutation
from api.graphql.needs.offers import OffersMutation
from api.graphql.needs.queries import NeedsQuery
from api.graphql.needs.subscriptions import NeedsSubscription
from api.graphql.notifications.mutations import NotificationsMutation
from api.graphql.notifications.queries import NotificationsQuery
from api.graphql.notifications.subscriptions import NotificationsSubscription
from api.graphql.people.admin import TeamsMutation, TeamsSubscription
from api.graphql.people.members import MembersMutation, MembersQuery
from api.graphql.people.queries import PeopleQuery
from api.graphql.protection import CodedMaskErrors, QuietSchema
from api.graphql.registry.queries import RegistryQuery
from api.graphql.relay import NodeQuery
from api.graphql.scalars import SCALAR_OVERRIDES
from api.graphql.stats import StatsQuery
from api.graphql.units.mutations import UnitsMutation
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
    ActivityAdminQuery,
    MatchingQuery,
    CandidatesQuery,
    AccountsQuery,
    MeQuery,
    RegistryQuery,
    GovernanceQuery,
    NotificationsQuery,
    MembersQuery,
)
MUTATION_TYPES: tuple[type, ...] = (
    AccountsMutation,
    NeedsMutation,
    OffersMutation,
    EnterpriseMutation,
    VolunteeringMutation,
    ActivityAdminMutation,
    TeamsMutation,
    MembersMutation,
    AreasMutation,
    MatchingMutation,
    UnitsMutation,
    GovernanceMutation,
    NotificationsMutation,
)
SUBSCRIPTION_TYPES: tuple[type, ...] = (
    NeedsSubscription,
    MatchingSubscription,
    NotificationsSubscription,
    ActivityAdminSubscription,
    TeamsSubscription,
)


def build_schema(settings: Settings) -> strawberry.Schema:
    # Factories, not instances: Strawberry builds fresh extensions per request (the parser and
    # validation caches themselves live at module level, shared by every request).
    tokens = settings.max_tokens
    # Depth, aliases, size and cost are measured by QueryLimits before graphql-core validates
    # (its memoised walk is linear; validation rules would expand every fragment spread).
    limits = LimitsConfig(
        limits=limits_from(settings),
        budget=make_budget(settings.shared_limits_url, settings.redis_key_prefix),
        anonymous_per_minute=settings.cost_budget_anonymous_per_minute,
        signed_in_per_minute=settings.cost_budget_per_minute,
        max_bytes=settings.max_query_bytes,
        max_lines=settings.max_query_lines,
        max_tokens=settings.max_tokens,
    )
    # One extension does every check of ours (api/graphql/checks.py): one set of hooks per
    # request instead of one per check.
    extra_rules = () if settings.introspection_enabled else (NoSchemaIntrospectionCustomRule,)

    mask = CodedMaskErrors(should_mask_error=_should_mask)

    def checks() -> SchemaExtension:
        return RequestChecks(limits, max_tokens=tokens, extra_rules=extra_rules, mask=mask)

    extensions: list[Callable[[], SchemaExtension]] = [checks]
    built, model = _built(settings.executor == "fast")
    # The types are the same for every app of this executor; what differs per app (limits, the
    # budget's store, introspection) lives in the extensions, so each app gets its own copy of
    # the schema object with its own extensions over one converted type map.
    schema = copy.copy(built)
    schema.extensions = tuple(extensions)
    limits.model = model
    return schema


def _should_mask(error: GraphQLError) -> bool:
    return not is_safe_to_show(error)


@functools.cache
def _built(fast: bool) -> tuple[QuietSchema, CostModel]:
    """The converted schema and its cost model, once per executor per process: converting
    Strawberry's types takes about a second (tests build an app per test)."""
    _audit_outcomes(MUTATION_TYPES)
    query = merge_types("Query", QUERY_TYPES)
    mutation = merge_types("Mutation", MUTATION_TYPES) if MUTATION_TYPES else None
    subscription = merge_types("Subscription", SUBSCRIPTION_TYPES) if SUBSCRIPTION_TYPES else None
    schema = QuietSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        execution_context_class=FastExecutor if fast else ReleasedExecutor,
        scalar_overrides=SCALAR_OVERRIDES,  # type: ignore[arg-type]  # Strawberry's stub wants scalar defs, not classes
    )
    if fast:
        fast_enums(schema)
    return schema, cost_model(schema)


def _audit_outcomes(types: tuple[type, ...]) -> None:
    """Every root mutation field records what came of it for its audit row (once per field,
    however many schemas are built)."""
    for type_ in types:
        definition = get_object_definition(type_, strict=True)
        for field in definition.fields:
            if not any(isinstance(e, AuditOutcome) for e in field.extensions):
                field.extensions.append(AuditOutcome())


def export_sdl() -> str:
    """The SDL as committed in api/schema.graphql (introspection settings do not change it)."""
    return build_schema(Settings()).as_str() + "\n"
