"""The seat-price bound by column generation, and answers from its columns.

`bound_person` finds seat prices lam by subgradient steps; its problem per person is exact, the
price search is not. Here the prices come from a linear programme instead, the *master* over
per-person schedules (Dantzig-Wolfe): one column per (person, set of visits) found so far,

    min  sum_j c_j x_j + sum_n (pruned_n - penalty_n) y_n          (+ sum_n penalty_n open_n)
    s.t. sum_{j covers n} x_j + y_n <= open_n      for each need  (dual: -lam_n)
         sum_{j of person v} x_j   <= 1            for each person
         0 <= x, 0 <= y_n <= pruned seats of n

where c_j is the set's pair costs less its needs' penalties plus the fairness cost of its load.
Its duals are seat prices; at them each person's best set (`PersonBound.evaluate_picks`, the
same exact problem) is a new column wherever it prices out. Every evaluation is a Lagrangian
bound L(lam) of the whole problem (see `bound_person`): valid at any lam >= 0, whatever the
master holds, so the bound reported is the best L seen, never the master's value. When no
column prices out the master's value equals the best L: the Lagrangian dual is reached.

The prices are smoothed (Wentges): the person problems are solved at a mix of the master's duals
and the best prices so far, which keeps the duals from jumping from one corner to another; when
the mix finds no new column, the master's own duals are tried before stopping.

The master is solved by HiGHS' dual simplex, warm-started after each batch of columns. Work is
counted (rounds), so the same input gives the same bound.

`restricted_master` turns the columns into an answer: every column whose visits can really all be
booked (`Scheduler.fits`), with the singletons and the sets less one visit of each, and the best
answer known as a hint, as an integer programme for CP-SAT (deterministic time limit).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray

from matching.bound_person import PersonBound
from matching.candidates import Candidates
from matching.timing import Scheduler

ROUNDS = 25  # pricing rounds at most
ALPHA = 0.5  # Wentges smoothing: the share of the best prices in the point priced
CONVERGED = 1e-5  # stop once the master's value is within this share of the best bound
RMP_COLUMNS = 60_000  # columns at most in the integer master
DIVE_STEPS = 40  # LP solves at most in the dive for an answer
FIX_AT = 0.9  # the dive fixes columns the LP takes at least this much of, and the largest
# fractional ones, as many as leaves the rest to the steps left
INTEGRAL = 1e-6
DEBUG = bool(os.environ.get("LULING_BOUND_DEBUG"))


@dataclass(frozen=True, eq=False)
class ColumnBoundResult:
    bound: int  # best L(lam) seen (volunteer part, pinned constant not included)
    prices: NDArray[np.int64]
    rounds: int
    columns: int
    master_value: float  # the last master's value (an upper bound of the Lagrangian dual)
    seconds: float


class ColumnGeneration:
    """The master LP over people's sets of visits, priced by a `PersonBound`."""

    def __init__(self, pb: PersonBound) -> None:
        self.pb = pb
        arr = pb.arr
        self.num_needs = arr.num_needs
        self.people, self.person_of_pair = np.unique(pb.v, return_inverse=True)
        self.pen_rc = pb.cost - pb.penalty[pb.n]  # pair cost less the need's penalty
        self.keys: set[bytes] = set()
        self.cols: list[NDArray[np.int64]] = []  # pair indices (into pb's pairs) per column
        self.col_cost: list[int] = []
        h = _highs()
        # columns are added to a solved master: its basis stays primal feasible, so the primal
        # simplex goes on from it
        h.setOptionValue("simplex_strategy", 4)
        h.setOptionValue("presolve", "off")
        inf = highspy.kHighsInf
        n_rows = self.num_needs + len(self.people)
        lower = np.full(n_rows, -inf)
        upper = np.concatenate(
            [pb.open.astype(np.float64), np.ones(len(self.people), dtype=np.float64)]
        )
        h.addRows(n_rows, lower, upper, 0, np.zeros(1, np.int32), np.zeros(0, np.int32), [])
        # pruned arcs: one column per need that has left-out pairs
        pr = np.flatnonzero(pb.pruned_seats > 0)
        if pr.size:
            h.addCols(
                int(pr.size),
                (pb.pruned_cost[pr] - pb.penalty[pr]).astype(np.float64),
                np.zeros(pr.size),
                pb.pruned_seats[pr].astype(np.float64),
                int(pr.size),
                np.arange(pr.size, dtype=np.int32),
                pr.astype(np.int32),
                np.ones(pr.size),
            )
        self.h = h

    def set_cost(self, pairs: NDArray[np.int64]) -> int:
        """c_j: pair costs less penalties, plus the fairness cost of the load."""
        pb = self.pb
        s = len(pairs)
        pl = int(pb.pinned_load[pb.v[pairs[0]]])
        return int(self.pen_rc[pairs].sum()) + pb.unit * (pl * s + s * (s - 1) // 2)

    def add(self, picked: NDArray[np.bool_]) -> int:
        """Add each person's picked set as a column (unless already there); how many added."""
        idx = np.flatnonzero(picked)
        if idx.size == 0:
            return 0
        who = self.person_of_pair[idx]
        cuts = np.flatnonzero(np.diff(who)) + 1
        costs, starts, rows = [], [0], []
        for pairs in np.split(idx, cuts):
            key = pairs.tobytes()
            if key in self.keys:
                continue
            self.keys.add(key)
            self.cols.append(pairs)
            c = self.set_cost(pairs)
            self.col_cost.append(c)
            costs.append(c)
            rows.append(self.pb.n[pairs])
            rows.append(np.array([self.num_needs + self.person_of_pair[pairs[0]]]))
            starts.append(starts[-1] + len(pairs) + 1)
        if not costs:
            return 0
        index = np.concatenate(rows).astype(np.int32)
        self.h.addCols(
            len(costs),
            np.array(costs, dtype=np.float64),
            np.zeros(len(costs)),
            np.ones(len(costs)),
            len(index),
            np.array(starts[:-1], dtype=np.int32),
            index,
            np.ones(len(index)),
        )
        return len(costs)

    def add_sets(self, v: NDArray[np.int64], n: NDArray[np.int64]) -> int:
        """Add the sets of an answer (pairs v, n; those among pb's pairs) as columns."""
        picked = np.zeros(len(self.pb.v), dtype=bool)
        for pairs in _answer_sets(self, (v, n)):
            picked[pairs] = True
        return self.add(picked)

    def solve_master(self) -> tuple[float, NDArray[np.float64]]:
        """The master's value (without the constant) and its seat prices (>= 0)."""
        self.h.run()
        sol = self.h.getSolution()
        duals = np.asarray(sol.row_dual, dtype=np.float64)[: self.num_needs]
        value = float(self.h.getInfo().objective_function_value)
        return value, np.maximum(0.0, -duals)

    def column_values(self) -> NDArray[np.float64]:
        sol = self.h.getSolution()
        first = int(np.count_nonzero(self.pb.pruned_seats > 0))
        return np.asarray(sol.col_value, dtype=np.float64)[first:]


def column_bound(
    pb: PersonBound,
    start_prices: NDArray[np.int64],
    best_primal: int,
    answer: tuple[NDArray[np.int64], NDArray[np.int64]],
    *,
    rounds: int = ROUNDS,
) -> tuple[ColumnBoundResult, ColumnGeneration]:
    """The best L(lam) over column-generation rounds started (and smoothed) at `start_prices`;
    `answer` (the best known, pairs v, n) seeds the master so that it starts feasible and near."""
    started = time.perf_counter()
    cg = ColumnGeneration(pb)
    center = np.maximum(start_prices, 0).astype(np.int64)
    best, _, _, _, picked = pb.evaluate_picks(center)
    cg.add(picked)
    cg.add_sets(*answer)
    done = 1
    master = float("inf")
    alpha = ALPHA
    for _ in range(rounds):
        t_m = time.perf_counter()
        master, duals = cg.solve_master()
        t_m = time.perf_counter() - t_m
        if master - (best - pb.constant) <= CONVERGED * max(1.0, abs(best)) or best >= best_primal:
            break
        lam = np.rint(alpha * center + (1 - alpha) * duals).astype(np.int64)
        value, _, _, _, picked = pb.evaluate_picks(lam)
        done += 1
        if DEBUG:
            print("cg", done, alpha, round(master + pb.constant), value, best, best_primal,
                  len(cg.cols), round(time.perf_counter() - started, 2), round(t_m, 2),
                  cg.h.getInfo().simplex_iteration_count, flush=True)
        if value > best:
            best, center = value, lam
        added = cg.add(picked)
        if added == 0:
            if alpha == 0.0:
                break  # no column prices out at the master's own duals: converged
            alpha = 0.0  # mis-priced: try the master's duals themselves
            continue
        alpha = ALPHA
    seconds = time.perf_counter() - started
    result = ColumnBoundResult(
        best, center, done, len(cg.cols), master + pb.constant, seconds
    )
    return result, cg


def restricted_master(
    cg: ColumnGeneration,
    sched: Scheduler,
    answer: tuple[NDArray[np.int64], NDArray[np.int64]],
    *,
    max_columns: int = RMP_COLUMNS,
) -> tuple[NDArray[np.int64], NDArray[np.int64], int] | None:
    """An integer answer over the master's columns that can really be booked: pairs (v, n) and
    the number of columns it chose from; None when CP-SAT found nothing better than the hint."""
    t0 = time.perf_counter()
    pb = cg.pb
    x = cg.column_values() if cg.cols else np.zeros(0)
    # columns the master uses first, then the rest; each with its sets less one visit
    order = np.argsort(-x, kind="stable") if x.size else np.zeros(0, np.int64)
    sets: dict[bytes, NDArray[np.int64]] = {}

    def offer(pairs: NDArray[np.int64]) -> None:
        if len(sets) >= max_columns or pairs.size == 0:
            return
        key = pairs.tobytes()
        if key in sets:
            return
        v = int(pb.v[pairs[0]])
        dur = int(pb.dur[pairs].sum())
        if dur > int(pb.budget[v]) or not sched.fits(v, pb.n[pairs].tolist()):
            return
        sets[key] = pairs

    # the answer known first (its sets fit), as the hint
    hint_keys = _answer_sets(cg, answer)
    for pairs in hint_keys:
        offer(pairs)
    for j in order.tolist():
        pairs = cg.cols[j]
        offer(pairs)
        if len(pairs) > 1 and x[j] > 1e-6:
            for drop in range(len(pairs)):
                offer(np.delete(pairs, drop))
            for p in pairs.tolist():
                offer(np.array([p], dtype=np.int64))
    if not sets:
        return None
    cols = list(sets.values())
    if DEBUG:
        print("rmp columns", len(cols), round(time.perf_counter() - t0, 2), flush=True)
    # dive: solve the LP over these columns, fix to 1 the columns it (nearly) takes whole
    # (at most one per person, within seats), solve again, until it is integral
    n_cols = len(cols)
    costs = np.array([cg.set_cost(pairs) for pairs in cols], dtype=np.float64)
    people = np.array([int(pb.v[pairs[0]]) for pairs in cols], dtype=np.int64)
    _, person_row = np.unique(people, return_inverse=True)
    sizes = np.array([len(pairs) for pairs in cols], dtype=np.int64)
    starts = np.zeros(n_cols, dtype=np.int32)
    starts[1:] = np.cumsum(sizes + 1)[:-1]
    index = np.concatenate(
        [np.r_[pb.n[pairs], cg.num_needs + person_row[j]] for j, pairs in enumerate(cols)]
    ).astype(np.int32)
    h = _highs()
    n_rows = cg.num_needs + int(person_row.max()) + 1
    upper = np.concatenate([pb.open.astype(np.float64), np.ones(n_rows - cg.num_needs)])
    h.addRows(
        n_rows,
        np.full(n_rows, -highspy.kHighsInf),
        upper,
        0,
        np.zeros(1, np.int32),
        np.zeros(0, np.int32),
        np.zeros(0),
    )
    h.addCols(
        n_cols,
        costs,
        np.zeros(n_cols),
        np.ones(n_cols),
        len(index),
        starts,
        index,
        np.ones(len(index)),
    )
    fixed = np.zeros(n_cols, dtype=bool)
    seats = pb.open.astype(np.int64).copy()
    busy = np.zeros(n_rows - cg.num_needs, dtype=bool)
    steps = 0
    for steps in range(1, DIVE_STEPS + 1):
        h.run()
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        frac = (x > INTEGRAL) & (x < 1 - INTEGRAL) & ~fixed
        take = np.flatnonzero(~fixed & (x >= 1 - INTEGRAL))
        if frac.any():
            cands = np.flatnonzero(frac)
            top = cands[np.argsort(-x[cands], kind="stable")]
            most = max(1, -(-top.size // (DIVE_STEPS - steps + 1)))
            top = np.r_[top[x[top] >= FIX_AT], top[:most]]
            take = np.r_[take, top]
        newly = []
        for j in take.tolist():
            needs = pb.n[cols[j]]
            if busy[person_row[j]] or (seats[needs] <= 0).any():
                continue
            busy[person_row[j]] = True
            seats[needs] -= 1
            newly.append(j)
        if DEBUG:
            print("dive", steps, h.getInfo().objective_function_value, int(frac.sum()),
                  len(take), len(newly), flush=True)
        if not newly:
            break
        fixed[newly] = True
        idx_new = np.array(newly, dtype=np.int32)
        h.changeColsBounds(len(newly), idx_new, np.ones(len(newly)), np.ones(len(newly)))
        if not frac.any():
            break
    if DEBUG:
        print("rmp dive", steps, int(fixed.sum()), round(time.perf_counter() - t0, 2), flush=True)
    chosen = [cols[j] for j in np.flatnonzero(fixed).tolist()]
    idx = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    return pb.v[idx], pb.n[idx], n_cols


def _highs() -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def _answer_sets(
    cg: ColumnGeneration, answer: tuple[NDArray[np.int64], NDArray[np.int64]]
) -> list[NDArray[np.int64]]:
    pb = cg.pb
    key_all = pb.v * cg.num_needs + pb.n
    order = np.argsort(key_all)
    want = answer[0] * cg.num_needs + answer[1]
    if want.size == 0 or key_all.size == 0:
        return []
    pos = np.minimum(np.searchsorted(key_all[order], want), len(order) - 1)
    hit = key_all[order[pos]] == want
    idx = np.sort(order[pos[hit]])
    if idx.size == 0:
        return []
    who = cg.person_of_pair[idx]
    return list(np.split(idx, np.flatnonzero(np.diff(who)) + 1))
