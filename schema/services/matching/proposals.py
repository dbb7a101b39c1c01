"""A coordinator's decisions on a matching job's proposals, and committing them.

Committing dispatches through the closed loop's own services (accept, dispatch, assign helper), so
the same rules, deadlines and events apply as when a person dispatches by hand. A proposal whose
target changed since the solve (its version moved on) is refused as stale, never applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from matching.result import ReasonCode
from schema import sla
from schema.enums import JobStatus, NeedStatus, ProposalKind, ProposalStatus
from schema.models import (
    Availability,
    EnterpriseRequest,
    MatchingJob,
    Need,
    Proposal,
    Resource,
)
from schema.services.common import Actor, now_or
from schema.services.enterprise import assign_enterprise_helper
from schema.services.errors import DomainError, Invalid, NotFound, Problems
from schema.services.matching.jobs import get_job, move, require_coordinator
from schema.services.matching.notices import notify_committed
from schema.services.needs import accept_need, allocate_resources, dispatch_need
from schema.sla import Slot

DECIDABLE = (
    ProposalStatus.PROPOSED,
    ProposalStatus.ACCEPTED,
    ProposalStatus.REJECTED,
    ProposalStatus.PINNED,
)
TO_COMMIT = (ProposalStatus.ACCEPTED, ProposalStatus.PINNED)
MAX_REASON = 500
MAX_BULK = 500


async def decide_proposal(
    *,
    session: AsyncSession,
    proposal_id: int,
    decision: ProposalStatus,
    actor: Actor,
    reason: str | None = None,
    change: bool = False,
    now: datetime | None = None,
) -> Proposal:
    """Accept, reject or pin one proposal of a finished, not yet committed job.

    A decision already taken is changed only on purpose (`change`), and the change is recorded
    in the proposal's decision history (what it was, who changed it, when, why)."""
    now = now_or(now)
    if decision not in (ProposalStatus.ACCEPTED, ProposalStatus.REJECTED, ProposalStatus.PINNED):
        raise Invalid("decision", "decide accepted, rejected or pinned")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise Invalid("reason", f"a reason is at most {MAX_REASON} characters")
    proposal = await session.get(Proposal, proposal_id, populate_existing=True)
    if proposal is None:
        raise NotFound("proposal", proposal_id, field="proposal_id")
    job = await get_job(session, proposal.job_id)
    require_coordinator(actor, job.scope_community_id)
    if job.status is not JobStatus.SUCCEEDED:
        raise Invalid(
            "proposal_id", f"the job is {job.status.value}; only a finished job's proposals"
        )
    if proposal.status not in DECIDABLE:
        raise Invalid("proposal_id", f"the proposal is {proposal.status.value}")
    before = proposal.status
    if before is decision and reason in (None, proposal.decision_reason):
        return proposal  # the same decision again: nothing to record
    if before is not ProposalStatus.PROPOSED:
        if not change:
            raise Invalid(
                "proposal_id",
                f"the proposal is already {before.value}; to change the decision, "
                "ask for the change explicitly (change: true)",
            )
        entry = {
            "status": before.value,
            "reason": proposal.decision_reason,
            "by": proposal.decided_by_account_id,
            "at": proposal.decided_at.isoformat() if proposal.decided_at else None,
            "changed_to": decision.value,
            "changed_by": actor.account_id,
            "changed_at": now.isoformat(),
        }
        proposal.decision_history = [*proposal.decision_history, entry]
    proposal.status = decision
    proposal.decision_reason = reason
    proposal.decided_by_account_id = actor.account_id
    proposal.decided_at = now
    await session.flush()
    return proposal


async def decide_proposals(
    *,
    session: AsyncSession,
    proposal_ids: Sequence[int | None],
    decision: ProposalStatus,
    actor: Actor,
    reason: str | None = None,
    change: bool = False,
    now: datetime | None = None,
) -> list[Proposal]:
    """The same decision on many proposals, all or none: every refused one is reported
    (`ids.<index>`; None stands for an ID that named no proposal), and then nothing is written."""
    now = now_or(now)
    if not 1 <= len(proposal_ids) <= MAX_BULK:
        raise Invalid("ids", f"decide between 1 and {MAX_BULK} proposals at once")
    problems = Problems()
    decided = []
    for i, proposal_id in enumerate(proposal_ids):
        if proposal_id is None:
            problems.add(f"ids.{i}", "not a proposal's ID")
            continue
        try:
            decided.append(
                await decide_proposal(
                    session=session,
                    proposal_id=proposal_id,
                    decision=decision,
                    actor=actor,
                    reason=reason,
                    change=change,
                    now=now,
                )
            )
        except DomainError as exc:
            problems.add(f"ids.{i}", exc.message)
    problems.raise_if_any()
    return decided


