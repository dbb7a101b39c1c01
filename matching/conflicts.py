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

    def subset(self, keep: NDArray[np.bool_]) -> ConflictRows:
        """The rows where keep is true, renumbered."""
        new_id = np.cumsum(keep) - 1
        entries = keep[self.row]
        return ConflictRows(
            self.pair[entries], new_id[self.row[entries]], self.scale[keep], self.owner[keep]
        )

    def pair_price(self, price: NDArray[np.int64], num_pairs: int) -> NDArray[np.int64]:
        """Per candidate pair: the sum of its rows' prices (price is per row, already scaled
        by the row's minutes)."""
        return np.bincount(self.pair, weights=price[self.row], minlength=num_pairs).astype(np.int64)


def compulsory_parts(
    arr: ProblemArrays, cands: Candidates
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    return cands.late, cands.early + arr.n_duration[cands.n]


def conflict_rows(arr: ProblemArrays, cands: Candidates) -> ConflictRows:
    lo, hi = compulsory_parts(arr, cands)
    idx = np.flatnonzero(lo < hi)
    idx = idx[np.lexsort((lo[idx], cands.v[idx]))]
    empty = np.zeros(0, dtype=np.int64)
    if idx.size < 2:
        return ConflictRows(empty, empty, empty, empty)
    vs, a, b = cands.v[idx], lo[idx], hi[idx]
    m = len(idx)
    pos = np.arange(m, dtype=np.int64)
    new_group = np.r_[True, vs[1:] != vs[:-1]]
    g_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    new_key = new_group | np.r_[True, a[1:] != a[:-1]]
    last_of_key = np.r_[new_key[1:], True]
    key_end = np.minimum.accumulate(np.where(last_of_key, pos, m)[::-1])[::-1]
    # candidates j for the clique at a[i] (a row only at the last part of each start): same
    # person, starting no later (ties included), and not so much earlier that it has surely
    # ended (no part of theirs is longer than their longest): a window, not every earlier part
    group_first = np.flatnonzero(new_group)
    longest = np.maximum.reduceat(b - a, group_first)[np.cumsum(new_group) - 1]
    key = vs * (int(b.max()) + 1) + a  # sorted: parts are ordered by (person, start)
    lower = np.maximum(np.searchsorted(key, key - longest, side="right"), g_start)
    ends = np.flatnonzero(pos == key_end)
    count = key_end[ends] - lower[ends] + 1
    rows_i = np.repeat(ends, count)
    cols_j = np.repeat(lower[ends], count) + (
        np.arange(len(rows_i), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    )
    alive = b[cols_j] > a[rows_i]
    rows_i, cols_j = rows_i[alive], cols_j[alive]
    size = np.bincount(rows_i, minlength=m)
    first_end = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)
    if rows_i.size:
        starts = np.flatnonzero(np.r_[True, rows_i[1:] != rows_i[:-1]])
        first_end[rows_i[starts]] = np.minimum.reduceat(b[cols_j], starts)
    # the next distinct start of the same person (none: +inf)
    nxt_pos = np.minimum(key_end + 1, m - 1)
    same_next = (key_end + 1 < m) & (vs[nxt_pos] == vs)
    next_start = np.where(same_next, a[nxt_pos], np.iinfo(np.int64).max)
    keep = (pos == key_end) & (size >= 2) & (first_end <= next_start)
    row_id = np.full(m, -1, dtype=np.int64)
    row_id[keep] = np.arange(int(keep.sum()), dtype=np.int64)
    take = keep[rows_i]
    pair = idx[cols_j[take]]
    row = row_id[rows_i[take]]
    dur = arr.n_duration[cands.n]
    scale = np.full(int(keep.sum()), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(scale, row, dur[pair])
    return ConflictRows(pair, row, scale, vs[keep])


def disjoint_rows(rows: ConflictRows) -> NDArray[np.bool_]:
    """A set of rows no two of which share a pair (largest first): they can be built into the
    flow as nodes of capacity 1, the rest stay priced."""
    size = np.bincount(rows.row, minlength=rows.num_rows)
    order = np.lexsort((np.arange(rows.num_rows), -size))
    by_row = np.argsort(rows.row, kind="stable")
    ends = np.cumsum(size).tolist()
    sizes = size.tolist()
    flat = rows.pair[by_row].tolist()
    used: set[int] = set()
    chosen = np.zeros(rows.num_rows, dtype=bool)
    for r in order.tolist():
        mine = flat[ends[r] - sizes[r] : ends[r]]
        if used.isdisjoint(mine):
            used.update(mine)
            chosen[r] = True
    return chosen
