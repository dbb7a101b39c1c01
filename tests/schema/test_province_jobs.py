"""Province jobs (`schema.services.matching.province`, `counties`): a job over several counties is
split into one part per independent county, the parts run (here in-process, one after the
other, as on SQLite; tests/multiproc runs them on queue workers) and one result is gathered on
the province job: every county's proposals, objective and bound the sums of the parts', one gap,
figures per part. A failed part fails the province with its reason and nothing of it can be
committed; cancelling the province (or a part) cancels every part; parts ending one by one move
the province's progress."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from schema.base import county_offset
from schema.enums import JobStatus, Role
from schema.models import Community, MatchingJob, Person, Proposal, UnmatchedItem
from schema.services.errors import Invalid
from schema.services.matching import jobs, province, runner
from schema.services.matching.counties import MAX_REACH_KM, plan_parts, work_boxes
from schema.services.matching.loader import load_problem
from tests import factories as f
from tests.loop import actor, run
from tests.province import SmallCounty, small_province


def _start(engine: sa.Engine, **kw: object) -> int:
    with engine.begin() as conn:
        return jobs.create_scoped_job(
            conn,
            scope_community_id=None,
            kinds=["volunteer"],
            weights=None,
            time_limit_s=5,
            **kw,  # type: ignore[arg-type]
        )


def _job(engine: sa.Engine, job_id: int) -> MatchingJob:
    with engine.connect() as conn:
        return jobs.read_job(conn, job_id)


def _parts(engine: sa.Engine, job_id: int) -> list[MatchingJob]:
    with engine.connect() as conn:
        return province.parts_of(conn, job_id)


def _proposals(engine: sa.Engine, job_id: int) -> list[Proposal]:
    with Session(engine) as s:
        return list(s.exec(select(Proposal).where(col(Proposal.job_id) == job_id)))


def _county_of_need(engine: sa.Engine, counties: list[SmallCounty]) -> dict[int, str]:
    return {n: c.name for c in counties for n in c.need_ids}


def test_province_job_gathers_one_result_from_a_part_per_county(engine: sa.Engine) -> None:
    counties = small_province(engine, 3)
    job_id = _start(engine)  # no scope, several counties: a province job over all of them
    parts = _parts(engine, job_id)
    assert [p.scope_counties for p in parts] == [[c.name] for c in counties]
    assert _job(engine, job_id).scope_counties == [c.name for c in counties]

    outcome = runner.run_job(engine, job_id)

    assert outcome.status is JobStatus.SUCCEEDED, outcome.error
    job, parts = _job(engine, job_id), _parts(engine, job_id)
    assert all(p.status is JobStatus.SUCCEEDED for p in parts)
    assert job.objective == pytest.approx(sum(p.objective or 0 for p in parts))
    assert job.bound == pytest.approx(sum(p.bound or 0 for p in parts))
    assert job.objective is not None and job.bound is not None
    assert job.gap == pytest.approx((job.objective - job.bound) / max(1.0, abs(job.objective)))
    assert job.seats_total == sum(p.seats_total or 0 for p in parts) == 12
    assert job.progress == 1.0 and job.started_at is not None and job.finished_at is not None
    stats = job.county_stats
    assert [s["counties"] for s in stats] == [[c.name] for c in counties]
    assert [s["job_id"] for s in stats] == [p.id for p in parts]
    for s, p in zip(stats, parts, strict=True):
        assert s["gap"] == p.gap and s["seconds"] == p.seconds and s["pairs"] > 0
    # One result: every proposal on the province job, covering each county's needs.
    proposals = _proposals(engine, job_id)
    county_of = _county_of_need(engine, counties)
    assert {county_of[p.need_id] for p in proposals if p.need_id} == {c.name for c in counties}
    assert all(_proposals(engine, p.id or 0) == [] for p in parts)
    person_county = {pid: c.name for c in counties for pid in c.person_ids}
    assert all(
        person_county[p.person_id] == county_of[p.need_id]
        for p in proposals
        if p.person_id and p.need_id
    )


def test_parts_end_one_by_one_as_on_several_workers(engine: sa.Engine) -> None:
    small_province(engine, 2)
    job_id = _start(engine)
    first, second = _parts(engine, job_id)
    assert first.id is not None and second.id is not None
    runner.run_job(engine, first.id)
    job = _job(engine, job_id)
    assert job.status is JobStatus.RUNNING and 0.5 <= job.progress < 1.0
    assert _proposals(engine, job_id) == []  # nothing gathered before every part is done
    runner.run_job(engine, second.id)
    job = _job(engine, job_id)
    assert job.status is JobStatus.SUCCEEDED and len(job.county_stats) == 2
    assert len(_proposals(engine, job_id)) > 0


def test_a_failed_part_fails_the_province_with_its_reason(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    counties = small_province(engine, 3)
    job_id = _start(engine)
    real_solve = runner.solve

    def solve(problem, **kw):  # type: ignore[no-untyped-def]
        if any(n.id in counties[1].need_ids for n in problem.needs):
            raise MemoryError("out of memory in the second county")
        return real_solve(problem, **kw)

    monkeypatch.setattr(runner, "solve", solve)
    outcome = runner.run_job(engine, job_id)

    assert outcome.status is JobStatus.FAILED
    job = _job(engine, job_id)
    assert job.status is JobStatus.FAILED
    assert counties[1].name in (job.error or "") and "out of memory" in (job.error or "")
    statuses = [p.status for p in _parts(engine, job_id)]
    assert statuses == [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]
    assert _proposals(engine, job_id) == []  # never half a result on the province job
    with Session(engine) as s:
        assert s.exec(select(UnmatchedItem).where(col(UnmatchedItem.job_id) == job_id)).all() == []


def test_a_part_failed_from_outside_fails_the_province(engine: sa.Engine) -> None:
    """As the queue's sweep does for a part whose worker died."""
    small_province(engine, 2)
    job_id = _start(engine)
    first, second = _parts(engine, job_id)
    assert first.id is not None and second.id is not None
    runner.run_job(engine, first.id)
    with engine.begin() as conn:
        failed = jobs.fail_jobs(conn, [second.id], "interrupted: its worker stopped")
    assert failed == [second.id, job_id]
    job = _job(engine, job_id)
    assert job.status is JobStatus.FAILED and "its worker stopped" in (job.error or "")
    assert _proposals(engine, job_id) == []