# A child job in these statuses replaces its parent: the parent can no longer be committed.
SUPERSEDING = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.COMMITTED)


async def refuse_superseded(session: AsyncSession, job_id: int) -> None:
    """A job re-run by a child is replaced by it: committing both would dispatch twice."""
    child = (
        await session.execute(
            select(MatchingJob.id)
            .where(
                col(MatchingJob.parent_job_id) == job_id,
                col(MatchingJob.status).in_(SUPERSEDING),
            )
            .order_by(col(MatchingJob.id).desc())
            .limit(1)
        )
    ).scalar()
    if child is not None:
        raise Invalid(
            "job_id",
            f"job {job_id} was re-run as job {child}; commit job {child} instead",
        )


@dataclass
class CommitOutcome:
    job: MatchingJob
    committed: list[Proposal] = field(default_factory=list)
    stale: list[Proposal] = field(default_factory=list)


async def commit_matching_job(
    *, session: AsyncSession, job_id: int, actor: Actor, now: datetime | None = None
) -> CommitOutcome:
    """Dispatch every accepted or pinned proposal; refuse the stale ones; mark the job committed."""
    now = now_or(now)
    job = await get_job(session, job_id)
    require_coordinator(actor, job.scope_community_id)
    await refuse_superseded(session, job_id)
    # Take the job first, so that two commits at once cannot both dispatch.
    job = await move(session, job_id, "commit", now=now)
    proposals = list(
        (
            await session.execute(
                select(Proposal)
                .where(col(Proposal.job_id) == job_id, col(Proposal.status).in_(TO_COMMIT))
                .order_by(col(Proposal.id))
            )
        ).scalars()
    )
    if not proposals:
        raise Invalid("job_id", "accept or pin at least one proposal before committing")
    outcome = CommitOutcome(job=job)
    by_need: dict[int, list[Proposal]] = defaultdict(list)
    for p in proposals:
        if p.kind is ProposalKind.HELPER:
            await _commit_helper(session, p, actor, now, outcome)
        else:
            assert p.need_id is not None
            by_need[p.need_id].append(p)
    for need_id, group in by_need.items():
        await _commit_need(session, need_id, group, actor, now, outcome)
    for p in outcome.committed:
        p.status = ProposalStatus.COMMITTED
    for p in outcome.stale:
        p.status = ProposalStatus.STALE
    await session.flush()
    await notify_committed(session, job_id, outcome.committed, urgent=job.emergency, now=now)
    return outcome


async def _commit_need(
    session: AsyncSession,
    need_id: int,
    group: list[Proposal],
    actor: Actor,
    now: datetime,
    outcome: CommitOutcome,
) -> None:
    need = await session.get(Need, need_id, populate_existing=True)
    solved_version = group[0].target_version
    if (
        need is None
        or need.version != solved_version
        or need.status not in (NeedStatus.REPORTED, NeedStatus.ACCEPTED)
    ):
        outcome.stale.extend(group)
        return
    volunteers = [p for p in group if p.kind is ProposalKind.VOLUNTEER and p.person_id]
    people = [p.person_id for p in volunteers if p.person_id]
    resources = [p for p in group if p.kind is ProposalKind.RESOURCE]
    # A resource retired since the solve is lent no more: its proposals are stale, the rest go.
    gone = await _retired(session, [p.resource_id for p in resources if p.resource_id])
    outcome.stale.extend(p for p in resources if p.resource_id in gone)
    resources = [p for p in resources if p.resource_id not in gone]
    note = f"matching job {group[0].job_id}"
    if people:
        if need.status is NeedStatus.REPORTED:
            await accept_need(session=session, need_id=need_id, actor=actor, note=note, now=now)
        await dispatch_need(
            session=session,
            need_id=need_id,
            actor=actor,
            to_person_ids=people,
            slot=await _slot_to_book(session, need, volunteers, now),
            note=note,
            now=now,
            notify_people=False,  # notify_committed tells each person once, of all their tasks
        )
    if resources:
        await allocate_resources(
            session=session,
            need_id=need_id,
            actor=actor,
            allocations=[(p.resource_id, p.quantity) for p in resources if p.resource_id],
            note=note,
            now=now,
        )
    outcome.committed.extend(
        p for p in group if not (p.kind is ProposalKind.RESOURCE and p.resource_id in gone)
    )


