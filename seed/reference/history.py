"""A need's or enterprise request's recorded history, stepped through `schema.workflow`'s
transitions so that every generated status change is one the services would allow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from schema.enums import EnterpriseAction, EnterpriseRequestStatus, NeedAction, NeedStatus
from schema.workflow import next_enterprise_status, next_need_status

# --------------------------------------------------------------------------- state machines


class _Event(NamedTuple):
    action: Any  # NeedAction | EnterpriseAction
    from_status: Any  # NeedStatus | EnterpriseRequestStatus | None
    to_status: Any
    at: datetime
    actor: str
    note: str
    data: dict[str, Any]
    account: int | None


class _History:
    """A need's or request's events, each step checked by schema.workflow's transition rules,
    so every generated history replays legally; times never go backwards."""

    def __init__(self, transition: Callable[[Any, Any], Any], first: _Event) -> None:
        self.transition = transition
        self.events = [first]
        self.status = first.to_status

    @classmethod
    def reported(cls, at: datetime, actor: str, account: int | None = None) -> _History:
        first = _Event(NeedAction.REPORT, None, NeedStatus.REPORTED, at, actor, "", {}, account)
        return cls(next_need_status, first)

    @classmethod
    def submitted(cls, at: datetime, actor: str) -> _History:
        first = _Event(
            EnterpriseAction.SUBMIT,
            None,
            EnterpriseRequestStatus.SUBMITTED,
            at,
            actor,
            "",
            {},
            None,
        )
        return cls(next_enterprise_status, first)

    @property
    def last_at(self) -> datetime:
        return self.events[-1].at

    def step(
        self,
        action: NeedAction | EnterpriseAction,
        at: datetime,
        actor: str,
        note: str = "",
        data: dict[str, Any] | None = None,
        account: int | None = None,
    ) -> None:
        at = max(at, self.last_at + timedelta(seconds=1))
        to = self.transition(self.status, action)
        self.events.append(_Event(action, self.status, to, at, actor, note, data or {}, account))
        self.status = to
