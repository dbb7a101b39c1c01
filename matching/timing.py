"""Time as a resource: when a person could make each visit, and whether a set of visits fits.

Times are whole minutes after the problem's epoch (its `now`, rounded up to the minute). A need
may be visited in a slot of `duration` minutes inside [lo, hi] (a response need: exactly
[lo, lo + duration]); the slot must also lie inside one of the person's weekly windows (local
time) from start to end, and clear of the work they already have (`Volunteer.busy`, with travel
to and from its place when known). A person's visits do not overlap, counting the travel from
one visit's place to the next.

`start_bounds` gives, for many pairs at once, the earliest and latest feasible start (a pair with
none is infeasible): candidate generation, compulsory parts and the bound use it. `Scheduler`
decides exactly whether one person can make a set of visits and books their slots: repair,
refill, local search, greedy, the evaluator and the explanations use it.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching import travel
from matching.arrays import ProblemArrays
from matching.problem import MINUTES_PER_WEEK

NONE_EARLY = np.iinfo(np.int64).max // 4  # "no feasible start" sentinels
NONE_LATE = -NONE_EARLY
Range = tuple[int, int]  # feasible starts lo..hi (inclusive)


def start_bounds(
    arr: ProblemArrays, v: NDArray[np.int64], n: NDArray[np.int64], *, exact_busy: bool = True
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per pair: earliest and latest start of a visit inside the need's window and one of the
    person's windows (latest < earliest: no slot). With `exact_busy`, pairs of people with
    existing work are recomputed exactly (their busy time taken out)."""
    dur = arr.n_duration[n]
    lo, last = arr.n_lo[n], arr.n_hi[n] - dur
    always = arr.v_always[v]
    early = np.where(always & (last >= lo), lo, NONE_EARLY)
    late = np.where(always & (last >= lo), last, NONE_LATE)
    # fixed visits (a response, or a window as long as the visit): is it inside one window?
    fixed = ~always & (last == lo)
    part = np.flatnonzero(fixed)
    if part.size:
        pv = v[part]
        m = (arr.m0 + lo[part]) % MINUTES_PER_WEEK
        end = m + dur[part]
        inside = np.zeros(len(part), dtype=bool)
        for j in range(arr.v_win_lo.shape[1]):
            inside |= (arr.v_win_lo[pv, j] <= m) & (end <= arr.v_win_hi[pv, j])
        early[part] = np.where(inside, lo[part], NONE_EARLY)
        late[part] = np.where(inside, lo[part], NONE_LATE)
    part = np.flatnonzero(~always & ~fixed & (last >= lo))
    if part.size:
        pv = v[part]
        plo, plast, pdur = lo[part], last[part], dur[part]
        e = np.full(len(part), NONE_EARLY, dtype=np.int64)
        lt = np.full(len(part), NONE_LATE, dtype=np.int64)
        for k in range(arr.weeks):
            shift = k * MINUTES_PER_WEEK - arr.m0
            for j in range(arr.v_win_lo.shape[1]):
                wlo = arr.v_win_lo[pv, j]
                whi = arr.v_win_hi[pv, j]
                a = np.maximum(plo, wlo + shift)
                b = np.minimum(plast, whi + shift - pdur)
                ok = (b >= a) & (whi > wlo)
                e = np.where(ok, np.minimum(e, a), e)
                lt = np.where(ok, np.maximum(lt, b), lt)
        early[part] = e
        late[part] = lt
    if exact_busy and arr.v_has_busy.any():
        for i in _touched_by_busy(arr, v, n, early, late).tolist():
            ranges = start_ranges(arr, int(v[i]), int(n[i]))
            early[i] = ranges[0][0] if ranges else NONE_EARLY
            late[i] = ranges[-1][1] if ranges else NONE_LATE
    return early, late


_I64 = NDArray[np.int64]
_BusyTable = tuple[_I64, _I64, _I64, NDArray[np.float64], NDArray[np.float64]]
_BUSY: weakref.WeakKeyDictionary[ProblemArrays, _BusyTable] = weakref.WeakKeyDictionary()


