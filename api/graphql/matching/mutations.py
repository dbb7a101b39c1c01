"""Coordinators' matching jobs: start, cancel, decide on proposals, commit; and live progress.

A job returns at once (`QUEUED`); the solve runs in a worker thread of this process
(`api.matching_runner`) or, with `LULING_JOB_RUNNER=queue`, on a `luling worker` (`api.jobqueue`,
queued in the same transaction as the job's row); its progress is pushed over
`matchingJobProgress`. The job's rules are the job service's (`schema.services.matching`):
starting, cancelling, deciding, and committing, which dispatches the accepted and pinned
proposals through the closed loop's own services.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import AsyncGenerator
from functools import partial
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.auth.permissions import can
from api.auth.scope import in_scope
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode, UserError
from api.graphql.lists import MaxItems
from api.graphql.matching.types import MatchingJob, Proposal
from api.graphql.relay import decode_id
from api.graphql.writes import actor_of, opt_pk, pk, write
from api.jobqueue import QueueRunner
from api.matching_runner import MatchingRunner, job_channel
from api.ws.shared import shared_reads_of
from matching.problem import Weights
from schema import models as m
from schema.enums import ProposalStatus
from schema.services.errors import Invalid
from schema.services.matching import jobs, proposals
from schema.services.matching.loader import KINDS
from schema.workflow import FINAL_JOB_STATUSES

Input = strawberry.argument(description="The mutation's input.")


@strawberry.enum(description="What a job matches.")
class MatchKind(enum.Enum):
    _value_: str  # for mypy: @strawberry.enum unwraps each enum_value to its str
    VOLUNTEER = strawberry.enum_value("volunteer", description="People to needs (人员).")
    RESOURCE = strawberry.enum_value("resource", description="Units' resources to needs (资源).")
    HELPER = strawberry.enum_value(
        "helper", description="Enterprise helpers to enterprise requests (小赣事)."
    )


assert {k.value for k in MatchKind} == set(KINDS)


def _weights_input() -> type:
    """One optional Float per `matching.problem.Weights` field, so the input never drifts."""
    normal, emergency = Weights(), Weights.emergency()
    namespace: dict[str, Any] = {"__annotations__": {}}
    for f in dataclasses.fields(Weights):
        namespace["__annotations__"][f.name] = float | None
        namespace[f.name] = strawberry.field(
            default=None,
            description=f"Weight `{f.name}` (default {getattr(normal, f.name):g}, "
            f"emergency preset {getattr(emergency, f.name):g}).",
        )
    cls = type("MatchingWeightsInput", (), namespace)
    return strawberry.input(
        cls,
        description="Soft weights of the objective; unset ones keep the (emergency) preset.",
    )


MatchingWeightsInput = _weights_input()


@strawberry.input(description="A matching run over the open work of a scope.")
class StartMatchingJobInput:
    scope_community_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Limit it to one community or village; null for the whole county "
        "(community-scoped coordinators default to their own).",
    )
    kinds: list[MatchKind] = strawberry.field(
        default_factory=lambda: list(MatchKind), description="What to match (default: all)."
    )
    weights: MatchingWeightsInput | None = strawberry.field(  # type: ignore[valid-type]  # Strawberry input class as annotation
        default=None, description="Weights to override."
    )
    time_limit_seconds: float = strawberry.field(
        default=10.0, description="Solver time limit, 0 < seconds <= 600."
    )
    emergency: bool = strawberry.field(
        default=False,
        description="Emergency weights (平急转换: speed first, commando teams first); also on "
        "when the scope is in emergency mode.",
    )
    parent_job_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Re-run after decisions on this job: its accepted and pinned proposals are "
        "kept, its rejected ones never proposed again, the rest re-optimised.",
    )
    counties: list[str] | None = strawberry.field(
        default=None,
        description="A province job over these counties (by name): one part per county, solved "
        "apart (on several workers with the queue) and gathered into one result. With neither "
        "this nor a community, a database holding several counties gets a province job over all.",
        extensions=[MaxItems(100)],
    )


@strawberry.type(description="A matching job a mutation changed, or why it did not.")
class MatchingJobPayload:
    job: MatchingJob | None = strawberry.field(description="The job; null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed.", extensions=[MaxItems(100)]
    )


@strawberry.type(description="A proposal after a coordinator's decision.")
class ProposalPayload:
    proposal: Proposal | None = strawberry.field(description="The proposal; null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed.", extensions=[MaxItems(100)]
    )


@strawberry.enum(description="A coordinator's decision on a proposal.")
class ProposalDecision(enum.Enum):
    _value_: str  # for mypy: @strawberry.enum unwraps each enum_value to its str
    ACCEPT = strawberry.enum_value("accepted", description="Dispatch it on commit.")
    REJECT = strawberry.enum_value("rejected", description="Never propose this pair again.")
    PIN = strawberry.enum_value("pinned", description="Keep it whatever a re-run changes.")


ReasonArg = Annotated[
    str | None,
    strawberry.argument(
        description="Why (at most 500 characters); shown on the proposal, and a rejection's "
        "reason is carried to re-runs."
    ),
]
ChangeArg = Annotated[
    bool,
    strawberry.argument(
        description="Change a decision already taken (e.g. reject after accept); without it "
        "such a change is refused. The change is recorded in `decisionHistory`."
    ),
]


@strawberry.type(description="Proposals after a bulk decision, or why none was decided.")
class ProposalsPayload:
    proposals: list[Proposal] = strawberry.field(
        description="The decided proposals; empty on error.", extensions=[MaxItems(500)]
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed, one per refused ID.", extensions=[MaxItems(500)]
    )


@strawberry.type(description="What committing a job dispatched, and what it refused as stale.")
class CommitMatchingJobPayload:
    job: MatchingJob | None = strawberry.field(description="The committed job; null on error.")
    committed: list[Proposal] = strawberry.field(
        description="Proposals dispatched.", extensions=[MaxItems(2000)]
    )
    stale: list[Proposal] = strawberry.field(
        description="Proposals refused because their need or request changed since the solve.",
        extensions=[MaxItems(2000)],
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed.", extensions=[MaxItems(100)]
    )


def runner_of(info: Info) -> MatchingRunner | QueueRunner:
    return info.context.request.app.state.matching


def _job(row: m.MatchingJob | None) -> MatchingJob | None:
    return MatchingJob.from_row(row) if row is not None else None


def _weights(value: Any) -> dict[str, float]:
    if value is None:
        return {}
    return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}


async def _start(session: AsyncSession, info: Info, input: StartMatchingJobInput) -> m.MatchingJob:
    return await jobs.start_job(
        enqueue=runner_of(info).enqueue,
        session=session,
        actor=actor_of(info),
        scope_community_id=opt_pk(input.scope_community_id, "Community", "scope_community_id"),
        kinds=[k.value for k in input.kinds],
        weights=_weights(input.weights),
        time_limit_s=input.time_limit_seconds,
        emergency=input.emergency,
        parent_job_id=opt_pk(input.parent_job_id, "MatchingJob", "parent_job_id"),
        counties=input.counties,
    )


@strawberry.type
class MatchingMutation:
    @strawberry.mutation(
        description="Start a matching job; it answers at once with the queued job, and solves "
        "off the event loop (follow it with `matchingJobProgress`).",
        permission_classes=can("matching.start"),
    )
    async def start_matching_job(
        self, info: Info, input: Annotated[StartMatchingJobInput, Input]
    ) -> MatchingJobPayload:
        runner = runner_of(info)
        row, errors = await write(info, lambda s: _start(s, info, input))
        if row is not None:
            runner.start(row.id)  # type: ignore[arg-type]  # id is set once the row is stored
        return MatchingJobPayload(job=_job(row), user_errors=errors)

    @strawberry.mutation(
        description="Cancel a queued or running job; a solve in flight is discarded.",
        permission_classes=can("matching.cancel"),
    )
    async def cancel_matching_job(
        self,
        info: Info,
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The job's ID.")],
    ) -> MatchingJobPayload:
        async def work(session: AsyncSession) -> m.MatchingJob:
            job = pk(job_id, "MatchingJob", "job_id")
            return await jobs.cancel_job(session=session, job_id=job, actor=actor_of(info))

        row, errors = await write(info, work, prefix=())
        return MatchingJobPayload(job=_job(row), user_errors=errors)

    @strawberry.mutation(
        description="Accept a proposal: it will be dispatched on commit.",
        permission_classes=can("matching.decide"),
    )
    async def accept_proposal(
        self,
        info: Info,
        proposal_id: Annotated[
            strawberry.ID, strawberry.argument(description="The proposal's ID.")
        ],
        reason: ReasonArg = None,
        change: ChangeArg = False,
    ) -> ProposalPayload:
        return await _decide(info, proposal_id, ProposalStatus.ACCEPTED, reason, change)

    @strawberry.mutation(
        description="Reject a proposal, optionally saying why: a re-run never proposes this pair "
        "again and shows the rejection with its reason.",
        permission_classes=can("matching.decide"),
    )
    async def reject_proposal(
        self,
        info: Info,
        proposal_id: Annotated[
            strawberry.ID, strawberry.argument(description="The proposal's ID.")
        ],
        reason: ReasonArg = None,
        change: ChangeArg = False,
    ) -> ProposalPayload:
        return await _decide(info, proposal_id, ProposalStatus.REJECTED, reason, change)

    @strawberry.mutation(
        description="Pin a proposal: a re-run keeps it whatever else changes; it is dispatched "
        "on commit.",
        permission_classes=can("matching.decide"),
    )
    async def pin_proposal(
        self,
        info: Info,
        proposal_id: Annotated[
            strawberry.ID, strawberry.argument(description="The proposal's ID.")
        ],
        reason: ReasonArg = None,
        change: ChangeArg = False,
    ) -> ProposalPayload:
        return await _decide(info, proposal_id, ProposalStatus.PINNED, reason, change)

    @strawberry.mutation(
        description="One decision on many proposals at once, all or nothing: each refused ID is "
        "reported (field `ids.<index>`) and then none is decided.",
        permission_classes=can("matching.decide"),
    )
    async def decide_proposals(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description="The proposals' IDs (at most 500)."),
        ],
        decision: Annotated[
            ProposalDecision, strawberry.argument(description="Accept, reject or pin.")
        ],
        reason: ReasonArg = None,
        change: ChangeArg = False,
    ) -> ProposalsPayload:
        async def work(session: AsyncSession) -> list[m.Proposal]:
            return await proposals.decide_proposals(
                session=session,
                proposal_ids=[_proposal_pk(gid) for gid in ids],
                decision=ProposalStatus(decision.value),
                actor=actor_of(info),
                reason=reason,
                change=change,
            )

        rows, errors = await write(info, work, prefix=())
        return ProposalsPayload(proposals=Proposal.from_rows(rows or []), user_errors=errors)

    @strawberry.mutation(
        description="Dispatch the job's accepted and pinned proposals through the closed loop "
        "(with 1341 deadlines and events); proposals whose target changed since the solve are "
        "refused as stale.",
        permission_classes=can("matching.commit"),
    )
    async def commit_matching_job(
        self,
        info: Info,
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The job's ID.")],
    ) -> CommitMatchingJobPayload:
        async def work(session: AsyncSession) -> proposals.CommitOutcome:
            return await proposals.commit_matching_job(
                session=session, job_id=pk(job_id, "MatchingJob", "job_id"), actor=actor_of(info)
            )

        outcome, errors = await write(info, work, prefix=())
        if outcome is None:
            return CommitMatchingJobPayload(job=None, committed=[], stale=[], user_errors=errors)
        return CommitMatchingJobPayload(
            job=_job(outcome.job),
            committed=Proposal.from_rows(outcome.committed),
            stale=Proposal.from_rows(outcome.stale),
            user_errors=[],
        )


def _proposal_pk(global_id: str) -> int | None:
    try:
        return pk(global_id, "Proposal", "ids")
    except Invalid:
        return None


async def _decide(
    info: Info, proposal_id: str, decision: ProposalStatus, reason: str | None, change: bool
) -> ProposalPayload:
    async def work(session: AsyncSession) -> m.Proposal:
        return await proposals.decide_proposal(
            session=session,
            proposal_id=pk(proposal_id, "Proposal", "proposal_id"),
            decision=decision,
            actor=actor_of(info),
            reason=reason,
            change=change,
        )

    row, errors = await write(info, work, prefix=())
    return ProposalPayload(
        proposal=Proposal.from_row(row) if row is not None else None, user_errors=errors
    )


async def _read_job(info: Info, job_id: int) -> m.MatchingJob | None:
    async with info.context.db.session() as session:
        return (
            await session.execute(select(m.MatchingJob).where(col(m.MatchingJob.id) == job_id))
        ).scalar_one_or_none()


@strawberry.type
class MatchingSubscription:
    @strawberry.subscription(
        description="A job as it runs: its state now, then after every stage, until it ends.",
        permission_classes=can("matching.read"),
    )
    async def matching_job_progress(
        self,
        info: Info,
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The job's ID.")],
    ) -> AsyncGenerator[MatchingJob, None]:
        jid = decode_id(job_id, "MatchingJob")
        broadcaster = info.context.request.app.state.broadcaster
        async with broadcaster.subscribe(job_channel(jid)) as messages:
            row = await _read_job(info, jid)
            if row is None:
                raise CodedError("no such matching job", ErrorCode.NOT_FOUND)
            if not in_scope(info, row.scope_community_id):
                raise CodedError("outside your area", ErrorCode.FORBIDDEN)
            yield MatchingJob.from_row(row)
            if row.status in FINAL_JOB_STATUSES:
                return
            shared = shared_reads_of(info)
            async for message in messages:
                # One read per reported stage for all of this process's subscribers to the job.
                stage = (message.get("status"), message.get("progress"), message.get("stage"))
                row = await shared.get(("matching-job", jid, *stage), partial(_read_job, info, jid))
                if row is None:
                    return
                yield MatchingJob.from_row(row)
                if row.status in FINAL_JOB_STATUSES:
                    return
