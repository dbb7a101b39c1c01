"""Time conflicts the bound can use: at most one visit of a person at any moment.

A pair's visit may start anywhere between its earliest and latest start, so it surely covers
its *compulsory part* [latest start, earliest start + duration) when that is not empty (a
response need's visit is all compulsory). Whatever moment t a person's compulsory parts share,
at most one of those pairs can be theirs: each such set is a valid row "sum of x <= 1" for every
feasible assignment, so pricing it (Lagrangian, like the minutes) keeps the bound valid and
tightens it where people would be double-booked. Travel between visits only adds conflicts, so
leaving it out keeps the rows valid.

Rows are the maximal cliques of each person's compulsory parts (an interval graph): the parts
alive at a part's start, kept if no part of them ends before the next start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matching.arrays import ProblemArrays
from matching.candidates import Candidates
from matching.timing import start_bounds


@dataclass(frozen=True, eq=False)
class ConflictRows:
    pair: NDArray[np.int64]  # candidate pair index of each entry
    row: NDArray[np.int64]  # its row
    scale: NDArray[np.int64]  # per row: minutes a unit of the row counts as (for the prices)
    owner: NDArray[np.int64]  # per row: volunteer

    @property
    def num_rows(self) -> int:
        return len(self.scale)

    def usage(self, chosen: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Pairs taken per row."""
        return np.bincount(
            self.row, weights=chosen[self.pair].astype(np.int64), minlength=self.num_rows
        ).astype(np.int64)

    def pair_price(self, price: NDArray[np.int64], num_pairs: int) -> NDArray[np.int64]:
        """Per candidate pair: the sum of its rows' prices (price is per row, already scaled
        by the row's minutes)."""
        return np.bincount(self.pair, weights=price[self.row], minlength=num_pairs).astype(
            np.int64
        )


def compulsory_parts(
    arr: ProblemArrays, cands: Candidates
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    early, late = start_bounds(arr, cands.v, cands.n)
    return late, early + arr.n_duration[cands.n]


def conflict_rows(arr: ProblemArrays, cands: Candidates) -> ConflictRows:
    lo, hi = compulsory_parts(arr, cands)
    idx = np.flatnonzero(lo < hi)
    idx = idx[np.lexsort((lo[idx], cands.v[idx]))]
    vs = cands.v[idx]
    cut = np.flatnonzero(np.diff(vs)) + 1
    pair_out: list[NDArray[np.int64]] = []
    row_out: list[NDArray[np.int64]] = []
    scale: list[int] = []
    owner: list[int] = []
    dur = arr.n_duration[cands.n]
    for s, e in zip(np.r_[0, cut], np.r_[cut, len(idx)], strict=True):
        if e - s < 2:
            continue
        mine = idx[s:e]
        a, b = lo[mine], hi[mine]
        alive = (a[None, :] <= a[:, None]) & (a[:, None] < b[None, :])  # row i: alive at a[i]
        nxt = np.r_[a[1:], np.iinfo(np.int64).max]
        ends_first = np.where(alive, b[None, :], np.iinfo(np.int64).max).min(axis=1)
        keep = (alive.sum(axis=1) >= 2) & (ends_first <= nxt)
        keep &= a != nxt  # the same start again: the later row holds this one
        for i in np.flatnonzero(keep).tolist():
            members = mine[alive[i]]
            pair_out.append(members)
            row_out.append(np.full(len(members), len(scale), dtype=np.int64))
            scale.append(int(dur[members].min()))
            owner.append(int(cands.v[mine[0]]))
    empty = np.zeros(0, dtype=np.int64)
    return ConflictRows(
        np.concatenate(pair_out) if pair_out else empty,
        np.concatenate(row_out) if row_out else empty,
        np.array(scale, dtype=np.int64),
        np.array(owner, dtype=np.int64),
    )
