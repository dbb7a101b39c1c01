"""The public entry points: the county copies one at a time or whole, and their digest."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from schema.base import county_name, county_offset
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
    counties: int = 1,
) -> Iterator[Tables]:
    """Yields one county copy's tables at a time (FK order within each); ids continue across.

    `counties` N: a province of N counties, each `scale` copies big; county k's copies are
    moved to its own place (`schema.base.county_offset`) and its communities name it."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    if counties < 1:
        raise ValueError("counties must be at least 1")
    county_offset(counties - 1)  # refuses more counties than the province holds
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ids = _Ids()
    for copy in range(scale * counties):
        with gc_paused():
            tables = _County(copy, seed=seed, now=now, ids=ids, password_hash=password_hash).build()
            place_in_county(tables, copy // scale)
        yield tables
        del tables  # let the copy go before the next one is built


def place_in_county(tables: Tables, county: int) -> None:
    """Move a copy to the province's county number `county` and name that county on its
    communities (county 0, the reference county, stays where it is)."""
    for row in tables["community"]:
        row["county"] = county_name(county)
    if county == 0:
        return
    dlat, dlon = county_offset(county)
    for rows in tables.values():
        if not rows or "latitude" not in rows[0]:
            continue
        for row in rows:
            if row["latitude"] is not None:
                row["latitude"] = round(row["latitude"] + dlat, 6)
                row["longitude"] = round(row["longitude"] + dlon, 6)


def generate_reference(
    *,
    seed: int = REFERENCE_SEED,
    scale: int = 1,
    now: datetime = REFERENCE_NOW,
    password_hash: str | None = None,
    counties: int = 1,
) -> Tables:
    """Every table's rows (FK order); scale N concatenates N county copies (per county)."""
    out = _new_tables()
    for part in iter_reference(
        seed=seed, scale=scale, now=now, password_hash=password_hash, counties=counties
    ):
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
