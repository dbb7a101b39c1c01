"""Resources (venues, vehicles, funds, equipment) to needs' requirements: a small exact flow.

    source -> resource     capacity = quantity
    resource -> requirement per unit: resource_unit_cost (distance, pairing bonus not earned)
    source -> requirement  shortfall bypass, per unit: resource_shortfall_penalty
    requirement: demand = quantity required

No side constraints, so the flow optimum is the optimum of this part (bound == objective).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching import model, travel
from matching.problem import Problem


@dataclass(frozen=True, eq=False)
class Requirements:
    """One row per (need, kind), quantities of the same kind merged."""

    need_id: NDArray[np.int64]
    need_pos: NDArray[np.int64]  # index in problem.needs
    kind: tuple[str, ...]
    quantity: NDArray[np.int64]
    penalty: NDArray[np.int64]  # per missing unit


def requirements(problem: Problem) -> Requirements:
    rows: dict[tuple[int, str], int] = {}
    pos: dict[int, int] = {}
    for i, need in enumerate(problem.needs):
        for kind, qty in need.required_resources:
            if qty > 0:
                rows[(need.id, kind)] = rows.get((need.id, kind), 0) + qty
                pos[need.id] = i
    keys = sorted(rows)
    need_pos = np.array([pos[nid] for nid, _ in keys], dtype=np.int64)
    needs = problem.needs
    penalty = model.resource_shortfall_penalty(
        np.array([model.TIER_CODE[needs[i].tier] for i in need_pos], dtype=np.int64),
        np.array([needs[i].urgency for i in need_pos], dtype=np.int64),
        np.array([needs[i].emergency for i in need_pos], dtype=bool),
        problem.weights,
    )
    return Requirements(
        need_id=np.array([nid for nid, _ in keys], dtype=np.int64),
        need_pos=need_pos,
        kind=tuple(kind for _, kind in keys),
        quantity=np.array([rows[k] for k in keys], dtype=np.int64),
        penalty=np.asarray(penalty, dtype=np.int64).reshape(-1),
    )


@dataclass(frozen=True, eq=False)
class ResourcePairs:
    req: NDArray[np.int64]
    res: NDArray[np.int64]  # index in problem.resources
    unit_cost: NDArray[np.int64]
    distance_km: NDArray[np.float64]
    twinned: NDArray[np.bool_]


def resource_pairs(problem: Problem, reqs: Requirements) -> ResourcePairs:
    """Every (requirement, resource) of the same kind within RESOURCE_REACH_KM."""
    res = problem.resources
    needs = problem.needs
    kinds = sorted(set(reqs.kind) | {r.kind for r in res})
    code = {k: i for i, k in enumerate(kinds)}
    req_kind = np.array([code[k] for k in reqs.kind], dtype=np.int64)
    res_kind = np.array([code[r.kind] for r in res], dtype=np.int64)
    res_qty = np.array([r.quantity for r in res], dtype=np.int64)
    n_lat = np.array([needs[p].lat for p in reqs.need_pos], dtype=np.float64)
    n_lon = np.array([needs[p].lon for p in reqs.need_pos], dtype=np.float64)
    r_lat = np.array([r.lat for r in res], dtype=np.float64)
    r_lon = np.array([r.lon for r in res], dtype=np.float64)
    req_parts, res_parts = [], []
    for kind in range(len(kinds)):  # one distance matrix per kind
        qi = np.flatnonzero(req_kind == kind)
        rj = np.flatnonzero((res_kind == kind) & (res_qty > 0))
        if qi.size == 0 or rj.size == 0:
            continue
        dist = travel.haversine_km(n_lat[qi, None], n_lon[qi, None], r_lat[rj], r_lon[rj])
        a, b = np.nonzero(dist <= travel.RESOURCE_REACH_KM)
        req_parts.append(qi[a])
        res_parts.append(rj[b])
    empty = np.zeros(0, dtype=np.int64)
    ri = np.concatenate(req_parts) if req_parts else empty
    rj = np.concatenate(res_parts) if res_parts else empty
    order = np.lexsort((rj, ri))
    ri, rj = ri[order], rj[order]
    dist = travel.haversine_km(n_lat[ri], n_lon[ri], r_lat[rj], r_lon[rj])
    # twinned: the need's community is among the resource's twinned ones (keys res * span + id)
    has_comm = np.array([needs[p].community_id is not None for p in reqs.need_pos], dtype=bool)
    req_comm = np.array([needs[p].community_id or 0 for p in reqs.need_pos], dtype=np.int64)
    tw_res = np.array(
        [j for j, r in enumerate(res) for _ in r.twinned_community_ids], dtype=np.int64
    )
    tw_comm = np.array([c for r in res for c in r.twinned_community_ids], dtype=np.int64)
    ids = np.concatenate([req_comm, tw_comm, [0]])
    low, span = int(ids.min()), int(ids.max() - ids.min()) + 1
    keys = rj * span + (req_comm[ri] - low)
    twinned = has_comm[ri] & np.isin(keys, tw_res * span + (tw_comm - low))
    cost = model.resource_unit_cost(dist, twinned, problem.weights)
    return ResourcePairs(ri, rj, np.asarray(cost, dtype=np.int64).reshape(-1), dist, twinned)


@dataclass(frozen=True, eq=False)
class ResourcePlan:
    reqs: Requirements
    pairs: ResourcePairs
    quantity: NDArray[np.int64]  # per pair, units sent
    shortfall: NDArray[np.int64]  # per requirement
    cost: int


def plan_cost(reqs: Requirements, pairs: ResourcePairs, quantity: NDArray[np.int64]) -> int:
    """Exact cost of sending `quantity` units over each pair (shortfall included)."""
    sent = np.bincount(pairs.req, weights=quantity, minlength=len(reqs.quantity)).astype(np.int64)
    shortfall = np.maximum(reqs.quantity - sent, 0)
    return int((pairs.unit_cost * quantity).sum() + (reqs.penalty * shortfall).sum())


def allocate_resources(problem: Problem) -> ResourcePlan:
    reqs = requirements(problem)
    pairs = resource_pairs(problem, reqs)
    num_req, num_res = len(reqs.quantity), len(problem.resources)
    if num_req == 0:
        zero = np.zeros(0, dtype=np.int64)
        return ResourcePlan(reqs, pairs, zero, zero, 0)
    source = 0
    res_node = 1 + np.arange(num_res, dtype=np.int64)
    req_node = 1 + num_res + np.arange(num_req, dtype=np.int64)
    res_qty = np.array([r.quantity for r in problem.resources], dtype=np.int64)
    used_res = np.unique(pairs.res)
    tails = np.concatenate(
        [np.full(len(used_res), source), res_node[pairs.res], np.full(num_req, source)]
    )
    heads = np.concatenate([res_node[used_res], req_node[pairs.req], req_node])
    caps = np.concatenate(
        [np.maximum(res_qty[used_res], 0), reqs.quantity[pairs.req], reqs.quantity]
    )
    costs = np.concatenate([np.zeros(len(used_res), np.int64), pairs.unit_cost, reqs.penalty])
    # imported here: the module's other parts serve processes that must not load OR-Tools
    # (its bundled HiGHS clashes with highspy's, see bench/matching_exact.py)
    from ortools.graph.python import min_cost_flow

    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(1 + num_res + num_req, dtype=np.int64)
    supplies[source] = int(reqs.quantity.sum())
    supplies[req_node] = -reqs.quantity
    smcf.set_nodes_supplies(np.arange(len(supplies), dtype=np.int64), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"resource flow failed with status {status}")
    flows = smcf.flows(arcs)
    quantity = flows[len(used_res) : len(used_res) + len(pairs.req)].astype(np.int64)
    shortfall = flows[len(used_res) + len(pairs.req) :].astype(np.int64)
    return ResourcePlan(reqs, pairs, quantity, shortfall, int(smcf.optimal_cost()))
