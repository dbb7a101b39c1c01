"""`luling import registry`: validation, exact refusal reports, all or nothing, idempotence."""

from __future__ import annotations

import csv
import random
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app
from schema.base import REFERENCE_COUNTY
from schema.registry import (
    RegistryKind,
    RegistryRecord,
    canonical_header,
    parse_row,
    row_checker,
)
from schema.services.registry_import import ImportResult, import_registry
from schema.services.registry_parse import checked_rows
from schema.services.tabular import open_table
from seed.registry_gen import HEADERS, generate_rows, write_registry
from tests import factories as f

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[2] / "seed" / "samples"
COMMUNITY = "泉塘社区"


def _import(database_url: str, kind: str, path: Path, *extra: str) -> Any:
    args = ["import", "registry", "--kind", kind, str(path), "--database-url", database_url]
    return runner.invoke(app, [*args, *extra])


def _snapshot(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(RegistryRecord.__table__).order_by("kind", "natural_key"))
        return [tuple(r) for r in rows]


def _refused_lines(report: Path) -> list[int]:
    with report.open(encoding="utf-8-sig", newline="") as fh:
        return [int(r["line"]) for r in csv.DictReader(fh)]


@pytest.mark.parametrize(
    ("kind", "suffix"), [("people", "csv"), ("houses", "xlsx"), ("enterprises", "csv")]
)
def test_import_reports_exactly_the_bad_rows_and_reruns_change_nothing(
    engine: sa.Engine, database_url: str, tmp_path: Path, kind: str, suffix: str
) -> None:
    community = f.community(engine, name=COMMUNITY)
    path = tmp_path / f"{kind}.{suffix}"
    made = write_registry(path, kind, 300, bad_fraction=0.1, seed=7, communities=[COMMUNITY])
    assert made.bad_lines  # the generator did spoil some rows
    first = _import(database_url, kind, path)
    assert first.exit_code == 0, first.output
    good = 300 - len(made.bad_lines)
    assert f"{good} inserted, 0 updated, 0 unchanged, {len(made.bad_lines)} refused" in " ".join(
        first.output.split()
    )
    report = path.with_name(path.name + ".refused.csv")
    assert _refused_lines(report) == made.bad_lines
    stored = _snapshot(engine)
    assert len(stored) == good
    with engine.connect() as conn:
        linked = conn.execute(
            sa.select(sa.func.count()).where(RegistryRecord.community_id == community.id)
        ).scalar_one()
    assert linked == good

    second = _import(database_url, kind, path)
    assert second.exit_code == 0, second.output
    assert "0 inserted, 0 updated" in second.output and "nothing changed" in second.output
    assert _snapshot(engine) == stored


def test_changed_rows_are_updated_and_new_keys_inserted(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    write_registry(path, "people", 50, seed=1)
    assert _import(database_url, "people", path).exit_code == 0
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][HEADERS["people"].index("姓名")] = "改名字"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows[:1] + rows[1:3])
    more = tmp_path / "more.csv"
    write_registry(more, "people", 60, seed=1)  # the same 50 rows and 10 new ones
    changed = _import(database_url, "people", path)
    assert "0 inserted, 1 updated, 1 unchanged" in " ".join(changed.output.split())
    grown = _import(database_url, "people", more)
    assert "10 inserted, 1 updated, 49 unchanged" in " ".join(grown.output.split())


