"""Very large scopes: community clusters solved one by one, a repair across their borders, and
a bound of the whole problem.

A county many times the reference one is cut into clusters of whole communities (recursive
bisection of the communities' centres, each side holding about half the candidate pairs), of
about `cluster_pairs` candidate pairs each. A person may serve needs across a border within
their reach, so people are placed after the needs: each in the cluster holding most of their
candidate pairs (a person's pinned visits tie their needs' communities into one cluster, and
the person goes there). Each cluster is an ordinary problem solved by the ordinary solver, one
after the other or in `workers` processes at once (the same answer either way).

Their answers together are feasible for the whole problem (every person's visits come from one
cluster), but they use no pair that crosses a border. The repair takes the *border zone* (the
needs that have a candidate from another cluster) as one more problem, with every person who
may serve them and each such person's visits elsewhere kept as they are (pinned), and solves
it; then refill and local search run over the whole problem's candidate lists. The repair's
answer is taken only where it costs less, so it never makes the merged answer worse.

The bound: the clusters' bounds do not add up to a bound of the whole problem (a border pair
belongs to no cluster). Each person has one cluster, so the clusters' Lagrangian minute prices
(those of each one's flow with the best bound) are prices for the whole problem: one min-cost
flow over the whole problem's candidate lists at those prices gives a valid bound (the flow's,
`matching.flow`) and seat prices consistent across the borders, at which the seat-price bound
(`bound_person`, valid at any prices, pruned pairs included) is evaluated, with a few
subgradient rounds; the better of the two is reported.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from matching.arrays import ProblemArrays
from matching.bound_person import person_bound
from matching.candidates import CandidatePool, Candidates, select
from matching.evaluate import volunteer_terms
from matching.problem import Need, Problem
from matching.repair import improve, refill, repair_budgets
from matching.timing import Scheduler

# Decompose above this many candidate pairs (top-K lists). On the synthetic 10x county (35,000 x
# 30,000: 955 thousand pairs) clusters gave a 0.34% better answer and a 0.15% weaker bound at
# 4x the CPU time of the whole solve (README, "Matching benchmark"): it stays whole; larger
# scopes, where the whole solve's Lagrangian rounds get fewer still, are split.
DECOMPOSE_ABOVE_PAIRS = 1_000_000
CLUSTER_PAIRS = 150_000  # candidate pairs per cluster, about
BOUND_ROUNDS = 3  # subgradient rounds of the whole problem's seat-price bound
ZONE_MAX_PAIRS = 250_000  # the border zone is repaired as one problem up to this size


class PartSolution(Protocol):  # what this module reads of the solver's VolunteerSolution
    @property
    def cands(self) -> Candidates: ...
    @property
    def chosen(self) -> NDArray[np.bool_]: ...
    @property
    def polished(self) -> bool: ...
    @property
    def polish_improvement(self) -> int: ...
    @property
    def minute_prices(self) -> NDArray[np.int64] | None: ...


@dataclass(frozen=True, eq=False)
class PartAnswer:
    """A part's answer by ids, picklable: parts may be solved in other processes."""

    volunteer_ids: NDArray[np.int64]  # the pairs chosen (pins left out)
    need_ids: NDArray[np.int64]
    priced_ids: NDArray[np.int64]  # the part's people ...
    minute_prices: NDArray[np.int64]  # ... and their minute prices (0: none)
    pairs: int  # candidate pairs it worked on
    polished: bool
    polish_improvement: int


def answer_of(arr: ProblemArrays, part: PartSolution) -> PartAnswer:
    """What the whole problem needs of a part's solution (`arr`: the part's arrays)."""
    mu = part.minute_prices
    return PartAnswer(
        arr.v_ids[part.cands.v[part.chosen]],
        arr.n_ids[part.cands.n[part.chosen]],
        arr.v_ids,
        np.zeros(arr.num_volunteers, dtype=np.int64) if mu is None else mu,
        len(part.cands),
        part.polished,
        part.polish_improvement,
    )


