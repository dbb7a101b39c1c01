"""Dispatch and commit keep the promise the matcher made: a scheduled need is booked for a slot
(arriveBy/resolveBy from it, on the need and in its DISPATCH event), a response need runs on the
1341 clock, and nobody is proposed who cannot be on site by the deadline dispatch then sets."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from matching import travel
from schema.base import LOCAL_ZONE, utcnow
from schema.enums import (
    NeedAction,
    NeedCategory,
    NeedKind,
    NeedStatus,
    NeedTier,
    PersonKind,
    ProposalStatus,
    Role,
    TravelMode,
)
from schema.models import Availability, Need, NeedAssignment, NeedEvent, Person, Proposal
from schema.services import needs as svc
from schema.services.common import Actor
from schema.services.errors import Invalid
from schema.services.matching import jobs
from schema.services.matching.proposals import commit_matching_job
from schema.services.matching.runner import run_job
from schema.sla import Slot, need_overdue
from tests import factories as f
from tests.loop import need_events, run

ADMIN = Actor(account_id=None, name="管理员", role=Role.ADMIN)
MODES = (TravelMode.FOOT, TravelMode.EBIKE, TravelMode.CAR)


def _tomorrow_local(hour: int) -> datetime:
    day = (utcnow().astimezone(LOCAL_ZONE) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_ZONE).astimezone(UTC)


def test_dispatch_books_a_scheduled_need_for_a_slot(database_url: str, engine: sa.Engine) -> None:
    home = f.community(engine)
    start = _tomorrow_local(9)
    need = f.need(
        engine,
        home.id,
        status=NeedStatus.ACCEPTED,
        kind=NeedKind.SCHEDULED,
        window_start=start,
        window_end=start + timedelta(hours=3),
        duration_minutes=45,
    )
    person = f.person(engine)
    wanted = Slot(start + timedelta(hours=1), start + timedelta(hours=1, minutes=45))
    out = run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=ADMIN,
        to_person_ids=[person.id],
        slot=wanted,
    )
    assert (out.arrive_by, out.resolve_by) == (wanted.start, wanted.end)
    dispatch = need_events(engine, need.id)[-1]
    assert dispatch.action is NeedAction.DISPATCH
    assert dispatch.data["slot"] == {
        "start": wanted.start.isoformat(),
        "end": wanted.end.isoformat(),
    }
    assert dispatch.data["arrive_by"] == wanted.start.isoformat()


def test_dispatch_refuses_a_slot_outside_the_window(database_url: str, engine: sa.Engine) -> None:
    home = f.community(engine)
    start = _tomorrow_local(9)
    need = f.need(
        engine,
        home.id,
        status=NeedStatus.ACCEPTED,
        kind=NeedKind.SCHEDULED,
        window_start=start,
        window_end=start + timedelta(hours=2),
    )
    response = f.need(engine, home.id, status=NeedStatus.ACCEPTED)
    person = f.person(engine)
    late = Slot(start + timedelta(hours=2), start + timedelta(hours=3))
    for target, slot in ((need.id, late), (response.id, Slot(start, start + timedelta(hours=1)))):
        with pytest.raises(Invalid) as err:
            run(
                database_url,
                svc.dispatch_need,
                need_id=target,
                actor=ADMIN,
                to_person_ids=[person.id],
                slot=slot,
            )
        assert err.value.field == "slot"


def test_dispatch_of_a_response_need_starts_the_1341_clock(
    database_url: str, engine: sa.Engine
) -> None:
    home = f.community(engine)
    need = f.need(engine, home.id, status=NeedStatus.ACCEPTED, tier=NeedTier.COMPLEX)
    person = f.person(engine)
    now = utcnow()
    out = run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=ADMIN,
        to_person_ids=[person.id],
        now=now,
    )
    assert out.arrive_by == now + timedelta(minutes=10)
    assert out.resolve_by == now + timedelta(hours=4)
    assert "slot" not in need_events(engine, need.id)[-1].data


def test_report_says_its_kind_or_takes_the_default(database_url: str, engine: sa.Engine) -> None:
    home = f.community(engine)
    f.grid(engine, home.id)
    start = _tomorrow_local(14)
    kw = {
        "actor": ADMIN,
        "title": "助老上门",
        "latitude": f.LAT,
        "longitude": f.LON,
        "category": NeedCategory.ELDER_CARE,
    }
    visit = run(database_url, svc.report_need, window=(start, start + timedelta(hours=2)), **kw)
    assert visit.kind is NeedKind.SCHEDULED and visit.window_start == start
    plain = run(database_url, svc.report_need, **kw)
    assert plain.kind is NeedKind.RESPONSE
    asked = run(
        database_url,
        svc.report_need,
        kind=NeedKind.RESPONSE,
        window=(start, start + timedelta(hours=2)),
        **kw,
    )
    assert asked.kind is NeedKind.RESPONSE
    with pytest.raises(Invalid) as err:
        run(database_url, svc.report_need, kind=NeedKind.SCHEDULED, **kw)
    assert err.value.field == "window"


# ---------------------------------------------------------------- matcher, commit, dispatch


def _county_of_chances(engine: sa.Engine, rng: random.Random) -> None:
    """Needs of both kinds around one point, some with windows opening soon, tomorrow, or
    already over, and people at every distance, some free only at set local hours."""
    home = f.community(engine)
    now = utcnow()
    for i in range(24):
        lat, lon = f.LAT + rng.uniform(-0.03, 0.03), f.LON + rng.uniform(-0.03, 0.03)
        tier = rng.choice(list(NeedTier))
        if i % 2:
            f.need(
                engine,
                home.id,
                status=NeedStatus.ACCEPTED,
                tier=tier,
                latitude=lat,
                longitude=lon,
                duration_minutes=30,
            )
            continue
        start = rng.choice(
            (now + timedelta(minutes=5), now - timedelta(hours=3), _tomorrow_local(9))
        )
        f.need(
            engine,
            home.id,
            status=NeedStatus.ACCEPTED,
            tier=tier,
            latitude=lat,
            longitude=lon,
            kind=NeedKind.SCHEDULED,
            window_start=start,
            window_end=start + timedelta(minutes=rng.choice((40, 90, 240))),
            duration_minutes=30,
        )
    with Session(engine) as s:
        for _ in range(40):
            person = Person(
                name="志愿者",
                kind=PersonKind.PARTY_MEMBER,
                is_party_member=True,
                latitude=f.LAT + rng.uniform(-0.08, 0.08),
                longitude=f.LON + rng.uniform(-0.08, 0.08),
                travel_mode=rng.choice(MODES),
                weekly_capacity_minutes=600,
            )
            s.add(person)
            s.flush()
            if rng.random() < 0.5:
                s.add_all(
                    Availability(
                        person_id=person.id, weekday=d, start_minute=8 * 60, end_minute=20 * 60
                    )
                    for d in range(7)
                )
        s.commit()


@pytest.mark.parametrize("seed", [1, 2])
def test_matcher_never_proposes_someone_who_cannot_keep_the_dispatch_deadline(
    database_url: str, engine: sa.Engine, seed: int
) -> None:
    _county_of_chances(engine, random.Random(seed))
    with engine.begin() as conn:
        job_id = jobs.create_job(
            conn, scope_community_id=None, kinds=["volunteer"], weights=None, time_limit_s=5
        )
    assert run_job(engine, job_id).status.value == "succeeded"
    with engine.begin() as conn:
        conn.execute(
            sa.update(Proposal)
            .where(col(Proposal.job_id) == job_id)
            .values(status=ProposalStatus.ACCEPTED)
        )
    committed_at = utcnow()
    outcome = run(database_url, commit_matching_job, job_id=job_id, actor=ADMIN, now=committed_at)
    assert outcome.committed and not outcome.stale
    with Session(engine) as s:
        people = {p.id: p for p in s.exec(select(Person))}
        windows: dict[int, list[Availability]] = {}
        for w in s.exec(select(Availability)):
            windows.setdefault(w.person_id, []).append(w)
        kinds_seen = set()
        for need in s.exec(select(Need).where(col(Need.status) == NeedStatus.DISPATCHED)):
            assert need.arrive_by is not None and need.resolve_by is not None
            assert not need_overdue(
                status=need.status,
                arrive_by=need.arrive_by,
                resolve_by=need.resolve_by,
                arrived_at=None,
                now=committed_at,
                kind=need.kind,
                window_end=need.window_end,
            )
            booked = need.arrive_by != committed_at + timedelta(minutes=10)
            kinds_seen.add(booked)
            if booked:  # a slot inside the need's window
                assert need.kind is NeedKind.SCHEDULED
                assert need.window_start <= need.arrive_by
                assert need.resolve_by <= need.window_end
            spare = (need.arrive_by - committed_at).total_seconds() / 60
            assigned = s.exec(
                select(NeedAssignment.person_id).where(NeedAssignment.need_id == need.id)
            ).all()
            for pid in assigned:
                p = people[pid]
                km = travel.haversine_km(p.latitude, p.longitude, need.latitude, need.longitude)
                minutes = float(travel.travel_minutes(km, travel.MODE_CODE[p.travel_mode.value]))
                assert minutes <= spare + 1e-6, (need.id, pid, minutes, spare)
                if booked and pid in windows:  # the visit lies inside one of their windows
                    start = need.arrive_by.astimezone(LOCAL_ZONE)
                    end = need.resolve_by.astimezone(LOCAL_ZONE)
                    assert any(
                        w.weekday == start.weekday()
                        and w.start_minute <= start.hour * 60 + start.minute
                        and end.hour * 60 + end.minute <= w.end_minute
                        for w in windows[pid]
                    )
            dispatch = s.exec(
                select(NeedEvent)
                .where(NeedEvent.need_id == need.id)
                .order_by(col(NeedEvent.id).desc())
            ).first()
            assert dispatch is not None and dispatch.action is NeedAction.DISPATCH
            assert dispatch.data["arrive_by"] == need.arrive_by.isoformat()
            assert ("slot" in dispatch.data) == booked
        assert kinds_seen == {True, False}  # both kinds were matched and committed