def _busy_table(arr: ProblemArrays) -> _BusyTable:
    """Everyone's existing work flattened: (ptr by volunteer, lo, hi, lat, lon; NaN: no place)."""
    got = _BUSY.get(arr)
    if got is None:
        rows = [b for busy in arr.v_busy for b in busy]
        ptr = np.zeros(arr.num_volunteers + 1, dtype=np.int64)
        np.cumsum([len(b) for b in arr.v_busy], out=ptr[1:])
        lo = np.array([b[0] for b in rows], dtype=np.int64)
        hi = np.array([b[1] for b in rows], dtype=np.int64)
        lat = np.array([np.nan if b[2] is None else b[2] for b in rows], dtype=np.float64)
        lon = np.array([np.nan if b[3] is None else b[3] for b in rows], dtype=np.float64)
        got = (ptr, lo, hi, lat, lon)
        _BUSY[arr] = got
    return got


def _touched_by_busy(
    arr: ProblemArrays,
    v: NDArray[np.int64],
    n: NDArray[np.int64],
    early: NDArray[np.int64],
    late: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Pairs whose earliest or latest start may fall in time their person's existing work
    blocks (with travel to and from it): only those need `start_ranges`. Removing time only
    removes starts, so a pair whose two ends stay clear keeps them. The travel gap is taken a
    minute long, so the test errs towards checking exactly."""
    idx = np.flatnonzero(arr.v_has_busy[v] & (late >= early))
    if idx.size == 0:
        return idx
    ptr, b_lo, b_hi, b_lat, b_lon = _busy_table(arr)
    pv = v[idx]
    count = ptr[pv + 1] - ptr[pv]
    rep = np.repeat(np.arange(len(idx)), count)
    entry = ptr[pv][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count))
    pi = idx[rep]
    ni = n[pi]
    placed = ~np.isnan(b_lat[entry])
    km = travel.haversine_km(
        np.where(placed, b_lat[entry], 0.0),
        np.where(placed, b_lon[entry], 0.0),
        arr.n_lat[ni],
        arr.n_lon[ni],
    )
    gap = np.where(placed, np.ceil(travel.travel_minutes(km, arr.v_mode[v[pi]])) + 1, 0)
    gap = gap.astype(np.int64)
    lo = b_lo[entry] - arr.n_duration[ni] - gap
    hi = b_hi[entry] + gap
    e, lt = early[pi], late[pi]
    hit = ((lo < e) & (e < hi)) | ((lo < lt) & (lt < hi))
    return np.unique(pi[hit])


def _subtract(ranges: list[Range], lo: int, hi: int) -> list[Range]:
    """Take the open interval of starts (lo, hi) out of the ranges."""
    out: list[Range] = []
    for a, b in ranges:
        if b <= lo or a >= hi:
            out.append((a, b))
            continue
        if a <= lo:
            out.append((a, lo))
        if b >= hi:
            out.append((hi, b))
    return out


def travel_minutes_between(
    arr: ProblemArrays, v: int, lat1: float, lon1: float, lat2: float, lon2: float
) -> int:
    """Whole minutes (rounded up) for person v from one place to another; the scalar twin of
    `travel.haversine_km` and `travel.travel_minutes` (numpy is slow one pair at a time)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    km = 2.0 * travel.EARTH_RADIUS_KM * math.asin(math.sqrt(min(a, 1.0)))
    mode = int(arr.v_mode[v])
    minutes = (
        float(travel.STARTUP_MINUTES[mode])
        + km * travel.DETOUR_FACTOR / float(travel.SPEED_KMH[mode]) * 60.0
    )
    return math.ceil(minutes - 1e-9)


def start_ranges(arr: ProblemArrays, v: int, n: int) -> list[Range]:
    """Every feasible start of volunteer v's visit to need n, as sorted disjoint ranges."""
    dur = int(arr.n_duration[n])
    lo, last = int(arr.n_lo[n]), int(arr.n_hi[n]) - dur
    if last < lo:
        return []
    ranges: list[Range]
    if arr.v_always[v]:
        ranges = [(lo, last)]
    else:
        ranges = []
        windows = [
            (a, b)
            for a, b in zip(arr.v_win_lo[v].tolist(), arr.v_win_hi[v].tolist(), strict=True)
            if b > a
        ]
        latest_end = max((b for _, b in windows), default=0)
        for k in range(arr.weeks):
            shift = k * MINUTES_PER_WEEK - arr.m0
            if lo > latest_end + shift or last < shift:
                continue  # this week's windows are all before the need's window (or after)
            for wlo, whi in windows:
                a, b = max(lo, wlo + shift), min(last, whi + shift - dur)
                if whi > wlo and b >= a:
                    ranges.append((a, b))
        ranges.sort()
        merged: list[Range] = []
        for a, b in ranges:
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        ranges = merged
    for b_lo, b_hi, b_lat, b_lon in arr.v_busy[v]:
        gap = 0
        if b_lat is not None and b_lon is not None:
            gap = travel_minutes_between(
                arr, v, b_lat, b_lon, float(arr.n_lat[n]), float(arr.n_lon[n])
            )
        # a visit starting at s occupies [s, s + dur]: it must end `gap` before the busy time
        # starts, or start `gap` after it ends
        ranges = _subtract(ranges, b_lo - dur - gap, b_hi + gap)
    return ranges


def _earliest(ranges: Sequence[Range], ready: int) -> int | None:
    for a, b in ranges:
        if b >= ready:
            return max(a, ready)
    return None


@dataclass
class _Job:
    need: int
    ranges: list[Range]
    duration: int


class Scheduler:
    """Books one person's visits: exact (over every order, by dynamic programming on subsets)
    for up to EXACT_JOBS visits; beyond, the best of a few orders (which may miss a schedule,
    never invent one)."""

    EXACT_JOBS = 8

    def __init__(self, arr: ProblemArrays) -> None:
        self.arr = arr
        self._ranges: dict[tuple[int, int], list[Range]] = {}
        self._travel: dict[tuple[int, int, int], int] = {}
        self._pairs: dict[tuple[int, int, int], bool] = {}
        self._fits: dict[tuple[int, ...], bool] = {}
        self.pinned_of: dict[int, list[int]] = {}
        for pv, pn in zip(arr.pinned_v.tolist(), arr.pinned_n.tolist(), strict=True):
            self.pinned_of.setdefault(pv, []).append(pn)

    def ranges(self, v: int, n: int) -> list[Range]:
        key = (v, n)
        got = self._ranges.get(key)
        if got is None:
            got = start_ranges(self.arr, v, n)
            if not got and n in self.pinned_of.get(v, ()):
                # a pin is kept as the coordinator accepted it: at the need's own window
                lo = int(self.arr.n_lo[n])
                got = [(lo, max(lo, int(self.arr.n_hi[n] - self.arr.n_duration[n])))]
            self._ranges[key] = got
        return got

    def travel(self, v: int, a: int, b: int) -> int:
        key = (v, a, b) if a <= b else (v, b, a)
        got = self._travel.get(key)
        if got is None:
            arr = self.arr
            got = travel_minutes_between(
                arr,
                v,
                float(arr.n_lat[a]),
                float(arr.n_lon[a]),
                float(arr.n_lat[b]),
                float(arr.n_lon[b]),
            )
            self._travel[key] = got
        return got

    def plan(
        self, v: int, needs: Sequence[int], *, with_pins: bool = True
    ) -> dict[int, int] | None:
        """Start minute per need (the person's pinned needs included), or None if the visits
        cannot all be made."""
        all_needs = list(needs)
        if with_pins:
            all_needs += [p for p in self.pinned_of.get(v, ()) if p not in needs]
        jobs = []
        for n in all_needs:
            r = self.ranges(v, n)
            if not r:
                return None
            jobs.append(_Job(n, r, int(self.arr.n_duration[n])))
        if len(jobs) <= 1:
            return {j.need: j.ranges[0][0] for j in jobs}
        # quick: in order of earliest start (most sets of a person's visits are far apart)
        quick = self._in_order(v, sorted(jobs, key=lambda j: (j.ranges[0][0], j.need)))
        if quick is not None:
            return quick
        if all(len(j.ranges) == 1 and j.ranges[0][0] == j.ranges[0][1] for j in jobs):
            return None  # fixed times: the order by start was the only one
        if len(jobs) > 2 and not all(
            self._pair_ok(v, a, b) for i, a in enumerate(jobs) for b in jobs[i + 1 :]
        ):
            return None
        if len(jobs) <= self.EXACT_JOBS:
            return self._exact(v, jobs)
        for key in (lambda j: (j.ranges[-1][1], j.need), lambda j: (j.ranges[0][1], j.need)):
            got = self._in_order(v, sorted(jobs, key=key))
            if got is not None:
                return got
        return None

    def _pair_ok(self, v: int, a: _Job, b: _Job) -> bool:
        return self.compatible(v, a.need, b.need)

    def fits(self, v: int, needs: Sequence[int]) -> bool:
        """Whether the visits can all be made (with the person's pins); remembered per set,
        since repair, refill and local search ask about the same sets again and again."""
        if len(needs) <= 1 and v not in self.pinned_of:
            return not needs or bool(self.ranges(v, needs[0]))
        key = (v, *sorted(needs))
        got = self._fits.get(key)
        if got is None:
            got = self.plan(v, needs) is not None
            self._fits[key] = got
        return got

    def compatible(self, v: int, a: int, b: int) -> bool:
        """Whether person v could make both visits a and b (nothing else counted); remembered."""
        key = (v, a, b) if a <= b else (v, b, a)
        got = self._pairs.get(key)
        if got is None:
            ra, rb = self.ranges(v, a), self.ranges(v, b)
            if not ra or not rb:
                got = False
            else:  # either order, each visit as early as it can be
                dur, gap = self.arr.n_duration, self.travel(v, a, b)
                got = (
                    _earliest(rb, ra[0][0] + int(dur[a]) + gap) is not None
                    or _earliest(ra, rb[0][0] + int(dur[b]) + gap) is not None
                )
            self._pairs[key] = got
        return got

    def fits_adding(self, v: int, held: Sequence[int], n: int) -> bool:
        """`fits(v, [*held, n])`, answered at once where n clashes with one of the person's
        visits (or pins) on its own: most visits refill and local search try do."""
        for m in held:
            if not self.compatible(v, m, n):
                return False
        for m in self.pinned_of.get(v, ()):
            if m != n and not self.compatible(v, m, n):
                return False
        return self.fits(v, [*held, n])

    def _in_order(self, v: int, jobs: list[_Job]) -> dict[int, int] | None:
        out: dict[int, int] = {}
        ready = NONE_LATE
        prev = -1
        for j in jobs:
            t = ready if prev < 0 else ready + self.travel(v, prev, j.need)
            s = _earliest(j.ranges, t)
            if s is None:
                return None
            out[j.need] = s
            ready, prev = s + j.duration, j.need
        return out

    def _exact(self, v: int, jobs: list[_Job]) -> dict[int, int] | None:
        """Earliest end over every order: for a fixed order, starting each visit as early as
        possible never hurts the later ones, so the earliest end per (set, last) is enough."""
        k = len(jobs)
        # state (mask, last) -> (end, start of last, previous last)
        best: dict[tuple[int, int], tuple[int, int, int]] = {}
        for i, j in enumerate(jobs):
            s = j.ranges[0][0]
            best[(1 << i, i)] = (s + j.duration, s, -1)
        for mask in range(1, 1 << k):
            for last in range(k):
                state = best.get((mask, last))
                if state is None:
                    continue
                end = state[0]
                for nxt in range(k):
                    if mask >> nxt & 1:
                        continue
                    job = jobs[nxt]
                    s2 = _earliest(job.ranges, end + self.travel(v, jobs[last].need, job.need))
                    if s2 is None:
                        continue
                    key = (mask | 1 << nxt, nxt)
                    old = best.get(key)
                    if old is None or s2 + job.duration < old[0]:
                        best[key] = (s2 + job.duration, s2, last)
        full = (1 << k) - 1
        ends = [(best[(full, i)][0], i) for i in range(k) if (full, i) in best]
        if not ends:
            return None
        out: dict[int, int] = {}
        mask, last = full, min(ends)[1]
        while last >= 0:
            _, start, prev = best[(mask, last)]
            out[jobs[last].need] = start
            mask &= ~(1 << last)
            last = prev
        return out


def book(
    arr: ProblemArrays, sched: Scheduler, v: Sequence[int], n: Sequence[int]
) -> dict[tuple[int, int], int]:
    """Start minute of every (volunteer, need) pair given (pinned pairs included): each
    person's visits booked together. Where even that fails (only pins can clash: they are kept
    as a coordinator accepted them) each visit goes to its earliest start."""
    by_v: dict[int, list[int]] = {}
    for vi, ni in zip(v, n, strict=True):
        by_v.setdefault(int(vi), []).append(int(ni))
    out: dict[tuple[int, int], int] = {}
    for vi, needs in by_v.items():
        plan = sched.plan(vi, needs, with_pins=False)
        if plan is None:
            plan = {}
            for ni in needs:
                r = sched.ranges(vi, ni)
                plan[ni] = r[0][0] if r else int(arr.n_lo[ni])
        for ni, start in plan.items():
            out[(vi, ni)] = start
    return out
