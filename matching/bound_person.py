"""A stronger bound: prices on the seats, each person's week solved exactly.

The flow's bound (`matching.flow`) is a relaxation of the whole problem in which a person's
minutes and time are only priced; it ends near the LP relaxation. Here the *need* side is
relaxed instead: each need n gets a price lam_n >= 0 on its seats ("at most open_n people"),
and what is left falls apart into one small problem per person:

    min over sets S of their candidate needs that they could all make
        sum_{n in S} (cost_vn - penalty_n + lam_n) + fairness marginals of |S| new visits

The sets a person "could all make" are relaxed to: within their free minutes, and no two visits
that cannot both be booked in either order (their start ranges, the visit lengths and the travel
between the two places decide; `_compatible`). That is a superset of the sets they can really
make, so the minimum is no higher than over real sets. For every lam >= 0:

    L(lam) = sum_n (penalty_n - lam_n) open_n + sum_v min_S (...) + (pairs left out, below)

is a lower bound of every feasible assignment (Lagrangian relaxation: a feasible assignment is
feasible for each person's problem and fills at most open_n seats, so the priced terms add
nothing positive). Because each person's problem is solved over integer sets (not fractions of
visits, as the LP does), the best lam gives a bound at least as strong as the LP's, and stronger
where minutes or clashing times cut a person's options.

Pairs left out of the candidate lists (pruned): each need keeps an arc like the flow's, up to
min(open seats, pairs left out) seats at the cheapest left-out pair's cost, free of any person
limit (fairness marginals are >= 0, and dropping a person's limits only lowers the minimum), so
the bound holds for the whole problem, not only for the candidate lists.

Persons with at most EXACT_ITEMS candidate needs of negative reduced cost are enumerated exactly
(all subsets at once, in numpy); the rare person with more gets a weaker relaxation (the best
items up to the most that fit their minutes). The prices come from subgradient rounds (Polyak
steps against the best primal), started at the flow's own marginal seat costs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching import model, travel
from matching.arrays import ProblemArrays
from matching.candidates import CandidatePool, Candidates, select
from matching.flow import FlowArcs
from matching.timing import start_bounds

EXACT_ITEMS = 10  # enumerate every subset of up to this many items (2**10 per person)
DP_UNITS = 64  # steps of the minutes axis of the dynamic programme at most (durations are
# counted in steps of a multiple of their common divisor, rounded down)
DP_CELLS = 4_000_000  # table cells (or subsets) per batch of people
DEBUG = bool(os.environ.get("LULING_BOUND_DEBUG"))
# The dynamic programme: unreachable states hold DP_BIG, padding items cost PAD_COST (never
# worth taking; DP_BIG + PAD_COST still fits int32).
DP_BIG = 2**30
PAD_COST = 2**28
ROUNDS = 6  # subgradient rounds at most (the start prices do most of the work)
STALL_ROUNDS = 1  # stop after this many rounds in a row without a better bound
STEP_START = 1.0  # Polyak step factor, shrunk whenever the bound does not rise
SHRINK = 0.6
TARGET_SHARE = 0.003  # Polyak target: the best primal, or this share above the best bound


@dataclass(frozen=True, eq=False)
class PersonBoundResult:
    bound: int  # lower bound of the volunteer part (the pinned pairs' fixed cost not included)
    pairs: int  # candidate pairs in the people's problems
    prices: NDArray[np.int64]  # per need: the seat prices that gave it
    rounds: int
    seconds: float
    exact_people: int  # people whose subproblem was enumerated exactly in the best round
    relaxed_people: int  # ... and those given the weaker relaxation
    problem: PersonBound  # the people's problems it evaluated (for column generation)


class PersonBound:
    """Evaluates L(lam) for the candidate lists `cands` (pairs sorted by person)."""

    def __init__(
        self, arr: ProblemArrays, cands: Candidates, *, exact_items: int = EXACT_ITEMS
    ) -> None:
        self.arr = arr
        self.exact_items = exact_items
        w = arr.problem.weights
        order = np.lexsort((cands.n, cands.v))
        self.v = cands.v[order]
        self.n = cands.n[order]
        self.cost = cands.cost[order]
        self.dur = arr.n_duration[self.n]
        # hulls of the start ranges without taking existing work out: wider, so still a
        # relaxation, and much cheaper for people with busy times
        early, late = start_bounds(arr, self.v, self.n, exact_busy=False)
        self.early = early
        self.late = late
        self.unit = model.fairness_unit(w)
        self.pinned_load = arr.v_pinned_load
        self.budget = arr.v_budget
        self.cap = model.max_assignments_within_budget(
            self.v, self.dur, arr.v_budget, arr.num_volunteers
        )
        self.penalty = arr.n_penalty
        self.open = arr.n_open
        self.k_per_need = cands.k_per_need
        self.pruned_seats = np.minimum(arr.n_open, cands.pruned_count)
        self.pruned_cost = cands.pruned_min_cost
        self.constant = int((arr.n_penalty * arr.n_open).sum())
        self.grain = int(np.gcd.reduce(self.dur)) if self.dur.size else 1
        self._bits: dict[int, tuple[NDArray[np.int64], NDArray[np.int64]]] = {}
        self.history: list[NDArray[np.bool_]] = []  # the sets each evaluation picked

    def _masks(self, m: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        got = self._bits.get(m)
        if got is None:
            masks = np.arange(1 << m, dtype=np.int64)
            bits = (masks[:, None] >> np.arange(m, dtype=np.int64)) & 1
            got = (bits, bits.sum(axis=1))
            self._bits[m] = got
        return got

    def _compatible(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Pairs a, b (same person): could both visits be made, one after the other in some
        order? Relaxed: start ranges by their hull, travel rounded down (never says no to two
        visits the scheduler could book)."""
        arr = self.arr
        km = travel.haversine_km(
            arr.n_lat[self.n[a]], arr.n_lon[self.n[a]], arr.n_lat[self.n[b]], arr.n_lon[self.n[b]]
        )
        gap = np.floor(travel.travel_minutes(km, arr.v_mode[self.v[a]]) - 1e-6).astype(np.int64)
        a_first = self.early[a] + self.dur[a] + gap <= self.late[b]
        b_first = self.early[b] + self.dur[b] + gap <= self.late[a]
        ok: NDArray[np.bool_] = a_first | b_first
        return ok

    def evaluate(self, lam: NDArray[np.int64]) -> tuple[int, NDArray[np.int64], int, int]:
        """L(lam), the seats each need gets in the relaxed answer (pruned arcs included), and
        how many people were solved exactly / relaxed."""
        value, taken, exact, relaxed, _ = self.evaluate_picks(lam)
        return value, taken, exact, relaxed

    def evaluate_picks(
        self, lam: NDArray[np.int64]
    ) -> tuple[int, NDArray[np.int64], int, int, NDArray[np.bool_]]:
        """`evaluate`, and each person's best set: a mask over the pairs (`self.v`, `self.n`)."""
        picked = np.zeros(len(self.v), dtype=bool)
        rc = self.cost - self.penalty[self.n] + lam[self.n]
        idx = np.flatnonzero(rc < 0)
        total = self.constant - int((lam * self.open).sum())
        taken = np.zeros(len(lam), dtype=np.int64)
        # pairs left out: their own arc per need
        prc = self.pruned_cost - self.penalty + lam
        use = (self.pruned_seats > 0) & (prc < 0)
        total += int((prc[use] * self.pruned_seats[use]).sum())
        taken[use] += self.pruned_seats[use]
        if idx.size == 0:
            return total, taken, 0, 0, picked
        vs = self.v[idx]
        people, first, count = np.unique(vs, return_index=True, return_counts=True)
        exact = relaxed = 0
        # small: one group per count; large: padded buckets of up to twice the smallest
        buckets = [(m, m) for m in np.unique(count[count <= self.exact_items]).tolist()]
        m_lo = self.exact_items + 1
        while m_lo <= count.max(initial=0):
            buckets.append((m_lo, 2 * m_lo - 1))
            m_lo *= 2
        for m_lo, m_hi in buckets:
            sel = np.flatnonzero((count >= m_lo) & (count <= m_hi))
            if sel.size == 0:
                continue
            m = int(count[sel].max())
            offs = np.arange(m, dtype=np.int64)[None, :]
            valid = offs < count[sel][:, None]
            pos = first[sel][:, None] + np.minimum(offs, count[sel][:, None] - 1)
            items = idx[pos]  # (P, m): padded with the person's last item, masked by valid
            who = people[sel]
            if m_hi > self.exact_items:
                value, pick = self._relaxed(rc, items, who, valid)
                relaxed += len(sel)
            else:
                value, pick = self._exact(rc, items, who)
                exact += len(sel)
            pick &= valid
            total += int(value.sum())
            np.add.at(taken, self.n[items[pick]], 1)
            picked[items[pick]] = True
        return total, taken, exact, relaxed, picked

    def _exact(
        self, rc: NDArray[np.int64], items: NDArray[np.int64], who: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Every subset of every person's items at once, in batches of people."""
        p, m = items.shape
        chunk = max(1, DP_CELLS // (1 << m))
        if p <= chunk:
            return self._subsets(rc, items, who)
        out_v = np.zeros(p, dtype=np.int64)
        out_p = np.zeros(items.shape, dtype=bool)
        for lo in range(0, p, chunk):
            sl = slice(lo, min(p, lo + chunk))
            out_v[sl], out_p[sl] = self._subsets(rc, items[sl], who[sl])
        return out_v, out_p

    def _subsets(
        self, rc: NDArray[np.int64], items: NDArray[np.int64], who: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        p, m = items.shape
        bits, size = self._masks(m)
        value = rc[items] @ bits.T  # (P, 2**m)
        pl = self.pinned_load[who][:, None]
        value = value + self.unit * (pl * size + size * (size - 1) // 2)
        ok = (self.dur[items] @ bits.T) <= self.budget[who][:, None]
        if m >= 2:
            ii, jj = np.triu_indices(m, 1)
            clash = ~self._compatible(items[:, ii].ravel(), items[:, jj].ravel()).reshape(
                p, len(ii)
            )
            for k in np.flatnonzero(clash.any(axis=0)).tolist():
                both = (bits[:, ii[k]] & bits[:, jj[k]]).astype(bool)
                ok &= ~(clash[:, k : k + 1] & both[None, :])
        value = np.where(ok, value, np.iinfo(np.int64).max)
        best = np.argmin(value, axis=1)
        out = value[np.arange(p), best]
        return np.minimum(out, 0), bits[best].astype(bool) & (out < 0)[:, None]

    def _relaxed(
        self,
        rc: NDArray[np.int64],
        items: NDArray[np.int64],
        who: NDArray[np.int64],
        valid: NDArray[np.bool_],
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Many items: dynamic programming over (visits, minutes) along time, for all these
        people at once. Time clashes are relaxed to an interval graph: each visit surely holds
        [latest start, earliest start + duration + the least travel to anywhere else), and two
        visits whose such intervals meet cannot both be made (weighted interval scheduling);
        visits without one clash with nothing. Minutes count in steps, rounded down
        (a relaxation: sum of floors <= floor of the sum)."""
        p, m = items.shape
        r = np.where(valid, rc[items], PAD_COST)
        # the finest step that keeps the minutes axis within DP_UNITS
        listed = (self.dur[items] * valid).sum(axis=1)
        most_minutes = int(np.minimum(self.budget[who], listed).max())
        grain = self.grain * max(1, -(-most_minutes // (self.grain * DP_UNITS)))
        du = np.where(valid, self.dur[items] // grain, 0)
        cap_u = self.budget[who] // grain
        slack = du.sum(axis=1) <= cap_u  # minutes cannot bind: leave them out
        du = np.where(slack[:, None], 0, du)
        cap_u = np.where(slack, 0, cap_u)
        srt = np.sort(r, axis=1)
        c_idx = np.arange(1, m + 1, dtype=np.int64)[None, :]
        pl = self.pinned_load[who]
        useful = srt + self.unit * (pl[:, None] + c_idx - 1) < 0
        most = np.minimum(useful.sum(axis=1), self.cap[who])
        cells = (m + 1) * (most.max(initial=0) + 1) * (cap_u.max(initial=0) + 1)
        chunk = max(1, DP_CELLS // max(1, int(cells)))
        out_v = np.zeros(p, dtype=np.int64)
        out_p = np.zeros(items.shape, dtype=bool)
        for lo in range(0, p, chunk):
            sl = slice(lo, min(p, lo + chunk))
            out_v[sl], out_p[sl] = self._interval_dp(
                r[sl], items[sl], who[sl], du[sl], cap_u[sl], most[sl], valid[sl]
            )
        return out_v, out_p

    def _interval_dp(
        self,
        r: NDArray[np.int64],
        items: NDArray[np.int64],
        who: NDArray[np.int64],
        du: NDArray[np.int64],
        cap_u: NDArray[np.int64],
        most: NDArray[np.int64],
        valid: NDArray[np.bool_],
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        p, m = items.shape
        big = DP_BIG
        pl = self.pinned_load[who]
        gap = travel.STARTUP_MINUTES[self.arr.v_mode[who]].astype(np.int64)[:, None]
        a = self.late[items]
        b = self.early[items] + self.dur[items] + gap
        free = (a >= b) | ~valid
        # order: interval visits by end, then free ones
        key_b = np.where(free, np.iinfo(np.int64).max, b)
        order = np.argsort(key_b, axis=1, kind="stable")
        items = np.take_along_axis(items, order, axis=1)
        r = np.take_along_axis(r, order, axis=1)
        du = np.take_along_axis(du, order, axis=1)
        a = np.take_along_axis(a, order, axis=1)
        b = np.take_along_axis(b, order, axis=1)
        free = np.take_along_axis(free, order, axis=1)
        sb = np.where(free, np.iinfo(np.int64).max, b)
        # prefix of earlier visits that end before visit j starts (free: all before it)
        pred = np.empty((p, m), dtype=np.int64)
        for i in range(p):
            pred[i] = np.searchsorted(sb[i], a[i], side="right")
        pred = np.minimum(pred, np.arange(m, dtype=np.int64)[None, :])
        pred = np.where(free, np.arange(m, dtype=np.int64)[None, :], pred)
        c_max = int(most.max(initial=0))
        u_max = int(np.minimum(cap_u, du.sum(axis=1)).max(initial=0))
        if DEBUG:
            print("dp", p, m, c_max, u_max, int(valid.sum()), flush=True)
        # int32 halves the memory traffic; where sums could reach its range, int64
        lowest = int(np.minimum(r, 0).sum(axis=1).min(initial=0))
        dtype = np.int32 if lowest > -DP_BIG else np.int64
        table = np.empty((m + 1, p, c_max + 1, u_max + 1), dtype=dtype)
        table[0] = big
        table[0, :, 0, 0] = 0
        r = r.astype(dtype)
        u_range = np.arange(u_max + 1, dtype=np.int64)[None, :]
        rows = np.arange(p)
        for j in range(m):
            base = table[pred[:, j], rows, :-1]  # (P, C, U+1)
            # taking visit j moves a person's minutes up by its steps: a shift along the last
            # axis, by slices for each distinct length (a handful) rather than a gather
            lengths = du[:, j]
            cand = np.full_like(base, big)
            for d in np.unique(lengths).tolist():
                if d <= u_max:
                    sel = lengths == d
                    cand[sel, :, d:] = base[sel, :, : u_max + 1 - d]
            cand = np.where(cand < big, cand + r[:, j, None, None], big)
            cand = np.minimum(cand, big)
            table[j + 1] = table[j]
            table[j + 1, :, 1:, :] = np.minimum(table[j, :, 1:, :], cand)
        c_all = np.arange(c_max + 1, dtype=np.int64)
        fair = self.unit * (pl[:, None] * c_all + c_all * (c_all - 1) // 2)
        within = (u_range <= cap_u[:, None])[:, None, :] & (
            c_all[None, :, None] <= most[:, None, None]
        )
        last = table[m].astype(np.int64)
        total = np.where(within & (last < big), last + fair[:, :, None], big)
        flat = total.reshape(p, -1).argmin(axis=1)
        value = np.minimum(total.reshape(p, -1)[rows, flat], 0)
        c_cur, u_cur = flat // (u_max + 1), flat % (u_max + 1)
        j_cur = np.full(p, m, dtype=np.int64)
        pick = np.zeros((p, m), dtype=bool)
        live = (value < 0) & (c_cur > 0)
        while live.any():
            idx = np.flatnonzero(live)
            at_j = j_cur[idx] - 1
            at_c, at_u = c_cur[idx], u_cur[idx]
            took = table[at_j + 1, idx, at_c, at_u] != table[at_j, idx, at_c, at_u]
            pick[idx[took], at_j[took]] = True
            c_cur[idx[took]] -= 1
            u_cur[idx[took]] -= du[idx[took], at_j[took]]
            j_cur[idx] = np.where(took, pred[idx, at_j], at_j)
            live = (j_cur > 0) & (c_cur > 0)
        back = np.zeros((p, m), dtype=bool)
        np.put_along_axis(back, order, pick, axis=1)
        return value, back


def seat_prices(arcs: FlowArcs, penalty: NDArray[np.int64]) -> NDArray[np.int64]:
    """Start prices from a solved flow: penalty_n minus the cost of bringing one more unit to
    need n (its shortest-path distance from the source in the residual network, Bellman-Ford
    over every arc at once). The flow's own LP prices, so L(start) is at least the flow's bound
    wherever each person's problem is solved exactly."""
    big = np.iinfo(np.int64).max // 4
    fwd = arcs.flows < arcs.caps
    back = arcs.flows > 0
    tails = np.concatenate([arcs.tails[fwd], arcs.heads[back]])
    heads = np.concatenate([arcs.heads[fwd], arcs.tails[back]])
    costs = np.concatenate([arcs.costs[fwd], -arcs.costs[back]])
    order = np.argsort(heads, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order]
    starts = np.flatnonzero(np.r_[True, heads[1:] != heads[:-1]])
    targets = heads[starts]
    dist = np.full(arcs.num_nodes, big, dtype=np.int64)
    dist[0] = 0
    for _ in range(arcs.num_nodes):
        via = np.where(dist[tails] >= big, big, dist[tails] + costs)
        best = np.minimum.reduceat(via, starts)
        new = dist.copy()
        new[targets] = np.minimum(dist[targets], best)
        if np.array_equal(new, dist):
            break
        dist = new
    d = dist[arcs.need_node]
    marginal = np.where(d >= big, penalty, -((-d) // arcs.scale))  # rounded up: lower prices
    return np.clip(penalty - marginal, 0, penalty).astype(np.int64)


def person_bound(
    arr: ProblemArrays,
    cands: Candidates,
    start_prices: NDArray[np.int64],
    best_primal: int,
    *,
    pool: CandidatePool | None = None,
    rounds: int = ROUNDS,
    enough: int | None = None,
) -> PersonBoundResult:
    """The best L(lam) over subgradient rounds from `start_prices`; `best_primal` (the best
    objective known, volunteer part without the pinned constant) sets the Polyak step. With
    the `pool`, needs whose left-out pairs would pay at the start prices get all their pool
    pairs as items (inside each person's problem, not on a free arc). The rounds stop once
    the bound reaches `enough` (default `best_primal`; the solver's gap target)."""
    enough = best_primal if enough is None else min(enough, best_primal)
    started = time.perf_counter()
    lam = np.clip(start_prices, 0, arr.n_penalty).astype(np.int64)
    if pool is not None:
        pays = (cands.pruned_count > 0) & (cands.pruned_min_cost - arr.n_penalty + lam < 0)
        if pays.any():
            k = cands.k_per_need.copy()
            k[pays] = np.maximum(k[pays], np.diff(pool.ptr)[pays])
            cands = select(arr, pool, k)
    pb = PersonBound(arr, cands)
    best = -(2**62)
    best_lam = lam
    best_counts = (0, 0)
    theta = STEP_START
    stalled = 0
    done = 0
    for _ in range(rounds):
        value, taken, exact, relaxed, picked = pb.evaluate_picks(lam)
        pb.history.append(picked)
        done += 1
        if DEBUG:
            print("round", done, value, best_primal, round(theta, 3), flush=True)
        if value > best:
            best, best_lam, best_counts = value, lam, (exact, relaxed)
            stalled = 0
        else:
            stalled += 1
            theta *= SHRINK
        if stalled >= STALL_ROUNDS or best >= enough:
            break
        g = (taken - arr.n_open).astype(np.float64)
        g = np.where((lam > 0) | (g > 0), g, 0.0)
        g = np.where((lam < arr.n_penalty) | (g < 0), g, 0.0)
        norm = float(g @ g)
        if norm == 0.0:
            break
        target = min(best_primal, best + TARGET_SHARE * abs(best))
        step = theta * max(target - value, 1) / norm
        lam = np.clip(np.rint(lam + step * g), 0, arr.n_penalty).astype(np.int64)
    seconds = time.perf_counter() - started
    return PersonBoundResult(best, len(cands), best_lam, done, seconds, *best_counts, pb)
