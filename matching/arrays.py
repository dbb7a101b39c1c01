"""The problem as numpy arrays indexed 0..V-1 (volunteers) and 0..N-1 (needs).

Built once per solve. Pinned assignments are already taken out: a need's `n_open` counts the seats
still to fill and a volunteer's `v_budget` the minutes still free, so every later stage works on
the remaining problem only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from matching import model, travel
from matching.problem import MINUTES_PER_DAY, MINUTES_PER_WEEK, Problem

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, eq=False)
class ProblemArrays:
    problem: Problem
    skill_names: tuple[str, ...]
    # volunteers
    v_ids: NDArray[np.int64]
    v_lat: NDArray[np.float64]
    v_lon: NDArray[np.float64]
    v_mode: NDArray[np.int64]
    v_home: NDArray[np.int64]  # -1: none
    v_commando: NDArray[np.bool_]
    v_skills: NDArray[np.uint64]  # (V, words)
    v_win_lo: NDArray[np.int64]  # (V, max windows) minute of week, padded with empty windows
    v_win_hi: NDArray[np.int64]
    v_always: NDArray[np.bool_]
    v_remaining: NDArray[np.int64]  # weekly capacity minus committed
    v_budget: NDArray[np.int64]  # ... minus pinned assignments
    v_pinned_load: NDArray[np.int64]
    # existing work per volunteer: (start, end, lat, lon), minutes after the epoch
    v_busy: tuple[tuple[tuple[int, int, float | None, float | None], ...], ...]
    v_has_busy: NDArray[np.bool_]
    # needs
    n_ids: NDArray[np.int64]
    n_lat: NDArray[np.float64]
    n_lon: NDArray[np.float64]
    n_comm: NDArray[np.int64]  # -1: none
    n_tier: NDArray[np.int64]
    n_urgency: NDArray[np.int64]
    n_emergency: NDArray[np.bool_]
    n_skills: NDArray[np.uint64]  # (N, words)
    n_headcount: NDArray[np.int64]
    n_open: NDArray[np.int64]  # headcount minus pinned
    n_duration: NDArray[np.int64]
    n_minute: NDArray[np.int64]  # local minute of week of the (effective) start
    n_start: tuple[datetime, ...]  # effective start, UTC
    # The visit's window in minutes after the epoch: a slot of n_duration inside [n_lo, n_hi].
    n_lo: NDArray[np.int64]
    n_hi: NDArray[np.int64]
    n_reach: NDArray[np.float64]  # arrival limit in minutes
    n_penalty: NDArray[np.int64]  # cost per open seat
    # pairs
    pinned_v: NDArray[np.int64]
    pinned_n: NDArray[np.int64]
    forbidden_keys: NDArray[np.int64]  # sorted pair keys, see `pair_key`
    continuity_keys: NDArray[np.int64]  # sorted pair keys
    vol_index: dict[int, int]
    need_index: dict[int, int]
    # time: minute 0 is `epoch` (now, rounded up to the minute), local minute of week `m0`;
    # windows are expanded over `weeks` weeks from the epoch's local week
    epoch: datetime
    m0: int
    weeks: int

    def moment(self, minute: int) -> datetime:
        return self.epoch + timedelta(minutes=int(minute))

    @property
    def num_volunteers(self) -> int:
        return len(self.v_ids)

    @property
    def num_needs(self) -> int:
        return len(self.n_ids)

    def pair_key(self, v: NDArray[np.int64], n: NDArray[np.int64]) -> NDArray[np.int64]:
        return np.asarray(v, dtype=np.int64) * max(1, self.num_needs) + np.asarray(n)


def as_utc(moment: datetime) -> datetime:
    """Times are stored in UTC; a naive datetime (as SQLite returns them) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def minutes_after(epoch: datetime, moment: datetime, *, up: bool) -> int:
    """Whole minutes from epoch to moment, rounded up (a start) or down (an end)."""
    seconds = (as_utc(moment) - epoch).total_seconds()
    return math.ceil(seconds / 60 - 1e-9) if up else math.floor(seconds / 60 + 1e-9)


def local_minute_of_week(moment: datetime) -> int:
    local = moment.astimezone(LOCAL_ZONE)
    return local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute


def _skill_words(skill_sets: list[frozenset[str]], index: dict[str, int]) -> NDArray[np.uint64]:
    words = max(1, (len(index) + 63) // 64)
    out = np.zeros((len(skill_sets), words), dtype=np.uint64)
    for row, skills in enumerate(skill_sets):
        for s in skills:
            bit = index.get(s)
            if bit is not None:
                out[row, bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
    return out


def _validate(problem: Problem) -> None:
    vids = [v.id for v in problem.volunteers]
    nids = [n.id for n in problem.needs]
    if len(set(vids)) != len(vids) or len(set(nids)) != len(nids):
        raise ValueError("volunteer and need ids must be unique")
    for v in problem.volunteers:
        if v.travel_mode not in travel.MODE_CODE:
            raise ValueError(f"volunteer {v.id}: unknown travel mode {v.travel_mode!r}")
        for day, lo, hi in v.availability:
            if not (0 <= day <= 6 and 0 <= lo < hi <= MINUTES_PER_DAY):
                raise ValueError(f"volunteer {v.id}: bad availability window {(day, lo, hi)}")
    for n in problem.needs:
        if n.tier not in model.TIER_CODE:
            raise ValueError(f"need {n.id}: unknown tier {n.tier!r}")
        if n.headcount < 0 or n.duration_minutes < 0:
            raise ValueError(f"need {n.id}: headcount and duration must be >= 0")
        if n.reach_limit_minutes is not None and n.reach_limit_minutes < 0:
            raise ValueError(f"need {n.id}: reach limit must be >= 0")
    clash = problem.pinned & problem.forbidden
    if clash:
        raise ValueError(f"pairs both pinned and forbidden: {sorted(clash)}")


def build_arrays(problem: Problem) -> ProblemArrays:
    """Index and validate the problem; raises ValueError for inconsistent input."""
    _validate(problem)
    vols, needs = problem.volunteers, problem.needs
    w = problem.weights
    vol_index = {v.id: i for i, v in enumerate(vols)}
    need_index = {n.id: i for i, n in enumerate(needs)}

    # Only skills some need requires matter; the rest would only widen the bitmasks.
    skill_names = tuple(sorted({s for n in needs for s in n.required_skills}))
    skill_bit = {s: i for i, s in enumerate(skill_names)}

    max_windows = max((len(v.availability) for v in vols), default=0)
    win_lo = np.zeros((len(vols), max(1, max_windows)), dtype=np.int64)
    win_hi = np.zeros_like(win_lo)  # [0, 0) covers nothing
    for i, v in enumerate(vols):
        for j, (day, lo, hi) in enumerate(v.availability):
            win_lo[i, j] = day * MINUTES_PER_DAY + lo
            win_hi[i, j] = day * MINUTES_PER_DAY + hi

    n_tier = np.array([model.TIER_CODE[n.tier] for n in needs], dtype=np.int64)
    n_urgency = np.array([n.urgency for n in needs], dtype=np.int64)
    n_emergency = np.array([n.emergency for n in needs], dtype=bool)
    now = as_utc(problem.now)
    starts = tuple(
        now if n.starts_at is None or as_utc(n.starts_at) < now else as_utc(n.starts_at)
        for n in needs
    )
    n_duration = np.array([n.duration_minutes for n in needs], dtype=np.int64)
    epoch = ceil_minute(now)
    n_lo = np.array([minutes_after(epoch, s, up=True) for s in starts], dtype=np.int64)
    n_lo = np.maximum(n_lo, 0)
    n_hi = np.array(
        [
            lo + d if n.window_end is None else minutes_after(epoch, n.window_end, up=False)
            for n, lo, d in zip(needs, n_lo.tolist(), n_duration.tolist(), strict=True)
        ],
        dtype=np.int64,
    )
    m0 = local_minute_of_week(epoch)
    horizon = int(n_hi.max(initial=0))
    weeks = max(1, (horizon + m0) // MINUTES_PER_WEEK + 1)
    v_busy = tuple(
        tuple(
            (
                minutes_after(epoch, b.start, up=False),
                minutes_after(epoch, b.end, up=True),
                b.lat,
                b.lon,
            )
            for b in v.busy
            if as_utc(b.end) > epoch
        )
        for v in vols
    )
    n_headcount = np.array([n.headcount for n in needs], dtype=np.int64)
    v_remaining = np.array([v.remaining_minutes for v in vols], dtype=np.int64)

    pinned = sorted(problem.pinned)
    pinned_v = np.empty(len(pinned), dtype=np.int64)
    pinned_n = np.empty(len(pinned), dtype=np.int64)
    for k, (need_id, vol_id) in enumerate(pinned):
        if need_id not in need_index or vol_id not in vol_index:
            raise ValueError(f"pinned pair {(need_id, vol_id)} names an unknown need or volunteer")
        pinned_n[k], pinned_v[k] = need_index[need_id], vol_index[vol_id]
    pinned_per_need = np.bincount(pinned_n, minlength=len(needs)).astype(np.int64)
    pinned_minutes = np.bincount(
        pinned_v, weights=n_duration[pinned_n], minlength=len(vols)
    ).astype(np.int64)
    # Pins are a coordinator's decisions and are kept even if they now overfill a need or a
    # week (hours committed since): the evaluator reports that; the rest is matched around them.
    n_num = max(1, len(needs))
    forbidden = [
        vol_index[vid] * n_num + need_index[nid]
        for nid, vid in problem.forbidden
        if nid in need_index and vid in vol_index
    ]
    # Continuity: the volunteer already serves this need or one it is related to.
    by_related: dict[int, list[int]] = defaultdict(list)
    for i, n in enumerate(needs):
        by_related[n.id].append(i)
        for r in n.related_need_ids:
            by_related[r].append(i)
    continuity = {
        vi * n_num + ni
        for vi, v in enumerate(vols)
        for cur in v.current_need_ids
        for ni in by_related.get(cur, ())
    }

    return ProblemArrays(
        problem=problem,
        skill_names=skill_names,
        v_ids=np.array([v.id for v in vols], dtype=np.int64),
        v_lat=np.array([v.lat for v in vols], dtype=np.float64),
        v_lon=np.array([v.lon for v in vols], dtype=np.float64),
        v_mode=np.array([travel.MODE_CODE[v.travel_mode] for v in vols], dtype=np.int64),
        v_home=np.array(
            [-1 if v.home_community_id is None else v.home_community_id for v in vols],
            dtype=np.int64,
        ),
        v_commando=np.array([v.is_commando for v in vols], dtype=bool),
        v_skills=_skill_words([v.skills for v in vols], skill_bit),
        v_win_lo=win_lo,
        v_win_hi=win_hi,
        v_always=np.array([not v.availability for v in vols], dtype=bool),
        v_remaining=v_remaining,
        v_budget=np.maximum(v_remaining - pinned_minutes, 0),
        v_pinned_load=np.bincount(pinned_v, minlength=len(vols)).astype(np.int64),
        v_busy=v_busy,
        v_has_busy=np.array([bool(b) for b in v_busy], dtype=bool),
        n_ids=np.array([n.id for n in needs], dtype=np.int64),
        n_lat=np.array([n.lat for n in needs], dtype=np.float64),
        n_lon=np.array([n.lon for n in needs], dtype=np.float64),
        n_comm=np.array(
            [-1 if n.community_id is None else n.community_id for n in needs], dtype=np.int64
        ),
        n_tier=n_tier,
        n_urgency=n_urgency,
        n_emergency=n_emergency,
        n_skills=_skill_words([n.required_skills for n in needs], skill_bit),
        n_headcount=n_headcount,
        n_open=np.maximum(n_headcount - pinned_per_need, 0),
        n_duration=n_duration,
        n_minute=np.array([local_minute_of_week(s) for s in starts], dtype=np.int64),
        n_start=starts,
        n_lo=n_lo,
        n_hi=n_hi,
        n_reach=np.array(
            [
                travel.reach_limit_minutes(n.tier, n.emergency)
                if n.reach_limit_minutes is None
                else float(n.reach_limit_minutes)
                for n in needs
            ],
            dtype=np.float64,
        ),
        n_penalty=model.unserved_penalty(n_tier, n_urgency, n_emergency, w),
        pinned_v=pinned_v,
        pinned_n=pinned_n,
        forbidden_keys=np.unique(np.array(forbidden, dtype=np.int64)),
        continuity_keys=np.unique(np.array(sorted(continuity), dtype=np.int64)),
        vol_index=vol_index,
        need_index=need_index,
        epoch=epoch,
        m0=m0,
        weeks=weeks,
    )


@dataclass(frozen=True, eq=False)
class PairFacts:
    """What the model needs to know about (volunteer, need) pairs, element-wise."""

    distance_km: NDArray[np.float64]
    travel_min: NDArray[np.float64]
    same_community: NDArray[np.bool_]
    continuing: NDArray[np.bool_]
    commando: NDArray[np.bool_]
    cost: NDArray[np.int64]


def pair_facts(
    arr: ProblemArrays,
    v: NDArray[np.int64],
    n: NDArray[np.int64],
    distance_km: NDArray[np.float64] | None = None,
) -> PairFacts:
    """Distances, travel and pair costs; the one place they are computed (`distance_km`, if
    given, must come from `travel.haversine_km` on the same pairs)."""
    dist = (
        travel.haversine_km(arr.v_lat[v], arr.v_lon[v], arr.n_lat[n], arr.n_lon[n])
        if distance_km is None
        else distance_km
    )
    minutes = travel.travel_minutes(dist, arr.v_mode[v])
    same = (arr.v_home[v] == arr.n_comm[n]) & (arr.n_comm[n] >= 0)
    keys = arr.pair_key(v, n)
    continuing = (
        np.isin(keys, arr.continuity_keys)
        if arr.continuity_keys.size
        else np.zeros(len(keys), bool)
    )
    commando = arr.v_commando[v]
    cost = model.pair_cost(minutes, same, continuing, commando, arr.problem.weights)
    return PairFacts(dist, minutes, same, continuing, commando, np.asarray(cost, dtype=np.int64))