async def _retired(session: AsyncSession, resource_ids: list[int]) -> set[int]:
    if not resource_ids:
        return set()
    stmt = select(Resource.id).where(
        col(Resource.id).in_(resource_ids), col(Resource.retired_at).is_not(None)
    )
    return {int(i) for i in (await session.execute(stmt)).scalars() if i is not None}


async def _slot_to_book(
    session: AsyncSession, need: Need, volunteers: list[Proposal], now: datetime
) -> Slot | None:
    """The visit a commit books for a scheduled need: the proposals' slot (earliest start to
    latest end, so everyone proposed is there), or, where that has slipped into the past while
    the job waited, the first slot each person can still reach inside their windows and the
    need's (sla.booking_slot). None: a need on the 1341 clock, or a window with no room left."""
    if not sla.bookable(need.kind, need.window_end, need.duration_minutes, now):
        return None
    slots = []
    for p in volunteers:
        if p.slot_start is None or p.slot_end is None:
            continue
        slot = Slot(p.slot_start, p.slot_end)
        travel_minutes = _travel_minutes(p)
        if slot.start < sla.arrival_after(now, travel_minutes):
            assert p.person_id is not None
            slot = sla.booking_slot(
                window_start=need.window_start,
                window_end=need.window_end,
                duration_minutes=need.duration_minutes,
                earliest=sla.arrival_after(now, travel_minutes),
                availability=await _availability(session, p.person_id),
            )
        slots.append(slot)
    if not slots:
        return None
    booked = Slot(min(s.start for s in slots), max(s.end for s in slots))
    assert need.window_end is not None
    if need.window_start is not None and booked.start < need.window_start:
        return None
    return booked if booked.end <= need.window_end else None


# The TRAVEL reason keeps minutes to one decimal: up to half a step (3 s) under the exact time.
TRAVEL_ROUNDING_MINUTES = 0.05


def _travel_minutes(p: Proposal) -> float:
    """The travel time the matcher reckoned for this proposal (its TRAVEL reason), never
    under the exact one: a slot booked at the first minute the person could arrive when the
    job solved, committed a few seconds later, must be moved rather than kept (a CI run saw
    12.93 min of travel against 12.90 min to the slot)."""
    for reason in p.reasons:
        if reason.get("code") == ReasonCode.TRAVEL.value:
            minutes = reason.get("data", {}).get("minutes", sla.ARRIVE_WITHIN_MINUTES)
            return float(minutes) + TRAVEL_ROUNDING_MINUTES
    return sla.ARRIVE_WITHIN_MINUTES


async def _availability(session: AsyncSession, person_id: int) -> list[tuple[int, int, int]]:
    rows = await session.execute(
        select(Availability.weekday, Availability.start_minute, Availability.end_minute).where(
            col(Availability.person_id) == person_id
        )
    )
    return [(d, a, b) for d, a, b in rows.all()]


async def _commit_helper(
    session: AsyncSession, p: Proposal, actor: Actor, now: datetime, outcome: CommitOutcome
) -> None:
    assert p.enterprise_request_id is not None and p.person_id is not None
    request = await session.get(EnterpriseRequest, p.enterprise_request_id, populate_existing=True)
    if request is None or request.version != p.target_version:
        outcome.stale.append(p)
        return
    await assign_enterprise_helper(
        session=session,
        request_id=p.enterprise_request_id,
        helper_id=p.person_id,
        actor=actor,
        expected_version=p.target_version,
        note=f"matching job {p.job_id}",
        now=now,
        notify_helper=False,  # notify_committed tells each person once, of all their tasks
    )
    outcome.committed.append(p)
