from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from schema.enums import AreaMode, SignUpStatus
from schema.models import Activity, Need
from schema.services import volunteering as svc
from schema.services.areas import set_area_mode
from schema.services.errors import Forbidden, Invalid, LimitReached, NotFound
from schema.workflow import IllegalTransition, next_sign_up_status
from tests import factories as f
from tests.county import County
from tests.loop import actor, run

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def place(engine: sa.Engine, county: County) -> dict[str, Any]:
    """Quantang with a two-hour activity for one (on top of the county), and its callers."""
    home = county.quantang
    return {
        "home": home,
        "activity": f.activity(
            engine, home.id, starts_at=T0, ends_at=T0 + timedelta(hours=2), capacity=1
        ),
        "me": actor(county.account("volunteer")),
        "coordinator": actor(county.account("coordinator")),
    }


def test_minutes_within_activity_time() -> None:
    act = Activity(starts_at=T0, ends_at=T0 + timedelta(hours=2))
    early, late = T0 - timedelta(minutes=40), T0 + timedelta(hours=3)
    assert svc.service_minutes(early, late, act) == 120
    assert svc.service_minutes(T0 + timedelta(minutes=10), T0 + timedelta(minutes=55), act) == 45
    assert svc.service_minutes(late, late + timedelta(hours=1), act) == 0


def test_minutes_on_need_capped_at_twice_its_work_and_twelve_hours() -> None:
    need = Need(duration_minutes=60)
    assert svc.service_minutes(T0, T0 + timedelta(minutes=90), need) == 90
    assert svc.service_minutes(T0, T0 + timedelta(days=2), need) == 120
    long = Need(duration_minutes=1440)
    assert svc.service_minutes(T0, T0 + timedelta(days=2), long) == 12 * 60
    windowed = Need(duration_minutes=1440, window_end=T0 + timedelta(minutes=45))
    assert svc.service_minutes(T0, T0 + timedelta(days=2), windowed) == 45


def test_sign_up_transitions() -> None:
    assert next_sign_up_status(SignUpStatus.SIGNED_UP, "check_in") is SignUpStatus.CHECKED_IN
    assert next_sign_up_status(SignUpStatus.CANCELLED, "sign_up") is SignUpStatus.SIGNED_UP
    with pytest.raises(IllegalTransition):
        next_sign_up_status(SignUpStatus.CHECKED_OUT, "cancel")


def test_serve_activity(database_url: str, place: dict[str, Any]) -> None:
    a, me = place["activity"], place["me"]
    su = run(database_url, svc.sign_up, actor=me, activity_id=a.id, now=T0 - timedelta(days=1))
    assert run(database_url, svc.sign_up, actor=me, activity_id=a.id, now=T0).id == su.id
    with pytest.raises(Invalid):  # more than an hour early
        run(database_url, svc.check_in, sign_up_id=su.id, actor=me, now=T0 - timedelta(hours=2))
    run(database_url, svc.check_in, sign_up_id=su.id, actor=me, now=T0 - timedelta(minutes=20))
    out = run(
        database_url, svc.check_out, sign_up_id=su.id, actor=me, now=T0 + timedelta(minutes=95)
    )
    assert out.status is SignUpStatus.CHECKED_OUT and out.minutes == 95


def test_capacity_and_permissions(
    database_url: str, engine: sa.Engine, place: dict[str, Any]
) -> None:
    a, me, c = place["activity"], place["me"], place["coordinator"]
    other = f.person(engine)
    run(database_url, svc.sign_up, actor=me, activity_id=a.id, now=T0)
    with pytest.raises(LimitReached):
        run(database_url, svc.sign_up, actor=c, activity_id=a.id, person_id=other.id, now=T0)
    with pytest.raises(Forbidden):  # a volunteer cannot sign up someone else
        run(database_url, svc.sign_up, actor=me, activity_id=a.id, person_id=other.id, now=T0)
    with pytest.raises(NotFound):
        run(database_url, svc.sign_up, actor=c, activity_id=a.id, person_id=4040, now=T0)
    with pytest.raises(Invalid):
        run(database_url, svc.sign_up, actor=me, now=T0)


def test_switch_area_mode(database_url: str, place: dict[str, Any]) -> None:
    c = place["coordinator"]
    home = place["home"].id
    on = run(
        database_url, set_area_mode, community_id=home, mode=AreaMode.EMERGENCY, actor=c, now=T0
    )
    assert on.mode is AreaMode.EMERGENCY and on.mode_changed_at == T0
    with pytest.raises(IllegalTransition):
        run(database_url, set_area_mode, community_id=home, mode=AreaMode.EMERGENCY, actor=c)
    with pytest.raises(Forbidden):
        run(database_url, set_area_mode, community_id=home, mode=AreaMode.NORMAL, actor=place["me"])
