"""Make the flow's answer feasible, then fill what it left open.

The flow counts assignments, not minutes or time, so a volunteer may end up with needs whose
durations add up to more than their free minutes, or whose visits cannot all be made (they
overlap, counting travel between them). For each such volunteer keep the subset of their needs
worth most that fits both (exact, by enumeration: they have few), then refill open seats greedily,
cheapest marginal cost first, from the remaining candidates, booking each visit only if the
person's visits still fit (`timing.Scheduler`). Pinned pairs are already subtracted from seats
and budgets; the scheduler books them with the person's other visits.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from matching import model
from matching.arrays import ProblemArrays
from matching.candidates import Candidates
from matching.timing import Scheduler

MAX_ENUMERATED = 12  # subsets of up to 2**12 per over-budget volunteer; greedy beyond


def _best_subset(
    value: NDArray[np.int64],
    duration: NDArray[np.int64],
    budget: int,
    base_load: int,
    unit: int,
    fits_in_time: Callable[[NDArray[np.bool_]], bool],
) -> NDArray[np.bool_]:
    """Which of one volunteer's pairs to keep: max sum(value) - fairness, within budget and with
    visits that can all be made."""
    m = len(value)
    if m > MAX_ENUMERATED:  # rare: keep by value per minute
        keep = np.zeros(m, dtype=bool)
        used = 0
        for i in sorted(range(m), key=lambda i: (-value[i] / max(1, int(duration[i])), i)):
            if used + duration[i] <= budget:
                keep[i] = True
                if fits_in_time(keep):
                    used += int(duration[i])
                else:
                    keep[i] = False
        return keep
    masks = ((np.arange(1 << m)[:, None] >> np.arange(m)) & 1).astype(bool)
    count = masks.sum(axis=1)
    load = base_load + count
    fairness = unit * (load * (load - 1) // 2)
    score = masks.astype(np.int64) @ value - fairness
    fits = model.capacity_ok(masks.astype(np.int64) @ duration, budget)
    for i in np.flatnonzero(fits)[np.argsort(-score[fits], kind="stable")].tolist():
        if fits_in_time(masks[i]):
            best: NDArray[np.bool_] = masks[i]
            return best
    return np.zeros(m, dtype=bool)


def by_volunteer(cands: Candidates, chosen: NDArray[np.bool_], num_v: int) -> dict[int, list[int]]:
    """Need indexes held per volunteer (pinned needs not included)."""
    idx = np.flatnonzero(chosen)
    vs = cands.v[idx]
    order = np.argsort(vs, kind="stable")  # each person's needs stay in pair order
    vs, ns = vs[order], cands.n[idx][order]
    if vs.size == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, vs[1:] != vs[:-1]])
    ends = np.r_[starts[1:], len(vs)]
    flat = ns.tolist()
    return {
        v: flat[a:b]
        for v, a, b in zip(vs[starts].tolist(), starts.tolist(), ends.tolist(), strict=True)
    }


def repair_budgets(
    arr: ProblemArrays, cands: Candidates, chosen: NDArray[np.bool_], sched: Scheduler
) -> NDArray[np.bool_]:
    """Drop the least valuable assignments of every volunteer over their free minutes or with
    visits that cannot all be made."""
    chosen = chosen.copy()
    dur = arr.n_duration[cands.n]
    used = np.bincount(cands.v[chosen], weights=dur[chosen], minlength=arr.num_volunteers)
    count = np.bincount(cands.v[chosen], minlength=arr.num_volunteers)
    over = ~model.capacity_ok(used, arr.v_budget)
    several = (count + arr.v_pinned_load >= 2) | ((count >= 1) & arr.v_has_busy)
    check = np.flatnonzero(over | several)
    if check.size == 0:
        return chosen
    unit = model.fairness_unit(arr.problem.weights)
    idx = np.flatnonzero(chosen & np.isin(cands.v, check))
    idx = idx[np.argsort(cands.v[idx], kind="stable")]
    starts = np.searchsorted(cands.v[idx], check, side="left")
    ends = np.searchsorted(cands.v[idx], check, side="right")
    for vol, s, e in zip(check.tolist(), starts, ends, strict=True):
        mine = idx[s:e]
        needs = cands.n[mine]
        if not over[vol] and sched.fits(vol, needs.tolist()):
            continue
        value = arr.n_penalty[needs] - cands.cost[mine]

        def fits_in_time(
            mask: NDArray[np.bool_], vol: int = vol, needs: NDArray[np.int64] = needs
        ) -> bool:
            return sched.fits(vol, needs[mask].tolist())

        keep = _best_subset(
            value,
            dur[mine],
            int(arr.v_budget[vol]),
            int(arr.v_pinned_load[vol]),
            unit,
            fits_in_time,
        )
        chosen[mine[~keep]] = False
    return chosen


def refill(
    arr: ProblemArrays, cands: Candidates, chosen: NDArray[np.bool_], sched: Scheduler
) -> NDArray[np.bool_]:
    """Fill open seats, cheapest marginal cost first, while a seat is worth filling and the
    person's visits still fit."""
    chosen = chosen.copy()
    held = by_volunteer(cands, chosen, arr.num_volunteers)
    w = arr.problem.weights
    dur = arr.n_duration[cands.n]
    seats = arr.n_open - np.bincount(cands.n[chosen], minlength=arr.num_needs)
    free = arr.v_budget - np.bincount(
        cands.v[chosen], weights=dur[chosen], minlength=arr.num_volunteers
    ).astype(np.int64)
    load = arr.v_pinned_load + np.bincount(cands.v[chosen], minlength=arr.num_volunteers)

    unit = model.fairness_unit(w)  # fairness_marginal(k) = unit * (k - 1), in plain ints
    cost_l, v_l, n_l, dur_l = cands.cost.tolist(), cands.v.tolist(), cands.n.tolist(), dur.tolist()
    pen_l = arr.n_penalty.tolist()

    def delta(p: int) -> int:
        return int(cost_l[p] + unit * load_l[v_l[p]] - pen_l[n_l[p]])

    pool = np.flatnonzero(~chosen & (seats[cands.n] > 0) & (dur <= free[cands.v]))
    start = (
        cands.cost[pool]
        + model.fairness_marginal(load[cands.v[pool]] + 1, w)
        - arr.n_penalty[cands.n[pool]]
    )
    worth = start < 0
    heap = list(zip(start[worth].tolist(), pool[worth].tolist(), strict=True))
    heapq.heapify(heap)
    seats_l, free_l, load_l = seats.tolist(), free.tolist(), load.tolist()
    while heap:
        d, p = heapq.heappop(heap)
        n, v = n_l[p], v_l[p]
        if seats_l[n] <= 0 or dur_l[p] > free_l[v]:
            continue
        now = delta(p)
        if now != d:  # the volunteer's load grew since: re-queue at the new price
            if now < 0:
                heapq.heappush(heap, (now, p))
            continue
        mine = held.setdefault(v, [])
        if not sched.fits_adding(v, mine, n):
            continue
        mine.append(n)
        chosen[p] = True
        seats_l[n] -= 1
        free_l[v] -= dur_l[p]
        load_l[v] += 1
    return chosen


