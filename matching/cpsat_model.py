"""The CP-SAT model of volunteer assignment, over all candidate pairs or a neighbourhood of them.

One boolean per candidate pair in scope; the rest of the assignment is held fixed and only
reduces the seats and minutes left. Costs come from `model` (the same integers as the flow), so
`objective + constant` of this model equals the evaluator's objective of the full assignment.
Fairness (convex in load) is the maximum of its chords, which is exact at integer loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from matching import model
from matching.arrays import ProblemArrays
from matching.candidates import Candidates
from matching.conflicts import ConflictRows
from matching.enterprise import eligible_helpers, helper_pairs, pinned_helper_load
from matching.evaluate import volunteer_terms
from matching.problem import Problem
from matching.resources import requirements, resource_pairs


def convex_cost(
    m: cp_model.CpModel, load: cp_model.LinearExprT, lo: int, hi: int, g: Callable[[int], int]
) -> cp_model.IntVar | int:
    """A variable >= g(load) for integer load in [lo, hi], g convex: max of chords of g."""
    if hi <= lo:
        return g(lo)
    top = max(g(lo), g(hi))
    cost = m.new_int_var(min(0, g(lo)), top, "")
    for k in range(lo, hi):
        slope = g(k + 1) - g(k)
        if slope == 0 and g(k) <= 0:
            continue
        m.add(cost >= slope * load + (g(k) - slope * k))
    return cost


INT_MAX = np.iinfo(np.int64).max // 4  # "no upper bound" for linear constraints


@dataclass(eq=False)
class AssignmentModel:
    model: cp_model.CpModel
    scope: NDArray[np.int64]  # candidate pair indexes with a variable, in variable order
    x: NDArray[np.int64]  # proto index of each pair's boolean
    objective: list[tuple[int, int]]  # (variable index, coefficient), minimised
    constant: int  # objective of the full assignment = solver objective + constant

    def chosen(self, solver: cp_model.CpSolver) -> NDArray[np.bool_]:
        """Values of the pair booleans in the solver's (last) solution."""
        solution = np.asarray(solver.response_proto.solution, dtype=np.int64)
        return solution[self.x] > 0


def _linear(
    proto: Any,  # the model proto (a C++-backed message in OR-Tools 9.15)
    var_idx: list[int],
    coeffs: list[int],
    lo: int,
    hi: int,
) -> None:
    ct = proto.constraints.add()
    ct.linear.vars.extend(var_idx)
    ct.linear.coeffs.extend(coeffs)
    ct.linear.domain.extend([lo, hi])


def set_objective(m: cp_model.CpModel, terms: list[tuple[int, int]]) -> None:
    """Minimise sum(coefficient * variable) (written to the proto: fast for large models)."""
    obj = m.proto.objective
    obj.vars.extend([v for v, _ in terms])
    obj.coeffs.extend([c for _, c in terms])


