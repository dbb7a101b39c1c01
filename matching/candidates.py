"""Who may serve what, and at what cost: only feasible (volunteer, need) pairs, best K per need.

Volunteers are bucketed on a 1 km grid (a planar projection of lat/lon). Needs in the same cell
and with the same reach radius form a group; each group looks only at the grid rows within its
radius, so work grows with the local density, not with volunteers x needs. All filtering is done
on flat numpy arrays of pairs, in chunks, with the constraint functions of `model`.

The pool keeps up to POOL_CAP pairs per need (in practice all of them) so the solver can widen a
need's candidate list without regenerating; for pairs not kept it remembers how many there are
and the cheapest cost, which keeps the flow bound valid for the whole problem.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching import model, travel
from matching.arrays import ProblemArrays, pair_facts
from matching.timing import start_bounds

CELL_KM = 0.5
CHUNK_PAIRS = 1_000_000
SEGMENT_BATCH = 200_000  # cell rows searched at once by `_nearby_pairs`
POOL_CAP = 1000  # feasible pairs kept per need; only far-reaching major needs have more
# Needs that may be reached from far away (major tier: two hours) are searched within RING_KM
# first; if that yields RING_TARGET * K feasible pairs, the rest of the county is not searched:
# anyone farther costs at least the travel cost of RING_KM, which is what the bound uses.
RING_KM = 10.0
RING_TARGET = 4
DEFAULT_K = 50


@dataclass(frozen=True, eq=False)
class VolunteerGrid:
    """Volunteers of one travel mode bucketed by cell (row * stride + column)."""

    mode: int
    stride: int
    rows: int
    order: NDArray[np.int64]  # volunteer indexes sorted by cell key
    keys: NDArray[np.int64]  # their sorted cell keys


@dataclass(frozen=True, eq=False)
class VolunteerIndex:
    """One grid per travel mode, so each is searched only as far as that mode can go."""

    lat0: float
    lon0: float
    km_per_lat: float
    km_per_lon: float  # at the latitude farthest from the equator: never overestimates distance
    grids: tuple[VolunteerGrid, ...]

    def cells(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        cx = np.floor((lon - self.lon0) * self.km_per_lon / CELL_KM).astype(np.int64)
        cy = np.floor((lat - self.lat0) * self.km_per_lat / CELL_KM).astype(np.int64)
        return cx, cy


def build_index(arr: ProblemArrays) -> VolunteerIndex:
    lats = np.concatenate([arr.v_lat, arr.n_lat, [0.0]])
    lat0 = float(arr.v_lat.min()) if arr.num_volunteers else 0.0
    lon0 = float(arr.v_lon.min()) if arr.num_volunteers else 0.0
    km_per_deg = math.pi / 180.0 * travel.EARTH_RADIUS_KM
    max_abs_lat = min(float(np.abs(lats).max()), 89.0)
    index = VolunteerIndex(
        lat0, lon0, km_per_deg, km_per_deg * math.cos(math.radians(max_abs_lat)), ()
    )
    cx, cy = index.cells(arr.v_lat, arr.v_lon)
    stride = int(cx.max()) + 1 if cx.size else 1
    rows = int(cy.max()) + 1 if cy.size else 1
    keys = cy * stride + cx
    grids = []
    for mode in np.unique(arr.v_mode):
        members = np.flatnonzero(arr.v_mode == mode)
        order = members[np.argsort(keys[members], kind="stable")]
        grids.append(VolunteerGrid(int(mode), stride, rows, order, keys[order]))
    return VolunteerIndex(index.lat0, index.lon0, index.km_per_lat, index.km_per_lon, tuple(grids))


def reach_radius_cells(
    arr: ProblemArrays, needs: NDArray[np.int64], mode: int
) -> NDArray[np.int64]:
    """Grid radius around each need holding everyone of `mode` who could reach it in time."""
    radius = travel.reach_radius_km(arr.n_reach[needs], mode)
    return np.ceil((radius * 1.02 + 0.05) / CELL_KM).astype(np.int64)  # margin: projection error


def _nearby_pairs(
    arr: ProblemArrays,
    index: VolunteerIndex,
    needs: NDArray[np.int64],
    max_km: float | None = None,
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Chunks of (need, volunteer) index pairs whose grid cells are within reach radius (or
    within `max_km`, if smaller: then everyone within max_km of the need is included).

    All pairs of one need are in the same chunk (callers rank pairs per need per chunk)."""
    if needs.size == 0 or arr.num_volunteers == 0:
        return
    cx, cy = index.cells(arr.n_lat[needs], arr.n_lon[needs])
    radii = np.stack([reach_radius_cells(arr, needs, g.mode) for g in index.grids])
    if max_km is not None:
        radii = np.minimum(radii, math.ceil(max_km / CELL_KM))
    order = np.lexsort((needs, *radii[::-1], cy, cx))
    cx, cy, radii, sneeds = cx[order], cy[order], radii[:, order], needs[order]
    change = (np.diff(cx) != 0) | (np.diff(cy) != 0) | np.any(np.diff(radii, axis=1) != 0, axis=0)
    bounds = np.concatenate([[0], np.flatnonzero(change) + 1, [len(sneeds)]])
    g_start = bounds[:-1]
    num_groups = len(g_start)
    offset = np.cumsum([0] + [len(g.order) for g in index.grids])
    order_all = np.concatenate([g.order for g in index.grids])
    x, y = cx[g_start], cy[g_start]
    # per grid and group: the cells searched, columns lo_x..hi_x of rows lo_y..lo_y + rows - 1
    boxes = []
    for gi, g in enumerate(index.grids):
        r = radii[gi, g_start]
        lo_x, hi_x = np.maximum(0, x - r), np.minimum(g.stride - 1, x + r)
        lo_y, hi_y = np.maximum(0, y - r), np.minimum(g.rows - 1, y + r)
        rows = np.where((lo_x <= hi_x) & (lo_y <= hi_y), hi_y - lo_y + 1, 0)
        boxes.append((lo_x, hi_x, lo_y, rows))
    # groups in batches of at most SEGMENT_BATCH cell rows (bounded memory where reach is wide)
    row_end = np.cumsum(sum(box[3] for box in boxes))
    buf_n: list[NDArray[np.int64]] = []
    buf_v: list[NDArray[np.int64]] = []
    size = 0
    g0 = 0
    while g0 < num_groups:
        before = row_end[g0 - 1] if g0 else 0
        g1 = max(g0 + 1, int(np.searchsorted(row_end, before + SEGMENT_BATCH, "right")))
        # each cell row of these groups in each grid: a slice of that grid's volunteers
        seg_group, seg_first, seg_last = [], [], []
        for gi, (g, (lo_x, hi_x, lo_y, rows)) in enumerate(zip(index.grids, boxes, strict=True)):
            n_rows = rows[g0:g1]
            grp = np.repeat(np.arange(g1 - g0, dtype=np.int64), n_rows)
            row = (
                lo_y[g0:g1][grp]
                + np.arange(len(grp), dtype=np.int64)
                - np.repeat(np.cumsum(n_rows) - n_rows, n_rows)
            )
            keys = row * g.stride
            seg_group.append(grp)
            seg_first.append(offset[gi] + np.searchsorted(g.keys, keys + lo_x[g0:g1][grp], "left"))
            seg_last.append(offset[gi] + np.searchsorted(g.keys, keys + hi_x[g0:g1][grp], "right"))
        grp = np.concatenate(seg_group)
        order = np.argsort(grp, kind="stable")  # by group; within it by grid, then row
        grp, first = grp[order], np.concatenate(seg_first)[order]
        length = np.concatenate(seg_last)[order] - first
        nv = np.bincount(grp, weights=length, minlength=g1 - g0).astype(np.int64)
        seg_ptr = np.searchsorted(grp, np.arange(g1 - g0 + 1))  # each group's segments
        batch = 0  # first group whose volunteers are not gathered yet
        vols = np.zeros(0, dtype=np.int64)
        v_at = 0
        spans = zip(g_start[g0:g1].tolist(), bounds[g0 + 1 : g1 + 1].tolist(), strict=True)
        for at, (s, e) in enumerate(spans):
            m = int(nv[at])
            if at == batch:  # the volunteers of the next groups, up to CHUNK_PAIRS of them
                stop, total = at + 1, m
                while stop < g1 - g0 and total + int(nv[stop]) <= CHUNK_PAIRS:
                    total += int(nv[stop])
                    stop += 1
                f = first[seg_ptr[at] : seg_ptr[stop]]
                ln = length[seg_ptr[at] : seg_ptr[stop]]
                vols = order_all[
                    np.repeat(f, ln)
                    + np.arange(int(ln.sum()), dtype=np.int64)
                    - np.repeat(np.cumsum(ln) - ln, ln)
                ]
                batch, v_at = stop, 0
            if not m:
                continue
            group, mine = sneeds[s:e], vols[v_at : v_at + m]
            v_at += m
            buf_n.append(np.repeat(group, m))
            buf_v.append(np.tile(mine, len(group)))
            size += len(group) * m
            if size >= CHUNK_PAIRS:
                yield np.concatenate(buf_n), np.concatenate(buf_v)
                buf_n, buf_v, size = [], [], 0
        g0 = g1
    if buf_n:
        yield np.concatenate(buf_n), np.concatenate(buf_v)


