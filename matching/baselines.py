"""What Luling is measured against, on the same problem and the same evaluator.

- `greedy`: most urgent need first, best free candidate (how platforms match today, one request
  at a time) whose visits still fit in time; resources and helpers the same way.
- `cpsat_plain`: one CP-SAT model over every candidate pair (resources and helpers included),
  no decomposition, no warm start; time conflicts as at-most-one rows, then each person's visits
  booked (whoever cannot make all of theirs drops the least valuable).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from ortools.sat.python import cp_model

from matching import model
from matching.arrays import ProblemArrays, build_arrays
from matching.candidates import Candidates, build_pool, select
from matching.conflicts import conflict_rows
from matching.cpsat_model import (
    add_helper_part,
    add_resource_part,
    build_assignment_model,
    set_objective,
)
from matching.enterprise import eligible_helpers, pinned_helper_load
from matching.evaluate import Evaluation, evaluate
from matching.problem import Pair, Problem
from matching.repair import refill, repair_budgets
from matching.resources import requirements, resource_pairs
from matching.timing import Scheduler, book


@dataclass(frozen=True)
class BaselineResult:
    name: str
    seconds: float
    objective: int
    bound: int | None
    gap: float | None
    optimal: bool
    seats_filled: int
    seats_total: int
    urgent_coverage: float
    violations: tuple[str, ...]
    assignments: tuple[Pair, ...]  # (need_id, volunteer_id), pinned included
    found_solution: bool = True
    trace: tuple[tuple[float, int], ...] = ()  # (seconds, objective) of improving solutions
    overlaps: int = 0
    outside_window: int = 0
    slots: tuple[tuple[Pair, datetime, datetime], ...] = ()  # booked visits


def _result(
    name: str,
    started: float,
    ev: Evaluation,
    assignments: list[Pair],
    *,
    bound: int | None = None,
    optimal: bool = False,
    found: bool = True,
    trace: tuple[tuple[float, int], ...] = (),
    slots: dict[Pair, tuple[datetime, datetime]] | None = None,
) -> BaselineResult:
    gap = None if bound is None else (ev.objective - bound) / max(1, abs(ev.objective))
    return BaselineResult(
        name=name,
        seconds=time.perf_counter() - started,
        objective=ev.objective,
        bound=bound,
        gap=gap,
        optimal=optimal,
        seats_filled=ev.seats_filled,
        seats_total=ev.seats_total,
        urgent_coverage=ev.urgent_coverage,
        violations=ev.violations,
        assignments=tuple(sorted(assignments)),
        found_solution=found,
        trace=trace,
        overlaps=ev.overlaps,
        outside_window=ev.outside_window,
        slots=tuple(sorted((k, a, b) for k, (a, b) in (slots or {}).items())),
    )


def greedy(problem: Problem) -> BaselineResult:
    started = time.perf_counter()
    w = problem.weights
    arr = build_arrays(problem)
    k = problem.candidates_per_need
    cands = select(arr, build_pool(arr, k=k), np.full(arr.num_needs, k, dtype=np.int64))
    sched = Scheduler(arr)
    held: dict[int, list[int]] = {}
    free = arr.v_budget.copy()
    load = arr.v_pinned_load.copy()
    pairs: list[Pair] = [
        (int(arr.n_ids[n]), int(arr.v_ids[v]))
        for v, n in zip(arr.pinned_v, arr.pinned_n, strict=True)
    ]
    # Most urgent first: the costliest open seat (tier, urgency, emergency), then earliest start.
    starts = np.array([s.timestamp() for s in arr.n_start])
    for n in np.lexsort((arr.n_ids, starts, -arr.n_penalty)).tolist():
        lo, hi = cands.ptr[n], cands.ptr[n + 1]
        v = cands.v[lo:hi]
        cost = cands.cost[lo:hi]
        taken = np.zeros(hi - lo, dtype=bool)
        for _ in range(int(arr.n_open[n])):
            score = cost + model.fairness_marginal(load[v] + 1, w)
            ok = ~taken & model.capacity_ok(arr.n_duration[n], free[v]) & (score < arr.n_penalty[n])
            j = -1
            for i in np.flatnonzero(ok)[np.lexsort((v[ok], score[ok]))].tolist():
                if sched.fits(int(v[i]), [*held.get(int(v[i]), []), n]):
                    j = i
                    break
                taken[i] = True  # busy then: not for this need's other seats either
            if j < 0:
                break
            held.setdefault(int(v[j]), []).append(n)
            taken[j] = True
            free[v[j]] -= arr.n_duration[n]
            load[v[j]] += 1
            pairs.append((int(arr.n_ids[n]), int(arr.v_ids[v[j]])))
    allocations = _greedy_resources(problem)
    helpers = _greedy_helpers(problem)
    slots = slots_of(arr, pairs)
    ev = evaluate(problem, pairs, allocations, helpers, arrays=arr, slots=slots)
    return _result("greedy", started, ev, pairs, slots=slots)


def slots_of(arr: ProblemArrays, pairs: list[Pair]) -> dict[Pair, tuple[datetime, datetime]]:
    """Each person's visits booked together: (need_id, volunteer_id) -> (start, end)."""
    v = [arr.vol_index[vid] for _, vid in pairs]
    n = [arr.need_index[nid] for nid, _ in pairs]
    starts = book(arr, Scheduler(arr), v, n)
    return {
        (int(arr.n_ids[ni]), int(arr.v_ids[vi])): (
            arr.moment(s),
            arr.moment(s + int(arr.n_duration[ni])),
        )
        for (vi, ni), s in starts.items()
    }


