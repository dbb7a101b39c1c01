"""Checking registry rows, here or in worker processes.

Checking is most of an import's work and pure Python; with `workers` > 1 it is done by worker
processes in chunks while this process reads the file and feeds the database. Results come back
in file order, so the report and the first-of-duplicates rule are the same either way; at most a
few chunks are in flight, so memory stays flat. One process is the default: on the shared
2-core development machine, 2 workers were about 2x slower for 50,000 rows, and still about 2x
slower for 300,000 once checking a row took about 8 µs (passing rows between processes costs
about as much as the checking they take over, and the database wants the second core).
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from multiprocessing.pool import AsyncResult

from schema.registry import RegistryKind, RegistryRow, row_checker

Chunked = tuple[int, list[str]]  # (line, cells as read)
# (line, cells as read, the row's stored values or the reason it is refused)
Checked = tuple[int, list[str], RegistryRow | str]

CHUNK = 2000


def _check(
    kind: RegistryKind, header: list[str], communities: Mapping[str, str], chunk: list[Chunked]
) -> list[Checked]:
    check = row_checker(kind, header, communities)
    return [(line, cells, check(cells)) for line, cells in chunk]


_WORKER: tuple[RegistryKind, list[str], Mapping[str, str]] | None = None


def _start_worker(kind: RegistryKind, header: list[str], communities: Mapping[str, str]) -> None:
    global _WORKER
    _WORKER = (kind, header, communities)


def _check_in_worker(chunk: list[Chunked]) -> list[Checked]:
    assert _WORKER is not None
    return _check(*_WORKER, chunk)


def _chunks(rows: Iterable[Chunked], size: int) -> Iterator[list[Chunked]]:
    chunk: list[Chunked] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def checked_rows(
    kind: RegistryKind,
    header: list[str],
    rows: Iterable[Chunked],
    communities: Mapping[str, str],
    *,
    workers: int = 1,
    chunk: int = CHUNK,
) -> Iterator[Checked]:
    """Every row of `rows` with its verdict, in order; checked by `workers` processes."""
    known = dict(communities)  # name: county
    if workers <= 1:
        for part in _chunks(rows, chunk):
            yield from _check(kind, header, known, part)
        return
    # spawn, not fork: this process may hold database connections and a progress thread.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, _start_worker, (kind, header, known)) as pool:
        pending: deque[AsyncResult[list[Checked]]] = deque()
        for part in _chunks(rows, chunk):
            pending.append(pool.apply_async(_check_in_worker, (part,)))
            if len(pending) > 2 * workers:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()
