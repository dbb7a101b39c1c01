"""`luling seed --refresh` (seed/refresh.py): every stored time moves by the same whole weeks, so
the latest thing that happened lands within a week before now; order, weekday, local hour and
fractions of a second are kept; a county less than a week old is left as it is."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from schema.base import utcnow
from schema.enums import NeedAction, NeedKind, NeedStatus
from schema.models import Activity, Need, NeedEvent
from seed.refresh import refresh, refresh_shift
from tests import factories as f


def _county_last_used(engine: sa.Engine, days_ago: float) -> dict[str, int]:
    then = utcnow() - timedelta(days=days_ago)
    home = f.community(engine)
    need = f.need(
        engine,
        home.id,
        status=NeedStatus.ACCEPTED,
        kind=NeedKind.SCHEDULED,
        reported_at=then - timedelta(hours=5, microseconds=123456),
        window_start=then + timedelta(days=3),
        window_end=then + timedelta(days=3, hours=2),
    )
    with Session(engine) as s:
        s.add(
            NeedEvent(
                need_id=need.id, action=NeedAction.ACCEPT, to_status=NeedStatus.ACCEPTED, at=then
            )
        )
        s.commit()
    activity = f.activity(engine, home.id, starts_at=then + timedelta(days=2))
    return {"need": need.id, "activity": activity.id}


def _times(engine: sa.Engine, ids: dict[str, int]) -> list:
    with Session(engine) as s:
        need = s.get(Need, ids["need"])
        activity = s.get(Activity, ids["activity"])
        event = s.exec(select(NeedEvent)).one()
        assert need is not None and activity is not None
        return [need.reported_at, need.window_start, need.window_end, event.at, activity.starts_at]


def test_refresh_moves_every_time_by_whole_weeks(engine: sa.Engine) -> None:
    ids = _county_last_used(engine, days_ago=9)
    before = _times(engine, ids)
    assert refresh(engine, utcnow()) == timedelta(days=7)
    after = _times(engine, ids)
    assert [b + timedelta(days=7) for b in before] == after  # microseconds included
    assert utcnow() - timedelta(days=7) < after[3] <= utcnow()  # the last event: within a week
    assert after[1] > utcnow()  # the booked window lies ahead again


def test_refresh_leaves_a_recent_county_alone(engine: sa.Engine) -> None:
    ids = _county_last_used(engine, days_ago=3)
    before = _times(engine, ids)
    assert refresh(engine, utcnow()) == timedelta(0)
    assert _times(engine, ids) == before


def test_refresh_never_moves_the_last_event_past_now() -> None:
    now = utcnow()
    for days in (0, 6.9, 7, 13.9, 14, 30):
        last = now - timedelta(days=days)
        shift = refresh_shift(last, now)
        assert shift.days % 7 == 0 and last + shift <= now < last + shift + timedelta(days=7)