def _greedy_resources(problem: Problem) -> list[tuple[int, int, int]]:
    reqs = requirements(problem)
    rp = resource_pairs(problem, reqs)
    left = {j: r.quantity for j, r in enumerate(problem.resources)}
    out = []
    for i in np.lexsort((reqs.need_id, -reqs.penalty)).tolist():
        need = int(reqs.quantity[i])
        mine = np.flatnonzero(rp.req == i)
        for p in mine[np.lexsort((rp.res[mine], rp.unit_cost[mine]))].tolist():
            j = int(rp.res[p])
            if need == 0 or rp.unit_cost[p] >= reqs.penalty[i]:
                break
            q = min(need, left[j])
            if q > 0:
                left[j] -= q
                need -= q
                out.append((int(reqs.need_id[i]), problem.resources[j].id, q))
    return out


def _greedy_helpers(problem: Problem) -> list[Pair]:
    w = problem.weights
    hp = eligible_helpers(problem)
    pinned_load = pinned_helper_load(problem)
    vols, tasks = problem.volunteers, problem.enterprise_tasks
    load = {i: vols[i].open_requests + pinned_load.get(i, 0) for i in set(hp.vol.tolist())}
    slots = {i: vols[i].helper_slots - pinned_load.get(i, 0) for i in load}
    out = sorted(problem.pinned_helpers)
    urgency = np.array([t.urgency for t in tasks], dtype=np.int64)
    for t in np.lexsort((np.arange(len(tasks)), -urgency)).tolist():
        mine = np.flatnonzero(hp.task == t)
        best, best_score = -1, None
        for p in mine.tolist():
            v = int(hp.vol[p])
            if slots[v] <= 0:
                continue
            score = int(hp.cost[p]) + int(model.helper_load_marginal(load[v], w))
            if best_score is None or score < best_score:
                best, best_score = v, score
        penalty = int(model.helper_unserved_penalty(tasks[t].urgency, w))
        if best >= 0 and best_score is not None and best_score < penalty:
            slots[best] -= 1
            load[best] += 1
            out.append((tasks[t].id, vols[best].id))
    return out


def bookable(arr: ProblemArrays, cands: Candidates, chosen: np.ndarray) -> tuple[np.ndarray, bool]:
    """The pairs with every person's visits bookable (dropping the least valuable where not,
    then refilling); and whether nothing had to change."""
    sched = Scheduler(arr)
    out = refill(arr, cands, repair_budgets(arr, cands, chosen, sched), sched)
    return out, bool(np.all(out == chosen))


class _Trace(cp_model.CpSolverSolutionCallback):
    def __init__(self, constant: int, started: float) -> None:
        super().__init__()
        self.constant = constant
        self.started = started
        self.points: list[tuple[float, int]] = []

    def on_solution_callback(self) -> None:
        obj = round(self.objective_value) + self.constant
        self.points.append((time.perf_counter() - self.started, obj))


def cpsat_plain(
    problem: Problem, time_limit_s: float = 30.0, workers: int | None = None
) -> BaselineResult:
    """One CP-SAT model over every candidate pair; the time limit covers the solve only."""
    started = time.perf_counter()
    arr = build_arrays(problem)
    k = problem.candidates_per_need
    cands = select(arr, build_pool(arr, k=k), np.full(arr.num_needs, k, dtype=np.int64))
    am = build_assignment_model(
        arr,
        cands,
        np.arange(len(cands)),
        np.zeros(len(cands), bool),
        rows=conflict_rows(arr, cands),
    )
    res = add_resource_part(am.model, problem)
    helpers = add_helper_part(am.model, problem)
    constant = am.constant + res.constant + helpers.constant
    set_objective(am.model, res.objective + helpers.objective)  # adds to the pairs' terms
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, min(workers or 2, os.cpu_count() or 1))
    solver.parameters.max_time_in_seconds = time_limit_s
    trace = _Trace(constant, started)
    status = solver.solve(am.model, trace)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    pairs: list[Pair] = [
        (int(arr.n_ids[n]), int(arr.v_ids[v]))
        for v, n in zip(arr.pinned_v, arr.pinned_n, strict=True)
    ]
    allocations: list[tuple[int, int, int]] = []
    helper_pairs: list[Pair] = sorted(problem.pinned_helpers)
    exact = True
    if found:
        chosen = np.zeros(len(cands), dtype=bool)
        chosen[am.scope[am.chosen(solver)]] = True
        chosen, exact = bookable(arr, cands, chosen)
        for i in np.flatnonzero(chosen).tolist():
            pairs.append((int(arr.n_ids[cands.n[i]]), int(arr.v_ids[cands.v[i]])))
        allocations = res.decode(solver)
        helper_pairs += helpers.decode(solver)
    slots = slots_of(arr, pairs)
    ev = evaluate(problem, pairs, allocations, helper_pairs, arrays=arr, slots=slots)
    # CP-SAT's bound covers the kept pairs only; it is global when top-K pruned nothing.
    bound = int(np.ceil(solver.best_objective_bound - 1e-6)) + constant if found else None
    return _result(
        "cpsat_plain",
        started,
        ev,
        pairs,
        bound=bound,
        optimal=status == cp_model.OPTIMAL and int(cands.pruned_count.sum()) == 0 and exact,
        found=found,
        trace=tuple(trace.points),
        slots=slots,
    )
