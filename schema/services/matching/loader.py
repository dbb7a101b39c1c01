"""Between the database and the optimiser (`matching/`, which knows no tables): rows in, a
`Problem` out; a `Result` in, proposals and unmatched items out.

It reads with a handful of Core queries (one per table, never one per row), so loading the
reference county takes a fraction of a second.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

import sqlalchemy as sa
from sqlmodel import col, select

from matching import travel
from matching.problem import (
    Busy,
    EnterpriseTask,
    Need,
    Problem,
    Resource,
    Volunteer,
    Weights,
)
from matching.result import Assignment, Explanation, Reason, ReasonCode, Result
from schema import sla
from schema.base import aware, utcnow
from schema.enums import (
    AreaMode,
    EnterpriseRequestStatus,
    PersonKind,
    ProposalKind,
    ProposalStatus,
    SignUpStatus,
)
from schema.models import (
    Activity,
    Availability,
    Community,
    Enterprise,
    EnterpriseRequest,
    HelperExpertise,
    NeedAssignment,
    NeedResource,
    NeedSkill,
    Pairing,
    Person,
    PersonSkill,
    Proposal,
    SignUp,
    Skill,
    TeamMembership,
    UnmatchedItem,
)
from schema.models import (
    Need as NeedRow,
)
from schema.models import (
    Resource as ResourceRow,
)
from schema.people import SERVING_KINDS
from schema.services.errors import Invalid
from schema.services.matching.counties import (
    MATCHABLE_NEED_STATUSES,
    communities_of,
    resources_within,
    serving_people_of,
    work_boxes,
)
from schema.services.matching.wording import name_things
from schema.workflow import OPEN_ENTERPRISE_STATUSES, OPEN_NEED_STATUSES

# Needs still waiting for people: the matcher proposes their dispatch.
# What a job matches: people to needs, resources to needs, helpers to enterprise requests.
KINDS = ("volunteer", "resource", "helper")
# Decisions a re-run keeps.
KEEP = (ProposalStatus.PINNED, ProposalStatus.ACCEPTED)


@dataclass(frozen=True)
class Carried:
    """A parent job's decision a re-run carries over as a proposal of its own: an accepted or
    pinned resource (the solver has no pinned resources, so it is kept beside the solve), or a
    rejection with its reason (the pair is forbidden; the row says why it is not proposed)."""

    kind: ProposalKind
    status: ProposalStatus
    need_id: int | None
    enterprise_request_id: int | None
    person_id: int | None
    resource_id: int | None
    quantity: int
    cost: float
    reasons: list[dict[str, Any]]
    message: str
    decision_reason: str | None
    decided_by_account_id: int | None
    decided_at: datetime | None
    job_id: int


@dataclass(frozen=True)
class Snapshot:
    """A problem plus what a commit needs to refuse stale proposals: each target's version."""

    problem: Problem
    need_versions: Mapping[int, int]
    request_versions: Mapping[int, int]
    # The mode it was solved in (asked for, or the scope's own), recorded on the job.
    emergency: bool = False
    # A re-run's decisions kept from its parent: accepted resources, rejections with reasons.
    carried: tuple[Carried, ...] = ()