def test_cancel_the_province_or_a_part_cancels_every_part(
    engine: sa.Engine, database_url: str
) -> None:
    small_province(engine, 3)
    coordinator = actor(f.account(engine, Role.COORDINATOR))
    for cancel_part in (False, True):
        job_id = _start(engine)
        parts = _parts(engine, job_id)
        assert parts[0].id is not None
        runner.run_job(engine, parts[0].id)  # one part already solved
        target = parts[1].id if cancel_part else job_id
        run(database_url, jobs.cancel_job, job_id=target, actor=coordinator)
        assert _job(engine, job_id).status is JobStatus.CANCELLED
        statuses = [p.status for p in _parts(engine, job_id)]
        assert statuses == [JobStatus.SUCCEEDED, JobStatus.CANCELLED, JobStatus.CANCELLED]
        assert _proposals(engine, job_id) == []
        # A worker taking a cancelled part's queue entry later solves nothing.
        assert parts[2].id is not None
        assert runner.run_job(engine, parts[2].id).status is JobStatus.CANCELLED


def test_start_job_over_named_counties(engine: sa.Engine, database_url: str) -> None:
    counties = small_province(engine, 3)
    admin = actor(f.account(engine, Role.ADMIN))
    names = [counties[2].name, counties[0].name]
    job = run(database_url, jobs.start_job, actor=admin, kinds=["volunteer"], counties=names)
    assert job.scope_counties == names
    assert [p.scope_counties for p in _parts(engine, job.id or 0)] == [[n] for n in names]
    with pytest.raises(Invalid) as refused:
        run(database_url, jobs.start_job, actor=admin, counties=["没有这个县"])
    assert refused.value.field == "counties"
    with pytest.raises(Invalid) as refused:
        run(database_url, jobs.start_job, actor=admin, counties=names, scope_community_id=1)
    assert refused.value.field == "counties"


def test_one_county_database_keeps_plain_jobs(engine: sa.Engine) -> None:
    small_province(engine, 1)
    job_id = _start(engine)
    assert _parts(engine, job_id) == [] and _job(engine, job_id).scope_counties is None
    assert runner.run_job(engine, job_id).status is JobStatus.SUCCEEDED


def test_counties_within_reach_of_each_other_share_a_part(engine: sa.Engine) -> None:
    counties = small_province(engine, 3)
    with engine.connect() as conn:
        assert plan_parts(conn, [c.name for c in counties]) == [(c.name,) for c in counties]
        boxes = work_boxes(conn)
    assert boxes[counties[0].name].distance_km(boxes[counties[1].name]) > MAX_REACH_KM
    # A volunteer of the second county living next to the first county's needs: its people
    # could serve there, so the two are matched together.
    dlat, dlon = county_offset(0)
    with Session(engine) as s:
        person = s.get(Person, counties[1].person_ids[0])
        assert person is not None
        person.latitude, person.longitude = f.LAT + dlat + 0.2, f.LON + dlon + 0.2
        s.add(person)
        s.commit()
    with engine.connect() as conn:
        parts = plan_parts(conn, [c.name for c in counties])
    assert parts == [(counties[0].name, counties[1].name), (counties[2].name,)]


def test_a_part_loads_only_its_county(engine: sa.Engine) -> None:
    counties = small_province(engine, 2)
    with engine.connect() as conn:
        snapshot = load_problem(conn, scope_counties=[counties[1].name], kinds=["volunteer"])
    assert {n.id for n in snapshot.problem.needs} == set(counties[1].need_ids)
    assert {v.id for v in snapshot.problem.volunteers} == set(counties[1].person_ids)


def test_communities_belong_to_the_reference_county_by_default(engine: sa.Engine) -> None:
    home = f.community(engine)
    with Session(engine) as s:
        row = s.get(Community, home.id)
        assert row is not None and row.county == "吉安县"
