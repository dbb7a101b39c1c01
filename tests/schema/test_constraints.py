"""The database itself refuses bad rows, whatever code writes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from schema.enums import GridRole, NeedStatus, PersonKind
from schema.models import Community, GridStaff, Need, NeedAssignment, Person, SignUp
from tests import factories as f


def _refused(engine: sa.Engine, write: Callable[[Session], None]) -> None:
    with Session(engine) as session, pytest.raises((sa.exc.IntegrityError, sa.exc.StatementError)):
        write(session)
        session.flush()


def test_refuse_community_outside_the_province(engine: sa.Engine) -> None:
    """The CHECK guards the box of the province's county grid (schema/base.py, migration 0017:
    a database may hold up to 100 counties); each service still refuses points outside the
    counties the database holds (`schema.services.locations.place_problem`)."""
    with pytest.raises(sa.exc.IntegrityError):
        f.community(engine, latitude=43.8, longitude=87.6)  # Ürümqi: north-west of the grid
    with pytest.raises(sa.exc.IntegrityError):
        f.community(engine, latitude=22.3, longitude=114.2)  # Hong Kong: south of it


def test_refuse_duplicate_community_name(engine: sa.Engine) -> None:
    f.community(engine, name="泉塘社区")
    with pytest.raises(sa.exc.IntegrityError):
        f.community(engine, name="泉塘社区")


def test_refuse_need_with_bad_headcount(engine: sa.Engine) -> None:
    c = f.community(engine)
    with pytest.raises(sa.exc.IntegrityError):
        f.need(engine, c.id, headcount=0)


def test_refuse_need_with_empty_title(engine: sa.Engine) -> None:
    c = f.community(engine)
    with pytest.raises(sa.exc.IntegrityError):
        f.need(engine, c.id, title="")


def test_refuse_need_with_unknown_status(engine: sa.Engine) -> None:
    c = f.community(engine)
    with Session(engine) as session, pytest.raises(sa.exc.IntegrityError):
        session.execute(
            sa.text(
                "INSERT INTO need (title, description, category, source, tier, status, urgency,"
                " community_id, reporter_name, latitude, longitude, address, media_urls, headcount,"
                " duration_minutes, reported_at, rating_comment, version, updated_at) VALUES"
                " ('x', '', 'other', 'resident_app', 'ordinary', 'lost', 3, :c, '', 27.0, 114.9,"
                " '', '[]', 1, 60, :t, '', 1, :t)"
            ),
            {"c": c.id, "t": datetime(2026, 1, 1)},
        )


def test_refuse_need_in_missing_community(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        f.need(engine, 999_999)


def test_refuse_satisfaction_out_of_range(engine: sa.Engine) -> None:
    c = f.community(engine)
    with pytest.raises(sa.exc.IntegrityError):
        f.need(engine, c.id, status=NeedStatus.CLOSED, satisfaction=6)


def test_refuse_assignment_without_exactly_one_assignee(engine: sa.Engine) -> None:
    c = f.community(engine)
    n = f.need(engine, c.id)
    p = f.person(engine)
    _refused(engine, lambda s: s.add(NeedAssignment(need_id=n.id)))
    _refused(
        engine,
        lambda s: s.add(
            NeedAssignment(need_id=n.id, person_id=p.id, team_id=None, resource_id=None, quantity=0)
        ),
    )


def test_refuse_second_grid_leader(engine: sa.Engine) -> None:
    c = f.community(engine)
    g = f.grid(engine, c.id)
    a, b, part = f.person(engine), f.person(engine), f.person(engine)
    with Session(engine) as session:
        session.add(GridStaff(grid_id=g.id, person_id=a.id, role=GridRole.LEADER))
        session.add(GridStaff(grid_id=g.id, person_id=part.id, role=GridRole.PART_TIME))
        session.commit()
    _refused(engine, lambda s: s.add(GridStaff(grid_id=g.id, person_id=b.id, role=GridRole.LEADER)))


def test_refuse_sign_up_for_both_activity_and_nothing(engine: sa.Engine) -> None:
    p = f.person(engine)
    _refused(engine, lambda s: s.add(SignUp(person_id=p.id, status="signed_up")))


def test_refuse_capacity_beyond_a_week(engine: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        f.person(engine, weekly_capacity_minutes=5000)


def test_keep_timestamps_in_utc(engine: sa.Engine) -> None:
    c = f.community(engine)
    t = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    n = f.need(engine, c.id, reported_at=t)
    with Session(engine) as session:
        loaded = session.exec(select(Need).where(Need.id == n.id)).one()
    assert loaded.reported_at == t and loaded.reported_at.tzinfo is UTC


def test_refuse_naive_timestamps(engine: sa.Engine) -> None:
    c = f.community(engine)
    with pytest.raises(sa.exc.StatementError):
        f.need(engine, c.id, reported_at=datetime(2026, 3, 1, 12, 30))


def test_store_enum_values_as_plain_strings(engine: sa.Engine) -> None:
    f.community(engine, name="横溪村", kind="village")
    f.person(engine, kind=PersonKind.GRID_WORKER)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT kind FROM community")).scalar() == "village"
        assert conn.execute(sa.text("SELECT kind FROM person")).scalar() == "grid_worker"
    with Session(engine) as session:
        assert session.exec(select(Community)).one().kind.label == "村"
        assert session.exec(select(Person)).one().kind is PersonKind.GRID_WORKER