def _excluded_keys(arr: ProblemArrays) -> NDArray[np.int64]:
    pinned = arr.pair_key(arr.pinned_v, arr.pinned_n)
    return np.union1d(arr.forbidden_keys, pinned)


def _feasible(
    arr: ProblemArrays, n: NDArray[np.int64], v: NDArray[np.int64], excluded: NDArray[np.int64]
) -> tuple[NDArray[np.int64], ...]:
    """Filter pairs by every hard constraint, cheapest test first, shrinking as we go.
    Returns (n, v, cost, earliest start, latest start)."""
    if arr.v_skills.shape[1] == 1:  # the usual case: up to 64 skills in one word
        need_skills = arr.n_skills[n, 0]
        ok = (arr.v_skills[v, 0] & need_skills) == need_skills
    else:
        ok = model.skills_ok(arr.v_skills[v], arr.n_skills[n])
    ok &= model.capacity_ok(arr.n_duration[n], arr.v_budget[v])
    n, v = n[ok], v[ok]
    dist = travel.haversine_km(arr.v_lat[v], arr.v_lon[v], arr.n_lat[n], arr.n_lon[n])
    ok = model.reach_ok(travel.travel_minutes(dist, arr.v_mode[v]), arr.n_reach[n])
    n, v, dist = n[ok], v[ok], dist[ok]
    early, late = start_bounds(arr, v, n)
    ok = model.slot_ok(early, late)
    ok &= model.allowed_ok(arr.pair_key(v, n), excluded)
    n, v, dist = n[ok], v[ok], dist[ok]
    return n, v, pair_facts(arr, v, n, dist).cost, early[ok], late[ok]