def weights_from(overrides: Mapping[str, float] | None, *, emergency: bool) -> Weights:
    """Emergency presets first, then the coordinator's own weights on top; unknown keys refused."""
    base = Weights.emergency() if emergency else Weights()
    overrides = dict(overrides or {})
    known = {f.name for f in dataclasses.fields(Weights)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise Invalid(
            "weights", f"unknown weight(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    bad = sorted(k for k, v in overrides.items() if not (0 <= float(v) <= 1e6))
    if bad:
        raise Invalid("weights", f"weights must be between 0 and 1000000: {', '.join(bad)}")
    return dataclasses.replace(base, **{k: float(v) for k, v in overrides.items()})


def _group(rows: Iterable[tuple[int, Any]]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for key, value in rows:
        out[key].append(value)
    return out


def _timing(row: Any, now: datetime, *, emergency: bool) -> dict[str, Any]:
    """When a need is served and how far away its people may start, by the deadline rules
    dispatch will apply (schema/sla.py): a visit still bookable is a slot inside its window,
    anything else is served from now on the 1341 clock."""
    limit = sla.reach_limit_minutes(
        kind=row.kind,
        window_end=row.window_end,
        duration_minutes=row.duration_minutes,
        now=now,
        tier_default=travel.reach_limit_minutes(row.tier.value, emergency),
    )
    if sla.bookable(row.kind, row.window_end, row.duration_minutes, now):
        return {
            "starts_at": row.window_start,
            "window_end": row.window_end,
            "reach_limit_minutes": limit,
        }
    return {"starts_at": None, "window_end": None, "reach_limit_minutes": limit}


def load_problem(
    conn: sa.Connection,
    *,
    scope_community_id: int | None = None,
    scope_counties: Sequence[str] | None = None,
    kinds: Iterable[str] = KINDS,
    weights: Mapping[str, float] | None = None,
    emergency: bool | None = None,
    pinned: Iterable[tuple[int, int]] = (),
    forbidden: Iterable[tuple[int, int]] = (),
    pinned_helpers: Iterable[tuple[int, int]] = (),
    forbidden_helpers: Iterable[tuple[int, int]] = (),
    carried: Iterable[Carried] = (),
    now: datetime | None = None,
) -> Snapshot:
    """The open work of a scope (one community, or the county) and everyone who could serve it.

    `scope_counties`: a province job's part, the work of these counties and who serves it
    (`schema.services.matching.counties`); people elsewhere are not loaded at all.

    `carried`: a parent job's kept decisions; its kept resources are taken off what the needs
    still want and what the units still have, so the solve works around them."""
    now = now or utcnow()
    kinds = set(kinds)
    kept = [c for c in carried if c.resource_id is not None and c.status in KEEP]
    kept_by_need: dict[int, list[tuple[str, int]]] = defaultdict(list)
    kept_by_resource: dict[int, int] = defaultdict(int)
    mode_rows = conn.execute(sa.select(col(Community.id), col(Community.mode))).all()
    emergency_areas = {cid for cid, mode in mode_rows if mode == AreaMode.EMERGENCY}
    if emergency is None:
        emergency = (
            scope_community_id in emergency_areas
            if scope_community_id is not None
            else bool(emergency_areas)
        )

    skill_code = dict(conn.execute(sa.select(col(Skill.id), col(Skill.code))).all())

    # --- needs waiting for people
    need_q = select(NeedRow).where(col(NeedRow.status).in_(MATCHABLE_NEED_STATUSES))
    if not kinds & {"volunteer", "resource"}:
        need_q = need_q.where(sa.false())  # a helper-only job has no needs to report on
    if scope_community_id is not None:
        need_q = need_q.where(col(NeedRow.community_id) == scope_community_id)
    in_counties = communities_of(scope_counties) if scope_counties is not None else None
    if in_counties is not None:
        need_q = need_q.where(col(NeedRow.community_id).in_(in_counties))
    need_rows = conn.execute(need_q).all()
    need_ids = [r.id for r in need_rows]
    need_skills = _group(
        (n, skill_code[s])
        for n, s in conn.execute(
            sa.select(col(NeedSkill.need_id), col(NeedSkill.skill_id)).where(
                col(NeedSkill.need_id).in_(need_ids)
            )
        )
    )
    need_resources = _group(
        (n, (kind.value, q))
        for n, kind, q in conn.execute(
            sa.select(
                col(NeedResource.need_id), col(NeedResource.kind), col(NeedResource.quantity)
            ).where(col(NeedResource.need_id).in_(need_ids))
        )
    )
    needs = tuple(
        Need(
            id=r.id,
            lat=r.latitude,
            lon=r.longitude,
            community_id=r.community_id,
            tier=r.tier.value,
            urgency=r.urgency,
            required_skills=frozenset(need_skills.get(r.id, ())),
            # A resource-only job fills no seats, so it reports no volunteer shortfall.
            headcount=r.headcount if "volunteer" in kinds else 0,
            duration_minutes=r.duration_minutes,
            emergency=r.community_id in emergency_areas,
            required_resources=tuple(need_resources.get(r.id, ())) if "resource" in kinds else (),
            **_timing(r, now, emergency=r.community_id in emergency_areas),
        )
        for r in need_rows
    )
    if kept:
        kind_of = dict(
            conn.execute(
                sa.select(col(ResourceRow.id), col(ResourceRow.kind)).where(
                    col(ResourceRow.id).in_([c.resource_id for c in kept])
                )
            ).all()
        )
        for c in kept:
            assert c.need_id is not None and c.resource_id is not None
            kept_by_need[c.need_id].append((kind_of[c.resource_id].value, c.quantity))
            kept_by_resource[c.resource_id] += c.quantity
        needs = tuple(
            dataclasses.replace(
                n, required_resources=_still_wanted(n.required_resources, kept_by_need[n.id])
            )
            for n in needs
        )

    # --- people: skills, windows, teams, hours already committed on open needs
    in_people = serving_people_of(scope_counties) if scope_counties is not None else None

    def scoped(query: Any, person: Any) -> Any:
        """The query, limited to the people of the scope's counties (when it has some)."""
        return query if in_people is None else query.where(person.in_(in_people))

    person_columns = (
        col(Person.id),
        col(Person.kind),
        col(Person.latitude),
        col(Person.longitude),
        col(Person.travel_mode),
        col(Person.weekly_capacity_minutes),
        col(Person.registered_community_id),
        col(Person.is_commando),
        col(Person.max_open_requests),
    )
    people = conn.execute(
        sa.select(*person_columns).where(
            col(Person.kind).in_((*SERVING_KINDS, PersonKind.ENTERPRISE_HELPER))
            if in_people is None
            else col(Person.id).in_(in_people)
        )
    ).all()
    person_skills = _group(
        (p, skill_code[s])
        for p, s in conn.execute(
            scoped(
                sa.select(col(PersonSkill.person_id), col(PersonSkill.skill_id)),
                col(PersonSkill.person_id),
            )
        )
    )
    windows = _group(
        (p, (d, a, b))
        for p, d, a, b in conn.execute(
            scoped(
                sa.select(
                    col(Availability.person_id),
                    col(Availability.weekday),
                    col(Availability.start_minute),
                    col(Availability.end_minute),
                ),
                col(Availability.person_id),
            )
        )
    )
    teams = _group(
        conn.execute(
            scoped(
                sa.select(col(TeamMembership.person_id), col(TeamMembership.team_id)),
                col(TeamMembership.person_id),
            )
        ).all()
    )
    serving = conn.execute(
        scoped(
            sa.select(
                col(NeedAssignment.person_id),
                col(NeedRow.id),
                col(NeedRow.duration_minutes),
                col(NeedRow.arrive_by),
                col(NeedRow.latitude),
                col(NeedRow.longitude),
            )
            .join(NeedRow, col(NeedRow.id) == col(NeedAssignment.need_id))
            .where(
                col(NeedAssignment.active),
                col(NeedAssignment.person_id).is_not(None),
                col(NeedRow.status).in_(OPEN_NEED_STATUSES),
            ),
            col(NeedAssignment.person_id),
        )
    ).all()
    committed: dict[int, int] = defaultdict(int)
    current: dict[int, set[int]] = defaultdict(set)
    busy: dict[int, list[Busy]] = defaultdict(list)
    # person_id IS NOT NULL in the query, need.id is the primary key: no None here
    rows = cast(Sequence[tuple[int, int, int, datetime | None, float, float]], serving)
    for person_id, need_id, minutes, arrive_by, lat, lon in rows:
        committed[person_id] += minutes
        current[person_id].add(need_id)
        if arrive_by is not None:  # the visit dispatch booked: on site then, for its duration
            start = aware(arrive_by)
            busy[person_id].append(Busy(start, start + timedelta(minutes=minutes), lat, lon))
    # Activities they signed up for or are at, still to end, block their time too.
    for person_id, starts_at, ends_at, lat, lon in conn.execute(
        scoped(
            sa.select(
                col(SignUp.person_id),
                col(Activity.starts_at),
                col(Activity.ends_at),
                col(Activity.latitude),
                col(Activity.longitude),
            )
            .join(Activity, col(Activity.id) == col(SignUp.activity_id))
            .where(
                col(SignUp.status).in_((SignUpStatus.SIGNED_UP, SignUpStatus.CHECKED_IN)),
                col(Activity.ends_at) > now,
            ),
            col(SignUp.person_id),
        )
    ):
        busy[person_id].append(Busy(aware(starts_at), aware(ends_at), lat, lon))
    expertise = _group(
        (p, k.value)
        for p, k in conn.execute(
            scoped(
                sa.select(col(HelperExpertise.person_id), col(HelperExpertise.kind)),
                col(HelperExpertise.person_id),
            )
        )
    )
    open_requests = dict(
        conn.execute(
            sa.select(col(EnterpriseRequest.helper_id), sa.func.count())
            .where(
                sa.true() if in_people is None else col(EnterpriseRequest.helper_id).in_(in_people),
                col(EnterpriseRequest.status).in_(OPEN_ENTERPRISE_STATUSES),
                col(EnterpriseRequest.helper_id).is_not(None),
            )
            .group_by(col(EnterpriseRequest.helper_id))
        ).all()
    )
    volunteers = []
    for p in people:
        is_helper = p.kind == PersonKind.ENTERPRISE_HELPER
        if is_helper and "helper" not in kinds:
            continue
        if not is_helper and "volunteer" not in kinds:
            continue
        volunteers.append(
            Volunteer(
                id=p.id,
                lat=p.latitude,
                lon=p.longitude,
                skills=frozenset(person_skills.get(p.id, ())),
                travel_mode=p.travel_mode.value,
                weekly_capacity_minutes=0 if is_helper else p.weekly_capacity_minutes,
                committed_minutes=min(committed.get(p.id, 0), p.weekly_capacity_minutes),
                availability=tuple(windows.get(p.id, ())),
                home_community_id=p.registered_community_id,
                team_ids=frozenset(teams.get(p.id, ())),
                is_commando=p.is_commando,
                current_need_ids=frozenset(current.get(p.id, ())),
                is_helper=is_helper,
                expertise=frozenset(expertise.get(p.id, ())),
                max_open_requests=p.max_open_requests if is_helper else 0,
                open_requests=open_requests.get(p.id, 0),
                busy=tuple(sorted(busy.get(p.id, ()), key=lambda b: b.start)),
            )
        )

    # --- enterprise requests waiting for a helper
    tasks: tuple[EnterpriseTask, ...] = ()
    request_versions: dict[int, int] = {}
    if "helper" in kinds:
        task_q = (
            sa.select(
                col(EnterpriseRequest.id),
                col(EnterpriseRequest.kind),
                col(EnterpriseRequest.urgency),
                col(EnterpriseRequest.deadline),
                col(EnterpriseRequest.version),
                col(Enterprise.latitude),
                col(Enterprise.longitude),
            )
            .join(Enterprise, col(Enterprise.id) == col(EnterpriseRequest.enterprise_id))
            .where(col(EnterpriseRequest.status) == EnterpriseRequestStatus.SUBMITTED)
        )
        if scope_community_id is not None:
            task_q = task_q.where(col(Enterprise.community_id) == scope_community_id)
        if in_counties is not None:
            task_q = task_q.where(col(Enterprise.community_id).in_(in_counties))
        task_rows = conn.execute(task_q).all()
        tasks = tuple(
            EnterpriseTask(
                id=t.id,
                lat=t.latitude,
                lon=t.longitude,
                kind=t.kind.value,
                urgency=t.urgency,
                deadline=t.deadline,
            )
            for t in task_rows
        )
        request_versions = {t.id: t.version for t in task_rows}

    # --- resources, less what is already lent to open needs
    resources: tuple[Resource, ...] = ()
    if "resource" in kinds:
        county_resources: list[int] = []
        if scope_counties is not None:
            boxes = list(work_boxes(conn, scope_counties).values())
            if boxes:
                box = boxes[0]
                for other in boxes[1:]:
                    box = box.union(other)
                county_resources = [rid for rid, _, _ in resources_within(conn, box)]
        lent = dict(
            conn.execute(
                sa.select(col(NeedAssignment.resource_id), sa.func.sum(NeedAssignment.quantity))
                .join(NeedRow, col(NeedRow.id) == col(NeedAssignment.need_id))
                .where(
                    col(NeedAssignment.active),
                    col(NeedAssignment.resource_id).is_not(None),
                    col(NeedRow.status).in_(OPEN_NEED_STATUSES),
                )
                .group_by(col(NeedAssignment.resource_id))
            ).all()
        )
        twinned = _group(
            conn.execute(sa.select(col(Pairing.unit_id), col(Pairing.community_id))).all()
        )
        res_q = select(ResourceRow)
        if scope_counties is not None:
            res_q = res_q.where(col(ResourceRow.id).in_(county_resources or [-1]))
        res_rows = conn.execute(
            res_q.where(
                col(ResourceRow.is_available),
                col(ResourceRow.retired_at).is_(None),
                col(ResourceRow.available_from) <= now,
                sa.or_(
                    col(ResourceRow.available_until).is_(None),
                    col(ResourceRow.available_until) > now,
                ),
            )
        ).all()
        resources = tuple(
            Resource(
                id=r.id,
                kind=r.kind.value,
                quantity=max(
                    0, r.quantity - int(lent.get(r.id, 0)) - kept_by_resource.get(r.id, 0)
                ),
                lat=r.latitude,
                lon=r.longitude,
                paired_unit_id=r.unit_id,
                twinned_community_ids=frozenset(twinned.get(r.unit_id, ()))
                if r.unit_id is not None
                else frozenset(),
            )
            for r in res_rows
        )

    problem = Problem(
        volunteers=tuple(volunteers),
        needs=needs,
        enterprise_tasks=tasks,
        resources=resources,
        weights=weights_from(weights, emergency=emergency),
        pinned=frozenset(pinned),
        forbidden=frozenset(forbidden),
        pinned_helpers=frozenset(pinned_helpers),
        forbidden_helpers=frozenset(forbidden_helpers),
        now=now,
    )
    versions = {r.id: r.version for r in need_rows}
    return Snapshot(
        problem,
        versions,
        request_versions,
        emergency=emergency,
        carried=tuple(c for c in carried if _still_open(c, versions, request_versions)),
    )


def _still_wanted(
    wanted: Iterable[tuple[str, int]], kept: Iterable[tuple[str, int]]
) -> tuple[tuple[str, int], ...]:
    """What a need still wants of each resource kind once kept allocations are counted."""
    left: dict[str, int] = defaultdict(int)
    for kind, quantity in wanted:
        left[kind] += quantity
    for kind, quantity in kept:
        left[kind] -= quantity
    return tuple((k, q) for k, q in left.items() if q > 0)


def _still_open(
    c: Carried, need_versions: Mapping[int, int], request_versions: Mapping[int, int]
) -> bool:
    if c.need_id is not None:
        return c.need_id in need_versions
    return c.enterprise_request_id in request_versions


# ---------------------------------------------------------------- a job's inputs and outputs


class Decisions(TypedDict, total=False):
    """`load_problem`'s keyword arguments for a re-run; empty for a first run."""

    pinned: set[tuple[int, int]]
    forbidden: set[tuple[int, int]]
    pinned_helpers: set[tuple[int, int]]
    forbidden_helpers: set[tuple[int, int]]
    carried: list[Carried]


def decisions_of(conn: sa.Connection, job_id: int) -> Decisions:
    """A parent job's decisions, to be honoured by a re-run: kept pairs and rejected pairs."""
    rows = conn.execute(
        sa.select(
            col(Proposal.kind),
            col(Proposal.need_id),
            col(Proposal.enterprise_request_id),
            col(Proposal.person_id),
            col(Proposal.status),
        ).where(col(Proposal.job_id) == job_id, col(Proposal.person_id).is_not(None))
    ).all()
    out: Decisions = {
        "pinned": set(),
        "forbidden": set(),
        "pinned_helpers": set(),
        "forbidden_helpers": set(),
        "carried": carried_of(conn, job_id),
    }
    keep = KEEP
    for kind, need_id, request_id, person_id, status in rows:
        helper = kind == ProposalKind.HELPER
        # person_id IS NOT NULL in the query; CHECK one_target: helpers have a request, else a need
        pair = cast(tuple[int, int], (request_id if helper else need_id, person_id))
        if status in keep:
            out["pinned_helpers" if helper else "pinned"].add(pair)
        elif status == ProposalStatus.REJECTED:
            out["forbidden_helpers" if helper else "forbidden"].add(pair)
    return out


def carried_of(conn: sa.Connection, job_id: int) -> list[Carried]:
    """The parent's kept resources and its rejections (with their reasons)."""
    rows = conn.execute(
        select(Proposal)
        .where(
            col(Proposal.job_id) == job_id,
            sa.or_(
                col(Proposal.status) == ProposalStatus.REJECTED,
                sa.and_(
                    col(Proposal.kind) == ProposalKind.RESOURCE, col(Proposal.status).in_(KEEP)
                ),
            ),
        )
        .order_by(col(Proposal.id))
    ).all()
    return [
        Carried(
            kind=p.kind,
            status=p.status,
            need_id=p.need_id,
            enterprise_request_id=p.enterprise_request_id,
            person_id=p.person_id,
            resource_id=p.resource_id,
            quantity=p.quantity,
            cost=p.cost,
            reasons=p.reasons,
            message=p.message,
            decision_reason=p.decision_reason,
            decided_by_account_id=p.decided_by_account_id,
            decided_at=p.decided_at,
            job_id=job_id,
        )
        for p in (Proposal.model_validate(row._mapping) for row in rows)
    ]


def _carried_row(job_id: int, c: Carried, snapshot: Snapshot) -> dict[str, Any]:
    kept = "rejected" if c.status is ProposalStatus.REJECTED else "kept"
    note = f"{kept} in job {c.job_id}" + (f": {c.decision_reason}" if c.decision_reason else "")
    code = "rejected" if c.status is ProposalStatus.REJECTED else ReasonCode.PINNED.value
    reason = {"code": code, "message": note, "data": {"job_id": c.job_id}}
    version = (
        snapshot.need_versions[c.need_id]
        if c.need_id is not None
        else snapshot.request_versions[cast(int, c.enterprise_request_id)]
    )
    return {
        "slot_start": None,
        "slot_end": None,
        "job_id": job_id,
        "kind": c.kind,
        "need_id": c.need_id,
        "enterprise_request_id": c.enterprise_request_id,
        "person_id": c.person_id,
        "resource_id": c.resource_id,
        "quantity": c.quantity,
        "cost": c.cost,
        "target_version": version,
        "status": c.status,
        "reasons": [reason, *(r for r in c.reasons if r.get("message") != note)],
        "message": f"{note}; {c.message}" if c.message else note,
        "decision_reason": c.decision_reason,
        "decided_by_account_id": c.decided_by_account_id,
        "decided_at": c.decided_at,
    }


def _proposal(
    job_id: int,
    kind: ProposalKind,
    explanation: Explanation,
    *,
    cost: float,
    version: int,
    pinned: bool = False,
    **target: int,
) -> dict[str, Any]:
    """A proposal row: `target` names its need or request, and its person or resource."""
    ids = {"need_id": None, "enterprise_request_id": None, "person_id": None, "resource_id": None}
    return {
        "slot_start": None,
        "slot_end": None,
        "job_id": job_id,
        "kind": kind,
        "quantity": 1,
        **ids,
        **target,
        "cost": float(cost),
        "target_version": version,
        "status": ProposalStatus.PINNED if pinned else ProposalStatus.PROPOSED,
        "reasons": [r.as_dict() for r in explanation.reasons],
        "message": explanation.message,
        "decision_reason": None,
        "decided_by_account_id": None,
        "decided_at": None,
    }


def _unmatched(
    job_id: int, reasons: Sequence[Reason], seats_open: int, **target: int
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "need_id": None,
        "enterprise_request_id": None,
        **target,
        "seats_open": seats_open,
        "reasons": [x.as_dict() for x in reasons],
        "message": "; ".join(x.message for x in reasons),
    }


@dataclass(frozen=True)
class _Index:
    needs: Mapping[int, Need]
    people: Mapping[int, Volunteer]

    @classmethod
    def of(cls, problem: Problem) -> _Index:
        return cls({n.id: n for n in problem.needs}, {v.id: v for v in problem.volunteers})


def proposed_slot(problem: Problem, a: Assignment, index: _Index | None = None) -> sla.Slot | None:
    """The visit a proposal books: the solver's slot when it chose one, else the first slot
    inside the need's window and the person's own windows that the person can reach in time
    (sla.booking_slot). None for a need served on the 1341 clock."""
    index = index or _Index.of(problem)
    need = index.needs[a.need_id]
    if need.window_end is None:
        return None
    if a.slot_start is not None and a.slot_end is not None:
        return sla.Slot(a.slot_start, a.slot_end)
    person = index.people[a.volunteer_id]
    return sla.booking_slot(
        window_start=need.starts_at,
        window_end=need.window_end,
        duration_minutes=need.duration_minutes,
        earliest=sla.arrival_after(problem.now, a.travel_minutes),
        availability=person.availability,
    )


def _with_promise(explanation: Explanation, slot: sla.Slot | None) -> Explanation:
    """The matcher's reasons, with the deadline named as dispatch will set it."""
    promise = Reason(ReasonCode.DEADLINE_MET, sla.promise_words(slot), sla.promise_data(slot))
    kept = tuple(r for r in explanation.reasons if r.code is not ReasonCode.DEADLINE_MET)
    return Explanation((*kept, promise))


def _volunteer_proposal(
    job_id: int, snapshot: Snapshot, a: Assignment, index: _Index
) -> dict[str, Any]:
    slot = proposed_slot(snapshot.problem, a, index)
    row = _proposal(
        job_id,
        ProposalKind.VOLUNTEER,
        _with_promise(a.explanation, slot),
        cost=a.cost,
        version=snapshot.need_versions[a.need_id],
        pinned=a.pinned,
        need_id=a.need_id,
        person_id=a.volunteer_id,
    )
    row["slot_start"], row["slot_end"] = (slot.start, slot.end) if slot else (None, None)
    return row


def save_result(conn: sa.Connection, job_id: int, snapshot: Snapshot, result: Result) -> None:
    """Proposals (with reasons and booked slots) and unmatched items, in the caller's
    transaction."""
    nv, rv = snapshot.need_versions, snapshot.request_versions
    kind = ProposalKind
    index = _Index.of(snapshot.problem)
    refused = {
        (c.need_id, c.resource_id)
        for c in snapshot.carried
        if c.kind is kind.RESOURCE and c.status is ProposalStatus.REJECTED
    }
    proposals = [
        *(_carried_row(job_id, c, snapshot) for c in snapshot.carried),
        *(_volunteer_proposal(job_id, snapshot, a, index) for a in result.assignments),
        *(
            _proposal(
                job_id,
                kind.RESOURCE,
                r.explanation,
                cost=r.cost,
                version=nv[r.need_id],
                need_id=r.need_id,
                resource_id=r.resource_id,
                quantity=r.quantity,
            )
            for r in result.resource_allocations
            if (r.need_id, r.resource_id) not in refused
        ),
        *(
            _proposal(
                job_id,
                kind.HELPER,
                h.explanation,
                cost=h.cost,
                version=rv[h.task_id],
                pinned=h.pinned,
                enterprise_request_id=h.task_id,
                person_id=h.volunteer_id,
            )
            for h in result.helper_assignments
        ),
    ]
    if proposals:
        name_things(conn, proposals)
        conn.execute(sa.insert(Proposal), proposals)
    unmatched = [
        *(
            _unmatched(job_id, u.reasons, u.open_seats, need_id=u.need_id)
            for u in result.unmatched_needs
        ),
        *(
            _unmatched(job_id, u.reasons, 1, enterprise_request_id=u.task_id)
            for u in result.unmatched_tasks
        ),
    ]
    if unmatched:
        conn.execute(sa.insert(UnmatchedItem), unmatched)
