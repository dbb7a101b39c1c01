"""The bound with seat prices and each person's week solved exactly (`matching.bound_person`).

A Lagrangian bound holds at *every* price vector, so the property test draws prices at random
(and takes the solver's own) and compares each bound with the brute-force optimum of tiny
problems with time windows, travel, existing work and budgets, with candidate lists cut to a
few pairs per need so that pairs left out must be covered too. Both ways a person's problem is
solved are checked: enumeration of every subset and the dynamic programme along time.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.arrays import build_arrays
from matching.bound_person import PersonBound, person_bound
from matching.candidates import build_pool, select
from matching.problem import Problem
from matching.solver import pinned_constant, solve
from matching.synthetic import make_instance
from tests.matching.factories import brute_force, problem
from tests.matching.test_time import needs, volunteers


@st.composite
def tiny_problems(draw: st.DrawFn) -> Problem:
    """Up to ten possible pairs (brute force enumerates every subset)."""
    num_v = draw(st.integers(1, 3))
    num_n = draw(st.integers(1, 10 // num_v))
    vols = [draw(volunteers(i + 1)) for i in range(num_v)]
    ns = [draw(needs(i + 1)) for i in range(num_n)]
    return problem(vols, ns)


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    tiny_problems(),
    st.integers(1, 3),
    st.lists(st.integers(0, 2**40), min_size=10, max_size=10),
)
def test_person_bound_never_exceeds_the_optimum_at_any_prices(
    p: Problem, k: int, raw: list[int]
) -> None:
    best, _ = brute_force(p)
    arr = build_arrays(p)
    const = pinned_constant(arr)
    pool = build_pool(arr, k=k)
    cands = select(arr, pool, np.full(arr.num_needs, k, dtype=np.int64))
    drawn = np.array(raw[: arr.num_needs], dtype=np.int64) % (arr.n_penalty + 1)
    for exact_items in (0, 10):  # 0: every person by the dynamic programme
        pb = PersonBound(arr, cands, exact_items=exact_items)
        for prices in (np.zeros(arr.num_needs, dtype=np.int64), drawn, arr.n_penalty // 2):
            value, taken, _, _ = pb.evaluate(prices)
            assert value + const <= best, (exact_items, prices.tolist())
            assert (taken >= 0).all()
    for pool_or_not in (None, pool):  # with the pool: left-out pairs inside people's problems
        result = person_bound(arr, cands, drawn, best - const, pool=pool_or_not)
        assert result.bound + const <= best


def test_person_bound_tightens_the_bound_where_people_are_short_and_says_so() -> None:
    p = make_instance(120, 100, seed=3, capacity_scale=0.5)
    r = solve(p, polish=False)
    stages = dict(r.stats.stages)
    assert stages["person_bound"] >= stages["flow"]  # the lists, and pool pairs where they pay
    assert stages["person_bound_rounds"] >= 1
    assert stages["person_bound_gain"] > 0  # hours halved: whole visits, not fractions, count
    assert r.bound <= r.objective