@dataclass(frozen=True, eq=False)
class CandidatePool:
    """Feasible pairs sorted by (need, cost, volunteer); up to POOL_CAP per need."""

    n: NDArray[np.int64]
    v: NDArray[np.int64]
    cost: NDArray[np.int64]
    ptr: NDArray[np.int64]  # (N+1): pairs of need i are [ptr[i], ptr[i+1])
    feasible_count: NDArray[np.int64]  # feasible pairs found per need, kept or not
    beyond_min_cost: NDArray[np.int64]  # no pair outside the pool costs less (0 if none)
    unexplored: NDArray[np.bool_]  # searched within RING_KM only: more pairs may lie beyond
    k: int
    # per pair: earliest and latest start (`timing.start_bounds`, exact), for compulsory parts
    early: NDArray[np.int64]
    late: NDArray[np.int64]

    @property
    def has_beyond(self) -> NDArray[np.bool_]:
        """Needs with feasible pairs (possibly) outside the pool."""
        return (self.feasible_count > np.diff(self.ptr)) | self.unexplored


def _order(n: NDArray[np.int64], cost: NDArray[np.int64], v: NDArray[np.int64]) -> NDArray[np.intp]:
    """Order by (need, cost, volunteer): one packed int64 key when it fits, else lexsort."""
    if n.size == 0:
        return np.zeros(0, dtype=np.int64)
    c_lo = int(cost.min())
    bits = [int(x).bit_length() for x in (n.max(), cost.max() - c_lo, v.max())]
    if sum(bits) <= 62:
        key = (n << (bits[1] + bits[2])) | ((cost - c_lo) << bits[2]) | v
        return np.argsort(key, kind="stable")
    return np.lexsort((v, cost, n))


