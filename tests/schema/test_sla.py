from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schema.enums import EnterpriseRequestKind, NeedStatus, NeedTier
from schema.sla import enterprise_deadline, is_satisfied, met, need_deadlines, need_overdue

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tier", "resolve_after"),
    [
        (NeedTier.ORDINARY, timedelta(minutes=30)),
        (NeedTier.COMPLEX, timedelta(hours=4)),
        (NeedTier.MAJOR, timedelta(days=1)),
    ],
)
def test_compute_1341_deadlines_from_dispatch(tier: NeedTier, resolve_after: timedelta) -> None:
    d = need_deadlines(tier, T0)
    assert d.arrive_by == T0 + timedelta(minutes=10)
    assert d.resolve_by == T0 + resolve_after


def test_refuse_naive_dispatch_time() -> None:
    with pytest.raises(ValueError):
        need_deadlines(NeedTier.ORDINARY, datetime(2026, 5, 1, 8, 0))


def test_flag_need_overdue_when_arrival_missed() -> None:
    d = need_deadlines(NeedTier.COMPLEX, T0)
    kw = {"status": NeedStatus.DISPATCHED, "arrive_by": d.arrive_by, "resolve_by": d.resolve_by}
    assert not need_overdue(**kw, arrived_at=None, now=T0 + timedelta(minutes=9))
    assert need_overdue(**kw, arrived_at=None, now=T0 + timedelta(minutes=11))
    # Arrived in time: only the resolution promise is left to miss.
    arrived = T0 + timedelta(minutes=8)
    assert not need_overdue(**kw, arrived_at=arrived, now=T0 + timedelta(hours=3))
    assert need_overdue(**kw, arrived_at=arrived, now=T0 + timedelta(hours=4, minutes=1))


def test_never_flag_closed_need_overdue() -> None:
    d = need_deadlines(NeedTier.ORDINARY, T0)
    assert not need_overdue(
        status=NeedStatus.CLOSED,
        arrive_by=d.arrive_by,
        resolve_by=d.resolve_by,
        arrived_at=None,
        now=T0 + timedelta(days=3),
    )


def test_judge_deadline_met() -> None:
    assert met(T0, T0) is True
    assert met(T0, T0 + timedelta(seconds=1)) is False
    assert met(None, T0) is None and met(T0, None) is None


def test_give_enterprise_requests_deadline_by_kind() -> None:
    assert enterprise_deadline(EnterpriseRequestKind.POLICY, T0) == T0 + timedelta(days=1)
    assert enterprise_deadline(EnterpriseRequestKind.LAND, T0) > enterprise_deadline(
        EnterpriseRequestKind.POLICY, T0
    )


def test_count_four_and_five_as_satisfied() -> None:
    assert [is_satisfied(r) for r in range(1, 6)] == [False, False, False, True, True]