def build_assignment_model(
    arr: ProblemArrays,
    cands: Candidates,
    scope: NDArray[np.int64],
    fixed: NDArray[np.bool_],
    hint: NDArray[np.bool_] | None = None,
    rows: ConflictRows | None = None,
) -> AssignmentModel:
    """Variables for candidate pairs `scope`; pairs outside it keep their value in `fixed`.

    Built on the proto directly (one boolean per pair, one row per need and per volunteer),
    which keeps models of a million pairs buildable in seconds. `rows` (time conflicts: at most
    one pair of each) are a relaxation of "a person's visits do not overlap": a solution must
    still be checked with `timing.Scheduler`."""
    w = arr.problem.weights
    m = cp_model.CpModel()
    proto = m.proto
    scope = np.asarray(scope, dtype=np.int64)
    in_scope = np.zeros(len(cands), dtype=bool)
    in_scope[scope] = True
    outside = fixed & ~in_scope
    dur = arr.n_duration[cands.n]
    seats_left = arr.n_open - np.bincount(cands.n[outside], minlength=arr.num_needs)
    minutes_left = arr.v_budget - np.bincount(
        cands.v[outside], weights=dur[outside], minlength=arr.num_volunteers
    ).astype(np.int64)
    base_load = arr.v_pinned_load + np.bincount(cands.v[outside], minlength=arr.num_volunteers)

    for _ in range(len(scope)):
        proto.variables.add().domain.extend([0, 1])
    x = np.arange(len(scope), dtype=np.int64)
    sn, sv = cands.n[scope], cands.v[scope]
    for need, idx in _groups(sn, np.argsort(sn, kind="stable")):
        if len(idx) > seats_left[need]:
            _linear(proto, idx, [1] * len(idx), 0, int(seats_left[need]))
    unit = model.fairness_unit(w)
    objective = list(zip(x.tolist(), (cands.cost[scope] - arr.n_penalty[sn]).tolist(), strict=True))
    sdur = dur[scope]
    for vol, idx in _groups(sv, np.argsort(sv, kind="stable")):
        d = sdur[idx].tolist()
        if sum(d) > minutes_left[vol]:
            _linear(proto, idx, d, 0, int(minutes_left[vol]))
        lo = int(base_load[vol])
        hi = lo + len(idx)
        if unit and hi >= 2:
            # load = lo + sum(x); f >= g(k) + slope_k * (load - k) for each chord k..k+1 of
            # g = fairness_cost (a load variable keeps each chord at two terms)
            load = len(proto.variables)
            proto.variables.add().domain.extend([lo, hi])
            _linear(proto, [load, *idx], [1] + [-1] * len(idx), lo, lo)
            f = len(proto.variables)
            top = int(model.fairness_cost(hi, w))
            proto.variables.add().domain.extend([0, top])
            for k in range(max(lo, 1), hi):
                slope = unit * k  # fairness_cost(k + 1) - fairness_cost(k)
                rhs = int(model.fairness_cost(k, w)) - slope * k
                _linear(proto, [f, load], [1, -slope], rhs, INT_MAX)
            objective.append((f, 1))
    if rows is not None and rows.num_rows:
        var_of = np.full(len(cands), -1, dtype=np.int64)
        var_of[scope] = x
        fixed_in_row = np.bincount(
            rows.row, weights=outside[rows.pair].astype(np.int64), minlength=rows.num_rows
        )
        for r, idx in _groups(rows.row, np.argsort(rows.row, kind="stable")):
            members = [int(var_of[rows.pair[i]]) for i in idx if var_of[rows.pair[i]] >= 0]
            if fixed_in_row[r] > 0 and members:
                _linear(proto, members, [1] * len(members), 0, 0)
            elif len(members) >= 2:
                _linear(proto, members, [1] * len(members), 0, 1)
    set_objective(m, objective)
    if hint is not None:
        proto.solution_hint.vars.extend(x.tolist())
        proto.solution_hint.values.extend(hint[scope].astype(np.int64).tolist())
    # Everything the variables do not change: open seats at full penalty, fixed pairs, pins.
    v_fix = np.concatenate([cands.v[outside], arr.pinned_v])
    n_fix = np.concatenate([cands.n[outside], arr.pinned_n])
    terms = volunteer_terms(arr, v_fix, n_fix)
    touched = np.unique(sv)
    fairness_in_model = int(model.fairness_cost(base_load[touched], w).sum()) if unit else 0
    constant = sum(terms.values()) - fairness_in_model
    return AssignmentModel(m, scope, x, objective, int(constant))


def _groups(keys: NDArray[np.int64], order: NDArray[np.int64]) -> Iterator[tuple[int, list[int]]]:
    sorted_keys = keys[order]
    cut = np.flatnonzero(np.diff(sorted_keys)) + 1
    for s, e in zip(np.concatenate([[0], cut]), np.concatenate([cut, [len(order)]]), strict=True):
        if e > s:
            yield int(sorted_keys[s]), order[s:e].tolist()


def solve_model(
    am: AssignmentModel,
    *,
    workers: int,
    deterministic_time: float | None = None,
    wall_time: float | None = None,
    seed: int = 0,
    callback: cp_model.CpSolverSolutionCallback | None = None,
) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus]:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    if workers > 1:
        solver.parameters.interleave_search = True  # deterministic with several workers
    if deterministic_time is not None:
        solver.parameters.max_deterministic_time = deterministic_time
    if wall_time is not None:
        solver.parameters.max_time_in_seconds = wall_time
    status = solver.solve(am.model, callback)
    return solver, status


T = TypeVar("T")


@dataclass(eq=False)
class Part(Generic[T]):
    """Variables of one more part of the problem in a CP-SAT model."""

    constant: int
    objective: list[tuple[int, int]]  # (variable index, coefficient)
    decode: Callable[[cp_model.CpSolver], list[T]]