def test_duplicate_keys_in_one_file_are_refused_after_the_first(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    write_registry(path, "people", 5, seed=3)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([*rows, rows[2]])
    result = _import(database_url, "people", path)
    assert result.exit_code == 0
    report = path.with_name(path.name + ".refused.csv").read_text(encoding="utf-8-sig")
    assert f"7,duplicate key {rows[2][3]} (first at line 3)" in report


def test_too_many_refused_rows_abort_and_change_nothing(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    base = tmp_path / "base.csv"
    write_registry(base, "enterprises", 40, seed=5)
    assert _import(database_url, "enterprises", base).exit_code == 0
    before = _snapshot(engine)
    later = tmp_path / "later.csv"
    made = write_registry(later, "enterprises", 80, bad_fraction=0.2, seed=5)
    result = _import(database_url, "enterprises", later, "--max-refused", "0.01")
    assert result.exit_code == 1 and "nothing imported" in result.output
    assert _snapshot(engine) == before
    assert _refused_lines(later.with_name(later.name + ".refused.csv")) == made.bad_lines


def test_a_file_that_breaks_midway_leaves_the_registry_as_it_was(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    write_registry(path, "people", 2000, seed=9)  # > 64 KiB before the bad bytes
    with path.open("ab") as fh:
        fh.write(b"\xff\xfe\xfa broken,\n")
    result = _import(database_url, "people", path)
    assert result.exit_code == 2 and "line" in result.output
    assert _snapshot(engine) == []


def test_unreadable_files_and_missing_columns_are_refused(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    fake_xlsx = tmp_path / "people.xlsx"
    fake_xlsx.write_text("not a workbook")
    assert _import(database_url, "people", fake_xlsx).exit_code == 2
    no_key = tmp_path / "people.csv"
    no_key.write_text("来源系统,来源编号,姓名\nA,1,张三\n", encoding="utf-8")
    result = _import(database_url, "people", no_key)
    assert result.exit_code == 2 and "missing column(s) id_number" in result.output
    assert _import(database_url, "cars", no_key).exit_code == 2


@pytest.mark.parametrize(
    ("kind", "sample", "bad_lines"),
    [
        ("people", "registry_people.csv", [11, 12]),
        ("houses", "registry_houses.csv", [2, 8]),
        ("enterprises", "registry_enterprises.xlsx", [11]),
    ],
)
def test_the_readme_samples_import_as_documented(
    engine: sa.Engine, database_url: str, tmp_path: Path, kind: str, sample: str, bad_lines: list
) -> None:
    for name in ("泉塘社区", "城南社区", "城北社区"):
        f.community(engine, name=name)
    path = tmp_path / sample
    path.write_bytes((SAMPLES / sample).read_bytes())
    result = _import(database_url, kind, path)
    assert result.exit_code == 0, result.output
    assert f"{12 - len(bad_lines)} inserted" in result.output
    assert _refused_lines(path.with_name(path.name + ".refused.csv")) == bad_lines


def test_worker_processes_check_rows_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    write_registry(path, "people", 120, bad_fraction=0.2, seed=11)
    table = open_table(path)
    header = [canonical_header(h) for h in table.header]
    rows = list(table.rows)
    here = list(checked_rows(RegistryKind.PERSON, header, rows, {}, workers=1, chunk=7))
    there = list(checked_rows(RegistryKind.PERSON, header, rows, {}, workers=2, chunk=7))
    assert there == here and len(here) == 120


def test_import_with_workers_reports_the_same(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    made = write_registry(path, "people", 200, bad_fraction=0.1, seed=12)
    result = _import(database_url, "people", path, "--workers", "2")
    assert result.exit_code == 0, result.output
    assert _refused_lines(path.with_name(path.name + ".refused.csv")) == made.bad_lines
    assert len(_snapshot(engine)) == 200 - len(made.bad_lines)


def test_two_imports_at_once_both_land(engine: sa.Engine, tmp_path: Path) -> None:
    """Two offices loading overlapping files at the same moment: both runs succeed, every key
    is stored once (PostgreSQL's MERGE would otherwise race on new keys)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers itself; the lock is PostgreSQL's")
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_registry(first, "people", 3000, seed=4)
    write_registry(second, "people", 4000, seed=4)  # the same 3,000 keys and 1,000 more
    barrier = threading.Barrier(2)
    results: dict[str, ImportResult] = {}

    def run(path: Path) -> None:
        barrier.wait()
        results[path.name] = import_registry(
            engine, RegistryKind.PERSON, path, path.with_suffix(".refused.csv")
        )

    threads = [threading.Thread(target=run, args=(p,)) for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["a.csv", "b.csv"]
    assert sum(r.inserted for r in results.values()) == 4000
    assert len(_snapshot(engine)) == 4000


@pytest.mark.parametrize("kind", list(RegistryKind))
def test_the_row_checker_reads_any_column_order_as_parse_row(kind: RegistryKind) -> None:
    """The importer's per-file checker and `parse_row` on a mapping agree, whatever the
    column order, with cells missing at a row's end and a column given twice (the last
    counts, as in a mapping built from the row)."""
    name = {"person": "people", "house": "houses", "enterprise": "enterprises"}[kind.value]
    header = [canonical_header(h) for h in HEADERS[name]]
    rows = list(generate_rows(name, 200, bad_fraction=0.3, seed=13, communities=[COMMUNITY]))
    rng = random.Random(13)
    for cells in rows:
        order = rng.sample(range(len(header)), len(header))
        cut = rng.choice([len(header), len(header) - 1, len(header) - 3])
        twice = rng.randrange(len(header))
        shuffled = [header[i] for i in order] + [header[twice]]
        moved = ([cells[i] for i in order] + [rng.choice(["", cells[twice], "x"])])[:cut]
        mapping = dict(zip(shuffled, [*moved, *[""] * (len(shuffled) - cut)], strict=True))
        verdict = row_checker(kind, shuffled, {COMMUNITY: REFERENCE_COUNTY})(moved)
        assert verdict == parse_row(kind, mapping, {COMMUNITY: REFERENCE_COUNTY})


def test_a_short_refused_row_is_reported_with_a_cell_per_column(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("来源系统,来源编号,姓名,身份证号,联系电话\nA,1,张三\n", encoding="utf-8")
    assert _import(database_url, "people", path).exit_code == 0
    with path.with_name(path.name + ".refused.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[1] == ["2", "id_number is required", "A", "1", "张三", "", ""]


def test_duplicates_are_reported_in_line_order_among_the_bad_rows(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    """The database finds keys seen twice; the report still lists every refused row once, in
    file order, and the first good row of each key is the one stored."""
    path = tmp_path / "people.csv"
    write_registry(path, "people", 20, seed=3)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    key = header.index("身份证号")
    spoiled = [*rows[7]]
    spoiled[header.index("姓名")] = ""  # bad: refused for its own reason, claims no key
    moved = [*rows[9]]
    moved[header.index("住址")] = "吉安县另一条路1号"
    lines = [rows[0], rows[1], rows[1], spoiled, rows[2], rows[7], rows[9], moved, rows[1]]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *lines])
    result = _import(database_url, "people", path)
    assert result.exit_code == 0, result.output
    assert "5 inserted, 0 updated, 0 unchanged, 4 refused" in " ".join(result.output.split())
    report = path.with_name(path.name + ".refused.csv")
    with report.open(encoding="utf-8-sig", newline="") as fh:
        refused = [(int(r["line"]), r["reason"], r["姓名"]) for r in csv.DictReader(fh)]
    assert refused == [
        (4, f"duplicate key {rows[1][key]} (first at line 3)", rows[1][2]),
        (5, "name is required", ""),
        (9, f"duplicate key {rows[9][key]} (first at line 8)", rows[9][2]),
        (10, f"duplicate key {rows[1][key]} (first at line 3)", rows[1][2]),
    ]
    with engine.connect() as conn:
        query = sa.select(RegistryRecord.natural_key, RegistryRecord.address)
        stored = {k: a for k, a in conn.execute(query)}
    assert sorted(stored) == sorted(rows[i][key] for i in (0, 1, 2, 7, 9))
    assert stored[rows[9][key]] == rows[9][header.index("住址")]


def test_a_name_with_a_direction_control_is_refused(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    """A registry name carrying U+202E would show as another name wherever it is listed."""
    path = tmp_path / "people.csv"
    path.write_text(
        "来源系统,来源编号,姓名,身份证号,联系电话\nA,1,张\u202e三,11010519491231002X,\n",
        encoding="utf-8",
    )
    assert _import(database_url, "people", path).exit_code == 0
    with path.with_name(path.name + ".refused.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert "text-direction" in rows[1][1]
    assert _snapshot(engine) == []
