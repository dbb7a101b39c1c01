"""The min-cost-flow core: the assignment without the hours budgets' unequal durations.

Network (built from arrays in one `add_arcs_with_capacity_and_unit_cost` call):

    source -> volunteer   one arc per possible k-th assignment, unit cost fairness_marginal(k):
                          convex, so the flow takes them in order and pays exactly fairness_cost
    volunteer -> ... -> need   one arc per candidate pair, capacity 1, cost pair_cost, leaving
                          from the volunteer's size-class chain (below)
    source -> need        "unserved" bypass, capacity = open seats, cost unserved_penalty per seat
    source -> need        "pruned" arc, capacity min(open seats, pairs left out by top-K), cost =
                          the cheapest left-out pair: stands in for every pair not kept
    need: demand = open seats

Why its optimum is a lower bound on every feasible assignment (containing the pinned pairs):
map a feasible assignment to a flow. Kept pairs use their arcs; each volunteer's kept-pair count
is at most the largest number of their candidate needs that fits their free minutes, which is the
capacity we give them, and the fairness arcs charge fairness_cost(count) <= fairness_cost(load).
Pairs outside the kept top-K cost at least the cheapest left-out pair, and fairness marginals
are >= 0, so the pruned arc never overcharges them. Open seats pay the same penalty. So the flow
optimum (plus the fixed cost of the pinned pairs) is <= the objective of any feasible assignment.
Size classes: the flow counts assignments, not minutes, but some counts follow from minutes.
If any j+1 of a volunteer's longest candidate needs exceed their budget, at most j of those can
be theirs. These sets are nested (longest first), so they become a chain of nodes
volunteer -> L_m -> ... -> L_1 with capacities j_m ... j_1, the needs of each class hanging off
its node: still a flow, and a much tighter one when budgets bind. They hold for every feasible
assignment, so the bound stays valid.

What the flow still gives up: it counts assignments, not minutes, so a volunteer can get several
long needs whose durations add up to more than their budget. `repair` fixes that.

Lagrangian prices on minutes tighten it: with a price mu_v >= 0 per minute of volunteer v (in
units of 1/scale), each pair arc also pays mu_v * duration and the bound subtracts
mu_v * budget_v. For any mu >= 0 this is still a lower bound (a feasible assignment uses at most
budget_v minutes, so its priced cost is no higher than its cost), and raising the price of
volunteers the flow overloads steers the next flow (and its repaired primal) towards feasibility.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from matching import model
from matching.arrays import ProblemArrays
from matching.candidates import Candidates
from matching.conflicts import ConflictRows
from matching.model import max_assignments_within_budget

MAX_CLASS = 2  # chain depth: longer chains slow the flow more than they tighten it


@dataclass(frozen=True, eq=False)
class FlowSolution:
    chosen: NDArray[np.bool_]  # per candidate pair: flow 1
    bound: int  # lower bound from this flow (the pinned pairs' fixed cost not included)
    used_minutes: NDArray[np.int64]  # per volunteer, by the flow's pairs
    pruned_flow: NDArray[np.int64]  # per need: seats the flow filled through the pruned arc
    seconds: float
    # The solved network, for the seat prices of `bound_person` (need_potentials).
    arcs: FlowArcs | None = None


@dataclass(frozen=True, eq=False)
class FlowArcs:
    tails: NDArray[np.int64]
    heads: NDArray[np.int64]
    caps: NDArray[np.int64]
    costs: NDArray[np.int64]  # scaled (1/scale cost units), prices included
    flows: NDArray[np.int64]
    num_nodes: int
    need_node: NDArray[np.int64]  # per need: its node
    scale: int


@dataclass(frozen=True, eq=False)
class SizeClasses:
    pair_tail: NDArray[np.int64]  # per candidate pair: chain node it leaves from (-1: volunteer)
    tails: NDArray[np.int64]  # chain arcs, as offsets into the chain nodes (-1: volunteer)
    heads: NDArray[np.int64]
    caps: NDArray[np.int64]
    owner: NDArray[np.int64]  # per chain arc: volunteer
    num_nodes: int


def size_classes(
    v: NDArray[np.int64],
    duration: NDArray[np.int64],
    budget: NDArray[np.int64],
    cap: NDArray[np.int64],
) -> SizeClasses:
    """For each volunteer and j < cap: the longest r_j needs of which any j+1 exceed the budget,
    so at most j may be taken. Kept only where r_j grows (a repeated set is a weaker limit)."""
    order = np.lexsort((np.arange(len(v)), -duration, v))
    vs, ds = v[order], duration[order]
    first = np.searchsorted(vs, vs, side="left")
    pos = np.arange(len(vs), dtype=np.int64) - first
    total = np.cumsum(ds)
    before = total - ds - (total[first] - ds[first])  # sum of the longer needs of this volunteer
    pair_tail = np.full(len(v), -1, dtype=np.int64)
    node_of: dict[int, NDArray[np.int64]] = {}
    r_prev = np.zeros(len(budget), dtype=np.int64)
    active: list[tuple[int, NDArray[np.int64]]] = []
    num_nodes = 0
    max_j = min(int(cap.max()) - 1 if cap.size else 0, MAX_CLASS)
    for j in range(1, max(max_j, 0) + 1):
        # sum of the j+1 needs ending at position pos: the j+1 smallest of the longest pos+1
        window = before + ds - np.where(pos >= j, before[np.maximum(np.arange(len(vs)) - j, 0)], 0)
        exceeds = (pos >= j) & ~model.capacity_ok(window, budget[vs]) & (j < cap[vs])
        count = np.bincount(vs[exceeds], minlength=len(budget))
        r = np.where(count > 0, j + count, 0)
        new = (r > 0) & (r > r_prev)
        vols = np.flatnonzero(new)
        if vols.size == 0:
            continue
        nodes = np.full(len(budget), -1, dtype=np.int64)
        nodes[vols] = num_nodes + np.arange(len(vols), dtype=np.int64)
        num_nodes += len(vols)
        node_of[j] = nodes
        active.append((j, r))
        r_prev = np.where(new, r, r_prev)
        # needs in this class and in no smaller one leave from this node
        take = (pair_tail[order] == -1) & (nodes[vs] >= 0) & (pos < r[vs])
        pair_tail[order[take]] = nodes[vs[take]]
    tails, heads, caps, owner = [], [], [], []
    parent = np.full(len(budget), -1, dtype=np.int64)
    for j, _ in reversed(active):
        nodes = node_of[j]
        vols = np.flatnonzero(nodes >= 0)
        tails.append(parent[vols])
        heads.append(nodes[vols])
        caps.append(np.full(len(vols), j, dtype=np.int64))
        owner.append(vols)
        parent[vols] = nodes[vols]

    def cat(xs: list[NDArray[np.int64]]) -> NDArray[np.int64]:
        return np.concatenate(xs) if xs else np.zeros(0, np.int64)

    return SizeClasses(pair_tail, cat(tails), cat(heads), cat(caps), cat(owner), num_nodes)


@dataclass(frozen=True, eq=False)
class Network:
    """The parts of the network that depend on the candidates only, not on prices."""

    cap: NDArray[np.int64]  # per volunteer: most assignments that fit their minutes
    classes: SizeClasses
    # Time conflicts built in: node per clique (capacity 1 from its volunteer), per pair the
    # clique it leaves from (-1: none)
    pair_clique: NDArray[np.int64]
    clique_owner: NDArray[np.int64]


def build_network(
    arr: ProblemArrays, cands: Candidates, rows: ConflictRows | None = None
) -> Network:
    """`rows`: time-conflict rows no two of which share a pair, built in as capacity-1 nodes
    (valid: at most one pair of each can be in any feasible answer). Size classes are formed
    from the other pairs (a subset's limits hold too)."""
    num_v = arr.num_volunteers
    dur = arr.n_duration[cands.n]
    cap = max_assignments_within_budget(cands.v, dur, arr.v_budget, num_v)
    cap = np.minimum(cap, np.bincount(cands.v, minlength=num_v))
    pair_clique = np.full(len(cands), -1, dtype=np.int64)
    owner = np.zeros(0, dtype=np.int64)
    if rows is not None and rows.num_rows:
        pair_clique[rows.pair] = rows.row
        owner = rows.owner
    rest = np.flatnonzero(pair_clique < 0)
    sub = size_classes(cands.v[rest], dur[rest], arr.v_budget, cap)
    tail = np.full(len(cands), -1, dtype=np.int64)
    tail[rest] = sub.pair_tail
    classes = SizeClasses(tail, sub.tails, sub.heads, sub.caps, sub.owner, sub.num_nodes)
    return Network(cap, classes, pair_clique, owner)


def solve_flow(
    arr: ProblemArrays,
    cands: Candidates,
    *,
    minute_price: NDArray[np.int64] | None = None,
    scale: int = 1,
    network: Network | None = None,
    pruned_cost: NDArray[np.int64] | None = None,
    row_price: tuple[NDArray[np.int64], int] | None = None,
) -> FlowSolution:
    """Solve the network; `minute_price` (per volunteer, cost/scale per minute) is optional.
    `pruned_cost` (per need, already scaled and priced) may replace the cheapest left-out pair's
    cost; it must not exceed the priced cost of any left-out pair. `row_price` (per candidate
    pair, and the total to subtract; both already scaled) prices other rows "sum <= b" the same
    way, e.g. the time conflicts of `conflicts`."""
    start = time.perf_counter()
    w = arr.problem.weights
    num_v, num_n = arr.num_volunteers, arr.num_needs
    source = 0
    v_node = 1 + np.arange(num_v, dtype=np.int64)
    n_node = 1 + num_v + np.arange(num_n, dtype=np.int64)
    network = network or build_network(arr, cands)
    cap, classes = network.cap, network.classes
    # One unit arc per possible k-th assignment (k counts pinned ones too).
    fair_v = np.repeat(np.arange(num_v, dtype=np.int64), cap)
    group_start = np.repeat(np.cumsum(cap) - cap, cap)
    k = np.arange(len(fair_v), dtype=np.int64) - group_start + 1 + arr.v_pinned_load[fair_v]

    c_node = 1 + num_v + num_n + np.arange(classes.num_nodes, dtype=np.int64)
    q_node = 1 + num_v + num_n + classes.num_nodes + np.arange(len(network.clique_owner))
    pair_tail = v_node[cands.v]
    in_class = classes.pair_tail >= 0
    pair_tail[in_class] = c_node[classes.pair_tail[in_class]]
    in_clique = network.pair_clique >= 0
    pair_tail[in_clique] = q_node[network.pair_clique[in_clique]]
    chain_tail = np.concatenate([v_node[classes.owner], v_node[network.clique_owner]])
    from_class = np.r_[classes.tails >= 0, np.zeros(len(q_node), dtype=bool)]
    chain_tail[from_class] = c_node[classes.tails[classes.tails >= 0]]
    chain_head = np.concatenate([c_node[classes.heads], q_node])
    chain_cap = np.concatenate([classes.caps, np.ones(len(q_node), dtype=np.int64)])

    open_seats = arr.n_open
    bypass_n = np.flatnonzero(open_seats > 0)
    pruned_cap = np.minimum(open_seats, cands.pruned_count)
    pruned_n = np.flatnonzero(pruned_cap > 0)

    tails = np.concatenate(
        [
            np.full(len(fair_v), source),
            pair_tail,
            np.full(len(bypass_n), source),
            np.full(len(pruned_n), source),
            chain_tail,
        ]
    )
    heads = np.concatenate(
        [v_node[fair_v], n_node[cands.n], n_node[bypass_n], n_node[pruned_n], chain_head]
    )
    caps = np.concatenate(
        [
            np.ones(len(fair_v), np.int64),
            np.ones(len(cands), np.int64),
            open_seats[bypass_n],
            pruned_cap[pruned_n],
            chain_cap,
        ]
    )
    pair_cost = cands.cost * scale
    if minute_price is not None:
        pair_cost = pair_cost + minute_price[cands.v] * arr.n_duration[cands.n]
    if row_price is not None:
        pair_cost = pair_cost + row_price[0]
    costs = np.concatenate(
        [
            model.fairness_marginal(k, w) * scale,
            pair_cost,
            arr.n_penalty[bypass_n] * scale,
            (cands.pruned_min_cost * scale if pruned_cost is None else pruned_cost)[pruned_n],
            np.zeros(len(chain_cap), np.int64),
        ]
    )

    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(1 + num_v + num_n + classes.num_nodes + len(q_node), dtype=np.int64)
    supplies[source] = int(open_seats.sum())
    supplies[n_node] = -open_seats
    smcf.set_nodes_supplies(np.arange(len(supplies), dtype=np.int64), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(arcs)
    first_pair = len(fair_v)
    chosen = flows[first_pair : first_pair + len(cands)] > 0
    pruned_flow = np.zeros(num_n, dtype=np.int64)
    end_pruned = len(flows) - len(chain_cap)
    pruned_flow[pruned_n] = flows[end_pruned - len(pruned_n) : end_pruned]
    dur = arr.n_duration[cands.n]
    used = np.bincount(cands.v[chosen], weights=dur[chosen], minlength=num_v).astype(np.int64)
    priced = int(smcf.optimal_cost())
    if minute_price is not None:
        priced -= int((minute_price * arr.v_budget).sum())
    if row_price is not None:
        priced -= row_price[1]
    bound = -((-priced) // scale)  # objectives are integers: round the bound up
    arcs_out = FlowArcs(tails, heads, caps, costs, flows, len(supplies), n_node, scale)
    return FlowSolution(chosen, bound, used, pruned_flow, time.perf_counter() - start, arcs_out)