SolvePart = Callable[[Problem], PartAnswer]
# the whole problem's flow at minute prices per person: its bound and its seat prices
WholeFlow = Callable[[NDArray[np.int64]], tuple[int, NDArray[np.int64] | None]]


@dataclass(frozen=True, eq=False)
class Partition:
    need_cluster: NDArray[np.int64]  # per need: its cluster
    person_cluster: NDArray[np.int64]  # per person: their cluster (-1: no candidate pair)
    count: int


@dataclass(frozen=True, eq=False)
class ClusteredAnswer:
    cands: Candidates
    chosen: NDArray[np.bool_]
    objective: int  # volunteer part, pinned constant included
    bound: int  # ... of the whole problem
    polished: bool
    polish_improvement: int
    timings: dict[str, float]
    stages: dict[str, int]


def _km_xy(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    mid = math.radians(float(np.mean(lat))) if lat.size else 0.0
    return np.stack([lat * 110.57, lon * 111.32 * math.cos(mid)], axis=1)


def _atoms(arr: ProblemArrays) -> NDArray[np.int64]:
    """Per need: its atom, the unit a cluster is made of. A community is one atom (a need
    without one is its own); communities pinned to one person are one atom."""
    comm = arr.n_comm
    _, atom = np.unique(
        np.where(comm >= 0, comm, -1 - np.arange(arr.num_needs)), return_inverse=True
    )
    atom = atom.astype(np.int64)
    if arr.pinned_v.size:  # union-find over the atoms of each person's pinned needs
        parent = np.arange(int(atom.max()) + 1)

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = int(parent[a])
            return a

        first: dict[int, int] = {}
        for v, n in zip(arr.pinned_v.tolist(), arr.pinned_n.tolist(), strict=True):
            a = root(int(atom[n]))
            b = root(first.setdefault(v, a))
            parent[a] = b
        atom = np.array([root(int(a)) for a in atom.tolist()], dtype=np.int64)
        _, atom = np.unique(atom, return_inverse=True)
    return atom.astype(np.int64)


def partition(arr: ProblemArrays, cands: Candidates, cluster_pairs: int) -> Partition:
    """Needs by whole atoms into clusters of about `cluster_pairs` candidate pairs (recursive
    bisection along the wider side); people to the cluster holding most of their pairs."""
    atom = _atoms(arr)
    num_atoms = int(atom.max(initial=-1)) + 1
    xy = _km_xy(arr.n_lat, arr.n_lon)
    size = np.bincount(atom, minlength=num_atoms).astype(np.float64)
    centre = (
        np.stack(
            [np.bincount(atom, weights=xy[:, i], minlength=num_atoms) for i in range(2)], axis=1
        )
        / np.maximum(size, 1)[:, None]
    )
    weight = np.bincount(atom[cands.n], minlength=num_atoms).astype(np.float64) + 1.0
    atom_cluster = np.zeros(num_atoms, dtype=np.int64)
    count = 0
    stack = [np.arange(num_atoms)]
    while stack:
        part = stack.pop()
        if weight[part].sum() <= cluster_pairs or len(part) <= 1:
            atom_cluster[part] = count
            count += 1
            continue
        spread = centre[part].max(axis=0) - centre[part].min(axis=0)
        axis = int(np.argmax(spread))
        part = part[np.argsort(centre[part, axis], kind="stable")]
        cut = int(np.searchsorted(np.cumsum(weight[part]), weight[part].sum() / 2))
        cut = min(max(cut, 1), len(part) - 1)
        stack += [part[cut:], part[:cut]]
    need_cluster = atom_cluster[atom]
    # people: the cluster of most of their candidate pairs (ties: the lower cluster)
    person_cluster = np.full(arr.num_volunteers, -1, dtype=np.int64)
    if len(cands):
        key = cands.v * count + need_cluster[cands.n]
        keys, hits = np.unique(key, return_counts=True)
        kv, kc = keys // count, keys % count
        order = np.lexsort((kc, -hits, kv))
        first = order[np.r_[True, kv[order][1:] != kv[order][:-1]]]
        person_cluster[kv[first]] = kc[first]
    person_cluster[arr.pinned_v] = need_cluster[arr.pinned_n]  # one cluster each, by the atoms
    return Partition(need_cluster, person_cluster, count)


def _subproblem(
    problem: Problem,
    arr: ProblemArrays,
    needs: NDArray[np.int64],
    people: NDArray[np.int64],
    frozen: tuple[NDArray[np.int64], NDArray[np.int64]],
) -> Problem:
    """The problem of `needs` and `people` only. Pins on these needs by people left out take
    their seats away; `frozen` (person, need) pairs of these people on needs left out are kept
    as pins, on a copy of the need with as many seats as it has such pins."""
    in_needs = np.zeros(arr.num_needs, dtype=bool)
    in_needs[needs] = True
    in_people = np.zeros(arr.num_volunteers, dtype=bool)
    in_people[people] = True
    pv, pn = arr.pinned_v, arr.pinned_n
    outside = np.bincount(pn[~in_people[pv]], minlength=arr.num_needs)
    mine = in_people[pv]
    fv = np.concatenate([pv[mine & ~in_needs[pn]], frozen[0]])
    fn = np.concatenate([pn[mine & ~in_needs[pn]], frozen[1]])
    shadow = np.bincount(fn, minlength=arr.num_needs)
    out_needs: list[Need] = []
    for n in needs.tolist():
        need = problem.needs[n]
        out_needs.append(replace(need, headcount=max(0, need.headcount - int(outside[n]))))
    for n in np.flatnonzero(shadow).tolist():
        out_needs.append(replace(problem.needs[n], headcount=int(shadow[n])))
    pinned = {(int(arr.n_ids[n]), int(arr.v_ids[v])) for v, n in zip(fv, fn, strict=True)}
    pinned |= {
        (int(arr.n_ids[n]), int(arr.v_ids[v]))
        for v, n in zip(pv[mine & in_needs[pn]], pn[mine & in_needs[pn]], strict=True)
    }
    return Problem(
        volunteers=tuple(problem.volunteers[v] for v in people.tolist()),
        needs=tuple(out_needs),
        weights=problem.weights,
        pinned=frozenset(pinned),
        forbidden=problem.forbidden,
        now=problem.now,
        candidates_per_need=problem.candidates_per_need,
    )


def _to_whole(
    arr: ProblemArrays, part: PartAnswer
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """A part's pairs as the whole problem's (person, need) indexes, and its minute prices by
    the whole problem's person."""
    v = np.array([arr.vol_index[int(i)] for i in part.volunteer_ids.tolist()], dtype=np.int64)
    n = np.array([arr.need_index[int(i)] for i in part.need_ids.tolist()], dtype=np.int64)
    mu = np.zeros(arr.num_volunteers, dtype=np.int64)
    who = np.array([arr.vol_index[int(i)] for i in part.priced_ids.tolist()], dtype=np.int64)
    mu[who] = part.minute_prices
    return v, n, mu


def _with_pairs(
    arr: ProblemArrays,
    pool: CandidatePool,
    k: NDArray[np.int64],
    v: NDArray[np.int64],
    n: NDArray[np.int64],
) -> tuple[Candidates, NDArray[np.bool_], NDArray[np.bool_]]:
    """The candidate lists widened to hold the pairs (v, n), a mask of them over the lists, and
    which of the pairs the pool holds (a pair it does not is dropped; refill covers its seat)."""
    keys = arr.pair_key(pool.v, pool.n)
    order = np.argsort(keys, kind="stable")
    want = arr.pair_key(v, n)
    at = np.searchsorted(keys[order], want)
    found = at < len(keys)
    found[found] = keys[order][at[found]] == want[found]
    pos = order[at[found]]
    rank = pos - pool.ptr[n[found]]
    k = k.copy()
    np.maximum.at(k, n[found], rank + 1)
    cands = select(arr, pool, k)
    mask = np.isin(arr.pair_key(cands.v, cands.n), want[found])
    return cands, mask, found


def _objective(arr: ProblemArrays, cands: Candidates, chosen: NDArray[np.bool_]) -> int:
    v = np.concatenate([cands.v[chosen], arr.pinned_v])
    n = np.concatenate([cands.n[chosen], arr.pinned_n])
    return sum(volunteer_terms(arr, v, n).values())


def _repair_zone(
    problem: Problem,
    arr: ProblemArrays,
    pool: CandidatePool,
    k: NDArray[np.int64],
    cands: Candidates,
    chosen: NDArray[np.bool_],
    zone_n: NDArray[np.int64],
    solve_part: SolvePart,
) -> tuple[Candidates, NDArray[np.bool_], int, int]:
    """The zone's needs solved again with everyone who may serve them, each one's visits
    elsewhere pinned: the answer with the zone's part replaced, its cost, the zone's pairs."""
    in_zone = np.zeros(arr.num_needs, dtype=bool)
    in_zone[zone_n] = True
    people = np.unique(cands.v[in_zone[cands.n]])  # every holder of a zone seat too
    in_people = np.zeros(arr.num_volunteers, dtype=bool)
    in_people[people] = True
    keep = chosen & ~(in_people[cands.v] & in_zone[cands.n])  # all but the zone's pairs
    frozen = keep & in_people[cands.v]  # the zone's people's visits elsewhere
    sub = _subproblem(problem, arr, zone_n, people, (cands.v[frozen], cands.n[frozen]))
    answer = solve_part(sub)
    v, n, _ = _to_whole(arr, answer)
    out_cands, out_chosen, _ = _with_pairs(
        arr, pool, k, np.concatenate([cands.v[keep], v]), np.concatenate([cands.n[keep], n])
    )
    return out_cands, out_chosen, _objective(arr, out_cands, out_chosen), answer.pairs


def _solve_all(subs: list[Problem], solve_part: SolvePart, workers: int) -> list[PartAnswer]:
    """Each part by `solve_part`: here one after the other, or in `workers` fresh processes
    (spawned: nothing of this process's state is shared, each part is pickled over; a script
    that asks for them must guard its main, which each spawned process imports)."""
    if workers <= 1 or len(subs) <= 1:
        return [solve_part(sub) for sub in subs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(subs)), mp_context=context) as pool:
        return list(pool.map(solve_part, subs))


def solve_clustered(
    arr: ProblemArrays,
    pool: CandidatePool,
    sched: Scheduler,
    solve_part: SolvePart,
    whole_flow: WholeFlow,
    *,
    cluster_pairs: int = CLUSTER_PAIRS,
    pinned_constant: int,
    workers: int = 1,
) -> ClusteredAnswer:
    """Clusters, each solved by `solve_part` (in `workers` processes at once when more than
    one); the border zone repaired; the whole problem's bound."""
    problem = arr.problem
    timings: dict[str, float] = {}
    stages: dict[str, int] = {}
    t = time.perf_counter()
    k = np.full(arr.num_needs, pool.k, dtype=np.int64)
    whole = select(arr, pool, k)
    parts = partition(arr, whole, cluster_pairs)
    border = parts.person_cluster[whole.v] != parts.need_cluster[whole.n]
    timings["clusters_partition"] = time.perf_counter() - t

    t = time.perf_counter()
    no_pairs = np.zeros(0, dtype=np.int64)
    members = [
        (np.flatnonzero(parts.need_cluster == c), np.flatnonzero(parts.person_cluster == c))
        for c in range(parts.count)
    ]
    subs = [_subproblem(problem, arr, n, v, (no_pairs, no_pairs)) for n, v in members]
    answers = _solve_all(subs, solve_part, workers)
    got_v: list[NDArray[np.int64]] = []
    got_n: list[NDArray[np.int64]] = []
    minute_prices = np.zeros(arr.num_volunteers, dtype=np.int64)
    for (_, people), answer in zip(members, answers, strict=True):
        v, n, mu = _to_whole(arr, answer)
        got_v.append(v)
        got_n.append(n)
        minute_prices[people] = mu[people]
    sizes = [(len(n), len(v), a.pairs) for (n, v), a in zip(members, answers, strict=True)]
    polished = any(a.polished for a in answers)
    polish_gain = sum(a.polish_improvement for a in answers)
    stages["clusters_workers"] = min(workers, parts.count)
    timings["clusters_solve"] = time.perf_counter() - t
    merged_v, merged_n = np.concatenate(got_v), np.concatenate(got_n)
    cands, chosen, _ = _with_pairs(arr, pool, k, merged_v, merged_n)
    merged = _objective(arr, cands, chosen)

    # the border zone: needs with a candidate from another cluster, as one problem (when not
    # too large; on the synthetic 10x county, solving each cluster's side of it in turn took as
    # long as the clusters and gained 0.14%)
    t = time.perf_counter()
    zone_n = np.unique(whole.n[border])
    zone_pairs = int(np.isin(whole.n, zone_n).sum())
    best, best_obj = chosen, merged
    if zone_n.size and zone_pairs <= ZONE_MAX_PAIRS:
        got = _repair_zone(problem, arr, pool, k, cands, best, zone_n, solve_part)
        stages["clusters_zone_pairs"] = got[3]
        if got[2] < best_obj:
            cands, best, best_obj = got[0], got[1], got[2]
    stages["clusters_zone_needs"] = int(zone_n.size)
    repaired = improve(
        arr, cands, refill(arr, cands, repair_budgets(arr, cands, best, sched), sched), sched
    )
    obj = _objective(arr, cands, repaired)
    if obj < best_obj:
        best, best_obj = repaired, obj
    stages["clusters_repair_gain"] = merged - best_obj
    timings["clusters_repair"] = time.perf_counter() - t

    # a bound of the whole problem: one flow at the clusters' minute prices, then the seat-price
    # bound from that flow's seat prices (the clusters' own seat prices, tried too, gave a bound
    # 1.4% lower on the synthetic county in two clusters: a border need's price is its cluster's)
    t = time.perf_counter()
    bound, flow_prices = whole_flow(minute_prices)
    timings["clusters_whole_flow"] = time.perf_counter() - t
    t = time.perf_counter()
    if flow_prices is not None:
        people_bound = person_bound(
            arr, cands, flow_prices, best_obj - pinned_constant, pool=pool, rounds=BOUND_ROUNDS
        )
        stages["person_bound"] = people_bound.pairs
        stages["person_bound_rounds"] = people_bound.rounds
        stages["person_bound_gain"] = max(0, people_bound.bound + pinned_constant - bound)
        bound = max(bound, people_bound.bound + pinned_constant)
    timings["person_bound"] = time.perf_counter() - t
    stages["clusters"] = parts.count
    stages["cluster_needs_max"] = max(s[0] for s in sizes)
    stages["cluster_needs_min"] = min(s[0] for s in sizes)
    stages["cluster_pairs_max"] = max(s[2] for s in sizes)
    stages["cluster_pairs_min"] = min(s[2] for s in sizes)
    stages["border_pairs"] = int(border.sum())
    used = parts.person_cluster[cands.v[best]] != parts.need_cluster[cands.n[best]]
    stages["border_pairs_used"] = int(used.sum())
    return ClusteredAnswer(cands, best, best_obj, bound, polished, polish_gain, timings, stages)


def top_k_pairs(pool: CandidatePool) -> int:
    """Candidate pairs in the top-K lists: the size the solver would work on whole."""
    return int(np.minimum(np.diff(pool.ptr), pool.k).sum())
