"""The seat-price bound by column generation and the answer from its columns
(`matching.bound_columns`).

Every price the master gives is only used through L(lam), a Lagrangian bound valid at any prices,
so the bound must stay at or under the brute-force optimum of tiny problems (time windows,
travel, existing work, budgets, candidate lists cut short so that left-out pairs count) wherever
the search starts; the master's own value must never be under the best L it saw (it is an upper
bound of the Lagrangian dual); and the answer from the columns must be one the evaluator accepts.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import solver
from matching.arrays import build_arrays
from matching.bound_columns import SIMPLEX_ITERATIONS, column_bound, restricted_master
from matching.bound_person import PersonBound
from matching.candidates import build_pool, select
from matching.evaluate import evaluate
from matching.problem import Problem
from matching.solver import pinned_constant, solve
from matching.synthetic import make_instance
from matching.timing import Scheduler
from tests.matching.factories import brute_force
from tests.matching.test_bound_person import tiny_problems


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    tiny_problems(),
    st.integers(1, 3),
    st.lists(st.integers(0, 2**40), min_size=10, max_size=10),
    st.sampled_from([0, 10]),
    st.sampled_from([SIMPLEX_ITERATIONS, 0]),  # 0: the interior point method from the start
)
def test_column_bound_never_exceeds_the_optimum(
    p: Problem, k: int, raw: list[int], exact_items: int, simplex_iterations: int
) -> None:
    best, pairs = brute_force(p)
    arr = build_arrays(p)
    const = pinned_constant(arr)
    pool = build_pool(arr, k=k)
    cands = select(arr, pool, np.full(arr.num_needs, k, dtype=np.int64))
    pb = PersonBound(arr, cands, exact_items=exact_items)
    start = np.array(raw[: arr.num_needs], dtype=np.int64) % (arr.n_penalty + 1)
    none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    result, master = column_bound(
        pb, start, best - const + 1, none, simplex_iterations=simplex_iterations
    )
    if master.solves:  # a threshold of 0: every solve after the first by the interior point method
        assert master.interior == (simplex_iterations == 0)
    assert result.bound + const <= best
    assert result.master_value >= result.bound - 1e-6 * max(1, abs(result.bound))
    assert result.rounds >= 1
    # an answer from the columns: every person's visits can be booked, within their hours
    got = restricted_master(master, Scheduler(arr), none)
    if got is not None:
        v, n, _ = got
        chosen = [(int(arr.n_ids[ni]), int(arr.v_ids[vi])) for vi, ni in zip(v, n, strict=True)]
        ev = evaluate(p, [*sorted(p.pinned), *chosen], arrays=arr)
        assert ev.feasible, ev.violations
        assert ev.objective >= best
    del pairs


def test_column_generation_raises_the_bound_where_hours_are_short_and_says_so() -> None:
    p = make_instance(300, 250, seed=0, capacity_scale=0.5)
    r = solve(p, polish=False)
    stages = dict(r.stats.stages)
    assert stages["column_generation_rounds"] >= 2
    assert stages["column_generation_columns"] > 0
    assert stages["column_generation_gain"] > 0  # the master's prices beat the subgradient's
    assert stages["restricted_master"] > 0
    assert r.bound <= r.objective
    assert not r.violations


def test_column_generation_is_left_out_above_its_size_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = make_instance(300, 250, seed=0, capacity_scale=0.5)
    monkeypatch.setattr(solver, "COLUMNS_MAX_PAIRS", 10)
    r = solve(p, polish=False)
    stages = dict(r.stats.stages)
    assert stages["column_generation_skipped_pairs"] > 10
    assert "column_generation_rounds" not in stages and "restricted_master" not in stages
    assert r.bound <= r.objective and not r.violations