def _sort_and_rank(
    n: NDArray[np.int64], v: NDArray[np.int64], cost: NDArray[np.int64], num_needs: int
) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """The order by (need, cost, volunteer) and each pair's rank within its need, in that
    order."""
    order = _order(n, cost, v)
    n = n[order]
    ptr = np.zeros(num_needs + 1, dtype=np.int64)
    np.cumsum(np.bincount(n, minlength=num_needs), out=ptr[1:])
    rank = np.arange(len(n), dtype=np.int64) - ptr[n]
    return order, rank


def _ring_floor_cost(
    arr: ProblemArrays, index: VolunteerIndex, needs: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Per need: no volunteer farther than RING_KM can cost less than this.

    Travel: at least RING_KM by the fastest mode (volunteers outside the searched cells are
    over RING_KM away on the planar grid, which understates true distance by less than the
    2% allowed for). Each bonus only if someone farther out could earn it: a member of the
    need's community beyond the ring, anyone already on the case, any commando member."""
    w = arr.problem.weights
    modes = [g.mode for g in index.grids]
    minutes = min(float(travel.travel_minutes(RING_KM / 1.02, m)) for m in modes)
    floor = np.full(len(needs), int(model.travel_cost(minutes, w)), dtype=np.int64)
    far_member = np.zeros(len(needs), dtype=bool)
    for i, n in enumerate(needs.tolist()):
        members: NDArray[np.intp] | list[int] = (
            np.flatnonzero(arr.v_home == arr.n_comm[n]) if arr.n_comm[n] >= 0 else []
        )
        if len(members):
            d = travel.haversine_km(
                arr.v_lat[members], arr.v_lon[members], arr.n_lat[n], arr.n_lon[n]
            )
            far_member[i] = bool(np.any(d > RING_KM / 1.02))
    case_keys = arr.continuity_keys % max(1, arr.num_needs)
    on_case = np.isin(needs, case_keys)
    floor += np.where(far_member, 0, model.to_cost(w.home_community))
    floor += np.where(on_case, 0, model.to_cost(w.continuity))
    if not arr.v_commando.any():
        floor += model.to_cost(w.commando)
    return floor


def build_pool(
    arr: ProblemArrays,
    *,
    k: int = DEFAULT_K,
    needs: NDArray[np.int64] | None = None,
    index: VolunteerIndex | None = None,
    exhaustive: bool = False,
) -> CandidatePool:
    """All feasible pairs for `needs` (default: every need with open seats), pruned to the pool
    (`exhaustive`: every feasible pair kept, searched over each need's whole reach)."""
    num = arr.num_needs
    needs = np.flatnonzero(arr.n_open > 0) if needs is None else np.asarray(needs, np.int64)
    index = index or build_index(arr)
    excluded = _excluded_keys(arr)
    cap = np.iinfo(np.int64).max if exhaustive else max(POOL_CAP, k)
    count = np.zeros(num, dtype=np.int64)
    beyond = np.zeros(num, dtype=np.int64)
    unexplored = np.zeros(num, dtype=bool)
    parts: list[tuple[NDArray[np.int64], ...]] = []  # (n, v, cost, early, late)

    def collect(which: NDArray[np.int64], max_km: float | None) -> None:
        for chunk_n, chunk_v in _nearby_pairs(arr, index, which, max_km):
            got = _feasible(arr, chunk_n, chunk_v, excluded)
            per_need = np.bincount(got[0], minlength=num)
            count[:] += per_need
            if per_need.max(initial=0) > cap:  # rare: trim needs with more than the pool holds
                order, rank = _sort_and_rank(got[0], got[1], got[2], num)
                n, c = got[0][order], got[2][order]
                at_cap = rank == cap
                beyond[n[at_cap]] = c[at_cap]
                got = tuple(x[order[rank < cap]] for x in got)
            parts.append(got)

    modes = [g.mode for g in index.grids]
    reach_km = (
        np.max([travel.reach_radius_km(arr.n_reach[needs], m) for m in modes], axis=0)
        if modes
        else np.zeros(len(needs))
    )
    collect(needs, None if exhaustive else RING_KM)
    far = needs[reach_km > RING_KM] if not exhaustive else needs[:0]
    enough = count[far] >= RING_TARGET * k
    if far.size:
        done = far[enough]
        floor = _ring_floor_cost(arr, index, done)
        unexplored[done] = True
        beyond[done] = np.where(count[done] > cap, np.minimum(beyond[done], floor), floor)
        again = far[~enough]
        if again.size:  # search these again, over their whole reach
            drop = np.zeros(num, dtype=bool)
            drop[again] = True
            parts = [tuple(x[~drop[p[0]]] for x in p) for p in parts]
            count[again] = 0
            beyond[again] = 0
            collect(again, None)
    empty = np.zeros(0, dtype=np.int64)
    cols = [np.concatenate([p[i] for p in parts]) if parts else empty for i in range(5)]
    parts.clear()  # the chunks are in cols now: hold one copy, not two (10x county: 200 MB)
    order, _ = _sort_and_rank(cols[0], cols[1], cols[2], num)
    for i in range(5):  # one column sorted at a time
        cols[i] = cols[i][order]
    n, v, c, early, late = cols
    ptr = np.zeros(num + 1, dtype=np.int64)
    np.cumsum(np.bincount(n, minlength=num), out=ptr[1:])
    return CandidatePool(n, v, c, ptr, count, beyond, unexplored, k, early, late)


@dataclass(frozen=True, eq=False)
class Candidates:
    """The pairs the optimiser uses, sorted by (need, cost, volunteer), with their facts."""

    n: NDArray[np.int64]
    v: NDArray[np.int64]
    cost: NDArray[np.int64]
    ptr: NDArray[np.int64]
    # Feasible pairs left out, per need, and the cheapest of them: used to keep the bound valid.
    pruned_count: NDArray[np.int64]
    pruned_min_cost: NDArray[np.int64]
    k_per_need: NDArray[np.int64]
    # per pair: earliest and latest start (`timing.start_bounds`, exact)
    early: NDArray[np.int64]
    late: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.n)


