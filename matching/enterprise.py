"""Enterprise requests to helpers (小赣事): one helper each, expertise must fit, within their load.

    source -> helper   one unit arc per extra request, cost helper_load_marginal (convex)
    helper -> task     per (helper, task) with matching expertise, cost helper_pair_cost
    source -> task     unserved bypass, cost helper_unserved_penalty
    task: demand 1 (tasks with a pinned helper are already served)

An exact flow: this part's optimum is its own bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching import model, travel
from matching.problem import Problem


@dataclass(frozen=True, eq=False)
class HelperPairs:
    task: NDArray[np.int64]  # index in problem.enterprise_tasks
    vol: NDArray[np.int64]  # index in problem.volunteers
    cost: NDArray[np.int64]
    distance_km: NDArray[np.float64]


def helper_pairs(problem: Problem, pairs: list[tuple[int, int]]) -> HelperPairs:
    """Facts for explicit (task index, volunteer index) pairs."""
    t = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.int64)
    et, vols = problem.enterprise_tasks, problem.volunteers
    dist = travel.haversine_km(
        np.array([et[i].lat for i in t], dtype=np.float64),
        np.array([et[i].lon for i in t], dtype=np.float64),
        np.array([vols[j].lat for j in v], dtype=np.float64),
        np.array([vols[j].lon for j in v], dtype=np.float64),
    )
    cost = np.asarray(model.helper_pair_cost(dist, problem.weights), dtype=np.int64)
    return HelperPairs(t, v, cost.reshape(-1), np.asarray(dist, dtype=np.float64).reshape(-1))


def pinned_helper_load(problem: Problem) -> dict[int, int]:
    """Volunteer index -> pinned enterprise tasks; raises if a pin names unknown ids."""
    vol_index = {v.id: i for i, v in enumerate(problem.volunteers)}
    task_ids = {t.id for t in problem.enterprise_tasks}
    load: dict[int, int] = {}
    seen: set[int] = set()
    for task_id, vol_id in sorted(problem.pinned_helpers):
        if task_id not in task_ids or vol_id not in vol_index:
            raise ValueError(f"pinned helper pair {(task_id, vol_id)} names unknown ids")
        if task_id in seen:
            raise ValueError(f"enterprise task {task_id} has more than one pinned helper")
        seen.add(task_id)
        vi = vol_index[vol_id]
        load[vi] = load.get(vi, 0) + 1  # may exceed the limit: kept, and reported by evaluate
    return load


def eligible_helpers(problem: Problem) -> HelperPairs:
    """Every (task, helper) pair that may be proposed: expertise fits, load left, not rejected."""
    pinned_tasks = {t for t, _ in problem.pinned_helpers}
    load = pinned_helper_load(problem)
    by_kind: dict[str, list[int]] = {}
    for i, v in enumerate(problem.volunteers):
        if v.helper_slots - load.get(i, 0) > 0:
            for kind in v.expertise:
                by_kind.setdefault(kind, []).append(i)
    pairs = [
        (ti, vi)
        for ti, task in enumerate(problem.enterprise_tasks)
        if task.id not in pinned_tasks
        for vi in by_kind.get(task.kind, ())
        if (task.id, problem.volunteers[vi].id) not in problem.forbidden_helpers
    ]
    return helper_pairs(problem, pairs)


@dataclass(frozen=True, eq=False)
class HelperPlan:
    pairs: HelperPairs
    chosen: NDArray[np.bool_]
    cost: int  # optimum of the free part (pinned pairs' fixed cost not included)


def assign_helpers(problem: Problem) -> HelperPlan:
    w = problem.weights
    pairs = eligible_helpers(problem)
    tasks, vols = problem.enterprise_tasks, problem.volunteers
    pinned_tasks = {t for t, _ in problem.pinned_helpers}
    open_t = np.array([i for i, t in enumerate(tasks) if t.id not in pinned_tasks], dtype=np.int64)
    if open_t.size == 0:
        return HelperPlan(pairs, np.zeros(len(pairs.task), dtype=bool), 0)
    load = pinned_helper_load(problem)
    helpers = np.unique(pairs.vol)
    slots = np.array(
        [max(0, vols[i].helper_slots - load.get(int(i), 0)) for i in helpers], np.int64
    )
    slots = np.minimum(slots, np.bincount(pairs.vol, minlength=len(vols))[helpers])
    before = np.array([vols[i].open_requests + load.get(int(i), 0) for i in helpers], np.int64)
    unit_h = np.repeat(np.arange(len(helpers), dtype=np.int64), slots)
    k = np.arange(len(unit_h), dtype=np.int64) - np.repeat(np.cumsum(slots) - slots, slots)

    h_node = np.zeros(len(vols), dtype=np.int64)
    h_node[helpers] = 1 + np.arange(len(helpers), dtype=np.int64)
    t_node = 1 + len(helpers) + np.arange(len(tasks), dtype=np.int64)
    penalty = np.asarray(
        model.helper_unserved_penalty(np.array([tasks[i].urgency for i in open_t]), w), np.int64
    ).reshape(-1)
    tails = np.concatenate(
        [np.zeros(len(unit_h), np.int64), h_node[pairs.vol], np.zeros(len(open_t), np.int64)]
    )
    heads = np.concatenate([h_node[helpers[unit_h]], t_node[pairs.task], t_node[open_t]])
    caps = np.ones(len(tails), dtype=np.int64)
    costs = np.concatenate([model.helper_load_marginal(before[unit_h] + k, w), pairs.cost, penalty])
    # imported here: the module's other parts serve processes that must not load OR-Tools
    # (its bundled HiGHS clashes with highspy's, see bench/matching_exact.py)
    from ortools.graph.python import min_cost_flow

    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(1 + len(helpers) + len(tasks), dtype=np.int64)
    supplies[0] = len(open_t)
    supplies[t_node[open_t]] = -1
    smcf.set_nodes_supplies(np.arange(len(supplies), dtype=np.int64), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"helper flow failed with status {status}")
    flows = smcf.flows(arcs)
    chosen = flows[len(unit_h) : len(unit_h) + len(pairs.task)] > 0
    return HelperPlan(pairs, chosen, int(smcf.optimal_cost()))
