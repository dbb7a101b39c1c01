"""The public entry points: the county copies one at a time or whole, and their digest."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from seed.figures import REFERENCE_NOW, REFERENCE_SEED
from seed.reference.county import _County
from seed.reference.tables import TABLE_ORDER, Tables, _Ids, _new_tables


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the rows hold no cycles, and with hundreds of
    thousands of fresh dicts its repeated full scans cost about a third of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def iter_reference(
    *,
    seed: int = REFERENCE_SEED,
    scale: int = 1,
    now: datetime = REFERENCE_NOW,
    password_hash: str | None = None,
) -> Iterator[Tables]:
    """Yields one county copy's tables at a time (FK order within each); ids continue across."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ids = _Ids()
    for copy in range(scale):
        with gc_paused():
            tables = _County(copy, seed=seed, now=now, ids=ids, password_hash=password_hash).build()
        yield tables
        del tables  # let the copy go before the next one is built


def generate_reference(
    *,
    seed: int = REFERENCE_SEED,
    scale: int = 1,
    now: datetime = REFERENCE_NOW,
    password_hash: str | None = None,
) -> Tables:
    """Every table's rows (FK order); scale N concatenates N county copies."""
    out = _new_tables()
    for part in iter_reference(seed=seed, scale=scale, now=now, password_hash=password_hash):
        for name, rows in part.items():
            out[name].extend(rows)
    return out


def row_counts(tables: Tables) -> dict[str, int]:
    return {name: len(rows) for name, rows in tables.items()}


def tables_digest(tables: Tables) -> str:
    """A SHA-256 over every row of every table, in order: equal digests mean equal data.

    Rows hold only str, int, float, bool, None, aware datetimes and JSON lists/dicts, whose
    reprs are exact and stable across processes.
    """
    h = hashlib.sha256()
    for name in TABLE_ORDER:
        h.update(f"\x00{name}\x00".encode())
        rows = tables.get(name, [])
        for start in range(0, len(rows), 10_000):
            h.update(repr(rows[start : start + 10_000]).encode())
    return h.hexdigest()
