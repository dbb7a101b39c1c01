"""Loading a registry file: validate every row, stage the good ones, merge them in one statement.

One pass over the file, in one transaction:

1. each row is checked (`schema.registry.row_checker`, the rules of `parse_row`); a refused row
   goes to the report with its reason;
2. good rows are streamed into a temporary staging table with their line (PostgreSQL:
   `COPY … FROM STDIN` through psycopg 3; SQLite: batched inserts); the database then finds the
   rows whose natural key an earlier row of the file has, takes them out and they join the
   report (in line order), so no process holds every key in memory;
3. one statement merges them: new keys are inserted, changed rows (another `row_hash`) updated,
   identical rows left alone, so a second run of the same file changes nothing. On PostgreSQL
   15+ it is a `MERGE` (one hash join rather than a conflict probe per row), imports taking
   turns by an advisory lock; elsewhere `INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE`.

Any failure (an unreadable file, too many refused rows, the database) rolls the whole run back:
the registry is as it was before.
"""

from __future__ import annotations

import csv
import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from schema.areas import Community
from schema.base import UTCDateTime, utcnow
from schema.registry import (
    RegistryKind,
    RegistryRow,
    canonical_header,
    missing_columns,
)
from schema.services.registry_parse import checked_rows
from schema.services.tabular import ReportWriter, TableFileError, TableRows, open_table

# (stage, rows done, rows expected or None)
Progress = Callable[[str, int, int | None], None]

_STAGING = "registry_staging"
# The staging table holds the parsed rows as they are, after their line in the file.
_COLUMNS = RegistryRow._fields
_STAGED = ("line", *_COLUMNS)
_BATCH = 5000
_PROGRESS_EVERY = 5000


class ImportAborted(Exception):
    """The run was refused as a whole; nothing was written."""


@dataclass(frozen=True)
class ImportResult:
    read: int
    refused: int
    inserted: int
    updated: int
    unchanged: int
    seconds: float
    merge_seconds: float  # of `seconds`, the one merging statement
    report: Path

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def import_registry(
    engine: Engine,
    kind: RegistryKind,
    path: Path,
    report_path: Path,
    *,
    max_refused: float = 1.0,
    progress: Progress | None = None,
    now: datetime | None = None,
    workers: int = 1,
) -> ImportResult:
    """Imports one registry file; see the module doc. `max_refused` is the largest share of
    refused rows (0–1) the run accepts: above it, nothing is written (ImportAborted).
    `workers` > 1 checks rows in that many processes (`schema/services/registry_parse.py`)."""
    started = time.perf_counter()
    table = open_table(path)
    header = [canonical_header(h) for h in table.header]
    missing = missing_columns(kind, header)
    if missing:
        raise TableFileError(f"{path.name}: missing column(s) {', '.join(missing)}")
    report = ReportWriter(report_path, table.header)
    try:
        with engine.begin() as conn:
            rows = conn.execute(sa.select(col(Community.name), col(Community.county)))
            communities = {str(name): str(county) for name, county in rows}
            good = _validated(
                kind, header, table.rows, communities, report, table.total, progress, workers
            )
            _create_staging(conn)
            staged = _stage(conn, good)
            read = staged + report.count
            duplicates = _duplicates(conn)
            if duplicates:  # read again for their cells: duplicates are rare
                report.close()
                _report_duplicates(report_path, open_table(path), duplicates)
            refused = report.count + len(duplicates)
            if read and refused / read > max_refused:
                raise ImportAborted(
                    f"{refused} of {read} rows refused, more than {max_refused:.1%}: "
                    "nothing imported"
                )
            if progress:
                progress("merging", 0, 1)
            merge_started = time.perf_counter()
            inserted, updated = _merge(conn, now or utcnow())
            merge_seconds = time.perf_counter() - merge_started
            _drop_staging(conn)
            if progress:
                progress("merging", 1, 1)
    finally:
        report.close()
    return ImportResult(
        read=read,
        refused=refused,
        inserted=inserted,
        updated=updated,
        unchanged=staged - len(duplicates) - inserted - updated,
        seconds=time.perf_counter() - started,
        merge_seconds=merge_seconds,
        report=report_path,
    )


def _validated(
    kind: RegistryKind,
    header: list[str],
    rows: Iterator[tuple[int, list[str]]],
    communities: dict[str, str],
    report: ReportWriter,
    total: int | None,
    progress: Progress | None,
    workers: int,
) -> Iterator[tuple[Any, ...]]:
    """The staging tuples of the good rows, each after its line; refused rows go to the report
    on the way. Keys seen twice are left to the database (`_duplicates`): memory stays flat."""
    done = 0
    width = len(header)
    for line, cells, parsed in checked_rows(kind, header, rows, communities, workers=workers):
        done += 1
        if progress and done % _PROGRESS_EVERY == 0:
            progress("reading", done, total)
        if isinstance(parsed, str):
            report.refuse(line, parsed, _padded(cells, width))
            continue
        yield (line, *parsed)
    if progress:
        progress("reading", done, done)


def _duplicates(conn: Connection) -> dict[int, str]:
    """Rows whose key an earlier good row of the file already has, as {line: reason}; they are
    taken out of staging, so the first row of each key is the one imported."""
    found = conn.exec_driver_sql(
        "SELECT line, natural_key, first FROM (SELECT line, natural_key, "
        f"min(line) OVER (PARTITION BY natural_key) AS first FROM {_STAGING}) d "
        "WHERE line > first ORDER BY line"
    ).all()
    if found:
        conn.exec_driver_sql(
            f"DELETE FROM {_STAGING} WHERE line IN (SELECT line FROM (SELECT line, "
            f"min(line) OVER (PARTITION BY natural_key) AS first FROM {_STAGING}) d "
            "WHERE line > first)"
        )
    return {int(line): f"duplicate key {key} (first at line {first})" for line, key, first in found}


