from __future__ import annotations

import pytest

from schema.enums import EnterpriseAction, EnterpriseRequestStatus, NeedAction, NeedStatus, NeedTier
from schema.workflow import (
    NEED_TRANSITIONS,
    IllegalTransition,
    allowed_need_actions,
    escalated_tier,
    next_enterprise_status,
    next_need_status,
)

HAPPY_PATH = [
    (NeedAction.ACCEPT, NeedStatus.ACCEPTED),
    (NeedAction.DISPATCH, NeedStatus.DISPATCHED),
    (NeedAction.ARRIVE, NeedStatus.ARRIVED),
    (NeedAction.RESOLVE, NeedStatus.RESOLVED),
    (NeedAction.RATE, NeedStatus.CLOSED),
]


def test_walk_need_through_closed_loop() -> None:
    status = NeedStatus.REPORTED
    for action, expected in HAPPY_PATH:
        status = next_need_status(status, action)
        assert status is expected


@pytest.mark.parametrize("status", list(NeedStatus))
@pytest.mark.parametrize("action", [a for a in NeedAction if a is not NeedAction.REPORT])
def test_refuse_need_transition_exactly_when_not_allowed(
    status: NeedStatus, action: NeedAction
) -> None:
    sources, target = NEED_TRANSITIONS[action]
    if status in sources:
        assert next_need_status(status, action) is (target or status)
        assert action in allowed_need_actions(status)
    else:
        with pytest.raises(IllegalTransition) as err:
            next_need_status(status, action)
        assert err.value.code == "ILLEGAL_TRANSITION"
        assert status.value in str(err.value)
        assert action not in allowed_need_actions(status)


def test_refuse_any_action_on_final_needs() -> None:
    for status in (NeedStatus.CLOSED, NeedStatus.MERGED):
        assert allowed_need_actions(status) == frozenset()


def test_return_need_goes_back_to_accepted() -> None:
    assert next_need_status(NeedStatus.DISPATCHED, NeedAction.RETURN) is NeedStatus.ACCEPTED


def test_escalate_need_keeps_status_and_raises_tier() -> None:
    assert next_need_status(NeedStatus.DISPATCHED, NeedAction.ESCALATE) is NeedStatus.DISPATCHED
    assert escalated_tier(NeedTier.ORDINARY) is NeedTier.COMPLEX
    assert escalated_tier(NeedTier.COMPLEX) is NeedTier.MAJOR
    with pytest.raises(IllegalTransition):
        escalated_tier(NeedTier.MAJOR)


def test_walk_enterprise_request_to_closed() -> None:
    s = EnterpriseRequestStatus.SUBMITTED
    s = next_enterprise_status(s, EnterpriseAction.ASSIGN)
    assert s is EnterpriseRequestStatus.ASSIGNED
    s = next_enterprise_status(s, EnterpriseAction.NOTE)
    assert s is EnterpriseRequestStatus.IN_PROGRESS
    s = next_enterprise_status(s, EnterpriseAction.RESOLVE)
    assert s is EnterpriseRequestStatus.RESOLVED
    assert next_enterprise_status(s, EnterpriseAction.RATE) is EnterpriseRequestStatus.CLOSED


def test_refuse_enterprise_rating_before_resolution() -> None:
    with pytest.raises(IllegalTransition):
        next_enterprise_status(EnterpriseRequestStatus.ASSIGNED, EnterpriseAction.RATE)


def test_labels_carry_chinese_names() -> None:
    assert NeedStatus.DISPATCHED.label == "已派单"
    assert NeedTier.MAJOR.label == "特殊重大问题"
    assert NeedStatus("closed") is NeedStatus.CLOSED
