"""Time as a resource: visits inside windows, no double booking, existing work, chosen slots.

The property tests check answers with a checker of their own (local time through zoneinfo,
travel through `matching.travel`), not with the solver's scheduler, for Luling and for greedy.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from datetime import datetime, timedelta
from random import Random
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import model, travel
from matching.arrays import build_arrays
from matching.baselines import greedy
from matching.candidates import diagnose, generate_candidates
from matching.conflicts import compulsory_parts, conflict_rows
from matching.evaluate import evaluate
from matching.problem import Busy, Need, Problem, Volunteer
from matching.result import ReasonCode
from matching.solver import solve
from matching.timing import Scheduler, start_bounds, start_ranges
from tests.matching.factories import NOW, at, brute_force, need, problem, volunteer

SHANGHAI = ZoneInfo("Asia/Shanghai")
place = st.floats(min_value=-1.5, max_value=1.5, allow_nan=False)
# Monday 09:00 local is NOW: windows on Monday (day 0) from 08:00 for a few hours
window = st.tuples(st.integers(8, 14), st.integers(1, 6)).map(
    lambda t: (0, t[0] * 60, min(24 * 60, (t[0] + t[1]) * 60))
)


@st.composite
def volunteers(draw: st.DrawFn, vid: int) -> Volunteer:
    busy: tuple[Busy, ...] = ()
    if draw(st.booleans()) and draw(st.booleans()):
        start = NOW + timedelta(minutes=15 * draw(st.integers(0, 24)))
        east, north = draw(place), draw(place)
        lat, lon = at(east, north)
        busy = (Busy(start, start + timedelta(minutes=60), lat, lon),)
    return volunteer(
        vid,
        draw(place),
        draw(place),
        travel_mode=draw(st.sampled_from(["foot", "ebike", "car"])),
        weekly_capacity_minutes=draw(st.sampled_from([90, 180, 600])),
        availability=draw(
            st.one_of(st.just(()), st.lists(window, min_size=1, max_size=2).map(tuple))
        ),
        busy=busy,
    )


@st.composite
def needs(draw: st.DrawFn, nid: int) -> Need:
    start = NOW + timedelta(minutes=15 * draw(st.integers(0, 24)))  # the next six hours
    duration = draw(st.sampled_from([30, 60, 90]))
    slack = draw(st.sampled_from([None, 0, 30, 120]))
    return need(
        nid,
        draw(place),
        draw(place),
        tier=draw(st.sampled_from(["ordinary", "complex", "major"])),
        urgency=draw(st.integers(1, 5)),
        headcount=draw(st.integers(1, 2)),
        duration_minutes=duration,
        starts_at=start,
        window_end=None if slack is None else start + timedelta(minutes=duration + slack),
        reach_limit_minutes=draw(st.sampled_from([None, 30.0, 60.0])),
    )


@st.composite
def busy_problems(draw: st.DrawFn) -> Problem:
    """Few people, many needs close in time: people must be shared out over the hours."""
    vols = [draw(volunteers(i + 1)) for i in range(draw(st.integers(1, 4)))]
    ns = [draw(needs(i + 1)) for i in range(draw(st.integers(2, 7)))]
    return problem(vols, ns)


def _travel(p: Problem, vol: Volunteer, a: Need, b: Need) -> float:
    km = travel.haversine_km(a.lat, a.lon, b.lat, b.lon)
    return float(travel.travel_minutes(km, travel.MODE_CODE[vol.travel_mode]))


def _in_hours(vol: Volunteer, start: datetime, end: datetime) -> bool:
    if not vol.availability:
        return True
    a, b = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    if a.date() != b.date() and not (b.hour == 0 and b.minute == 0):
        return False
    lo = a.hour * 60 + a.minute
    hi = lo + round((end - start).total_seconds() / 60)
    return any(d == a.weekday() and w0 <= lo and hi <= w1 for d, w0, w1 in vol.availability)


def check_schedule(p: Problem, visits: list[tuple[int, int, datetime, datetime]]) -> None:
    """(need_id, volunteer_id, start, end): every rule of time, checked independently."""
    need_by = {n.id: n for n in p.needs}
    vol_by = {v.id: v for v in p.volunteers}
    per_person: dict[int, list[tuple[datetime, datetime, Need]]] = {}
    for nid, vid, start, end in visits:
        n, v = need_by[nid], vol_by[vid]
        assert end - start == timedelta(minutes=n.duration_minutes)
        first = max(n.starts_at or p.now, p.now)
        last = n.window_end or first + timedelta(minutes=n.duration_minutes + 1)
        assert first - timedelta(minutes=1) < start and end <= last, (nid, vid, start, end)
        assert _in_hours(v, start, end), (nid, vid, start)
        for b in v.busy:
            gap = 0.0
            if b.lat is not None and b.lon is not None:
                km = travel.haversine_km(b.lat, b.lon, n.lat, n.lon)
                gap = float(travel.travel_minutes(km, travel.MODE_CODE[v.travel_mode]))
            apart = (
                end + timedelta(minutes=gap) <= b.start or b.end + timedelta(minutes=gap) <= start
            )
            assert apart, (nid, vid, "overlaps existing work")
        per_person.setdefault(vid, []).append((start, end, n))
    for vid, mine in per_person.items():
        vol = vol_by[vid]
        mine.sort(key=lambda x: x[0])
        minutes = sum(n.duration_minutes for _, _, n in mine)
        assert minutes <= vol.remaining_minutes, (vid, "hours")
        for (_, e1, n1), (s2, _, n2) in itertools.pairwise(mine):
            gap = math.ceil(_travel(p, vol, n1, n2) - 1e-9)
            assert e1 + timedelta(minutes=gap) <= s2, (vid, n1.id, n2.id, "double-booked")


PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@PROPERTY
@given(busy_problems())
def test_luling_never_double_books_and_keeps_visits_in_windows(p: Problem) -> None:
    r = solve(p, polish=False)
    assert not r.violations
    visits = []
    for a in r.assignments:
        assert a.slot_start is not None and a.slot_end is not None
        visits.append((a.need_id, a.volunteer_id, a.slot_start, a.slot_end))
    check_schedule(p, visits)
    assert r.bound <= r.objective


@PROPERTY
@given(busy_problems())
def test_greedy_never_double_books_and_keeps_visits_in_windows(p: Problem) -> None:
    g = greedy(p)
    assert not g.violations
    assert len(g.slots) == len(g.assignments)
    check_schedule(p, [(nid, vid, a, b) for (nid, vid), a, b in g.slots])


@settings(max_examples=15, deadline=None, derandomize=True)
@given(busy_problems())
def test_bound_holds_against_the_brute_force_optimum_with_time(p: Problem) -> None:
    if len(p.needs) * len(p.volunteers) > 12:
        return  # brute force: small only
    best, _ = brute_force(p)
    r = solve(p)
    assert r.bound <= best <= r.objective


# ---------------------------------------------------------------- the rules, one by one


def test_two_visits_at_the_same_time_go_to_two_people() -> None:
    vols = [volunteer(1, 0.1, weekly_capacity_minutes=600), volunteer(2, 0.4)]
    p = problem(vols, [need(1), need(2, 0.05)])
    r = solve(p)
    assert {a.volunteer_id for a in r.assignments} == {1, 2}


def test_one_person_cannot_take_two_visits_at_once() -> None:
    p = problem([volunteer(1, weekly_capacity_minutes=600)], [need(1, urgency=5), need(2)])
    r = solve(p)
    assert [a.need_id for a in r.assignments] == [1]
    (u,) = r.unmatched_needs
    assert u.reasons[0].code == ReasonCode.BUSY
    assert "need 1" in u.reasons[0].message


def test_travel_between_visits_counts() -> None:
    # visit 1 ends at 10:00; visit 2 starts 10:05 but 3 km away on foot (~48 min)
    vol = volunteer(1, travel_mode="foot", weekly_capacity_minutes=600)
    n1 = need(1, tier="major", duration_minutes=60)
    n2 = need(2, 3.0, tier="major", duration_minutes=60, starts_at=NOW + timedelta(minutes=65))
    r = solve(problem([vol], [n1, n2]))
    assert len(r.assignments) == 1
    near = need(2, 0.2, tier="major", duration_minutes=60, starts_at=NOW + timedelta(minutes=65))
    assert len(solve(problem([vol], [n1, near])).assignments) == 2


def test_the_solver_chooses_the_slot_inside_a_wider_window() -> None:
    vol = volunteer(1, weekly_capacity_minutes=600)
    fixed = need(1, duration_minutes=60)  # 09:00-10:00 local
    flexible = need(
        2, 0.1, duration_minutes=60, window_end=NOW + timedelta(hours=3)
    )  # any hour 09:00-12:00
    r = solve(problem([vol], [fixed, flexible]))
    slots = {a.need_id: (a.slot_start, a.slot_end) for a in r.assignments}
    assert set(slots) == {1, 2}
    assert slots[2][0] >= slots[1][1]
    assert slots[2][1] <= NOW + timedelta(hours=3)
    reason = next(x for x in r.assignments[1].explanation.reasons if x.code == ReasonCode.AVAILABLE)
    assert "booked Mon 10:" in reason.message and "window Mon 09:00–12:00" in reason.message
    assert dict(reason.data)["slot_start"] == slots[2][0].isoformat()


def test_a_visit_must_end_inside_the_persons_window() -> None:
    # available 09:00-09:30 local; the visit lasts an hour from 09:00
    vol = volunteer(1, availability=((0, 9 * 60, 9 * 60 + 30),))
    p = problem([vol], [need(1, duration_minutes=60)])
    r = solve(p)
    assert not r.assignments
    assert r.unmatched_needs[0].reasons[0].code == ReasonCode.NOT_AVAILABLE


def test_existing_work_blocks_its_time() -> None:
    busy = (Busy(NOW - timedelta(minutes=30), NOW + timedelta(minutes=30)),)
    p = problem([volunteer(1, busy=busy)], [need(1)])
    r = solve(p)
    assert not r.assignments
    assert r.unmatched_needs[0].reasons[0].code == ReasonCode.BUSY
    later = need(1, duration_minutes=60, window_end=NOW + timedelta(hours=2))
    (a,) = solve(problem([volunteer(1, busy=busy)], [later])).assignments
    assert a.slot_start is not None and a.slot_start >= NOW + timedelta(minutes=30)


def test_reach_limit_from_the_caller_is_honoured() -> None:
    vol = volunteer(1, 2.0, travel_mode="foot")  # ~32 min on foot
    assert not solve(problem([vol], [need(1, tier="major", reach_limit_minutes=20.0)])).assignments
    assert solve(problem([vol], [need(1, reach_limit_minutes=40.0)])).assignments


def test_evaluator_flags_overlapping_and_out_of_window_slots() -> None:
    vol = volunteer(1, weekly_capacity_minutes=600)
    p = problem([vol], [need(1), need(2, window_end=NOW + timedelta(hours=3))])
    pairs = [(1, 1), (2, 1)]
    overlapping = {(1, 1): (NOW, NOW + timedelta(hours=1)), (2, 1): (NOW, NOW + timedelta(hours=1))}
    ev = evaluate(p, pairs, slots=overlapping)
    assert ev.overlaps == 1 and not ev.feasible
    late = {
        (1, 1): (NOW, NOW + timedelta(hours=1)),
        (2, 1): (NOW + timedelta(hours=2, minutes=30), NOW + timedelta(hours=3, minutes=30)),
    }
    assert evaluate(p, pairs, slots=late).outside_window == 1
    fine = {
        (1, 1): (NOW, NOW + timedelta(hours=1)),
        (2, 1): (NOW + timedelta(hours=1, minutes=10), NOW + timedelta(hours=2, minutes=10)),
    }
    assert evaluate(p, pairs, slots=fine).feasible


def test_stages_say_what_ran() -> None:
    p = problem([volunteer(1)], [need(1)])
    stages = dict(solve(p, polish=False).stats.stages)
    assert stages["flow"] == 1 and "cpsat_whole" not in stages
    assert not solve(p, polish=False).stats.polished


@st.composite
def crowded_problems(draw: st.DrawFn) -> Problem:
    """People with several pieces of existing work (some with a place), many needs."""
    vols = []
    for i in range(draw(st.integers(1, 5))):
        base = draw(volunteers(i + 1))
        busy = []
        for _ in range(draw(st.integers(0, 3))):
            start = NOW + timedelta(minutes=10 * draw(st.integers(-3, 40)))
            lat, lon = at(draw(place), draw(place))
            placed = draw(st.booleans())
            minutes = draw(st.sampled_from([20, 45, 90]))
            busy.append(
                Busy(
                    start,
                    start + timedelta(minutes=minutes),
                    lat if placed else None,
                    lon if placed else None,
                )
            )
        vols.append(dataclasses.replace(base, busy=tuple(busy)))
    ns = [draw(needs(i + 1)) for i in range(draw(st.integers(2, 10)))]
    return problem(vols, ns)


@PROPERTY
@given(crowded_problems())
def test_start_bounds_agree_with_every_start_range(p: Problem) -> None:
    """`start_bounds` checks busy people's pairs exactly only where their work touches the
    earliest or latest start: it must agree with `start_ranges` on every pair."""
    arr = build_arrays(p)
    v, n = (
        np.repeat(np.arange(arr.num_volunteers), arr.num_needs),
        np.tile(np.arange(arr.num_needs), arr.num_volunteers),
    )
    early, late = start_bounds(arr, v, n)
    for i in range(len(v)):
        ranges = start_ranges(arr, int(v[i]), int(n[i]))
        assert (late[i] >= early[i]) == bool(ranges)
        if ranges:
            assert (early[i], late[i]) == (ranges[0][0], ranges[-1][1])


@PROPERTY
@given(crowded_problems())
def test_conflict_rows_are_the_maximal_sets_of_parts_sharing_a_moment(p: Problem) -> None:
    arr = build_arrays(p)
    cands = generate_candidates(arr)
    lo, hi = compulsory_parts(arr, cands)
    expected = set()
    for vol in range(arr.num_volunteers):
        mine = [i for i in range(len(cands)) if cands.v[i] == vol and lo[i] < hi[i]]
        alive = {frozenset(j for j in mine if lo[j] <= lo[i] < hi[j]) for i in mine}
        expected |= {s for s in alive if len(s) >= 2 and not any(s < t for t in alive)}
    rows = conflict_rows(arr, cands)
    got = {frozenset(rows.pair[rows.row == r].tolist()) for r in range(rows.num_rows)}
    assert got == expected
    assert rows.num_rows == len(expected)


@PROPERTY
@given(crowded_problems())
def test_candidates_carry_the_start_bounds_of_their_pairs(p: Problem) -> None:
    """The pool keeps each pair's earliest and latest start from its feasibility test; the
    conflict rows use them: they must be `start_bounds` of exactly that pair."""
    arr = build_arrays(p)
    cands = generate_candidates(arr)
    early, late = start_bounds(arr, cands.v, cands.n)
    assert np.array_equal(cands.early, early)
    assert np.array_equal(cands.late, late)


@PROPERTY
@given(crowded_problems(), st.randoms(use_true_random=False))
def test_adding_a_visit_answers_as_planning_the_whole_set(p: Problem, rnd: Random) -> None:
    """`fits_adding` rejects a visit that clashes with one held visit on its own before
    planning the set: it must answer as `fits` on the whole set, and a pair it calls
    compatible must be one that `plan` can book."""
    arr = build_arrays(p)
    sched, fresh = Scheduler(arr), Scheduler(arr)
    for _ in range(40):
        v = rnd.randrange(arr.num_volunteers)
        held = rnd.sample(range(arr.num_needs), rnd.randint(0, min(3, arr.num_needs - 1)))
        n = rnd.choice([x for x in range(arr.num_needs) if x not in held])
        assert sched.fits_adding(v, held, n) == fresh.fits(v, [*held, n])
        if held:
            both = Scheduler(arr).plan(v, [held[0], n], with_pins=False) is not None
            assert sched.compatible(v, held[0], n) == both


@PROPERTY
@given(crowded_problems())
def test_the_funnel_counts_every_pair_through_each_test_in_turn(p: Problem) -> None:
    """`diagnose` drops pairs stage by stage: each count must be of the pairs that pass that
    test and every one before it, over every person (not only those the grid offers)."""
    arr = build_arrays(p)
    needs = np.arange(arr.num_needs)
    funnel = diagnose(arr, needs)
    v = np.repeat(np.arange(arr.num_volunteers), arr.num_needs)
    n = np.tile(needs, arr.num_volunteers)
    km = travel.haversine_km(arr.v_lat[v], arr.v_lon[v], arr.n_lat[n], arr.n_lon[n])
    ok = model.reach_ok(travel.travel_minutes(km, arr.v_mode[v]), arr.n_reach[n])
    expected = [ok.copy()]
    ok &= model.skills_ok(arr.v_skills[v], arr.n_skills[n])
    expected.append(ok.copy())
    ok &= model.slot_ok(*start_bounds(arr, v, n, exact_busy=False))
    expected.append(ok.copy())
    ok &= model.slot_ok(*start_bounds(arr, v, n))
    expected.append(ok.copy())
    ok &= model.capacity_ok(arr.n_duration[n], arr.v_budget[v])
    expected.append(ok.copy())
    ok &= model.allowed_ok(arr.pair_key(v, n), arr.forbidden_keys)
    expected.append(ok)
    stages = (funnel.in_reach, funnel.skilled, funnel.available, funnel.free)
    stages += (funnel.with_minutes, funnel.allowed)
    for got, want in zip(stages, expected, strict=True):
        assert np.array_equal(got, np.bincount(n[want], minlength=arr.num_needs))
