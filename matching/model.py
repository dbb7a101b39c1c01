"""The model: one small function per hard constraint and per objective term.

These are the single source of truth. Candidate generation, the flow costs, repair and refill,
the CP-SAT models, greedy and the exact evaluator all call them, so every method optimises and
reports the same objective. Every function takes scalars or numpy arrays (element-wise).

Costs are integers: points are multiplied by COST_SCALE and rounded once per term, so sums are
exact and results deterministic.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matching.problem import Weights

COST_SCALE = 10  # integer cost units per point
TIER_CODE: dict[str, int] = {"ordinary": 0, "complex": 1, "major": 2}
# Resource shortfall scales with the tier like an open seat does (major needs hurt most).
RESOURCE_TIER_FACTOR = np.array([1.0, 2.5, 8.0])


def to_cost(points: ArrayLike) -> NDArray[np.int64]:
    return np.rint(np.asarray(points, dtype=np.float64) * COST_SCALE).astype(np.int64)


# ---------------------------------------------------------------- hard constraints


def skills_ok(volunteer_skills: ArrayLike, need_skills: ArrayLike) -> NDArray[np.bool_]:
    """The volunteer holds every required skill (skill bitmask words on the last axis)."""
    v = np.asarray(volunteer_skills, dtype=np.uint64)
    n = np.asarray(need_skills, dtype=np.uint64)
    ok: NDArray[np.bool_] = np.all((v & n) == n, axis=-1)
    return ok


def reach_ok(travel_min: ArrayLike, reach_limit_min: ArrayLike) -> NDArray[np.bool_]:
    """The volunteer gets there within the tier's arrival limit."""
    ok: NDArray[np.bool_] = np.asarray(travel_min) <= np.asarray(reach_limit_min)
    return ok


def available_ok(
    minute_of_week: ArrayLike, window_lo: ArrayLike, window_hi: ArrayLike, always: ArrayLike
) -> NDArray[np.bool_]:
    """The minute lies inside one of the volunteer's windows (windows on the last axis)."""
    m = np.asarray(minute_of_week)[..., None]
    inside = (np.asarray(window_lo) <= m) & (m < np.asarray(window_hi))
    ok: NDArray[np.bool_] = np.asarray(always, dtype=bool) | np.any(inside, axis=-1)
    return ok


def slot_ok(earliest_start: ArrayLike, latest_start: ArrayLike) -> NDArray[np.bool_]:
    """Some slot fits: the whole visit inside the need's window and one of the person's windows,
    clear of their existing work (`timing.start_bounds` gives the two starts)."""
    ok: NDArray[np.bool_] = np.asarray(latest_start) >= np.asarray(earliest_start)
    return ok


def no_overlap_ok(
    prev_end: ArrayLike, travel_min: ArrayLike, next_start: ArrayLike
) -> NDArray[np.bool_]:
    """One person's consecutive visits: the next starts after the previous ends plus travel."""
    ok: NDArray[np.bool_] = np.asarray(prev_end) + np.asarray(travel_min) <= np.asarray(next_start)
    return ok


def capacity_ok(used_minutes: ArrayLike, budget_minutes: ArrayLike) -> NDArray[np.bool_]:
    """Minutes given this week stay within weekly capacity minus hours already committed."""
    return np.asarray(used_minutes) <= np.asarray(budget_minutes)


def max_assignments_within_budget(
    v: NDArray[np.int64], duration: NDArray[np.int64], budget: NDArray[np.int64], num_v: int
) -> NDArray[np.int64]:
    """Per volunteer: how many of their candidate needs fit the budget at most (shortest first)."""
    if v.size == 0:
        return np.zeros(num_v, dtype=np.int64)
    order = np.lexsort((duration, v))
    vs, ds = v[order], duration[order]
    total = np.cumsum(ds)
    first = np.searchsorted(vs, vs, side="left")
    used = total - (total[first] - ds[first])
    fits = capacity_ok(used, budget[vs])
    return np.bincount(vs[fits], minlength=num_v).astype(np.int64)


def headcount_ok(assigned: ArrayLike, headcount: ArrayLike) -> NDArray[np.bool_]:
    """No need gets more people than it asked for."""
    return np.asarray(assigned) <= np.asarray(headcount)


