"""The exact peer: the volunteer assignment solved by HiGHS over every feasible pair.

One binary per feasible (volunteer, need) pair (searched over each need's whole reach, nothing
pruned), with the same integer costs as Luling (`matching.model`): seats per need, minutes per
person, fairness as the maximum of its chords, and time: at most one of each person's visits at
any moment their compulsory parts share (`matching.conflicts`). Those rows do not know travel
or slot choice, so each solution is checked by booking every person's visits
(`matching.timing.Scheduler`); a person who cannot make a set S of visits gets the cut
sum(S) <= |S| - 1 (valid: no feasible answer holds all of S) and HiGHS solves again. The last
MIP bound is a bound of the full problem; a solution that books exactly is a proven optimum.

Resources and enterprise helpers are exact flows in Luling already; their part is added as is.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matching import model
from matching.arrays import ProblemArrays, build_arrays
from matching.candidates import Candidates, build_pool, select
from matching.conflicts import conflict_rows
from matching.evaluate import evaluate
from matching.problem import Pair, Problem
from matching.repair import by_volunteer, refill, repair_budgets
from matching.result import Result  # only for typing the caller's side
from matching.timing import Scheduler

INF = float("inf")  # HiGHS treats infinite bounds as free


@dataclass(frozen=True)
class ExactResult:
    seconds: float
    pairs: int
    objective: int | None  # best bookable answer found (None: none)
    bound: int | None  # no answer costs less (None: HiGHS gave none within the limit)
    proven: bool  # objective == the optimum
    cuts: int  # no-good cuts added for sets of visits that could not be booked
    solves: int


def all_pairs(arr: ProblemArrays) -> Candidates:
    pool = build_pool(arr, exhaustive=True)
    return select(arr, pool, np.diff(pool.ptr))


def _rows(h: Any, rows: list[tuple[list[int], list[float], float, float]]) -> None:
    if not rows:
        return
    lo = np.array([r[2] for r in rows], dtype=np.float64)
    hi = np.array([r[3] for r in rows], dtype=np.float64)
    starts = np.cumsum([0] + [len(r[0]) for r in rows[:-1]]).astype(np.int32)
    idx = np.concatenate([np.asarray(r[0], dtype=np.int32) for r in rows])
    val = np.concatenate([np.asarray(r[1], dtype=np.float64) for r in rows])
    h.addRows(len(rows), lo, hi, len(idx), starts, idx, val)


Other = tuple[list[tuple[int, int, int]], list[Pair]]  # resource allocations, helper pairs


def other_parts(luling: Result) -> Other:
    """Luling's resource allocations and helper pairs (exact flows), as plain tuples."""
    return (
        [(a.need_id, a.resource_id, a.quantity) for a in luling.resource_allocations],
        [(a.task_id, a.volunteer_id) for a in luling.helper_assignments],
    )


def solve_exact_in_child(
    problem: Problem, other: Other, *, time_limit_s: float, relax: bool = False
) -> ExactResult:
    """`solve_exact` in a fresh process, so that its time limit, threads and memory are its
    own (the solver's column generation loads highspy beside OR-Tools in one process)."""
    with tempfile.TemporaryDirectory(prefix="luling-exact-") as tmp:
        src, dst = Path(tmp) / "in.pickle", Path(tmp) / "out.pickle"
        src.write_bytes(pickle.dumps((problem, other, time_limit_s)))
        child = [sys.executable, "-m", "bench.matching_exact", str(src), str(dst)]
        subprocess.run(
            child + (["--relax"] if relax else []), check=True, stdout=subprocess.DEVNULL
        )
        return ExactResult(**pickle.loads(dst.read_bytes()))