def _by_volunteer(
    cands: Candidates, chosen: NDArray[np.bool_], num_v: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Chosen pair indexes grouped by volunteer, as (pairs, ptr) with ptr of length num_v+1."""
    idx = np.flatnonzero(chosen)
    idx = idx[np.argsort(cands.v[idx], kind="stable")]
    ptr = np.zeros(num_v + 1, dtype=np.int64)
    np.cumsum(np.bincount(cands.v[idx], minlength=num_v), out=ptr[1:])
    return idx, ptr


def _best_two_refills(
    arr: ProblemArrays, cands: Candidates, eligible: NDArray[np.bool_], value: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Per need: the best and second-best eligible pair by value (pair index, value); -1/0.
    Pairs are grouped by need (candidates are sorted by need); ties go to the first pair."""
    lowest = np.iinfo(np.int64).min
    nonempty = np.flatnonzero(np.diff(cands.ptr) > 0)
    starts = cands.ptr[nonempty]
    out = []
    vals = np.where(eligible, value, lowest)
    index = np.arange(len(vals), dtype=np.int64)
    for _ in range(2):
        best_p = np.full(arr.num_needs, -1, dtype=np.int64)
        best_v = np.zeros(arr.num_needs, dtype=np.int64)
        if len(vals):
            top = np.maximum.reduceat(vals, starts)
            at_top = vals == np.repeat(top, np.diff(np.append(starts, len(vals))))
            first = np.minimum.reduceat(np.where(at_top, index, len(vals)), starts)
            found = top > lowest
            best_p[nonempty[found]] = first[found]
            best_v[nonempty[found]] = top[found]
            vals = vals.copy()
            vals[first[found]] = lowest
        out += [best_p, best_v]
    return out[0], out[1], out[2], out[3]


def improve(
    arr: ProblemArrays,
    cands: Candidates,
    chosen: NDArray[np.bool_],
    sched: Scheduler,
    passes: int = 4,
) -> NDArray[np.bool_]:
    """Ejection moves for seats left open because their candidates are out of minutes.

    Volunteer v gives up need m (freeing minutes) to take open need n, and m is refilled by its
    best free candidate u if that pays. Gain = (P_n - c_vn) - (P_m - c_vm) + refill gain; v's
    load is unchanged so fairness is too. Moves are evaluated for all open seats at once, then
    applied best first if nothing they touch has changed in this pass and both people's visits
    still fit; refill tops up after. Seats open because a candidate is busy at that time (not
    only short of minutes) are tried too."""
    w = arr.problem.weights
    chosen = chosen.copy()
    dur = arr.n_duration[cands.n]
    pen = arr.n_penalty[cands.n]
    for _ in range(passes):
        seats = arr.n_open - np.bincount(cands.n[chosen], minlength=arr.num_needs)
        free = arr.v_budget - np.bincount(
            cands.v[chosen], weights=dur[chosen], minlength=arr.num_volunteers
        ).astype(np.int64)
        load = arr.v_pinned_load + np.bincount(cands.v[chosen], minlength=arr.num_volunteers)
        held, hptr = _by_volunteer(cands, chosen, arr.num_volunteers)
        # moves (p = v on open n) x (q = v's current need m)
        p = np.flatnonzero(~chosen & (seats[cands.n] > 0) & (load[cands.v] > 0))
        count = hptr[cands.v[p] + 1] - hptr[cands.v[p]]
        p = np.repeat(p, count)
        offs = np.arange(len(p), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
        q = held[hptr[cands.v[p]] + offs]
        fits = free[cands.v[p]] + dur[q] >= dur[p]
        p, q = p[fits], q[fits]
        if p.size == 0:
            break
        value = pen - cands.cost - model.fairness_marginal(load[cands.v] + 1, w)
        eligible = ~chosen & (dur <= free[cands.v]) & (value > 0)
        best_p, best_v, next_p, next_v = _best_two_refills(arr, cands, eligible, value)
        m = cands.n[q]
        use_next = cands.v[np.maximum(best_p[m], 0)] == cands.v[p]  # v itself cannot refill m
        r = np.where(use_next, next_p[m], best_p[m])
        r_gain = np.where(use_next, next_v[m], best_v[m])
        gain = (pen[p] - cands.cost[p]) - (pen[q] - cands.cost[q]) + np.maximum(r_gain, 0)
        good = np.flatnonzero(gain > 0)
        if good.size == 0:
            break
        good = good[np.lexsort((p[good], -gain[good]))]
        touched_v = np.zeros(arr.num_volunteers, dtype=bool)
        touched_n = np.zeros(arr.num_needs, dtype=bool)
        holds = by_volunteer(cands, chosen, arr.num_volunteers)
        applied = 0
        for i in good.tolist():
            pi, qi, ri = int(p[i]), int(q[i]), int(r[i])
            v, n, mi = cands.v[pi], cands.n[pi], cands.n[qi]
            u = cands.v[ri] if ri >= 0 and r_gain[i] > 0 else -1
            if touched_v[v] or touched_n[mi] or (u >= 0 and touched_v[u]) or seats[n] <= 0:
                continue
            kept = [x for x in holds.get(int(v), []) if x != mi]
            if not sched.fits_adding(int(v), kept, int(n)):
                continue
            v_after = [*kept, int(n)]
            if u >= 0 and not sched.fits_adding(int(u), holds.get(int(u), []), int(mi)):
                if gain[i] - max(int(r_gain[i]), 0) <= 0:
                    continue
                u = -1
            holds[int(v)] = v_after
            if u >= 0:
                holds.setdefault(int(u), []).append(int(mi))
            chosen[qi] = False
            chosen[pi] = True
            seats[n] -= 1
            free[v] += dur[qi] - dur[pi]
            touched_v[v] = touched_n[mi] = True
            if u >= 0:
                chosen[ri] = True
                free[u] -= dur[ri]
                touched_v[u] = True
            applied += 1
        chosen = refill(arr, cands, chosen, sched)
        if applied == 0:
            break
    return chosen
