"""The matcher sees the work people already have: a booked visit on a need they were dispatched
to, and activities they signed up for or are at, block that time (`Volunteer.busy`), so nobody is
proposed for two places at once."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from schema.base import utcnow
from schema.enums import NeedStatus, SignUpStatus
from schema.models import SignUp
from schema.services.matching.loader import load_problem
from tests import factories as f


def test_existing_work_blocks_the_persons_time(engine: sa.Engine) -> None:
    home = f.community(engine)
    person = f.person(engine)
    visit = utcnow() + timedelta(hours=2)
    dispatched = f.need(
        engine, home.id, status=NeedStatus.DISPATCHED, arrive_by=visit, duration_minutes=45
    )
    f.assignment(engine, dispatched.id, person_id=person.id)
    later = f.activity(
        engine,
        home.id,
        starts_at=utcnow() + timedelta(days=1),
        ends_at=utcnow() + timedelta(days=1, hours=2),
    )
    past = f.activity(
        engine,
        home.id,
        starts_at=utcnow() - timedelta(days=1, hours=2),
        ends_at=utcnow() - timedelta(days=1),
    )
    cancelled = f.activity(
        engine,
        home.id,
        starts_at=utcnow() + timedelta(days=2),
        ends_at=utcnow() + timedelta(days=2, hours=1),
    )
    with sa.orm.Session(engine) as session:
        session.add_all(
            [
                SignUp(person_id=person.id, activity_id=later.id, status=SignUpStatus.SIGNED_UP),
                SignUp(person_id=person.id, activity_id=past.id, status=SignUpStatus.SIGNED_UP),
                SignUp(
                    person_id=person.id, activity_id=cancelled.id, status=SignUpStatus.CANCELLED
                ),
            ]
        )
        session.commit()
    with engine.connect() as conn:
        problem = load_problem(conn).problem
    (me,) = [v for v in problem.volunteers if v.id == person.id]
    spans = [(b.start, b.end) for b in me.busy]
    assert spans == [
        (visit, visit + timedelta(minutes=45)),
        (later.starts_at, later.ends_at),
    ]
    assert me.busy[0].lat == dispatched.latitude and me.busy[1].lat == later.latitude
