"""The generator on its own, no database: determinism, scaling, integrity of the rows."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from schema.base import COUNTY_LAT, COUNTY_LON
from schema.models import metadata
from seed.identity import (
    credit_code,
    credit_code_valid,
    id_check_digit,
    id_number_valid,
)
from seed.reference import TABLE_ORDER, Tables, iter_reference, row_counts, tables_digest

ROOT = Path(__file__).resolve().parents[2]
PINNED_HASH = "argon2-placeholder"
DIGEST_SCRIPT = (
    "from seed.reference import iter_reference, tables_digest; "
    f"print(tables_digest(next(iter_reference(password_hash={PINNED_HASH!r}))))"
)


@pytest.fixture(scope="module")
def other_process_digest() -> Iterator[subprocess.Popen[str]]:
    """Copy 0's digest from another interpreter with another hash seed (started early)."""
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    proc = subprocess.Popen(
        [sys.executable, "-c", DIGEST_SCRIPT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def two_copies(other_process_digest: subprocess.Popen[str]) -> list[Tables]:
    """A scale-2 county, generated once for the module: copy 0 is the reference county."""
    return list(iter_reference(scale=2, password_hash=PINNED_HASH))


def merged(copies: list[Tables]) -> Tables:
    return {name: [row for c in copies for row in c[name]] for name in TABLE_ORDER}


def test_generate_identical_rows_in_another_process(
    two_copies: list[Tables], other_process_digest: subprocess.Popen[str]
) -> None:
    out, err = other_process_digest.communicate(timeout=120)
    assert other_process_digest.returncode == 0, err
    assert out.strip() == tables_digest(two_copies[0])


def test_generate_a_different_county_for_each_copy(two_copies: list[Tables]) -> None:
    first, second = (c["community"] for c in two_copies)
    urban = [r["name"] for r in first if r["kind"] == "urban_community"]
    assert [n + "-2" for n in urban] == [r["name"] for r in second[: len(urban)]]
    assert [r["latitude"] for r in first] != [r["latitude"] for r in second]
    assert first[0]["name"] == "泉塘社区" and second[0]["name"] == "泉塘社区-2"


def test_scale_people_and_needs_with_copies(two_copies: list[Tables]) -> None:
    first, second = (row_counts(c) for c in two_copies)
    for table in ("person", "need", "grid", "community", "paired_unit", "need_event"):
        assert first[table] > 0
        assert abs(second[table] - first[table]) <= 0.02 * first[table], table
    # Shared once: the skills and the demo accounts.
    assert second["skill"] == 0 and second["account"] == 0
    ids = [r["id"] for r in merged(two_copies)["person"]]
    assert ids == list(range(1, len(ids) + 1))


def unique_keys(table: sa.Table) -> list[tuple[str, ...]]:
    keys = [tuple(c.name for c in table.primary_key.columns)]
    keys += [(c.name,) for c in table.columns if c.unique]
    for cons in table.constraints:
        if isinstance(cons, sa.UniqueConstraint):
            keys.append(tuple(c.name for c in cons.columns))
    for index in table.indexes:
        partial = index.dialect_options["sqlite"]["where"] is not None
        if index.unique and not partial:
            keys.append(tuple(c.name for c in index.columns))
    return keys


def test_keep_unique_constraints_across_copies(two_copies: list[Tables]) -> None:
    tables = merged(two_copies)
    for table in metadata.sorted_tables:
        rows = tables[table.name]
        for key in unique_keys(table):
            values = [tuple(r[c] for c in key) for r in rows]
            values = [v for v in values if None not in v]
            assert len(values) == len(set(values)), (table.name, key)
    # One leader and one full-time worker per grid (a partial unique index).
    staff = [(r["grid_id"], r["role"]) for r in tables["grid_staff"] if r["role"] != "part_time"]
    assert len(staff) == len(set(staff)) == 2 * len(tables["grid"])


def test_resolve_every_foreign_key(two_copies: list[Tables]) -> None:
    tables = merged(two_copies)
    ids = {
        name: {r["id"] for r in rows} for name, rows in tables.items() if rows and "id" in rows[0]
    }
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            target, col = fk.column.table.name, fk.parent.name
            if target != table.name:  # loaded before: tables go in foreign-key order
                assert TABLE_ORDER.index(target) < TABLE_ORDER.index(table.name)
            for r in tables[table.name]:
                if r[col] is not None:
                    assert r[col] in ids[target], (table.name, col, r[col])


def test_fill_every_column_of_every_row(two_copies: list[Tables]) -> None:
    for copy in two_copies:
        for table in metadata.sorted_tables:
            names = {c.name for c in table.columns}
            for row in copy[table.name]:
                assert set(row) == names, table.name
                for c in table.columns:
                    if not c.nullable:
                        assert row[c.name] is not None, (table.name, c.name)


def test_keep_points_inside_county(two_copies: list[Tables]) -> None:
    for copy in two_copies:
        for name, rows in copy.items():
            for row in rows:
                if "latitude" in row:
                    assert COUNTY_LAT[0] <= row["latitude"] <= COUNTY_LAT[1], name
                    assert COUNTY_LON[0] <= row["longitude"] <= COUNTY_LON[1], name


def test_store_aware_utc_times_only(two_copies: list[Tables]) -> None:
    for name, rows in two_copies[0].items():
        for row in rows[:2000]:
            for value in row.values():
                if isinstance(value, datetime):
                    assert value.utcoffset() == timedelta(0), name


def test_validate_identity_numbers() -> None:
    # GB 11643's published example: 11010519491231002X.
    assert id_check_digit("11010519491231002") == "X"
    assert id_number_valid("11010519491231002X")
    assert not id_number_valid("110105194912310021")
    codes = {credit_code(i) for i in range(1, 2000)}
    assert len(codes) == 1999
    assert all(len(c) == 18 and credit_code_valid(c) for c in codes)
    # A real, published code checks out: 91350100M000100Y43 (GB 32100's example).
    assert credit_code_valid("91350100M000100Y43")