def allowed_ok(pair_keys: ArrayLike, forbidden_keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    """The coordinator has not rejected the pair (keys encode volunteer and need indexes)."""
    keys = np.asarray(pair_keys, dtype=np.int64)
    if forbidden_keys.size == 0:
        return np.ones(keys.shape, dtype=bool)
    return ~np.isin(keys, forbidden_keys)


# ---------------------------------------------------------------- objective terms (costs >= 0)


def unserved_penalty(
    tier_code: ArrayLike, urgency: ArrayLike, emergency: ArrayLike, w: Weights
) -> NDArray[np.int64]:
    """Cost of one open seat: by tier (an unserved major need costs most) and urgency."""
    base = np.array([w.unserved_ordinary, w.unserved_complex, w.unserved_major])[
        np.asarray(tier_code, dtype=np.int64)
    ]
    urgency_factor = 1.0 + w.unserved_urgency_step * (np.asarray(urgency, dtype=np.float64) - 1)
    emergency_factor = np.where(np.asarray(emergency, dtype=bool), w.unserved_emergency_factor, 1)
    return to_cost(base * urgency_factor * emergency_factor)


def travel_cost(travel_min: ArrayLike, w: Weights) -> NDArray[np.int64]:
    return to_cost(w.travel_per_minute * np.asarray(travel_min, dtype=np.float64))


def home_community_bonus(same_community: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """A member serves first in the community they registered with."""
    return np.where(np.asarray(same_community, dtype=bool), to_cost(w.home_community), 0)


def continuity_bonus(continuing: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """Someone already on this case (or a related need) keeps it."""
    return np.where(np.asarray(continuing, dtype=bool), to_cost(w.continuity), 0)


def commando_bonus(is_commando: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """Commando members go first (the weight is zero outside emergency mode)."""
    return np.where(np.asarray(is_commando, dtype=bool), to_cost(w.commando), 0)


def pair_cost(
    travel_min: ArrayLike,
    same_community: ArrayLike,
    continuing: ArrayLike,
    is_commando: ArrayLike,
    w: Weights,
) -> NDArray[np.int64]:
    """Cost of putting one volunteer on one need: travel plus every bonus not earned."""
    cost: NDArray[np.int64] = (
        travel_cost(travel_min, w)
        + (to_cost(w.home_community) - home_community_bonus(same_community, w))
        + (to_cost(w.continuity) - continuity_bonus(continuing, w))
        + (to_cost(w.commando) - commando_bonus(is_commando, w))
    )
    return cost


def fairness_unit(w: Weights) -> int:
    return int(to_cost(w.fairness))


def fairness_marginal(k: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """Cost of a person's k-th assignment in a batch (k >= 1): grows linearly, so load spreads."""
    return fairness_unit(w) * (np.asarray(k, dtype=np.int64) - 1)


def fairness_cost(load: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """Total fairness cost of a person's load: the sum of the marginals, a convex function."""
    n = np.asarray(load, dtype=np.int64)
    return fairness_unit(w) * (n * (n - 1) // 2)


def pairing_bonus(twinned: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """A paired unit's resources go first to its twinned communities (per unit)."""
    return np.where(np.asarray(twinned, dtype=bool), to_cost(w.pairing), 0)


def resource_unit_cost(distance_km: ArrayLike, twinned: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """Cost per unit of a resource sent to a need: distance plus the pairing bonus not earned."""
    return (
        to_cost(w.resource_per_km * np.asarray(distance_km, dtype=np.float64))
        + to_cost(w.pairing)
        - pairing_bonus(twinned, w)
    )


def resource_shortfall_penalty(
    tier_code: ArrayLike, urgency: ArrayLike, emergency: ArrayLike, w: Weights
) -> NDArray[np.int64]:
    """Cost of one missing unit of a required resource."""
    urgency_factor = 1.0 + w.unserved_urgency_step * (np.asarray(urgency, dtype=np.float64) - 1)
    emergency_factor = np.where(np.asarray(emergency, dtype=bool), w.unserved_emergency_factor, 1)
    tier = RESOURCE_TIER_FACTOR[np.asarray(tier_code, dtype=np.int64)]
    return to_cost(w.resource_shortfall * tier * urgency_factor * emergency_factor)


def helper_pair_cost(distance_km: ArrayLike, w: Weights) -> NDArray[np.int64]:
    return to_cost(w.helper_per_km * np.asarray(distance_km, dtype=np.float64))


def helper_load_marginal(open_before: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """Cost of one more request for a helper already carrying `open_before` (convex in load)."""
    return to_cost(w.helper_fairness) * np.asarray(open_before, dtype=np.int64)


def helper_load_cost(open_requests: ArrayLike, added: ArrayLike, w: Weights) -> NDArray[np.int64]:
    """Sum of the marginals for `added` new requests on top of `open_requests`."""
    o = np.asarray(open_requests, dtype=np.int64)
    a = np.asarray(added, dtype=np.int64)
    return to_cost(w.helper_fairness) * (a * o + a * (a - 1) // 2)


def helper_unserved_penalty(urgency: ArrayLike, w: Weights) -> NDArray[np.int64]:
    urgency_factor = 1.0 + w.unserved_urgency_step * (np.asarray(urgency, dtype=np.float64) - 1)
    return to_cost(w.helper_unserved * urgency_factor)


def urgent_seat(tier_code: ArrayLike, urgency: ArrayLike) -> NDArray[np.bool_]:
    """Seats counted by the urgent-coverage figure: complex or major tier, or urgency >= 4."""
    return (np.asarray(tier_code) >= TIER_CODE["complex"]) | (np.asarray(urgency) >= 4)
