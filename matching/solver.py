"""Luling's solver.

Volunteers: feasible candidates (top-K per need, widened where the flow asks) -> min-cost flow,
then rounds of Lagrangian prices on minutes (each a tighter bound and a new flow) -> for each
flow: repair budgets, refill, ejection local search; keep the best -> a second bound with prices
on the needs' seats and each person's week solved exactly (`bound_person`; the better bound is
kept) -> CP-SAT on the whole problem when small (proves optimality) or on the side-constrained
neighbourhood when mid-sized.
Resources and enterprise helpers: their own exact flows.

Work is counted, not timed (fixed rounds, CP-SAT with a deterministic time limit), so the same
input gives the same result; `time_limit_s` only caps CP-SAT's wall time as a safety net.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from matching import clusters, model, travel
from matching.arrays import ProblemArrays, build_arrays, pair_facts
from matching.bound_columns import ColumnGeneration, column_bound, restricted_master
from matching.bound_person import person_bound, seat_prices
from matching.candidates import (
    CandidatePool,
    Candidates,
    VolunteerIndex,
    build_index,
    build_pool,
    diagnose,
    select,
)
from matching.conflicts import ConflictRows, conflict_rows, disjoint_rows
from matching.enterprise import HelperPlan, assign_helpers
from matching.evaluate import evaluate, volunteer_terms
from matching.explain import (
    explain_assignment,
    explain_helper,
    explain_open_seats,
    explain_resource,
    explain_resource_shortfall,
    explain_unserved_task,
    funnel_rows,
)
from matching.flow import FlowSolution, build_network, solve_flow
from matching.polish import polish as polish_neighbourhood
from matching.problem import Problem, Resource
from matching.repair import by_volunteer, improve, refill, repair_budgets
from matching.resources import ResourcePlan, allocate_resources
from matching.result import (
    Assignment,
    HelperAssignment,
    RankedCandidate,
    Reason,
    ResourceAllocation,
    Result,
    Stats,
    UnmatchedNeed,
    UnmatchedTask,
)
from matching.timing import Scheduler, book

WIDEN_ROUNDS = 2  # re-solve with wider candidate lists where the flow wanted pruned pairs
WIDEN_IN_ROUNDS = 2  # ... in the first priced rounds too (later, priced pruned arcs suffice)
LAGRANGE_ROUNDS = 20  # flows with prices on minutes and time conflicts ...
ROUND_WORK = 3_000_000  # ... at most this many pair arcs over all rounds
MIN_ROUNDS = 4
STALL_ROUNDS = 4  # stop once this many rounds in a row raised the bound by less than ...
STALL_GAIN = 0.00002  # ... this share of the objective
STEP_START = 0.3  # Polyak step factor; halved whenever the Lagrangian bound drops
PRICE_SCALE = 4  # minute prices in 1/4 cost unit
# The gap target: like a MIP solver's relative gap tolerance, every stage that improves the bound
# or the answer (Lagrangian rounds, seat-price rounds, column-generation rounds, the dive, CP-SAT)
# stops, or is skipped, once the certified gap (objective against the best valid bound) is at or
# under it. The gap checked is the volunteer part's: the resources' and helpers' part (exact,
# optimum = bound) only adds to the objective, so the result's gap is never wider.
GAP_TARGET = 0.001
PRIMAL_EVERY = 3  # repair a primal from every this many priced flows (and the last)
DEBUG = bool(os.environ.get("LULING_MATCHING_DEBUG"))
# Step rule, measured on synthetic 1,200 x 1,000 (20 rounds; LP relaxation 9,739,383): step 1.0
# shrinking by 0.7 reached 9,730,434; 0.3 and halving 9,719,538; deflecting the direction by
# half the last one 9,728,853 but with worse primals. With hours halved, step 1.0 reached a bound
# 19.5% under the primal, 0.3 16.2%: 0.3 it is.
DEFLECT = 0.0  # add this share of the last direction to the subgradient
TARGET_SHARE = 1.0  # Polyak target: this share of the gap to the best primal
SHRINK = 0.7  # step factor whenever the bound drops
# Column generation (its master LP and the dive for an answer) runs on candidate lists up to
# this size: the county (38k pairs) and the synthetic county (89k) gain 0.1-0.5% of gap and up
# to 8% of answer from it, at 2-7x the time; a 10x county (millions of pairs) would spend
# minutes and gigabytes in the master, so it keeps the seat-price bound (stages say so).
COLUMNS_MAX_PAIRS = 250_000
IMPROVE_WITHIN = 0.01  # local search only for primals within 1% of the best so far


@dataclass(frozen=True, eq=False)
class VolunteerSolution:
    cands: Candidates
    chosen: NDArray[np.bool_]
    objective: int
    bound: int
    proven_optimal: bool
    polished: bool
    polish_improvement: int
    timings: dict[str, float]
    stages: dict[str, int]  # stage -> candidate pairs it worked on (rounds for "lagrange")
    # the minute prices (1/PRICE_SCALE cost units) of the flow with the best bound: `clusters`
    # prices a flow of the whole problem with its parts'
    minute_prices: NDArray[np.int64] | None = None


def volunteer_objective(arr: ProblemArrays, cands: Candidates, chosen: NDArray[np.bool_]) -> int:
    v = np.concatenate([cands.v[chosen], arr.pinned_v])
    n = np.concatenate([cands.n[chosen], arr.pinned_n])
    return sum(volunteer_terms(arr, v, n).values())


def pinned_constant(arr: ProblemArrays) -> int:
    """Cost of the pinned pairs and their load, which the flow takes as given."""
    terms = volunteer_terms(arr, arr.pinned_v, arr.pinned_n)
    return sum(terms.values()) - int((arr.n_penalty * arr.n_open).sum())


def _gap(objective: int, bound: int) -> float:
    return (objective - bound) / max(1, abs(objective))


def _enough(objective: int, gap_target: float) -> int:
    """The lowest bound at which `_gap(objective, bound) <= gap_target`."""
    return objective - int(np.floor(gap_target * max(1, abs(objective))))


class _Search:
    """The candidate lists, widened where a flow wanted pairs that top-K left out."""

    def __init__(self, arr: ProblemArrays, pool: CandidatePool, sched: Scheduler) -> None:
        self.arr = arr
        self.pool = pool
        self.sched = sched
        self.k = np.full(arr.num_needs, pool.k, dtype=np.int64)
        self.row_mu: tuple[NDArray[np.int64], int] | None = None
        self.use(select(arr, pool, self.k))

    def use(self, cands: Candidates) -> None:
        self.cands = cands
        self._left_out: tuple[NDArray[np.int64], ...] | None = None
        rows = conflict_rows(self.arr, cands)
        built_in = disjoint_rows(rows)
        self.network = build_network(self.arr, cands, rows.subset(built_in))
        self.rows: ConflictRows = rows.subset(~built_in)  # the rest: priced
        self.row_mu = None  # row prices belong to the rows of the lists they were set on

    def flow(
        self, mu: NDArray[np.int64] | None, *, resolve: bool, widen: bool = True
    ) -> FlowSolution:
        """Solve. Where the flow used a pruned arc and the pool has more pairs, widen those
        needs' lists: re-solving now if `resolve`, otherwise from the next flow on."""
        arr = self.arr
        flow = solve_flow(
            arr,
            self.cands,
            minute_price=mu,
            scale=PRICE_SCALE,
            network=self.network,
            pruned_cost=self.pruned_cost(mu),
            row_price=self.row_mu,
        )
        for _ in range(WIDEN_ROUNDS if widen else 0):
            wanted = (flow.pruned_flow > 0) & (np.diff(self.pool.ptr) > self.k)
            if not wanted.any():
                break
            self.k[wanted] = np.minimum(np.diff(self.pool.ptr)[wanted], 2 * self.k[wanted])

            previous = self.cands
            self.use(select(arr, self.pool, self.k))
            if not resolve:  # keep the solution on the lists it was solved on
                keep = self.mask(previous.v[flow.chosen], previous.n[flow.chosen])
                return replace(flow, chosen=keep)
            flow = solve_flow(
                arr,
                self.cands,
                minute_price=mu,
                scale=PRICE_SCALE,
                network=self.network,
                pruned_cost=self.pruned_cost(mu),
            )
        return flow

    def set_row_prices(self, row_price: NDArray[np.float64]) -> None:
        """Prices per conflict row, per minute of the row's scale (like the minute prices)."""
        per_row = np.rint(row_price * PRICE_SCALE).astype(np.int64) * self.rows.scale
        self.row_mu = (self.rows.pair_price(per_row, len(self.cands)), int(per_row.sum()))

    def pruned_cost(self, mu: NDArray[np.int64] | None) -> NDArray[np.int64] | None:
        """Per need: the cheapest priced pair left out of the lists (pool pairs beyond k, priced
        with their own volunteer's minute price; pairs beyond the pool at their unpriced cost,
        since prices are >= 0). Priced left-out pairs look as dear to the flow as they are."""
        if mu is None:
            return None
        pool, arr = self.pool, self.arr
        if self._left_out is None:  # pool pairs beyond each need's k, grouped by need
            rank = np.arange(len(pool.n), dtype=np.int64) - pool.ptr[pool.n]
            out_idx = np.flatnonzero(rank >= self.k[pool.n])
            n = pool.n[out_idx]
            starts = np.flatnonzero(np.r_[True, n[1:] != n[:-1]]) if n.size else n
            self._left_out = (out_idx, n[starts] if n.size else n, starts)
        out_idx, needs, starts = self._left_out
        best = np.full(arr.num_needs, np.iinfo(np.int64).max, dtype=np.int64)
        if out_idx.size:
            priced = (
                pool.cost[out_idx] * PRICE_SCALE
                + mu[pool.v[out_idx]] * arr.n_duration[pool.n[out_idx]]
            )
            best[needs] = np.minimum.reduceat(priced, starts)
        best = np.where(pool.has_beyond, np.minimum(best, pool.beyond_min_cost * PRICE_SCALE), best)
        return np.where(best == np.iinfo(np.int64).max, 0, best)

    def primal(self, flow: FlowSolution, best: int | None) -> tuple[NDArray[np.bool_], int]:
        """Repair and refill; then local search, unless already clearly behind the best."""
        arr, cands, sched = self.arr, self.cands, self.sched
        chosen = refill(arr, cands, repair_budgets(arr, cands, flow.chosen, sched), sched)
        obj = volunteer_objective(arr, cands, chosen)
        if best is not None and obj > best * (1 + IMPROVE_WITHIN):
            return chosen, obj
        chosen = improve(arr, cands, chosen, sched)
        return chosen, volunteer_objective(arr, cands, chosen)

    def mask(self, v: NDArray[np.int64], n: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Pairs (v, n) as a mask over the current (possibly widened) candidates."""
        keys = self.arr.pair_key(v, n)
        return np.isin(self.arr.pair_key(self.cands.v, self.cands.n), keys)


def solve_volunteers(
    arr: ProblemArrays,
    pool: CandidatePool,
    sched: Scheduler,
    *,
    polish: bool,
    time_limit_s: float,
    started: float,
    gap_target: float = GAP_TARGET,
) -> VolunteerSolution:
    timings: dict[str, float] = {}
    stages: dict[str, int] = {}
    t = time.perf_counter()
    const = pinned_constant(arr)
    search = _Search(arr, pool, sched)
    flow = search.flow(None, resolve=False)
    bound = flow.bound + const
    chosen, best_obj = search.primal(flow, None)
    best_v, best_n = search.cands.v[chosen], search.cands.n[chosen]
    timings["flow"] = time.perf_counter() - t
    stages["flow"] = len(search.cands)

    # Lagrangian prices on minutes and on time conflicts (subgradient, Polyak steps): a tighter
    # bound each round, and flows that overload or double-book fewer people, so better primals
    # after repair. Rounds go on while they pay: until the gap is small enough, the bound has
    # stalled, or the work budget is spent.
    t = time.perf_counter()
    price = np.zeros(arr.num_volunteers, dtype=np.float64)
    row_price = np.zeros(search.rows.num_rows, dtype=np.float64)
    theta = STEP_START
    prev_dir: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    last = best_flow = flow
    best_mu = np.zeros(arr.num_volunteers, dtype=np.int64)
    rounds = int(np.clip(ROUND_WORK // max(1, len(search.cands)), MIN_ROUNDS, LAGRANGE_ROUNDS))
    done = 0
    stalled = 0
    for round_no in range(rounds):
        if _gap(best_obj, bound) <= gap_target:
            stages["lagrange_stopped_gap_target"] = done
            break
        if stalled >= STALL_ROUNDS:
            break
        rows = search.rows
        if len(row_price) != rows.num_rows:  # the lists widened: new rows, fresh prices
            row_price = np.zeros(rows.num_rows, dtype=np.float64)
        excess = (last.used_minutes - arr.v_budget).astype(np.float64)
        step_dir = np.where((price > 0) | (excess > 0), excess, 0.0)
        row_excess = (rows.scale * (rows.usage(last.chosen) - 1)).astype(np.float64)
        row_dir = np.where((row_price > 0) | (row_excess > 0), row_excess, 0.0)
        if DEFLECT and prev_dir is not None and len(prev_dir[1]) == len(row_dir):
            step_dir = step_dir + DEFLECT * prev_dir[0]
            row_dir = row_dir + DEFLECT * prev_dir[1]
        prev_dir = (step_dir, row_dir)
        norm = float(step_dir @ step_dir) + float(row_dir @ row_dir)
        if norm == 0.0:
            break
        target = max(TARGET_SHARE * (best_obj - (last.bound + const)), 1)
        price = np.maximum(0.0, price + theta * target / norm * step_dir)
        row_price = np.maximum(0.0, row_price + theta * target / norm * row_dir)
        previous = last.bound
        mu = np.rint(price * PRICE_SCALE).astype(np.int64)
        search.set_row_prices(row_price)
        last = search.flow(mu, resolve=False, widen=round_no < WIDEN_IN_ROUNDS)
        done += 1
        gained = last.bound + const - bound
        if last.bound < previous:  # overshot: shorter steps
            theta *= SHRINK
        # a round that does not raise the best bound enough is a stall, overshoot or not (on
        # the reference county, 16 of 20 rounds raised it by 0.03% in all)
        stalled = stalled + 1 if gained <= STALL_GAIN * max(1, abs(best_obj)) else 0
        if last.bound + const > bound:
            best_flow, best_mu = last, mu
        bound = max(bound, last.bound + const)
        if DEBUG:
            print(
                round_no,
                bound,
                best_obj,
                round(_gap(best_obj, bound) * 100, 3),
                round(time.perf_counter() - started, 2),
                flush=True,
            )
        if round_no % PRIMAL_EVERY and round_no < rounds - 1:
            continue  # the bound every round; repairing a primal costs more, so less often
        chosen, obj = search.primal(last, best_obj)
        if obj < best_obj:
            best_obj = obj
            best_v, best_n = search.cands.v[chosen], search.cands.n[chosen]
    cands = search.cands
    best = search.mask(best_v, best_n)
    timings["lagrange"] = time.perf_counter() - t
    stages["lagrange_rounds"] = done
    stages["conflict_rows"] = search.rows.num_rows
    bound, columns = _person_bound(
        arr,
        pool,
        cands,
        best_flow,
        best_obj,
        bound,
        const,
        (best_v, best_n),
        timings,
        stages,
        gap_target,
    )
    if columns is not None and _gap(best_obj, bound) <= gap_target:
        stages["restricted_master_skipped_gap_target"] = len(cands)
    if columns is not None and _gap(best_obj, bound) > gap_target:
        # an answer from the master's columns (the sets it found, which can really be booked)
        t = time.perf_counter()
        got = restricted_master(columns, sched, (best_v, best_n))
        if got is not None:
            v, n, stages["restricted_master"] = got
            if search.mask(v, n).sum() != len(v):
                # the columns may hold pool pairs the lists left out: widen the lists to the
                # people's problems' own (the answer so far stays on them)
                search.k = np.maximum(search.k, columns.pb.k_per_need)
                search.use(select(arr, pool, search.k))
                cands = search.cands
                best = search.mask(best_v, best_n)
            chosen = search.mask(v, n)
            obj = volunteer_objective(arr, cands, chosen)
            if DEBUG:
                print("rmp rounded", obj, best_obj, flush=True)
            chosen = improve(arr, cands, refill(arr, cands, chosen, sched), sched)
            obj = volunteer_objective(arr, cands, chosen)
            if DEBUG:
                print("rmp improved", obj, best_obj, flush=True)
            if obj < best_obj:
                stages["restricted_master_gain"] = best_obj - obj
                best, best_obj = chosen, obj
                best_v, best_n = cands.v[chosen], cands.n[chosen]
        timings["restricted_master"] = time.perf_counter() - t

    proven = False
    improvement = 0
    polished = False
    no_pruned = int(cands.pruned_count.sum()) == 0
    if polish and _gap(best_obj, bound) <= gap_target and best_obj > bound:
        stages["cpsat_skipped_gap_target"] = len(cands)
    if polish and _gap(best_obj, bound) > gap_target:
        t = time.perf_counter()
        wall = max(0.5, time_limit_s - (time.perf_counter() - started))
        out = polish_neighbourhood(arr, cands, best, sched, wall_time=wall)
        polished = out.pairs > 0
        if polished:
            stages["cpsat_whole" if out.whole else "cpsat_neighbourhood"] = out.pairs
        if out.improved:
            obj = volunteer_objective(arr, cands, out.chosen)
            if obj < best_obj:
                improvement = best_obj - obj
                best, best_obj = out.chosen, obj
        if out.whole and no_pruned:  # CP-SAT saw the whole problem: its bound is global
            if out.proven_optimal:
                proven = True
                bound = max(bound, best_obj)
            elif out.bound is not None:
                bound = max(bound, out.bound)
        timings["polish"] = time.perf_counter() - t
    if best_obj == bound:
        proven = True
    return VolunteerSolution(
        cands, best, best_obj, bound, proven, polished, improvement, timings, stages, best_mu
    )


def _person_bound(
    arr: ProblemArrays,
    pool: CandidatePool,
    cands: Candidates,
    flow: FlowSolution,
    best_obj: int,
    bound: int,
    const: int,
    answer: tuple[NDArray[np.int64], NDArray[np.int64]],
    timings: dict[str, float],
    stages: dict[str, int],
    gap_target: float = GAP_TARGET,
) -> tuple[int, ColumnGeneration | None]:
    """The bound with each person's week solved exactly (`bound_person`), from the seat
    prices of the flow that gave the best bound, then by column generation from there
    (`bound_columns`); the better bound is kept, and the stages say what ran and what it
    gained (0: the flow's bound stands), or that they were skipped because the gap target was
    met. Also the master, for an answer from its columns."""
    if flow.arcs is None or not len(cands):
        return bound, None
    if _gap(best_obj, bound) <= gap_target:
        stages["person_bound_skipped_gap_target"] = len(cands)
        return bound, None
    enough = _enough(best_obj, gap_target) - const
    t = time.perf_counter()
    prices = seat_prices(flow.arcs, arr.n_penalty)
    people = person_bound(arr, cands, prices, best_obj - const, pool=pool, enough=enough)
    timings["person_bound"] = time.perf_counter() - t
    stages["person_bound"] = people.pairs
    stages["person_bound_rounds"] = people.rounds
    stages["person_bound_gain"] = max(0, people.bound + const - bound)
    bound = max(bound, people.bound + const)
    if _gap(best_obj, bound) <= gap_target:
        stages["person_bound_stopped_gap_target"] = people.rounds
        stages["column_generation_skipped_gap_target"] = len(cands)
        return bound, None
    if len(cands) > COLUMNS_MAX_PAIRS:
        stages["column_generation_skipped_pairs"] = len(cands)  # too large: see COLUMNS_MAX_PAIRS
        return bound, None
    t = time.perf_counter()
    cols, master = column_bound(
        people.problem, people.prices, best_obj - const, answer, enough=enough
    )
    timings["column_generation"] = time.perf_counter() - t
    stages["column_generation_rounds"] = cols.rounds
    stages["column_generation_columns"] = cols.columns
    stages["column_generation_gain"] = max(0, cols.bound + const - bound)
    if cols.reached:  # the rounds stopped at the gap target
        stages["column_generation_stopped_gap_target"] = cols.rounds
    if master.interior_from:  # the master's solves from this one on by the interior point method
        stages["column_generation_interior_from"] = master.interior_from
    return max(bound, cols.bound + const), master


def solve(
    problem: Problem,
    *,
    time_limit_s: float = 10.0,
    polish: bool = True,
    gap_target: float = GAP_TARGET,
    decompose_above: int = clusters.DECOMPOSE_ABOVE_PAIRS,
    cluster_pairs: int = clusters.CLUSTER_PAIRS,
    workers: int = 1,
) -> Result:
    """Match every open need, resource requirement and enterprise request at once; the stages
    that improve the bound or the answer stop once the certified gap is at or under
    `gap_target` (0: go on as long as each stage's own rules allow). Above `decompose_above`
    candidate pairs the volunteers' part is solved in community clusters of about
    `cluster_pairs` pairs (`matching.clusters`), `workers` processes at once."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    arr = build_arrays(problem)
    index = build_index(arr)
    pool = build_pool(arr, k=problem.candidates_per_need, index=index)
    sched = Scheduler(arr)
    timings["candidates"] = time.perf_counter() - t
    if clusters.top_k_pairs(pool) > decompose_above:
        vs = _solve_clustered(arr, pool, sched, polish, time_limit_s, cluster_pairs, workers)
    else:
        vs = solve_volunteers(
            arr,
            pool,
            sched,
            polish=polish,
            time_limit_s=time_limit_s,
            started=started,
            gap_target=gap_target,
        )
    timings |= vs.timings
    t = time.perf_counter()
    res_plan = allocate_resources(problem)
    helper_plan = assign_helpers(problem)
    timings["resources_helpers"] = time.perf_counter() - t

    t = time.perf_counter()
    all_v = np.concatenate([vs.cands.v[vs.chosen], arr.pinned_v])
    all_n = np.concatenate([vs.cands.n[vs.chosen], arr.pinned_n])
    starts = book(arr, sched, all_v.tolist(), all_n.tolist())
    assignments = _assignments(arr, all_v, all_n, len(arr.pinned_v), starts)
    allocations = _allocations(problem, res_plan)
    helpers = _helper_assignments(problem, helper_plan)
    evaluation = evaluate(
        problem,
        [(a.need_id, a.volunteer_id) for a in assignments],
        [(a.need_id, a.resource_id, a.quantity) for a in allocations],
        [(h.task_id, h.volunteer_id) for h in helpers],
        arrays=arr,
        slots={
            (a.need_id, a.volunteer_id): (a.slot_start, a.slot_end)
            for a in assignments
            if a.slot_start is not None and a.slot_end is not None
        },
    )
    terms = dict(evaluation.terms)
    volunteer_part = sum(terms[k] for k in model_terms_volunteers())
    # Resources and helpers come from exact flows: their optimum is their bound.
    bound = vs.bound + (evaluation.objective - volunteer_part)
    unmatched = _unmatched_needs(arr, pool, vs.cands, vs.chosen, res_plan, index, sched, starts)
    unmatched_tasks = _unmatched_tasks(problem, helpers)
    timings["explain"] = time.perf_counter() - t
    objective = evaluation.objective
    gap = _gap(objective, bound)
    return Result(
        assignments=assignments,
        resource_allocations=allocations,
        helper_assignments=helpers,
        unmatched_needs=unmatched,
        unmatched_tasks=unmatched_tasks,
        objective=objective,
        bound=bound,
        gap=gap,
        optimal=vs.proven_optimal or objective == bound,
        seconds=time.perf_counter() - started,
        stats=Stats(
            seats_filled=evaluation.seats_filled,
            seats_total=evaluation.seats_total,
            urgent_coverage=evaluation.urgent_coverage,
            candidate_pairs=len(vs.cands),
            pruned_pairs=int(vs.cands.pruned_count.sum()),
            polished=vs.polished,
            polish_improvement=vs.polish_improvement,
            stages=tuple(vs.stages.items()),
        ),
        terms=evaluation.terms,
        timings=tuple(timings.items()),
        violations=evaluation.violations,
    )


def solve_part(problem: Problem, *, polish: bool, time_limit_s: float) -> clusters.PartAnswer:
    """A cluster's (or border zone's) volunteers by the ordinary solver; at module level, so
    that a process pool can run it. Each part gets the time limit's CP-SAT safety net."""
    arr = build_arrays(problem)
    pool = build_pool(arr, k=problem.candidates_per_need)
    vs = solve_volunteers(
        arr,
        pool,
        Scheduler(arr),
        polish=polish,
        time_limit_s=time_limit_s,
        started=time.perf_counter(),
    )
    return clusters.answer_of(arr, vs)


def _solve_clustered(
    arr: ProblemArrays,
    pool: CandidatePool,
    sched: Scheduler,
    polish: bool,
    time_limit_s: float,
    cluster_pairs: int,
    workers: int,
) -> VolunteerSolution:
    part = functools.partial(solve_part, polish=polish, time_limit_s=time_limit_s)
    const = pinned_constant(arr)

    def whole_flow(mu: NDArray[np.int64]) -> tuple[int, NDArray[np.int64] | None]:
        """One flow of the whole problem at the parts' minute prices: its bound, and its seat
        prices (consistent across the borders, which the parts' own are not)."""
        flow = _Search(arr, pool, sched).flow(mu, resolve=False, widen=False)
        prices = seat_prices(flow.arcs, arr.n_penalty) if flow.arcs is not None else None
        return flow.bound + const, prices

    got = clusters.solve_clustered(
        arr,
        pool,
        sched,
        part,
        whole_flow,
        cluster_pairs=cluster_pairs,
        pinned_constant=const,
        workers=workers,
    )
    return VolunteerSolution(
        got.cands,
        got.chosen,
        got.objective,
        got.bound,
        got.objective == got.bound,
        got.polished,
        got.polish_improvement,
        got.timings,
        got.stages,
    )


def model_terms_volunteers() -> tuple[str, ...]:
    return ("unserved", "travel", "home_community", "continuity", "commando", "fairness")


def _assignments(
    arr: ProblemArrays,
    v: NDArray[np.int64],
    n: NDArray[np.int64],
    num_pinned: int,
    starts: dict[tuple[int, int], int],
) -> tuple[Assignment, ...]:
    """Assignments (pinned ones last in v, n) with their booked slots."""
    pinned = np.arange(len(v)) >= len(v) - num_pinned
    facts = pair_facts(arr, v, n)
    load = np.bincount(v, minlength=arr.num_volunteers)
    used = np.bincount(v, weights=arr.n_duration[n], minlength=arr.num_volunteers).astype(int)
    order = np.lexsort((arr.v_ids[v], arr.n_ids[n]))
    cache: dict[int, tuple[Reason, Reason, str]] = {}
    out = []
    for i in order.tolist():
        vi, ni = int(v[i]), int(n[i])
        slot_start = arr.moment(starts[(vi, ni)])
        slot_end = arr.moment(starts[(vi, ni)] + int(arr.n_duration[ni]))
        out.append(
            Assignment(
                need_id=int(arr.n_ids[ni]),
                volunteer_id=int(arr.v_ids[vi]),
                cost=int(facts.cost[i]),
                distance_km=float(facts.distance_km[i]),
                travel_minutes=float(facts.travel_min[i]),
                pinned=bool(pinned[i]),
                explanation=explain_assignment(
                    arr,
                    vi,
                    ni,
                    distance_km=float(facts.distance_km[i]),
                    travel_min=float(facts.travel_min[i]),
                    continuing=bool(facts.continuing[i]),
                    load=int(load[vi]),
                    used_minutes=int(used[vi]),
                    pinned=bool(pinned[i]),
                    slot=(slot_start, slot_end),
                    cache=cache,
                ),
                slot_start=slot_start,
                slot_end=slot_end,
            )
        )
    return tuple(out)


def _allocations(problem: Problem, plan: ResourcePlan) -> tuple[ResourceAllocation, ...]:
    out = []
    needs = problem.needs
    for i in np.flatnonzero(plan.quantity > 0).tolist():
        req, res_idx = int(plan.pairs.req[i]), int(plan.pairs.res[i])
        need = needs[int(plan.reqs.need_pos[req])]
        res = problem.resources[res_idx]
        qty = int(plan.quantity[i])
        out.append(
            ResourceAllocation(
                need_id=need.id,
                resource_id=res.id,
                kind=res.kind,
                quantity=qty,
                cost=int(plan.pairs.unit_cost[i]) * qty,
                explanation=explain_resource(need, res, float(plan.pairs.distance_km[i])),
            )
        )
    return tuple(sorted(out, key=lambda a: (a.need_id, a.resource_id)))


def _helper_assignments(problem: Problem, plan: HelperPlan) -> tuple[HelperAssignment, ...]:
    tasks, vols = problem.enterprise_tasks, problem.volunteers
    vol_index = {v.id: i for i, v in enumerate(vols)}
    task_index = {t.id: i for i, t in enumerate(tasks)}
    pairs = [
        (int(t), int(v), False)
        for t, v in zip(plan.pairs.task[plan.chosen], plan.pairs.vol[plan.chosen], strict=True)
    ]
    pairs += [(task_index[t], vol_index[v], True) for t, v in sorted(problem.pinned_helpers)]
    added: dict[int, int] = {}
    for _, v, _ in pairs:
        added[v] = added.get(v, 0) + 1
    out = []
    for ti, vi, pinned in pairs:
        task, vol = tasks[ti], vols[vi]
        dist = float(travel.haversine_km(task.lat, task.lon, vol.lat, vol.lon))
        out.append(
            HelperAssignment(
                task_id=task.id,
                volunteer_id=vol.id,
                cost=int(model.helper_pair_cost(dist, problem.weights)),
                pinned=pinned,
                explanation=explain_helper(task, vol, dist, vol.open_requests + added[vi]),
            )
        )
    return tuple(sorted(out, key=lambda h: (h.task_id, h.volunteer_id)))


def _unmatched_needs(
    arr: ProblemArrays,
    pool: CandidatePool,
    cands: Candidates,
    chosen: NDArray[np.bool_],
    res_plan: ResourcePlan,
    index: VolunteerIndex,
    sched: Scheduler,
    starts: dict[tuple[int, int], int],
) -> tuple[UnmatchedNeed, ...]:
    problem = arr.problem
    filled = np.bincount(cands.n[chosen], minlength=arr.num_needs)
    open_seats = arr.n_open - filled
    dur = arr.n_duration[cands.n]
    free = arr.v_budget - np.bincount(
        cands.v[chosen], weights=dur[chosen], minlength=arr.num_volunteers
    ).astype(np.int64)
    no_cands = np.flatnonzero((open_seats > 0) & (pool.feasible_count == 0))
    rows = funnel_rows(diagnose(arr, no_cands, index), arr.skill_names) if no_cands.size else {}

    shortfalls: dict[int, list[tuple[str, int, Reason]]] = {}
    res_by_kind: dict[str, list[Resource]] = {}
    for r in problem.resources:
        res_by_kind.setdefault(r.kind, []).append(r)
    for i in np.flatnonzero(res_plan.shortfall > 0).tolist():
        need_pos = int(res_plan.reqs.need_pos[i])
        need = problem.needs[need_pos]
        kind = res_plan.reqs.kind[i]
        in_reach = [
            r
            for r in res_by_kind.get(kind, [])
            if r.quantity > 0
            and float(travel.haversine_km(need.lat, need.lon, r.lat, r.lon))
            <= travel.RESOURCE_REACH_KM
        ]
        missing = int(res_plan.shortfall[i])
        reason = explain_resource_shortfall(kind, missing, in_reach)
        shortfalls.setdefault(need_pos, []).append((kind, missing, reason))

    held = by_volunteer(cands, chosen, arr.num_volunteers)
    out = []
    for n in sorted(set(np.flatnonzero(open_seats > 0).tolist()) | set(shortfalls)):
        reasons: tuple[Reason, ...] = ()
        if open_seats[n] > 0:
            counts, missing_skills = rows.get(n, (None, []))
            reasons = explain_open_seats(
                arr,
                n,
                cands,
                int(pool.feasible_count[n]),
                chosen,
                free,
                counts,
                missing_skills,
                _busy_candidates(arr, cands, chosen, free, n, sched, held, starts),
            )
        short = shortfalls.get(n, [])
        out.append(
            UnmatchedNeed(
                need_id=int(arr.n_ids[n]),
                open_seats=int(max(open_seats[n], 0)),
                missing_resources=tuple((kind, qty) for kind, qty, _ in short),
                reasons=reasons + tuple(r for _, _, r in short),
            )
        )
    return tuple(out)


def _busy_candidates(
    arr: ProblemArrays,
    cands: Candidates,
    chosen: NDArray[np.bool_],
    free: NDArray[np.int64],
    n: int,
    sched: Scheduler,
    held: dict[int, list[int]],
    starts: dict[tuple[int, int], int],
) -> list[tuple[int, int, datetime, datetime]]:
    """Candidates of need n with minutes left whose visits (or earlier work) leave no slot for
    it: (volunteer id, need id they serve then or -1, from, to), nearest clash first."""
    lo, hi = cands.ptr[n], cands.ptr[n + 1]
    out: list[tuple[int, int, datetime, datetime]] = []
    for p in range(lo, hi):
        v = int(cands.v[p])
        if chosen[p] or free[v] < arr.n_duration[n]:
            continue
        mine = held.get(v, []) + sched.pinned_of.get(v, [])
        if (not mine and not arr.v_has_busy[v]) or sched.fits(v, [*held.get(v, []), n]):
            continue
        clashes = [(starts[(v, m)], starts[(v, m)] + int(arr.n_duration[m]), m) for m in mine]
        clashes += [(b_lo, b_hi, -1) for b_lo, b_hi, _, _ in arr.v_busy[v]]
        if not clashes:
            continue
        a, b, m = min(clashes, key=lambda c: abs(c[0] - int(arr.n_lo[n])))
        out.append(
            (int(arr.v_ids[v]), int(arr.n_ids[m]) if m >= 0 else -1, arr.moment(a), arr.moment(b))
        )
    return out


def _unmatched_tasks(
    problem: Problem, helpers: tuple[HelperAssignment, ...]
) -> tuple[UnmatchedTask, ...]:
    served = {h.task_id for h in helpers}
    return tuple(
        UnmatchedTask(task.id, explain_unserved_task(task, problem))
        for task in problem.enterprise_tasks
        if task.id not in served
    )


def rank_candidates(problem: Problem, need_id: int, limit: int = 10) -> tuple[RankedCandidate, ...]:
    """Best volunteers for one urgent need right now, without waiting for a batch.

    Scored like the batch: pair cost plus the fairness cost of one more assignment on top of
    what each person already holds (their pinned assignments)."""
    arr = build_arrays(problem)
    if need_id not in arr.need_index:
        raise KeyError(f"unknown need {need_id}")
    n = arr.need_index[need_id]
    pool = build_pool(arr, k=max(1, limit), needs=np.array([n], dtype=np.int64))
    lo, hi = pool.ptr[n], pool.ptr[n + 1]
    v = pool.v[lo:hi]
    score = pool.cost[lo:hi] + model.fairness_marginal(arr.v_pinned_load[v] + 1, problem.weights)
    order = np.lexsort((arr.v_ids[v], score))[:limit]
    v = v[order]
    facts = pair_facts(arr, v, np.full(len(v), n, dtype=np.int64))
    sched = Scheduler(arr)
    used = np.bincount(
        arr.pinned_v, weights=arr.n_duration[arr.pinned_n], minlength=arr.num_volunteers
    ).astype(int)
    out = []
    for j, vi in enumerate(v.tolist()):
        plan = sched.plan(vi, [n])
        if plan is None:  # the visit clashes with this person's pinned visits
            continue
        slot = (arr.moment(plan[n]), arr.moment(plan[n] + int(arr.n_duration[n])))
        out.append(
            RankedCandidate(
                volunteer_id=int(arr.v_ids[vi]),
                cost=int(score[order[j]]),
                distance_km=float(facts.distance_km[j]),
                travel_minutes=float(facts.travel_min[j]),
                explanation=explain_assignment(
                    arr,
                    vi,
                    n,
                    distance_km=float(facts.distance_km[j]),
                    travel_min=float(facts.travel_min[j]),
                    continuing=bool(facts.continuing[j]),
                    load=int(arr.v_pinned_load[vi]) + 1,
                    used_minutes=int(used[vi] + arr.n_duration[n]),
                    pinned=False,
                    slot=slot,
                ),
                slot_start=slot[0],
                slot_end=slot[1],
            )
        )
    return tuple(out)
