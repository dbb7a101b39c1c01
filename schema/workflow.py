"""The closed loop's state machines, as pure functions shared by the API, the CLI and the matcher.

report → accept → dispatch → arrive → resolve → rate/close; escalate and return on the way;
merge folds a duplicate into another need. Sign-ups and matching jobs have their own tables.
Nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from schema.base import LabelledEnum
from schema.enums import (
    EnterpriseAction,
    EnterpriseRequestStatus,
    JobStatus,
    NeedAction,
    NeedStatus,
    NeedTier,
    SignUpStatus,
)

S = NeedStatus
OPEN_NEED_STATUSES = frozenset({S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ARRIVED})
FINAL_NEED_STATUSES = frozenset({S.CLOSED, S.MERGED})

# action -> (statuses it may start from, status it leads to; None keeps the current one)
NEED_TRANSITIONS: dict[NeedAction, tuple[frozenset[NeedStatus], NeedStatus | None]] = {
    NeedAction.ACCEPT: (frozenset({S.REPORTED}), S.ACCEPTED),
    # Dispatching again (转派) from dispatched or arrived hands the need to someone else.
    NeedAction.DISPATCH: (frozenset({S.ACCEPTED, S.DISPATCHED, S.ARRIVED}), S.DISPATCHED),
    NeedAction.ARRIVE: (frozenset({S.DISPATCHED}), S.ARRIVED),
    NeedAction.RESOLVE: (frozenset({S.ARRIVED}), S.RESOLVED),
    NeedAction.RATE: (frozenset({S.RESOLVED}), S.CLOSED),
    NeedAction.CLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
    # Escalation raises the tier and keeps the need where it is in the loop.
    NeedAction.ESCALATE: (frozenset({S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ARRIVED}), None),
    # Returned work (退回) goes back to the coordinator's desk to be dispatched again.
    NeedAction.RETURN: (frozenset({S.DISPATCHED, S.ARRIVED}), S.ACCEPTED),
    NeedAction.MERGE: (OPEN_NEED_STATUSES, S.MERGED),
    # Lending resources (a hall, vehicles, funds) to an open need keeps it where it is.
    NeedAction.ALLOCATE: (OPEN_NEED_STATUSES, None),
}

E = EnterpriseRequestStatus
OPEN_ENTERPRISE_STATUSES = frozenset({E.SUBMITTED, E.ASSIGNED, E.IN_PROGRESS})

ENTERPRISE_TRANSITIONS: dict[
    EnterpriseAction, tuple[frozenset[EnterpriseRequestStatus], EnterpriseRequestStatus | None]
] = {
    # Reassigning a helper is allowed while the request is open.
    EnterpriseAction.ASSIGN: (OPEN_ENTERPRISE_STATUSES, E.ASSIGNED),
    # A helper claims (抢单) only a request nobody carries yet.
    EnterpriseAction.CLAIM: (frozenset({E.SUBMITTED}), E.ASSIGNED),
    # The first note of the assigned helper moves the request into progress.
    EnterpriseAction.NOTE: (frozenset({E.ASSIGNED, E.IN_PROGRESS}), E.IN_PROGRESS),
    EnterpriseAction.RESOLVE: (frozenset({E.ASSIGNED, E.IN_PROGRESS}), E.RESOLVED),
    EnterpriseAction.RATE: (frozenset({E.RESOLVED}), E.CLOSED),
}


# Not frozen: Python sets __traceback__ on exceptions as they propagate (context managers too).
@dataclass(eq=False)
class IllegalTransition(Exception):
    """An action that the current status does not allow; the API turns it into a userError."""

    action: str
    status: str
    allowed_from: tuple[str, ...]
    # Said instead of the generic sentence where the obstacle is time, not a status.
    detail: str | None = None

    @property
    def code(self) -> str:
        return "ILLEGAL_TRANSITION"

    def __str__(self) -> str:
        if self.detail:
            return self.detail
        allowed = ", ".join(self.allowed_from) or "no status"
        return f"cannot {self.action} from status '{self.status}' (allowed from: {allowed})"


StatusT = TypeVar("StatusT", bound=LabelledEnum)


def _follow(
    table: Mapping[Any, tuple[frozenset[StatusT], StatusT | None]],
    current: StatusT,
    action: Any,
) -> StatusT:
    """The status `action` leads to from `current` in `table` (None there keeps it), or
    IllegalTransition; an action the table does not list starts nothing (creating a row)."""
    name = getattr(action, "value", action)
    if action not in table:
        raise IllegalTransition(name, current.value, ())
    sources, target = table[action]
    if current not in sources:
        raise IllegalTransition(name, current.value, tuple(sorted(s.value for s in sources)))
    return current if target is None else target


def next_need_status(current: NeedStatus, action: NeedAction) -> NeedStatus:
    """The status a need moves to, or IllegalTransition."""
    return _follow(NEED_TRANSITIONS, current, action)


def allowed_need_actions(current: NeedStatus) -> frozenset[NeedAction]:
    return frozenset(a for a, (sources, _) in NEED_TRANSITIONS.items() if current in sources)


def next_enterprise_status(
    current: EnterpriseRequestStatus, action: EnterpriseAction
) -> EnterpriseRequestStatus:
    return _follow(ENTERPRISE_TRANSITIONS, current, action)


U = SignUpStatus
# A sign-up's life: sign up (again, after cancelling), cancel, check in, check out.
SIGN_UP_ACTIONS = ("sign_up", "cancel", "check_in", "check_out")
SIGN_UP_TRANSITIONS: dict[str, tuple[frozenset[SignUpStatus], SignUpStatus]] = {
    "sign_up": (frozenset({U.CANCELLED}), U.SIGNED_UP),
    "cancel": (frozenset({U.SIGNED_UP}), U.CANCELLED),
    "check_in": (frozenset({U.SIGNED_UP}), U.CHECKED_IN),
    "check_out": (frozenset({U.CHECKED_IN}), U.CHECKED_OUT),
}


def next_sign_up_status(current: SignUpStatus, action: str) -> SignUpStatus:
    return _follow(SIGN_UP_TRANSITIONS, current, action)


J = JobStatus
# A matching job's life: queued when started; a worker runs it (run, progress) to its end
# (succeed, fail); a coordinator may cancel it before then, and commits a succeeded one once.
JobAction = Literal["run", "progress", "succeed", "fail", "cancel", "commit"]
LIVE_JOB_STATUSES = frozenset({J.QUEUED, J.RUNNING})
FINAL_JOB_STATUSES = frozenset({J.SUCCEEDED, J.FAILED, J.CANCELLED, J.COMMITTED})
JOB_TRANSITIONS: dict[JobAction, tuple[frozenset[JobStatus], JobStatus]] = {
    "run": (frozenset({J.QUEUED}), J.RUNNING),
    "progress": (frozenset({J.RUNNING}), J.RUNNING),
    "succeed": (frozenset({J.RUNNING}), J.SUCCEEDED),
    # A solver error, a server stopping under it, or a job its process left behind.
    "fail": (LIVE_JOB_STATUSES, J.FAILED),
    "cancel": (LIVE_JOB_STATUSES, J.CANCELLED),
    "commit": (frozenset({J.SUCCEEDED}), J.COMMITTED),
}


def next_job_status(current: JobStatus, action: JobAction) -> JobStatus:
    return _follow(JOB_TRANSITIONS, current, action)


_TIER_ORDER = (NeedTier.ORDINARY, NeedTier.COMPLEX, NeedTier.MAJOR)


def escalated_tier(tier: NeedTier) -> NeedTier:
    """The next tier up; a major need cannot be escalated further."""
    i = _TIER_ORDER.index(tier)
    if i == len(_TIER_ORDER) - 1:
        raise IllegalTransition(NeedAction.ESCALATE.value, f"tier {tier.value}", ())
    return _TIER_ORDER[i + 1]


def tier_rank(tier: NeedTier) -> int:
    return _TIER_ORDER.index(tier)
