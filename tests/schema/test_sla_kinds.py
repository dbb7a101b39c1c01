"""The deadline rules of both kinds of need (schema/sla.py), as pure functions: the default kind,
the 1341 clock of a response need, a scheduled need's booked slot, the matcher's reach limit,
overdue, and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schema.base import LOCAL_ZONE, aware
from schema.enums import NeedCategory, NeedKind, NeedSource, NeedStatus, NeedTier
from schema.sla import (
    Slot,
    arrival_after,
    booking_slot,
    default_need_kind,
    dispatch_deadlines,
    escalated_resolve_by,
    need_overdue,
    reach_limit_minutes,
)

# Monday 2026-11-30 10:00 in Ji'an (02:00 UTC).
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=LOCAL_ZONE).astimezone(UTC)
TUESDAY_9 = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_ZONE)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LOCAL_ZONE)


@pytest.mark.parametrize(
    ("source", "category", "has_window", "kind"),
    [
        (NeedSource.RESIDENT_APP, NeedCategory.ELDER_CARE, True, NeedKind.SCHEDULED),
        (NeedSource.HOTLINE_12345, NeedCategory.POLICY, True, NeedKind.SCHEDULED),
        (NeedSource.RESIDENT_APP, NeedCategory.ELDER_CARE, False, NeedKind.RESPONSE),
        (NeedSource.RESIDENT_APP, NeedCategory.SAFETY, True, NeedKind.RESPONSE),
        (NeedSource.HOTLINE_12345, NeedCategory.EMERGENCY, True, NeedKind.RESPONSE),
        (NeedSource.GRID_PATROL, NeedCategory.ENVIRONMENT, True, NeedKind.RESPONSE),
        (NeedSource.TEAM_REPORT, NeedCategory.INFRASTRUCTURE, True, NeedKind.RESPONSE),
    ],
)
def test_default_kind_from_source_category_and_window(
    source: NeedSource, category: NeedCategory, has_window: bool, kind: NeedKind
) -> None:
    assert default_need_kind(source, category, has_window=has_window) is kind


def _dispatch(kind: NeedKind, start: datetime | None, end: datetime | None, **kw: object):
    return dispatch_deadlines(
        kind=kind,
        tier=NeedTier.COMPLEX,
        window_start=start,
        window_end=end,
        duration_minutes=60,
        now=NOW,
        **kw,  # type: ignore[arg-type]
    )


def test_response_need_runs_on_the_1341_clock_from_dispatch() -> None:
    deadlines, slot = _dispatch(NeedKind.RESPONSE, TUESDAY_9, TUESDAY_9 + timedelta(hours=3))
    assert slot is None
    assert deadlines.arrive_by == NOW + timedelta(minutes=10)
    assert deadlines.resolve_by == NOW + timedelta(hours=4)


def test_scheduled_need_is_booked_at_the_start_of_its_window() -> None:
    deadlines, slot = _dispatch(NeedKind.SCHEDULED, TUESDAY_9, TUESDAY_9 + timedelta(hours=3))
    assert slot == Slot(TUESDAY_9, TUESDAY_9 + timedelta(hours=1))
    assert (deadlines.arrive_by, deadlines.resolve_by) == (slot.start, slot.end)


def test_scheduled_need_whose_window_is_open_is_booked_reachably_from_now() -> None:
    start = NOW - timedelta(hours=1)
    _, slot = _dispatch(NeedKind.SCHEDULED, start, NOW + timedelta(hours=3))
    assert slot is not None and slot.start == NOW + timedelta(minutes=10)


def test_scheduled_need_keeps_the_slot_it_is_given() -> None:
    given = Slot(TUESDAY_9 + timedelta(hours=1), TUESDAY_9 + timedelta(hours=2))
    deadlines, slot = _dispatch(
        NeedKind.SCHEDULED, TUESDAY_9, TUESDAY_9 + timedelta(hours=3), slot=given
    )
    assert slot == given and deadlines.arrive_by == given.start


def test_scheduled_need_past_its_window_falls_back_to_the_1341_clock() -> None:
    deadlines, slot = _dispatch(NeedKind.SCHEDULED, NOW - timedelta(hours=5), NOW)
    assert slot is None and deadlines.arrive_by == NOW + timedelta(minutes=10)


def test_booking_slot_lies_in_the_persons_local_window() -> None:
    # Free on Wednesdays 14:00-18:00 local; the need's window runs Tuesday 09:00 to Thursday.
    slot = booking_slot(
        window_start=TUESDAY_9,
        window_end=_local(3, 18),
        duration_minutes=90,
        earliest=NOW,
        availability=[(2, 14 * 60, 18 * 60)],
    )
    assert slot == Slot(_local(2, 14).astimezone(UTC), _local(2, 15, 30).astimezone(UTC))


def test_booking_slot_needs_the_whole_visit_inside_a_window() -> None:
    # Tuesday 16:00-17:00 is too short for 90 minutes: the first fit is Wednesday morning.
    slot = booking_slot(
        window_start=TUESDAY_9,
        window_end=_local(3, 18),
        duration_minutes=90,
        earliest=NOW,
        availability=[(1, 16 * 60, 17 * 60), (2, 8 * 60, 12 * 60)],
    )
    assert slot.start == _local(2, 8)


def test_arrival_is_rounded_up_to_the_minute() -> None:
    assert arrival_after(NOW, 7.2) == NOW + timedelta(minutes=8)
    assert arrival_after(NOW, 10) == NOW + timedelta(minutes=10)


def test_reach_limit_is_what_dispatch_will_demand() -> None:
    kw = {"duration_minutes": 60, "now": NOW, "tier_default": 30.0}
    assert reach_limit_minutes(kind=NeedKind.RESPONSE, window_end=None, **kw) == 10
    far_window = TUESDAY_9 + timedelta(hours=3)
    assert reach_limit_minutes(kind=NeedKind.SCHEDULED, window_end=far_window, **kw) == 30
    # The last start that fits is 20.5 minutes from now: nobody further away can make it.
    soon = NOW + timedelta(minutes=80, seconds=30)
    assert reach_limit_minutes(kind=NeedKind.SCHEDULED, window_end=soon, **kw) == 20
    # No room left: served on the 1341 clock.
    assert reach_limit_minutes(kind=NeedKind.SCHEDULED, window_end=NOW, **kw) == 10


def test_unbooked_scheduled_need_is_overdue_once_its_window_passed() -> None:
    kw = {"status": NeedStatus.ACCEPTED, "arrive_by": None, "resolve_by": None, "arrived_at": None}
    end = NOW + timedelta(hours=1)
    for kind in NeedKind:
        assert not need_overdue(**kw, kind=kind, window_end=end, now=NOW)
    assert need_overdue(**kw, kind=NeedKind.SCHEDULED, window_end=end, now=end + timedelta(1))
    assert not need_overdue(**kw, kind=NeedKind.RESPONSE, window_end=end, now=end + timedelta(1))


def test_booked_scheduled_need_is_overdue_once_its_slot_passed() -> None:
    slot = Slot(TUESDAY_9, TUESDAY_9 + timedelta(hours=1))
    kw = {
        "status": NeedStatus.DISPATCHED,
        "arrive_by": slot.start,
        "resolve_by": slot.end,
        "kind": NeedKind.SCHEDULED,
        "window_end": slot.end + timedelta(hours=2),
    }
    assert not need_overdue(**kw, arrived_at=None, now=slot.start)
    assert need_overdue(**kw, arrived_at=None, now=slot.start + timedelta(seconds=1))
    assert not need_overdue(**kw, arrived_at=slot.start, now=slot.end)
    assert need_overdue(**kw, arrived_at=slot.start, now=slot.end + timedelta(seconds=1))


def test_escalation_keeps_a_booked_slot_and_extends_the_1341_clock() -> None:
    end = TUESDAY_9 + timedelta(hours=1)
    kept = escalated_resolve_by(
        kind=NeedKind.SCHEDULED, tier=NeedTier.MAJOR, dispatched_at=NOW, resolve_by=end
    )
    assert kept == end
    moved = escalated_resolve_by(
        kind=NeedKind.RESPONSE, tier=NeedTier.MAJOR, dispatched_at=NOW, resolve_by=end
    )
    assert moved == NOW + timedelta(days=1)


def test_a_time_without_offset_is_local() -> None:
    assert aware(datetime(2026, 12, 1, 9, 0)) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert aware(TUESDAY_9) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
