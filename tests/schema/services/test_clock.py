"""The county's clock (schema/services/clock.py and its scheduler in api/clock.py): activities
start and finish with time (no-shows for sign-ups never checked in), overdue scheduled needs are
flagged once, jobs past their limit fail, and one process at a time runs a tick."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from api.app import create_app
from schema.base import utcnow
from schema.db import make_engine
from schema.enums import ActivityStatus, JobStatus, NeedKind, NeedStatus, SignUpStatus
from schema.models import Activity, MatchingJob, Need, SignUp
from schema.services import clock
from schema.services.matching import jobs
from tests import factories as f
from tests.conftest import make_settings


def _activity_world(engine: sa.Engine) -> dict[str, int]:
    home = f.community(engine)
    now = utcnow()
    done = f.activity(
        engine, home.id, starts_at=now - timedelta(hours=3), ends_at=now - timedelta(minutes=1)
    )
    running = f.activity(engine, home.id, starts_at=now - timedelta(minutes=5))
    later = f.activity(
        engine, home.id, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=2)
    )
    people = [f.person(engine) for _ in range(3)]
    with Session(engine) as s:
        for person, status in zip(
            people,
            (SignUpStatus.SIGNED_UP, SignUpStatus.CHECKED_OUT, SignUpStatus.CANCELLED),
            strict=True,
        ):
            s.add(SignUp(person_id=person.id, activity_id=done.id, status=status))
        s.add(SignUp(person_id=people[0].id, activity_id=later.id, status=SignUpStatus.SIGNED_UP))
        s.commit()
    return {"done": done.id, "running": running.id, "later": later.id}


def test_tick_moves_activities_with_time(engine: sa.Engine) -> None:
    ids = _activity_world(engine)
    out = clock.tick(engine)
    assert out.ran and out.finished == [ids["done"]] and out.started == [ids["running"]]
    assert out.no_shows == 1
    with Session(engine) as s:
        status = {a.id: a.status for a in s.exec(select(Activity))}
        assert status == {
            ids["done"]: ActivityStatus.FINISHED,
            ids["running"]: ActivityStatus.ONGOING,
            ids["later"]: ActivityStatus.PLANNED,
        }
        signups = {(u.activity_id, u.status) for u in s.exec(select(SignUp))}
    assert signups == {
        (ids["done"], SignUpStatus.NO_SHOW),
        (ids["done"], SignUpStatus.CHECKED_OUT),
        (ids["done"], SignUpStatus.CANCELLED),
        (ids["later"], SignUpStatus.SIGNED_UP),
    }
    again = clock.tick(engine)
    assert (again.finished, again.started, again.no_shows) == ([], [], 0)


def test_tick_flags_overdue_scheduled_needs_once(engine: sa.Engine) -> None:
    home = f.community(engine)
    now = utcnow()
    window = {"window_start": now - timedelta(hours=3), "window_end": now - timedelta(hours=1)}
    missed = f.need(engine, home.id, status=NeedStatus.ACCEPTED, kind=NeedKind.SCHEDULED, **window)
    slot_missed = f.need(
        engine,
        home.id,
        status=NeedStatus.DISPATCHED,
        kind=NeedKind.SCHEDULED,
        window_start=now - timedelta(hours=3),
        window_end=now + timedelta(hours=3),
        arrive_by=now - timedelta(minutes=5),
        resolve_by=now + timedelta(minutes=55),
    )
    f.need(engine, home.id, status=NeedStatus.ACCEPTED, kind=NeedKind.RESPONSE, **window)
    f.need(
        engine,
        home.id,
        status=NeedStatus.ACCEPTED,
        kind=NeedKind.SCHEDULED,
        window_start=now + timedelta(hours=1),
        window_end=now + timedelta(hours=3),
    )
    out = clock.tick(engine, now=now)
    assert out.flagged == sorted([missed.id, slot_missed.id])
    with Session(engine) as s:
        flagged = {n.id: n.overdue_flagged_at for n in s.exec(select(Need))}
    assert flagged[missed.id] == now and sum(v is not None for v in flagged.values()) == 2
    assert clock.tick(engine, now=now + timedelta(minutes=1)).flagged == []


def test_tick_fails_jobs_past_their_limit(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        old = jobs.create_job(
            conn, scope_community_id=None, kinds=["volunteer"], weights=None, time_limit_s=5
        )
        fresh = jobs.create_job(
            conn, scope_community_id=None, kinds=["volunteer"], weights=None, time_limit_s=5
        )
        conn.execute(
            sa.update(MatchingJob)
            .where(MatchingJob.id == old)
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    assert clock.tick(engine).failed_jobs == [old]
    with Session(engine) as s:
        assert s.get(MatchingJob, old).status is JobStatus.FAILED
        assert s.get(MatchingJob, fresh).status is JobStatus.QUEUED


def test_one_process_at_a_time_runs_a_tick(engine: sa.Engine, database_url: str) -> None:
    _activity_world(engine)
    other = make_engine(database_url)
    try:
        with other.begin() as conn:
            assert clock.take_lock(conn)
            if engine.dialect.name != "postgresql":
                pytest.skip("SQLite serialises writers itself; the lock is PostgreSQL's")
            held = clock.tick(engine)  # another process is mid-tick
            assert not held.ran and held.finished == []
        assert clock.tick(engine).finished  # the lock went with that transaction
    finally:
        other.dispose()


def test_serve_runs_the_clock(engine: sa.Engine, database_url: str) -> None:
    ids = _activity_world(engine)
    app = create_app(make_settings(database_url, clock_seconds=0.2))
    with TestClient(app):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with Session(engine) as s:
                if s.get(Activity, ids["done"]).status is ActivityStatus.FINISHED:
                    break
            time.sleep(0.1)
    with Session(engine) as s:
        assert s.get(Activity, ids["done"]).status is ActivityStatus.FINISHED