def solve_exact(
    problem: Problem, luling: Other, *, time_limit_s: float, relax: bool = False
) -> ExactResult:
    """HiGHS over every feasible pair; `luling` supplies the resource and helper parts (exact
    flows) so the totals compare with Luling's objective and bound."""
    # highspy only here, in a process without OR-Tools (see solve_exact_in_child)
    import highspy

    started = time.perf_counter()
    arr = build_arrays(problem)
    cands = all_pairs(arr)
    sched = Scheduler(arr)
    w = problem.weights
    num = len(cands)
    dur = arr.n_duration[cands.n]

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 0.0)
    # x_p: cost of the pair minus the open seat's penalty it saves (the constant adds them back)
    coef = (cands.cost - arr.n_penalty[cands.n]).astype(np.float64)
    h.addVars(num, np.zeros(num), np.ones(num))
    h.changeColsCost(num, np.arange(num, dtype=np.int32), coef)
    if not relax:
        h.changeColsIntegrality(num, np.arange(num, dtype=np.int32), np.ones(num, dtype=np.uint8))
    rows: list[tuple[list[int], list[float], float, float]] = []
    for need in np.flatnonzero(np.diff(cands.ptr) > arr.n_open).tolist():
        idx = list(range(int(cands.ptr[need]), int(cands.ptr[need + 1])))
        rows.append((idx, [1.0] * len(idx), -INF, float(arr.n_open[need])))
    cap = model.max_assignments_within_budget(cands.v, dur, arr.v_budget, arr.num_volunteers)
    unit = model.fairness_unit(w)
    order = np.argsort(cands.v, kind="stable")
    cut = np.flatnonzero(np.diff(cands.v[order])) + 1
    next_col = num
    f_at_pins = 0
    for group in np.split(order, cut) if num else []:
        v = int(cands.v[group[0]])
        idx = group.tolist()
        if int(dur[group].sum()) > arr.v_budget[v]:
            rows.append((idx, dur[group].astype(float).tolist(), -INF, float(arr.v_budget[v])))
        lo = int(arr.v_pinned_load[v])
        hi = lo + int(min(cap[v], len(idx)))
        if unit and hi >= 2 and hi > lo:
            f_at_pins += int(model.fairness_cost(lo, w))
            f = next_col
            next_col += 1
            h.addVar(0.0, INF)
            h.changeColCost(f, 1.0)
            for k in range(max(lo, 1), hi):
                slope = unit * k
                rhs = float(model.fairness_cost(k, w)) + slope * (lo - k)
                rows.append(([f, *idx], [1.0] + [-float(slope)] * len(idx), rhs, INF))
            rows.append((idx, [1.0] * len(idx), -INF, float(hi - lo)))
    conflicts = conflict_rows(arr, cands)
    order_r = np.argsort(conflicts.row, kind="stable")
    cut_r = np.flatnonzero(np.diff(conflicts.row[order_r])) + 1
    for grp in np.split(order_r, cut_r) if conflicts.num_rows else []:
        members = conflicts.pair[grp]
        rows.append((members.tolist(), [1.0] * len(members), -INF, 1.0))
    _rows(h, rows)
    # The constant: the full objective of "no new pair" minus the model's value there (the
    # fairness variables at the pinned loads), so objective = model value + constant.
    pinned_pairs = [
        (int(arr.n_ids[n]), int(arr.v_ids[v]))
        for v, n in zip(arr.pinned_v, arr.pinned_n, strict=True)
    ]
    constant = _full(problem, arr, luling, pinned_pairs) - f_at_pins

    cuts = solves = 0
    best_obj: int | None = None
    bound = -(2**62)
    proven = False
    while True:
        left = time_limit_s - (time.perf_counter() - started)
        if left <= 0:
            break
        h.setOptionValue("time_limit", float(left))
        h.run()
        solves += 1
        info = h.getInfo()
        if relax:  # the LP relaxation's value only (a diagnostic)
            value = int(np.ceil(info.objective_function_value - 1e-6)) + constant
            return ExactResult(time.perf_counter() - started, num, None, value, False, 0, 1)
        if np.isfinite(info.mip_dual_bound):  # none yet if the limit came before the root LP
            bound = max(bound, int(np.ceil(info.mip_dual_bound - 1e-6)) + constant)
        if info.primal_solution_status != 2:  # no feasible point yet
            break
        x = np.asarray(h.getSolution().col_value[:num]) > 0.5
        held = by_volunteer(cands, x, arr.num_volunteers)
        failing = [(v, ns) for v, ns in held.items() if not sched.fits(v, ns)]
        status_optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if not failing:
            obj = _full(problem, arr, luling, _pairs(arr, cands, x) + pinned_pairs)
            best_obj = obj if best_obj is None else min(best_obj, obj)
            proven = status_optimal
            break
        # keep the best bookable answer so far (repaired), then cut the sets that failed
        fixed = refill(arr, cands, repair_budgets(arr, cands, x, sched), sched)
        repaired = _full(problem, arr, luling, _pairs(arr, cands, fixed) + pinned_pairs)
        best_obj = repaired if best_obj is None else min(best_obj, repaired)
        for v, _ in failing:
            idx = [int(p) for p in np.flatnonzero(x & (cands.v == v)).tolist()]
            h.addRow(
                -INF, float(len(idx) - 1), len(idx), np.array(idx, np.int32), np.ones(len(idx))
            )
            cuts += 1
        if not status_optimal:
            break
    if best_obj is not None and best_obj <= bound:
        proven = True
    found = bound if bound > -(2**62) else None
    return ExactResult(time.perf_counter() - started, num, best_obj, found, proven, cuts, solves)


def _pairs(arr: ProblemArrays, cands: Candidates, chosen: NDArray[np.bool_]) -> list[Pair]:
    return [
        (int(arr.n_ids[n]), int(arr.v_ids[v]))
        for v, n in zip(cands.v[chosen], cands.n[chosen], strict=True)
    ]


def _full(problem: Problem, arr: ProblemArrays, luling: Other, pairs: list[Pair]) -> int:
    """The evaluator's objective of these volunteer pairs with Luling's resources and helpers."""
    return evaluate(problem, pairs, luling[0], luling[1], arrays=arr).objective


if __name__ == "__main__":  # the child of solve_exact_in_child: pickled input, pickled output
    problem_in, other_in, limit_in = pickle.loads(Path(sys.argv[1]).read_bytes())
    out = solve_exact(problem_in, other_in, time_limit_s=limit_in, relax=len(sys.argv) > 3)
    Path(sys.argv[2]).write_bytes(pickle.dumps(dataclasses.asdict(out)))
