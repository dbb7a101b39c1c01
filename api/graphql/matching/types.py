"""Matching jobs a coordinator runs, their proposals (with reasons) and what stayed unmatched."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enums import JobStatus, ProposalKind, ProposalStatus
from api.graphql.lists import MaxItems
from api.graphql.matching.loaders import proposals_of_job
from api.graphql.relay import (
    Node,
    PageQuery,
    RowType,
    connection_field,
    frozen,
    load_children,
    load_one,
    register_node,
)
from api.graphql.type_refs import (
    CommunityT,
    EnterpriseRequestT,
    NeedT,
    PersonT,
    ProposalT,
    ResourceT,
)
from schema import models as m


@strawberry.type(
    description="A matching job: one solve over the open work of a scope, with its proposals."
)
class MatchingJob(RowType, Node):
    __model__ = m.MatchingJob
    __node_name__ = "MatchingJob"
    __needs__ = frozen(
        {
            "scope_community": ("scope_community_id",),
            "parent_job": ("parent_job_id",),
            "province_job": ("province_job_id",),
        }
    )

    status: JobStatus = strawberry.field(description="Queued, running, succeeded …")
    kinds: list[str] = strawberry.field(description="What it matches: volunteer, resource, helper.")
    weights: JSON = strawberry.field(
        description="Objective weights: those asked for until it runs, then every weight used."
    )
    emergency: bool = strawberry.field(
        description="Emergency mode (speed first): asked for, or, once run, the mode it ran in "
        "(also on when its scope is in emergency mode)."
    )
    time_limit_s: float = strawberry.field(description="Solver time limit, seconds.")
    created_at: datetime = strawberry.field(description="When it was created.")
    started_at: datetime | None = strawberry.field(description="When solving started.")
    finished_at: datetime | None = strawberry.field(description="When solving ended.")
    progress: float = strawberry.field(description="Progress, 0 to 1.")
    objective: float | None = strawberry.field(description="Objective value of the solution.")
    bound: float | None = strawberry.field(description="Best bound the solver proved.")
    gap: float | None = strawberry.field(description="Relative gap between objective and bound.")
    optimal: bool | None = strawberry.field(description="Proved optimal.")
    seconds: float | None = strawberry.field(description="Solve time, seconds.")
    seats_filled: int | None = strawberry.field(
        description="Volunteer places filled by the proposals; null if it matched no volunteers."
    )
    seats_total: int | None = strawberry.field(
        description="Volunteer places there were to fill; null if it matched no volunteers."
    )
    resources_allocated: int | None = strawberry.field(
        description="Resource units allocated (kept ones included); null if it matched none."
    )
    resources_requested: int | None = strawberry.field(
        description="Resource units the needs asked for; null if it matched no resources."
    )
    helper_tasks_matched: int | None = strawberry.field(
        description="Enterprise requests given a helper; null if it matched no helpers."
    )
    helper_tasks_total: int | None = strawberry.field(
        description="Enterprise requests waiting for a helper; null if it matched no helpers."
    )
    error: str | None = strawberry.field(description="Why it failed, if it failed.")
    scope_counties: list[str] | None = strawberry.field(
        description="The counties of a province job (or of one part of it); null otherwise.",
        extensions=[MaxItems(100)],
    )
    county_stats: JSON = strawberry.field(
        description="A province job's parts once gathered: per part its counties, job id, "
        "seconds, candidate pairs, objective, bound and gap ([] for any other job)."
    )
    scope_community_id: strawberry.Private[int | None]
    parent_job_id: strawberry.Private[int | None]
    province_job_id: strawberry.Private[int | None]

    @strawberry.field(description="The community it was limited to; null for the whole county.")
    async def scope_community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.scope_community_id)

    @strawberry.field(
        description="The province job this one is a county's part of (its proposals move to "
        "the province job when every part has succeeded), if any."
    )
    async def province_job(self, info: Info) -> MatchingJob | None:
        return await load_one(info, MatchingJob, self.province_job_id)

    @strawberry.field(description="The job this one re-solves (repair after changes), if any.")
    async def parent_job(self, info: Info) -> MatchingJob | None:
        return await load_one(info, MatchingJob, self.parent_job_id)

    @connection_field(ProposalT, description="Its proposals, cheapest first.")
    async def proposals(
        self,
        status: Annotated[
            list[ProposalStatus] | None,
            strawberry.argument(description="Only proposals in these statuses."),
        ] = None,
    ) -> PageQuery:
        return proposals_of_job(self.pk, status)

    @strawberry.field(
        description="Needs and requests it could not serve, with reasons.",
        extensions=[MaxItems(5000)],
    )
    async def unmatched(self, info: Info) -> list[UnmatchedItem]:
        return await load_children(info, UnmatchedItem, "job_id", self.pk)


@strawberry.type(
    description="One proposed match: a person to a need, a helper to a request, or resources."
)
class Proposal(RowType, Node):
    __model__ = m.Proposal
    __node_name__ = "Proposal"

    kind: ProposalKind = strawberry.field(description="Volunteer, resource or helper.")
    quantity: int = strawberry.field(description="Quantity (resources), else 1.")
    cost: float = strawberry.field(description="Its cost in the objective (lower is better).")
    target_version: int = strawberry.field(
        description="The target's version when solved; a commit refuses changed targets."
    )
    status: ProposalStatus = strawberry.field(description="Proposed, accepted, rejected …")
    reasons: JSON = strawberry.field(
        description="Why this match: a list of {code, message, …} objects."
    )
    message: str = strawberry.field(description="The reasons, in words.")
    decided_at: datetime | None = strawberry.field(description="When a coordinator decided on it.")
    decision_reason: str | None = strawberry.field(
        description="Why the coordinator decided so (a rejection's reason); re-runs carry it."
    )
    decision_history: JSON = strawberry.field(
        description="Earlier decisions explicitly changed: a list of {status, reason, by, at}."
    )
    slot_start: datetime | None = strawberry.field(
        description="A scheduled need: the start of the visit it books (commit dispatches for "
        "this slot: arriveBy)."
    )
    slot_end: datetime | None = strawberry.field(
        description="A scheduled need: the end of the visit it books (resolveBy)."
    )
    job_id: strawberry.Private[int]
    need_id: strawberry.Private[int | None]
    enterprise_request_id: strawberry.Private[int | None]
    person_id: strawberry.Private[int | None]
    resource_id: strawberry.Private[int | None]

    @strawberry.field(description="The job that proposed it.")
    async def job(self, info: Info) -> MatchingJob:
        return await load_one(info, MatchingJob, self.job_id)

    @strawberry.field(description="The need it serves, if a need.")
    async def need(self, info: Info) -> NeedT | None:
        return await load_one(info, NeedT, self.need_id)

    @strawberry.field(
        description="The enterprise request it serves, if a request.",
        permission_classes=can("enterprise.read"),
    )
    async def enterprise_request(self, info: Info) -> EnterpriseRequestT | None:
        return await load_one(info, EnterpriseRequestT, self.enterprise_request_id)

    @strawberry.field(description="The person proposed, if a person.")
    async def person(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self.person_id)

    @strawberry.field(description="The resource proposed, if a resource.")
    async def resource(self, info: Info) -> ResourceT | None:
        return await load_one(info, ResourceT, self.resource_id)


@strawberry.type(description="A need or request a job could not serve, and why.")
class UnmatchedItem(RowType, Node):
    __model__ = m.UnmatchedItem
    __node_name__ = "UnmatchedItem"

    seats_open: int = strawberry.field(description="Places left unfilled.")
    reasons: JSON = strawberry.field(description="Why: a list of {code, message, …} objects.")
    message: str = strawberry.field(description="The reasons, in words.")
    job_id: strawberry.Private[int]
    need_id: strawberry.Private[int | None]
    enterprise_request_id: strawberry.Private[int | None]

    @strawberry.field(description="The unserved need, if a need.")
    async def need(self, info: Info) -> NeedT | None:
        return await load_one(info, NeedT, self.need_id)

    @strawberry.field(
        description="The unserved enterprise request, if a request.",
        permission_classes=can("enterprise.read"),
    )
    async def enterprise_request(self, info: Info) -> EnterpriseRequestT | None:
        return await load_one(info, EnterpriseRequestT, self.enterprise_request_id)


register_node(MatchingJob, "matching.read")
register_node(Proposal, "matching.read")
register_node(UnmatchedItem, "matching.read")
