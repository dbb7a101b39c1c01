"""The exact evaluator: objective and violated hard constraints of any complete assignment.

Every method (Luling's solver, plain CP-SAT, greedy) is scored here, with the term functions of
`model`, so objectives are comparable. Pinned pairs are exempt from the per-pair rules (a
coordinator accepted them) but count towards headcount, hours and overlaps.

Time: given the booked slots, every visit must last its duration inside the need's window and
one of the person's windows, clear of their earlier work, and a person's visits must not overlap,
counting travel from one visit's place to the next. Without slots, each person's visits must be
bookable at all (`timing.Scheduler`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from matching import model, travel
from matching.arrays import ProblemArrays, build_arrays, minutes_after, pair_facts
from matching.enterprise import helper_pairs, pinned_helper_load
from matching.problem import Pair, Problem
from matching.resources import requirements
from matching.timing import Scheduler, start_bounds, start_ranges

Slots = Mapping[Pair, tuple[datetime, datetime]]  # (need_id, volunteer_id) -> booked visit


@dataclass(frozen=True)
class Evaluation:
    objective: int
    terms: tuple[tuple[str, int], ...]
    violations: tuple[str, ...]
    seats_filled: int
    seats_total: int
    urgent_coverage: float
    overlaps: int = 0  # pairs of one person's visits that overlap (travel counted)
    outside_window: int = 0  # visits not inside the need's and the person's windows

    @property
    def feasible(self) -> bool:
        return not self.violations


def volunteer_terms(
    arr: ProblemArrays, v: NDArray[np.int64], n: NDArray[np.int64]
) -> dict[str, int]:
    """Objective terms of volunteer pairs (v, n) given as indexes, pinned pairs included."""
    w = arr.problem.weights
    facts = pair_facts(arr, v, n)
    filled = np.bincount(n, minlength=arr.num_needs)
    load = np.bincount(v, minlength=arr.num_volunteers)
    away_home = model.to_cost(w.home_community) - model.home_community_bonus(
        facts.same_community, w
    )
    away_case = model.to_cost(w.continuity) - model.continuity_bonus(facts.continuing, w)
    not_commando = model.to_cost(w.commando) - model.commando_bonus(facts.commando, w)
    return {
        "unserved": int((arr.n_penalty * np.maximum(arr.n_headcount - filled, 0)).sum()),
        "travel": int(model.travel_cost(facts.travel_min, w).sum()),
        "home_community": int(np.sum(away_home)),
        "continuity": int(np.sum(away_case)),
        "commando": int(np.sum(not_commando)),
        "fairness": int(model.fairness_cost(load, w).sum()),
    }


def coverage(arr: ProblemArrays, n: NDArray[np.int64]) -> tuple[int, int, float]:
    """Seats filled, seats total, and penalty-weighted coverage of urgent seats."""
    filled = np.minimum(np.bincount(n, minlength=arr.num_needs), arr.n_headcount)
    urgent = model.urgent_seat(arr.n_tier, arr.n_urgency)
    weight = arr.n_penalty * urgent
    total = int((weight * arr.n_headcount).sum())
    share = float((weight * filled).sum() / total) if total else 1.0
    return int(filled.sum()), int(arr.n_headcount.sum()), share


def volunteer_violations(
    arr: ProblemArrays, v: NDArray[np.int64], n: NDArray[np.int64]
) -> list[str]:
    out: list[str] = []
    keys = arr.pair_key(v, n)
    if len(np.unique(keys)) != len(keys):
        out.append("a volunteer is assigned to the same need twice")
    pinned_keys = arr.pair_key(arr.pinned_v, arr.pinned_n)
    missing = np.setdiff1d(pinned_keys, keys)
    if missing.size:
        out.append(f"{missing.size} pinned assignment(s) missing")
    filled = np.bincount(n, minlength=arr.num_needs)
    for i in np.flatnonzero(~model.headcount_ok(filled, arr.n_headcount)):
        out.append(f"need {arr.n_ids[i]}: {filled[i]} people for headcount {arr.n_headcount[i]}")
    used = np.bincount(v, weights=arr.n_duration[n], minlength=arr.num_volunteers)
    for i in np.flatnonzero(~model.capacity_ok(used, arr.v_remaining)):
        out.append(
            f"volunteer {arr.v_ids[i]}: {int(used[i])} min over free {arr.v_remaining[i]} min"
        )
    free = ~np.isin(keys, pinned_keys)
    fv, fn = v[free], n[free]
    facts = pair_facts(arr, fv, fn)
    checks = {
        "lacks a required skill": model.skills_ok(arr.v_skills[fv], arr.n_skills[fn]),
        "cannot arrive in time": model.reach_ok(facts.travel_min, arr.n_reach[fn]),
        "has no free slot in the need's window": model.slot_ok(
            *start_bounds(arr, fv, fn, exact_busy=True)
        ),
        "was rejected by a coordinator": model.allowed_ok(arr.pair_key(fv, fn), arr.forbidden_keys),
    }
    for what, ok in checks.items():
        for i in np.flatnonzero(~ok):
            out.append(f"volunteer {arr.v_ids[fv[i]]} on need {arr.n_ids[fn[i]]} {what}")
    return out


def time_violations(
    arr: ProblemArrays, v: NDArray[np.int64], n: NDArray[np.int64], slots: Slots | None
) -> tuple[list[str], int, int]:
    """(violations, overlapping pairs, visits outside windows) of the visits (v, n)."""
    out: list[str] = []
    pinned = {(int(a), int(b)) for a, b in zip(arr.pinned_v, arr.pinned_n, strict=True)}
    by_v: dict[int, list[int]] = {}
    for vi, ni in zip(v.tolist(), n.tolist(), strict=True):
        by_v.setdefault(vi, []).append(ni)
    sched = Scheduler(arr)
    overlaps = outside = 0
    for vi, needs in sorted(by_v.items()):
        vid = int(arr.v_ids[vi])
        if all((vi, ni) in pinned for ni in needs):
            continue  # a coordinator's own decisions
        if slots is None:
            if sched.plan(vi, needs, with_pins=False) is None:
                out.append(f"volunteer {vid}: visits cannot all be made (overlap or windows)")
                overlaps += 1
            continue
        visits = []
        for ni in needs:
            slot = slots.get((int(arr.n_ids[ni]), vid))
            if slot is None:
                out.append(f"volunteer {vid} on need {arr.n_ids[ni]}: no slot booked")
                outside += 1
                continue
            a = minutes_after(arr.epoch, slot[0], up=False)
            b = minutes_after(arr.epoch, slot[1], up=True)
            visits.append((a, b, ni))
            if (vi, ni) in pinned:
                continue
            inside = b - a == int(arr.n_duration[ni]) and any(
                lo <= a <= hi for lo, hi in start_ranges(arr, vi, ni)
            )
            if not inside:
                out.append(
                    f"volunteer {vid} on need {arr.n_ids[ni]}: the visit is not inside the "
                    "need's window and the person's free time"
                )
                outside += 1
        visits.sort()
        for (_, b1, n1), (a2, _, n2) in itertools.pairwise(visits):
            if (vi, n1) in pinned and (vi, n2) in pinned:
                continue
            gap = sched.travel(vi, n1, n2)
            if not model.no_overlap_ok(b1, gap, a2):
                out.append(
                    f"volunteer {vid}: visits to needs {arr.n_ids[n1]} and {arr.n_ids[n2]} "
                    f"overlap (travel {gap} min counted)"
                )
                overlaps += 1
    return out, overlaps, outside


def _resource_part(
    problem: Problem, allocations: Iterable[tuple[int, int, int]]
) -> tuple[int, int, list[str]]:
    """(cost, shortfall cost, violations) of (need_id, resource_id, quantity) allocations."""
    reqs = requirements(problem)
    req_row = {
        (int(nid), kind): i
        for i, (nid, kind) in enumerate(zip(reqs.need_id, reqs.kind, strict=True))
    }
    res_by_id = {r.id: r for r in problem.resources}
    need_by_id = {n.id: n for n in problem.needs}
    sent = np.zeros(len(reqs.quantity), dtype=np.int64)
    taken: dict[int, int] = {}
    cost = 0
    out: list[str] = []
    for need_id, res_id, qty in allocations:
        res = res_by_id.get(res_id)
        need = need_by_id.get(need_id)
        row = req_row.get((need_id, res.kind)) if res is not None else None
        if res is None or need is None or row is None or qty <= 0:
            out.append(f"resource {res_id} to need {need_id}: not a requirement")
            continue
        dist = travel.haversine_km(need.lat, need.lon, res.lat, res.lon)
        if dist > travel.RESOURCE_REACH_KM:
            out.append(f"resource {res_id} is out of reach of need {need_id}")
        twinned = need.community_id in res.twinned_community_ids
        cost += int(model.resource_unit_cost(dist, twinned, problem.weights)) * qty
        sent[row] += qty
        taken[res_id] = taken.get(res_id, 0) + qty
    for res_id, qty in taken.items():
        if qty > res_by_id[res_id].quantity:
            out.append(f"resource {res_id}: {qty} allocated of {res_by_id[res_id].quantity}")
    for i in np.flatnonzero(sent > reqs.quantity):
        out.append(f"need {reqs.need_id[i]}: more {reqs.kind[i]} than required")
    shortfall = int((reqs.penalty * np.maximum(reqs.quantity - sent, 0)).sum())
    return cost, shortfall, out


def _helper_part(problem: Problem, assigned: Iterable[Pair]) -> tuple[int, int, int, list[str]]:
    """(pair cost, load cost, unserved cost, violations) of (task_id, volunteer_id) pairs."""
    w = problem.weights
    tasks = problem.enterprise_tasks
    task_index = {t.id: i for i, t in enumerate(tasks)}
    vol_index = {v.id: i for i, v in enumerate(problem.volunteers)}
    out: list[str] = []
    pairs: list[tuple[int, int]] = []
    served: set[int] = set()
    for task_id, vol_id in assigned:
        if task_id not in task_index or vol_id not in vol_index:
            out.append(f"helper pair {(task_id, vol_id)} names unknown ids")
            continue
        if task_id in served:
            out.append(f"enterprise task {task_id} has more than one helper")
        served.add(task_id)
        vol = problem.volunteers[vol_index[vol_id]]
        pinned = (task_id, vol_id) in problem.pinned_helpers
        if not pinned and not (vol.is_helper and tasks[task_index[task_id]].kind in vol.expertise):
            out.append(f"volunteer {vol_id} lacks expertise for enterprise task {task_id}")
        if not pinned and (task_id, vol_id) in problem.forbidden_helpers:
            out.append(f"helper {vol_id} on enterprise task {task_id} was rejected")
        pairs.append((task_index[task_id], vol_index[vol_id]))
    missing = problem.pinned_helpers - {(tasks[t].id, problem.volunteers[v].id) for t, v in pairs}
    if missing:
        out.append(f"{len(missing)} pinned helper assignment(s) missing")
    pinned_helper_load(problem)  # validates the pins themselves
    hp = helper_pairs(problem, pairs)
    added = np.bincount(hp.vol, minlength=len(problem.volunteers))
    open_now = np.array([v.open_requests for v in problem.volunteers], dtype=np.int64)
    slots = np.array([v.helper_slots for v in problem.volunteers], dtype=np.int64)
    for i in np.flatnonzero(added > slots):
        out.append(f"helper {problem.volunteers[i].id}: {added[i]} tasks over their load limit")
    load_cost = int(model.helper_load_cost(open_now, added, w).sum())
    urgency = np.array([t.urgency for t in tasks if t.id not in served], dtype=np.int64)
    unserved = int(np.sum(model.helper_unserved_penalty(urgency, w))) if urgency.size else 0
    return int(hp.cost.sum()), load_cost, unserved, out


def evaluate(
    problem: Problem,
    assignments: Iterable[Pair],
    resource_allocations: Iterable[tuple[int, int, int]] = (),
    helper_assignments: Iterable[Pair] = (),
    *,
    arrays: ProblemArrays | None = None,
    slots: Slots | None = None,
) -> Evaluation:
    """Score complete proposals: (need_id, volunteer_id) assignments (pinned included),
    (need_id, resource_id, quantity) allocations and (task_id, volunteer_id) helper pairs;
    `slots` are the booked visits (checked if given, else each person's must be bookable)."""
    arr = arrays or build_arrays(problem)
    v_list: list[int] = []
    n_list: list[int] = []
    violations: list[str] = []
    for need_id, vol_id in assignments:
        if need_id not in arr.need_index or vol_id not in arr.vol_index:
            violations.append(f"assignment {(need_id, vol_id)} names an unknown need or volunteer")
            continue
        n_list.append(arr.need_index[need_id])
        v_list.append(arr.vol_index[vol_id])
    v = np.array(v_list, dtype=np.int64)
    n = np.array(n_list, dtype=np.int64)
    terms = volunteer_terms(arr, v, n)
    violations += volunteer_violations(arr, v, n)
    time_out, overlaps, outside = time_violations(arr, v, n, slots)
    violations += time_out
    res_cost, shortfall, res_violations = _resource_part(problem, resource_allocations)
    h_cost, h_load, h_unserved, h_violations = _helper_part(problem, helper_assignments)
    terms |= {
        "resources": res_cost,
        "resource_shortfall": shortfall,
        "helper_travel": h_cost,
        "helper_load": h_load,
        "helper_unserved": h_unserved,
    }
    filled, total, urgent = coverage(arr, n)
    return Evaluation(
        objective=sum(terms.values()),
        terms=tuple(terms.items()),
        violations=tuple(violations + res_violations + h_violations),
        seats_filled=filled,
        seats_total=total,
        urgent_coverage=urgent,
        overlaps=overlaps,
        outside_window=outside,
    )
