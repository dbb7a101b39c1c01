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

The master is solved by HiGHS' primal simplex, warm-started after each batch of columns, while
that stays cheap; once a re-solve takes SIMPLEX_ITERATIONS iterations or more (the synthetic
counties' masters are highly degenerate: 8-19 thousand iterations, 1.5-7 s each), by the interior
point method from scratch, without crossover, from then on (0.5-1.3 s; its duals are central, which
also steadies the prices: the bound came out 0.01-0.07% higher in the same rounds). Work is counted
(rounds, iterations), never timed, so the same input gives the same bound.

`restricted_master` turns the columns into an answer: on the master itself, with only the columns
whose visits can really all be booked (`Scheduler.fits`) left open and a few more added (the
answer known, the subsets of the sets it uses in part), it dives: fixes to 1 what the LP takes
(nearly) whole, solves again, and so on. The solver repairs and improves what comes out.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray

from matching.bound_person import PersonBound
from matching.timing import Scheduler

ROUNDS = 12  # pricing rounds at most (6 gave no bound gain and a worse answer; see README)
ALPHA = 0.5  # Wentges smoothing: the share of the best prices in the point priced
CONVERGED = 1e-5  # stop once the master's value is within this share of the best bound
SIMPLEX_ITERATIONS = 3_500  # a warm re-solve of the master taking more: interior point from then on
DIVE_STEPS = 40  # LP solves at most in the dive for an answer
FIX_AT = 0.9  # the dive fixes columns the LP takes at least this much of, and the largest
# fractional ones, as many as leaves the rest to the steps left
INTEGRAL = 1e-6
PRICES_OUT = 1e-6  # a column enters the master only if its reduced cost is below minus this
DEBUG = bool(os.environ.get("LULING_BOUND_DEBUG"))


@dataclass(frozen=True, eq=False)
class ColumnBoundResult:
    bound: int  # best L(lam) seen (volunteer part, pinned constant not included)
    prices: NDArray[np.int64]
    rounds: int
    columns: int
    master_value: float  # the last master's value (an upper bound of the Lagrangian dual)
    seconds: float
    reached: bool  # the bound reached what was asked (`enough`): the rounds stopped there


class ColumnGeneration:
    """The master LP over people's sets of visits, priced by a `PersonBound`."""

    def __init__(self, pb: PersonBound, *, simplex_iterations: int = SIMPLEX_ITERATIONS) -> None:
        self.pb = pb
        self.simplex_iterations = simplex_iterations
        arr = pb.arr
        self.num_needs = arr.num_needs
        self.people, self.person_of_pair = np.unique(pb.v, return_inverse=True)
        self.pen_rc = pb.cost - pb.penalty[pb.n]  # pair cost less the need's penalty
        self.keys: set[bytes] = set()
        self.cols: list[NDArray[np.int64]] = []  # pair indices (into pb's pairs) per column
        self._queued: list[NDArray[np.int64]] = []
        self.first_column = int(np.count_nonzero(pb.pruned_seats > 0))  # pruned arcs first
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
        self.interior = False  # the master is solved by the interior point method (no basis)
        self.solves = 0  # master solves so far ...
        self.interior_from = 0  # ... and the first by the interior point method (0: none)

    def set_cost(self, pairs: NDArray[np.int64]) -> int:
        """c_j: pair costs less penalties, plus the fairness cost of the load."""
        pb = self.pb
        s = len(pairs)
        pl = int(pb.pinned_load[pb.v[pairs[0]]])
        return int(self.pen_rc[pairs].sum()) + pb.unit * (pl * s + s * (s - 1) // 2)

    def add(
        self, picked: NDArray[np.bool_], duals: tuple[NDArray[np.float64], ...] | None = None
    ) -> int:
        """Add each person's picked set as a column (unless already there, or, given the
        master's duals (seats, people), unless it prices out at them); how many added."""
        idx = np.flatnonzero(picked)
        if idx.size == 0:
            return 0
        who = self.person_of_pair[idx]
        for pairs in np.split(idx, np.flatnonzero(np.diff(who)) + 1):
            if duals is not None:
                seat, person = duals
                rc = self.set_cost(pairs) + seat[self.pb.n[pairs]].sum()
                if rc + person[self.person_of_pair[pairs[0]]] >= -PRICES_OUT:
                    continue
            self.add_one(pairs)
        return self.flush()

    def add_one(self, pairs: NDArray[np.int64]) -> None:
        """Queue one person's set (pair indices, sorted) as a column, unless already there."""
        key = pairs.tobytes()
        if key in self.keys:
            return
        self.keys.add(key)
        self.cols.append(pairs)
        self._queued.append(pairs)

    def flush(self) -> int:
        """Add the queued columns to the master; how many."""
        queued, self._queued = self._queued, []
        if not queued:
            return 0
        costs = np.array([self.set_cost(pairs) for pairs in queued], dtype=np.float64)
        sizes = np.array([len(pairs) + 1 for pairs in queued], dtype=np.int64)
        starts = np.zeros(len(queued), dtype=np.int32)
        starts[1:] = np.cumsum(sizes)[:-1]
        index = np.concatenate(
            [
                np.r_[self.pb.n[pairs], self.num_needs + self.person_of_pair[pairs[0]]]
                for pairs in queued
            ]
        ).astype(np.int32)
        self.h.addCols(
            len(queued),
            costs,
            np.zeros(len(queued)),
            np.ones(len(queued)),
            len(index),
            starts,
            index,
            np.ones(len(index)),
        )
        return len(queued)

    def add_sets(self, v: NDArray[np.int64], n: NDArray[np.int64]) -> int:
        """Add the sets of an answer (pairs v, n; those among pb's pairs) as columns."""
        picked = np.zeros(len(self.pb.v), dtype=bool)
        for pairs in _answer_sets(self, (v, n)):
            picked[pairs] = True
        return self.add(picked)

    def solve_master(self) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
        """The master's value (without the constant), its seat prices (>= 0) and its
        people's duals (>= 0: what a person's time is worth)."""
        h = self.h
        if self.interior:
            h.clearSolver()  # from scratch: without a basis, a warm start is no help
        h.run()
        self.solves += 1
        # A threshold of 0 means the interior point method from the second solve on, whatever
        # HiGHS reports (-1 iterations when presolve alone solved the master).
        iterations = h.getInfo().simplex_iteration_count
        if not self.interior and (
            self.simplex_iterations == 0 or iterations >= self.simplex_iterations
        ):
            self.interior = True
            self.interior_from = self.solves + 1
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "off")
        sol = h.getSolution()
        duals = np.asarray(sol.row_dual, dtype=np.float64)
        value = float(h.getInfo().objective_function_value)
        seat = np.maximum(0.0, -duals[: self.num_needs])
        return value, seat, np.maximum(0.0, -duals[self.num_needs :])

    def column_values(self) -> NDArray[np.float64]:
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.solve_master()  # columns came after the last solve (the rounds stopped early)
        sol = self.h.getSolution()
        return np.asarray(sol.col_value, dtype=np.float64)[self.first_column :]


def column_bound(
    pb: PersonBound,
    start_prices: NDArray[np.int64],
    best_primal: int,
    answer: tuple[NDArray[np.int64], NDArray[np.int64]],
    *,
    rounds: int = ROUNDS,
    simplex_iterations: int = SIMPLEX_ITERATIONS,
    enough: int | None = None,
) -> tuple[ColumnBoundResult, ColumnGeneration]:
    """The best L(lam) over column-generation rounds started (and smoothed) at `start_prices`;
    `answer` (the best known, pairs v, n) seeds the master so that it starts feasible and near.
    The rounds stop once the bound reaches `enough` (default `best_primal`: nothing to gain
    beyond; the solver passes the bound that meets its gap target), before the next master
    solve."""
    enough = best_primal if enough is None else min(enough, best_primal)
    started = time.perf_counter()
    cg = ColumnGeneration(pb, simplex_iterations=simplex_iterations)
    center = np.maximum(start_prices, 0).astype(np.int64)
    best, _, _, _, picked = pb.evaluate_picks(center)
    for earlier in pb.history:  # the sets the subgradient rounds found
        cg.add(earlier)
    cg.add(picked)
    cg.add_sets(*answer)
    done = 1
    master = float("inf")
    alpha = ALPHA
    for _ in range(rounds):
        if best >= enough:
            break
        t_m = time.perf_counter()
        master, duals, person_duals = cg.solve_master()
        t_m = time.perf_counter() - t_m
        if master - (best - pb.constant) <= CONVERGED * max(1.0, abs(best)):
            break
        lam = np.rint(alpha * center + (1 - alpha) * duals).astype(np.int64)
        value, _, _, _, picked = pb.evaluate_picks(lam)
        done += 1
        if DEBUG:
            print(
                "cg",
                done,
                alpha,
                round(master + pb.constant),
                value,
                best,
                best_primal,
                len(cg.cols),
                round(time.perf_counter() - started, 2),
                round(t_m, 2),
                cg.h.getInfo().simplex_iteration_count,
                flush=True,
            )
        if value > best:
            best, center = value, lam
        added = cg.add(picked, (duals, person_duals))
        if added == 0:
            if alpha == 0.0:
                break  # no column prices out at the master's own duals: converged
            alpha = 0.0  # mis-priced: try the master's duals themselves
            continue
        alpha = ALPHA
    seconds = time.perf_counter() - started
    result = ColumnBoundResult(
        best, center, done, len(cg.cols), master + pb.constant, seconds, best >= enough
    )
    return result, cg


def restricted_master(
    cg: ColumnGeneration,
    sched: Scheduler,
    answer: tuple[NDArray[np.int64], NDArray[np.int64]],
) -> tuple[NDArray[np.int64], NDArray[np.int64], int] | None:
    """An answer from the master's columns that can really be booked, by diving on the master
    itself (its basis is warm): columns whose visits cannot all be booked (`Scheduler.fits`,
    within the hours) and the arcs for left-out pairs are closed; the sets of the answer known
    and, of each set the master uses in part, its subsets less one visit and its single visits
    are added; then the columns the LP takes (nearly) whole are fixed to 1 (at most one per
    person, within seats) and the LP solved again, until it is integral or the steps run out.
    Pairs (v, n) and the number of columns it could choose from; None without columns."""
    t0 = time.perf_counter()
    pb, h = cg.pb, cg.h
    if not cg.cols:
        return None
    x = cg.column_values()
    first = cg.first_column
    # bounds change from here on: the basis stays dual feasible, so the dual simplex goes on;
    # where the master needed the interior point method, so does the dive, with crossover (a
    # vertex, fewer fractions): the warm dual simplex took 73 thousand iterations, 23 s, on the
    # tight-hours county's first step and 1-4 thousand on most later ones, against 0.4-0.7 s
    h.setOptionValue("simplex_strategy", 1)
    if cg.interior:
        h.setOptionValue("run_crossover", "on")
    fits = np.array([_fits(pb, sched, pairs) for pairs in cg.cols], dtype=bool)
    close = np.r_[np.arange(first), first + np.flatnonzero(~fits)].astype(np.int32)
    if close.size:
        h.changeColsBounds(len(close), close, np.zeros(close.size), np.zeros(close.size))
    offered = np.zeros(len(pb.v), dtype=bool)
    for pairs in _answer_sets(cg, answer):
        offered[pairs] = True
    cg.add(offered)  # the answer's sets fit: the master starts from an answer
    for j in np.flatnonzero((x > INTEGRAL) & (x < 1 - INTEGRAL) & fits).tolist():
        pairs = cg.cols[j]
        if len(pairs) > 1:
            for drop in range(len(pairs)):
                sub = np.delete(pairs, drop)
                if _fits(pb, sched, sub):
                    cg.add_one(sub)
            for p in pairs.tolist():
                if _fits(pb, sched, np.array([p])):
                    cg.add_one(np.array([p], dtype=np.int64))
    cg.flush()
    n_cols = len(cg.cols)
    usable = np.ones(n_cols, dtype=bool)
    usable[: len(fits)] = fits
    fixed = np.zeros(n_cols, dtype=bool)
    seats = pb.open.astype(np.int64).copy()
    busy = np.zeros(len(cg.people), dtype=bool)
    person = np.array([cg.person_of_pair[pairs[0]] for pairs in cg.cols], dtype=np.int64)
    steps = 0
    for steps in range(1, DIVE_STEPS + 1):
        if cg.interior:
            h.clearSolver()
        h.run()
        x = cg.column_values()
        frac = (x > INTEGRAL) & (x < 1 - INTEGRAL) & ~fixed & usable
        take = np.flatnonzero(~fixed & usable & (x >= 1 - INTEGRAL))
        if frac.any():
            top = np.flatnonzero(frac)
            top = top[np.argsort(-x[top], kind="stable")]
            most = max(1, -(-top.size // (DIVE_STEPS - steps + 1)))
            take = np.r_[take, top[x[top] >= FIX_AT], top[:most]]
        newly = []
        for j in take.tolist():
            needs = pb.n[cg.cols[j]]
            if fixed[j] or busy[person[j]] or (seats[needs] <= 0).any():
                continue
            busy[person[j]] = True
            seats[needs] -= 1
            fixed[j] = True
            newly.append(first + j)
        if DEBUG:
            print(
                "dive",
                steps,
                h.getInfo().simplex_iteration_count,
                round(time.perf_counter() - t0, 2),
                h.getInfo().objective_function_value,
                int(frac.sum()),
                len(take),
                len(newly),
                flush=True,
            )
        if not newly:
            break
        idx_new = np.array(newly, dtype=np.int32)
        h.changeColsBounds(len(newly), idx_new, np.ones(len(newly)), np.ones(len(newly)))
        if not frac.any():
            break
    if DEBUG:
        print("rmp dive", steps, int(fixed.sum()), round(time.perf_counter() - t0, 2), flush=True)
    chosen = [cg.cols[j] for j in np.flatnonzero(fixed).tolist()]
    idx = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    return pb.v[idx], pb.n[idx], int(usable.sum())


def _fits(pb: PersonBound, sched: Scheduler, pairs: NDArray[np.int64]) -> bool:
    v = int(pb.v[pairs[0]])
    if int(pb.dur[pairs].sum()) > int(pb.budget[v]):
        return False
    return sched.fits(v, pb.n[pairs].tolist())


def _highs() -> highspy.Highs:
    h = highspy.Highs()  # type: ignore[no-untyped-call]
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