def select(arr: ProblemArrays, pool: CandidatePool, k_per_need: NDArray[np.int64]) -> Candidates:
    """Keep the best k_per_need[i] pairs of each need from the pool."""
    rank = np.arange(len(pool.n), dtype=np.int64) - pool.ptr[pool.n]
    keep = rank < k_per_need[pool.n]
    n, v, cost = pool.n[keep], pool.v[keep], pool.cost[keep]
    early, late = pool.early[keep], pool.late[keep]
    ptr = np.zeros(arr.num_needs + 1, dtype=np.int64)
    np.cumsum(np.bincount(n, minlength=arr.num_needs), out=ptr[1:])
    kept = np.diff(ptr)
    # Unexplored needs may have any number of pairs farther out: as many as their open seats
    # is all the flow could use.
    pruned = pool.feasible_count - kept + np.where(pool.unexplored, arr.n_open, 0)
    in_pool = pool.ptr[:-1] + kept < pool.ptr[1:]  # the next pair is still in the pool
    next_idx = np.minimum(pool.ptr[:-1] + kept, max(0, len(pool.n) - 1))
    pool_next = pool.cost[next_idx] if len(pool.n) else np.zeros(arr.num_needs, np.int64)
    beyond = pool.beyond_min_cost
    pruned_min = np.where(
        in_pool, np.where(pool.has_beyond, np.minimum(pool_next, beyond), pool_next), beyond
    )
    pruned_min = np.where(pruned > 0, pruned_min, 0)
    return Candidates(n, v, cost, ptr, pruned, pruned_min, k_per_need, early, late)


