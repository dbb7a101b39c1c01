"""What a matching run returns: proposals, reasons, and how good the answer is. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ReasonCode(StrEnum):
    # why a proposal was made
    SKILLS_MATCHED = "skills_matched"
    TRAVEL = "travel"
    DEADLINE_MET = "deadline_met"
    AVAILABLE = "available"
    HOME_COMMUNITY = "home_community"
    CONTINUITY = "continuity"
    COMMANDO = "commando"
    LOAD = "load"
    PINNED = "pinned"
    TWINNED_RESOURCE = "twinned_resource"
    RESOURCE_DISTANCE = "resource_distance"
    HELPER_EXPERTISE = "helper_expertise"
    HELPER_LOAD = "helper_load"
    # why a need (or part of it) is left open
    NO_ONE_IN_REACH = "no_one_in_reach"
    SKILL_MISSING_IN_REACH = "skill_missing_in_reach"
    NO_SKILLED_COMBINATION = "no_skilled_combination"
    NOT_AVAILABLE = "not_available"
    BUSY = "busy"  # candidates booked elsewhere at that time (this run's visits or earlier work)
    NO_HOURS_LEFT = "no_hours_left"
    ALL_REJECTED = "all_rejected"
    TOO_FEW_CANDIDATES = "too_few_candidates"
    CANDIDATES_AT_CAPACITY = "candidates_at_capacity"
    NOT_WORTH_COST = "not_worth_cost"
    RESOURCE_NONE_IN_REACH = "resource_none_in_reach"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    NO_HELPER_WITH_EXPERTISE = "no_helper_with_expertise"
    HELPERS_AT_LOAD = "helpers_at_load"


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    message: str
    data: tuple[tuple[str, Any], ...] = ()  # JSON-able key/value pairs, e.g. (("km", 1.2),)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "data": dict(self.data)}


@dataclass(frozen=True, slots=True)
class Explanation:
    reasons: tuple[Reason, ...]

    @property
    def message(self) -> str:
        return "; ".join(r.message for r in self.reasons)


@dataclass(frozen=True, slots=True)
class Assignment:
    need_id: int
    volunteer_id: int
    cost: int  # pair cost (fairness is per person, see Result.terms)
    distance_km: float
    travel_minutes: float
    pinned: bool
    explanation: Explanation
    # The visit booked for this person (UTC): on site at slot_start, done by slot_end.
    slot_start: datetime | None = None
    slot_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class ResourceAllocation:
    need_id: int
    resource_id: int
    kind: str
    quantity: int
    cost: int
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class HelperAssignment:
    task_id: int
    volunteer_id: int
    cost: int
    pinned: bool
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    volunteer_id: int
    cost: int  # pair cost plus the fairness cost of one more assignment
    distance_km: float
    travel_minutes: float
    explanation: Explanation
    slot_start: datetime | None = None  # the visit this person would make (UTC)
    slot_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class UnmatchedNeed:
    need_id: int
    open_seats: int
    missing_resources: tuple[tuple[str, int], ...]  # (kind, quantity)
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class UnmatchedTask:
    task_id: int
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Stats:
    seats_filled: int
    seats_total: int
    urgent_coverage: float  # penalty-weighted share of urgent seats filled (1.0 if none)
    candidate_pairs: int
    pruned_pairs: int  # feasible pairs left out by top-K (covered by the bound)
    polished: bool  # CP-SAT ran on (part of) the problem; see `stages`
    polish_improvement: int
    # Which stages ran, with the candidate pairs each worked on ("lagrange_rounds": rounds,
    # "conflict_rows": time-conflict rows priced; "person_bound": pairs in the people's problems
    # of the seat-price bound, "person_bound_rounds" its rounds and "person_bound_gain" what it
    # added to the flow's bound, 0 if the flow's bound stands): e.g. (("flow", 38158),
    # ("lagrange_rounds", 9), ("cpsat_neighbourhood", 3000)). A stage that did not run is not
    # listed, except where the gap target was met: "<stage>_skipped_gap_target" (the pairs it
    # would have worked on) for a stage skipped, "<stage>_stopped_gap_target" (the rounds it had
    # done) for one that stopped its rounds there; "column_generation_interior_from": the master
    # solve from which on the interior point method solved the master.
    # A scope solved in community clusters says so ("clusters", their sizes,
    # "border_pairs", "border_pairs_used", ...: `matching.clusters`).
    stages: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Result:
    assignments: tuple[Assignment, ...]
    resource_allocations: tuple[ResourceAllocation, ...]
    helper_assignments: tuple[HelperAssignment, ...]
    unmatched_needs: tuple[UnmatchedNeed, ...]
    unmatched_tasks: tuple[UnmatchedTask, ...]
    objective: int  # total cost, lower is better
    bound: int  # no feasible assignment can cost less
    gap: float  # (objective - bound) / max(1, |objective|)
    optimal: bool
    seconds: float = field(compare=False)
    stats: Stats
    terms: tuple[tuple[str, int], ...] = ()  # objective broken down by term
    timings: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    violations: tuple[str, ...] = ()  # hard constraints broken (only ever by pinned input)