def add_resource_part(m: cp_model.CpModel, problem: Problem) -> Part[tuple[int, int, int]]:
    """Integer units per (requirement, resource) pair; objective adds cost minus shortfall."""
    reqs = requirements(problem)
    rp = resource_pairs(problem, reqs)
    res_qty = [r.quantity for r in problem.resources]
    q = [
        m.new_int_var(0, int(min(reqs.quantity[i], res_qty[j])), "")
        for i, j in zip(rp.req.tolist(), rp.res.tolist(), strict=True)
    ]
    for i in range(len(reqs.quantity)):
        mine = [q[p] for p in np.flatnonzero(rp.req == i).tolist()]
        if mine:
            m.add(sum(mine) <= int(reqs.quantity[i]))
    for j in np.unique(rp.res).tolist():
        mine = [q[p] for p in np.flatnonzero(rp.res == j).tolist()]
        m.add(sum(mine) <= int(res_qty[j]))
    coef = (rp.unit_cost - reqs.penalty[rp.req]).tolist()
    objective = [(var.index, c) for var, c in zip(q, coef, strict=True)]

    def decode(solver: cp_model.CpSolver) -> list[tuple[int, int, int]]:
        out = []
        for p, var in enumerate(q):
            units = int(solver.value(var))
            if units:
                need_id = int(reqs.need_id[rp.req[p]])
                out.append((need_id, problem.resources[int(rp.res[p])].id, units))
        return out

    return Part(int((reqs.penalty * reqs.quantity).sum()), objective, decode)


def add_helper_part(m: cp_model.CpModel, problem: Problem) -> Part[tuple[int, int]]:
    """One boolean per eligible (task, helper); load cost convex in the added requests."""
    w = problem.weights
    hp = eligible_helpers(problem)
    pinned_load = pinned_helper_load(problem)
    tasks, vols = problem.enterprise_tasks, problem.volunteers
    y = [m.new_bool_var("") for _ in range(len(hp.task))]
    for t in np.unique(hp.task).tolist():
        m.add_at_most_one([y[p] for p in np.flatnonzero(hp.task == t).tolist()])
    objective: list[tuple[int, int]] = []
    constant_load = 0
    for v in np.unique(hp.vol).tolist():
        mine = [y[p] for p in np.flatnonzero(hp.vol == v).tolist()]
        base = pinned_load.get(v, 0)
        slots = vols[v].helper_slots - base
        if len(mine) > slots:
            m.add(sum(mine) <= slots)
        hi = base + min(len(mine), slots)
        opened = vols[v].open_requests

        def load_cost(a: int, opened: int = opened) -> int:
            return int(model.helper_load_cost(opened, a, w))

        if hi > base:
            cost = convex_cost(m, sum(mine) + base, base, hi, load_cost)
            if isinstance(cost, int):
                constant_load += cost
            else:
                objective.append((cost.index, 1))
    pinned_tasks = {t for t, _ in problem.pinned_helpers}
    penalty = {
        i: int(model.helper_unserved_penalty(t.urgency, w))
        for i, t in enumerate(tasks)
        if t.id not in pinned_tasks
    }
    coef = [int(hp.cost[p]) - penalty[int(hp.task[p])] for p in range(len(hp.task))]
    objective += [(var.index, c) for var, c in zip(y, coef, strict=True)]
    # Constant: every free task unserved, plus pinned pairs and the load of helpers not in the
    # model (those in it have their whole load cost inside the model).
    in_model = set(np.unique(hp.vol).tolist())
    pinned_pairs = helper_pairs(
        problem,
        [
            ({t.id: i for i, t in enumerate(tasks)}[t], {v.id: i for i, v in enumerate(vols)}[v])
            for t, v in sorted(problem.pinned_helpers)
        ],
    )
    constant = sum(penalty.values()) + int(pinned_pairs.cost.sum()) + constant_load
    constant += sum(
        int(model.helper_load_cost(vols[v].open_requests, a, w))
        for v, a in pinned_load.items()
        if v not in in_model
    )

    def decode(solver: cp_model.CpSolver) -> list[tuple[int, int]]:
        return [
            (tasks[int(hp.task[p])].id, vols[int(hp.vol[p])].id)
            for p, var in enumerate(y)
            if solver.boolean_value(var)
        ]

    return Part(constant, objective, decode)