def generate_candidates(arr: ProblemArrays, *, k: int = DEFAULT_K) -> Candidates:
    """Feasible pairs, best k per need by cost."""
    pool = build_pool(arr, k=k)
    return select(arr, pool, np.full(arr.num_needs, k, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class Funnel:
    """Per need (rows follow `needs`): how many volunteers survive each hard constraint in turn."""

    needs: NDArray[np.int64]
    in_reach: NDArray[np.int64]
    skilled: NDArray[np.int64]  # ... and holding every required skill
    available: NDArray[np.int64]  # ... and in their hours for the whole visit, in its window
    free: NDArray[np.int64]  # ... and not busy then with work they already have
    with_minutes: NDArray[np.int64]  # ... and enough free minutes this week
    allowed: NDArray[np.int64]  # ... and not rejected by a coordinator
    missing_skills: NDArray[np.uint64]  # (rows, words): required skills nobody in reach has


def diagnose(
    arr: ProblemArrays, needs: NDArray[np.int64], index: VolunteerIndex | None = None
) -> Funnel:
    """Why a need has few or no candidates: the constraint funnel, for explanations."""
    needs = np.asarray(needs, dtype=np.int64)
    num = arr.num_needs
    index = index or build_index(arr)
    excluded = _excluded_keys(arr)
    words = arr.n_skills.shape[1]
    stages = np.zeros((6, num), dtype=np.int64)
    seen_skills = np.zeros((num, words), dtype=np.uint64)
    for n, v in _nearby_pairs(arr, index, needs):
        # each stage counts the pairs that survive it and every one before: keep only those
        dist = travel.haversine_km(arr.v_lat[v], arr.v_lon[v], arr.n_lat[n], arr.n_lon[n])
        ok = model.reach_ok(travel.travel_minutes(dist, arr.v_mode[v]), arr.n_reach[n])
        n, v = n[ok], v[ok]
        stages[0] += np.bincount(n, minlength=num)
        for word in range(words):
            np.bitwise_or.at(seen_skills[:, word], n, arr.v_skills[v, word])
        for stage in range(1, 6):
            if stage == 1:
                ok = model.skills_ok(arr.v_skills[v], arr.n_skills[n])
            elif stage in (2, 3):
                ok = model.slot_ok(*start_bounds(arr, v, n, exact_busy=stage == 3))
            elif stage == 4:
                ok = model.capacity_ok(arr.n_duration[n], arr.v_budget[v])
            else:
                ok = model.allowed_ok(arr.pair_key(v, n), excluded)
            n, v = n[ok], v[ok]
            stages[stage] += np.bincount(n, minlength=num)
    missing = arr.n_skills[needs] & ~seen_skills[needs]
    s = stages[:, needs]
    return Funnel(needs, s[0], s[1], s[2], s[3], s[4], s[5], missing)