def _report_duplicates(report_path: Path, table: TableRows, duplicates: dict[int, str]) -> None:
    """Adds the duplicate rows to the report, every row in line order as the file has them;
    both are streamed (a report of many bad rows costs no more memory than a short one)."""
    width = len(table.header)
    extra: Iterator[list[str]] = (
        [str(line), duplicates[line], *_padded(cells, width)]
        for line, cells in table.rows
        if line in duplicates
    )
    merged = report_path.with_name(report_path.name + ".part")
    try:
        with (
            report_path.open(newline="", encoding="utf-8-sig") as old,
            merged.open("w", newline="", encoding="utf-8-sig") as new,
        ):
            reported: Iterator[list[str]] = csv.reader(old)
            writer = csv.writer(new)
            writer.writerow(next(reported))
            in_order: Iterator[list[str]] = heapq.merge(reported, extra, key=_report_line)
            writer.writerows(in_order)
    except BaseException:  # the file became unreadable: the run fails, no half-written part
        merged.unlink(missing_ok=True)
        raise
    merged.replace(report_path)


def _report_line(row: list[str]) -> int:
    return int(row[0])


def _padded(cells: list[str], width: int) -> list[str]:
    """A short row as the report shows it: one cell per header column."""
    return cells if len(cells) >= width else [*cells, *[""] * (width - len(cells))]


def _create_staging(conn: Connection) -> None:
    float_type = "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "REAL"
    types = {"line": "INTEGER", "latitude": float_type, "longitude": float_type}
    columns = ", ".join(f"{c} {types.get(c, 'TEXT')}" for c in _STAGED)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"CREATE TEMP TABLE {_STAGING} ({columns}) ON COMMIT DROP")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_STAGING}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {_STAGING} ({columns})")


def _drop_staging(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":  # PostgreSQL drops it at commit
        conn.exec_driver_sql(f"DROP TABLE temp.{_STAGING}")


def _stage(conn: Connection, rows: Iterator[tuple[Any, ...]]) -> int:
    """Streams the rows into the staging table; returns how many."""
    count = 0
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {_STAGING} ({', '.join(_STAGED)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    insert = f"INSERT INTO {_STAGING} VALUES ({', '.join('?' * len(_STAGED))})"
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            conn.exec_driver_sql(insert, batch)
            count += len(batch)
            batch = []
    if batch:
        conn.exec_driver_sql(insert, batch)
        count += len(batch)
    return count


# What the registry stores: the same, with the community resolved from its name.
_STORED = tuple("community_id" if c == "community" else c for c in _COLUMNS)


def _merge(conn: Connection, now: datetime) -> tuple[int, int]:
    """One statement from staging into the registry; returns (inserted, updated)."""
    if conn.dialect.name == "postgresql" and (conn.dialect.server_version_info or (0,)) >= (15,):
        # Imports are the registry's only writers: one at a time (until commit), so MERGE
        # meets no race and the count below is this run's own.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        conn.exec_driver_sql(f"ANALYZE {_STAGING}")  # a temp table has no statistics
        merge = _pg_merge()
    else:  # SQLite (one writer at a time anyway), PostgreSQL before 15 (no MERGE)
        merge = _upsert(conn.dialect.name)
    count = sa.text("SELECT count(*) FROM registry_record")
    before = int(conn.execute(count).scalar_one())
    changed = conn.execute(merge.bindparams(sa.bindparam("now", type_=UTCDateTime())), {"now": now})
    inserted = int(conn.execute(count).scalar_one()) - before
    return inserted, changed.rowcount - inserted


# pg_advisory_xact_lock's key for registry imports (any constant no other lock uses).
_LOCK_KEY = 0x1E617E1  # "一表"
_SOURCE = (
    "s.kind, s.natural_key, s.name, s.phone, s.address, c.id AS community_id, s.latitude, "
    "s.longitude, s.source, s.source_key, {data} AS data, s.row_hash"
)
_FROM = f"FROM {_STAGING} s LEFT JOIN community c ON c.name = s.community"


def _pg_merge() -> sa.TextClause:
    """MERGE joins staging and registry set-wise (a hash join): about 2x faster than as many
    ON CONFLICT probes when most rows are already there, and plain inserts for new keys."""
    source = _SOURCE.format(data="CAST(s.data AS JSON)")
    changes = ", ".join(f"{c} = x.{c}" for c in _STORED[2:])
    return sa.text(
        f"MERGE INTO registry_record r USING (SELECT {source} {_FROM}) x "
        "ON r.kind = x.kind AND r.natural_key = x.natural_key "
        f"WHEN MATCHED AND r.row_hash <> x.row_hash THEN UPDATE SET {changes}, updated_at = :now "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(_STORED)}, imported_at, updated_at) "
        f"VALUES ({', '.join(f'x.{c}' for c in _STORED)}, :now, :now)"
    )


def _upsert(dialect: str) -> sa.TextClause:
    """INSERT … ON CONFLICT … WHERE changed: SQLite (and PostgreSQL before 15, which has no
    MERGE)."""
    source = _SOURCE.format(data="CAST(s.data AS JSON)" if dialect == "postgresql" else "s.data")
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*_STORED[2:], "updated_at"))
    return sa.text(
        f"INSERT INTO registry_record ({', '.join(_STORED)}, imported_at, updated_at) "
        f"SELECT {source}, :now, :now {_FROM} "
        # SQLite needs a WHERE before ON CONFLICT to tell the upsert from a join's ON.
        "WHERE true "
        f"ON CONFLICT (kind, natural_key) DO UPDATE SET {updates} "
        "WHERE registry_record.row_hash <> excluded.row_hash"
    )
