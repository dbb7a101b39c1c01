"""CP-SAT where the flow is blind: the side-constrained neighbourhood of a complete solution.

After repair and refill, what is left to gain sits where hours budgets bind: seats still open
whose candidates have no minutes left, and the needs those candidates hold (which someone else
might take over, freeing them). We give CP-SAT exactly that neighbourhood, with everything else
fixed, the current solution as hint, and a deterministic time limit, so results repeat.
Small problems go to CP-SAT whole, which can then prove optimality.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from matching.arrays import ProblemArrays
from matching.candidates import Candidates
from matching.conflicts import conflict_rows
from matching.cpsat_model import build_assignment_model, solve_model
from matching.repair import refill, repair_budgets
from matching.timing import Scheduler

WHOLE_PROBLEM_PAIRS = 2_000  # at most this many candidate pairs: solve everything exactly
WHOLE_DETERMINISTIC_TIME = 2.0  # with time-conflict rows the proof rarely comes later
NEIGHBOURHOOD_PAIRS = 3_000  # cap on the neighbourhood's variables
NEIGHBOURHOOD_DETERMINISTIC_TIME = 0.2
# Above this many candidate pairs the neighbourhood is not polished: on the 3,500 x 3,000
# reference, after flow + repair + local search, CP-SAT found no improvement in 1-8 s (measured
# with 3,000 and 12,000-variable neighbourhoods), while costing over a second of wall time.
POLISH_MAX_PAIRS = 20_000


@dataclass(frozen=True, eq=False)
class PolishOutcome:
    chosen: NDArray[np.bool_]
    improved: bool
    whole: bool  # the model covered every candidate pair
    proven_optimal: bool  # ... and CP-SAT proved the solution optimal over them
    bound: int | None  # CP-SAT's bound over the candidate pairs (whole problem only)
    pairs: int = 0  # pairs CP-SAT decided (0: it did not run)


def neighbourhood(
    arr: ProblemArrays, cands: Candidates, chosen: NDArray[np.bool_], max_pairs: int
) -> NDArray[np.int64]:
    """Candidate pairs around open seats: every pair of the open needs and of the needs their
    candidates hold. Most costly open seats first, until `max_pairs`."""
    seats = arr.n_open - np.bincount(cands.n[chosen], minlength=arr.num_needs)
    has_cands = np.diff(cands.ptr) > 0
    open_needs = np.flatnonzero((seats > 0) & has_cands)
    open_needs = open_needs[np.lexsort((open_needs, -arr.n_penalty[open_needs]))]
    in_scope = np.zeros(arr.num_needs, dtype=bool)
    size = 0
    # needs held by each volunteer, via the chosen pairs sorted by volunteer
    chosen_idx = np.flatnonzero(chosen)
    chosen_idx = chosen_idx[np.argsort(cands.v[chosen_idx], kind="stable")]
    chosen_v = cands.v[chosen_idx]
    for need in open_needs:
        vols = cands.v[cands.ptr[need] : cands.ptr[need + 1]]
        lo = np.searchsorted(chosen_v, vols, side="left")
        hi = np.searchsorted(chosen_v, vols, side="right")
        held = [cands.n[chosen_idx[a:b]] for a, b in zip(lo, hi, strict=True) if b > a]
        group = np.unique(np.concatenate([[need], *held]))
        group = group[~in_scope[group]]
        extra = int((cands.ptr[group + 1] - cands.ptr[group]).sum())
        if size + extra > max_pairs:
            break
        in_scope[group] = True
        size += extra
    return np.flatnonzero(in_scope[cands.n])


def polish(
    arr: ProblemArrays,
    cands: Candidates,
    chosen: NDArray[np.bool_],
    sched: Scheduler,
    *,
    wall_time: float,
    workers: int | None = None,
    deterministic_time: float | None = None,
) -> PolishOutcome:
    workers = max(1, min(workers or 2, os.cpu_count() or 1))
    whole = len(cands) <= WHOLE_PROBLEM_PAIRS
    if not whole and len(cands) > POLISH_MAX_PAIRS:
        return PolishOutcome(chosen, False, False, False, None)
    if deterministic_time is None:
        deterministic_time = WHOLE_DETERMINISTIC_TIME if whole else NEIGHBOURHOOD_DETERMINISTIC_TIME
    scope = (
        np.arange(len(cands), dtype=np.int64)
        if whole
        else neighbourhood(arr, cands, chosen, NEIGHBOURHOOD_PAIRS)
    )
    if scope.size == 0:
        return PolishOutcome(chosen, False, whole, False, None)
    rows = conflict_rows(arr, cands)
    am = build_assignment_model(arr, cands, scope, chosen, hint=chosen, rows=rows)
    solver, status = solve_model(
        am, workers=workers, deterministic_time=deterministic_time, wall_time=wall_time
    )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return PolishOutcome(chosen, False, whole, False, None, len(scope))
    out = chosen.copy()
    out[scope] = am.chosen(solver)
    # The model knows conflicts of compulsory parts only: book the visits; whoever cannot make
    # all of theirs drops the least valuable (then the optimum is no longer proven).
    checked = refill(arr, cands, repair_budgets(arr, cands, out, sched), sched)
    exact = bool(np.all(checked == out))
    out = checked
    improved = bool(np.any(out != chosen))
    proven = whole and status == cp_model.OPTIMAL and exact
    bound = int(np.ceil(solver.best_objective_bound - 1e-6)) + am.constant if whole else None
    return PolishOutcome(out, improved, whole, proven, bound, len(scope))
