"""Matching benchmark: Luling's solver vs a plain CP-SAT model vs greedy, on the same instances.

    python -m bench.matching [--json] [--scale N] [--no-scaled] [--no-county] [--seed S]
                             [--cpsat-limit S] [--tight] [--database-url URL] [--wall-clock]
                             [--now ISO]
                             [--exact] [--exact-limit S] [--no-cpsat] [--no-synthetic]
                             [--scaled-only] [--clusters] [--cluster-workers N]

Instances:
- "reference-county": the open work of the seeded reference county (吉安县), as `luling match`
  sees it: `schema.services.matching.loader.load_problem` over a database loaded by
  `seed.load.load_reference`.
  By default a temporary SQLite database is seeded for the run (in a child process, so that the
  generator's memory does not count against the methods); `--database-url` points at a database
  that is already seeded instead. The county is anchored at, and the problem taken at, the
  seed's "now" (REFERENCE_NOW, or `--now ISO`), so runs are repeatable whatever the clock
  says; `--wall-clock` takes it at the current time, as a matching job would. Loading
  (database -> Problem) is timed separately and not part of any method's time; each method's
  time includes candidate generation and model building.
- "synthetic-3500x3000": a synthetic county of 3,500 volunteers x 3,000 needs
  (`matching.synthetic`).
- "synthetic-<N>x": a synthetic county N times larger (default 10).
- with --tight, "synthetic-3500x3000-tight-hours": the synthetic county with weekly hours halved
  (hours budgets bind hard).

With --clusters, Luling runs twice on every instance: whole (however large), then decomposed
into community clusters (`matching.clusters`, however small); `--scaled-only` runs the scaled
county alone (with greedy).

With --exact, HiGHS solves each instance but the scaled one over every feasible pair
(`bench.matching_exact`, in a child process, single thread, under --exact-limit seconds) and a
second table puts its proven optimum (or best answer and bound) beside Luling's objective,
claimed bound and true gap.

Every method runs in this process on the same instance and is scored by the same evaluator, which
also counts overlapping visits and visits outside their windows (both must be 0). Peak
memory is the process's peak RSS while the method ran (reset before each method through
/proc/self/clear_refs), with the growth over the RSS it started from in brackets; where /proc is
unavailable, tracemalloc's peak of Python allocations instead.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import multiprocessing
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.matching_exact import ExactResult, other_parts, solve_exact_in_child
from matching.arrays import build_arrays
from matching.baselines import BaselineResult, cpsat_plain, greedy
from matching.evaluate import evaluate
from matching.problem import Problem
from matching.result import Result
from matching.solver import solve
from matching.synthetic import make_instance

REFERENCE = (3500, 3000)
SYNTHETIC = f"synthetic-{REFERENCE[0]}x{REFERENCE[1]}"
COUNTY = "reference-county"


@dataclass
class Run:
    seconds: float
    objective: int
    bound: int | None
    gap: float | None
    optimal: bool
    seats_filled: int
    seats_total: int
    urgent_coverage: float
    violations: int
    peak_mb: float
    growth_mb: float
    trace: tuple[tuple[float, int], ...] = ()
    found: bool = True
    overlaps: int = 0
    outside_window: int = 0
    stages: tuple[tuple[str, int], ...] = ()
    polished: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "objective": self.objective,
            "bound": self.bound,
            "gap": None if self.gap is None else round(self.gap, 6),
            "optimal": self.optimal,
            "seats_filled": self.seats_filled,
            "seats_total": self.seats_total,
            "urgent_coverage": round(self.urgent_coverage, 4),
            "violations": self.violations,
            "overlaps": self.overlaps,
            "outside_window": self.outside_window,
            "peak_mb": round(self.peak_mb, 1),
            "stages": dict(self.stages),
            "polished": self.polished,
        }


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


@contextlib.contextmanager
def peak_memory() -> Iterator[list[float]]:
    """Yields a list that receives (peak MB, growth MB) of the block."""
    out: list[float] = []
    gc.collect()
    reset = False
    start_kb = _status_kb("VmRSS") or 0
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        reset = _status_kb("VmHWM") is not None
    except OSError:
        pass
    if not reset:
        tracemalloc.start()
    try:
        yield out
    finally:
        if reset:
            peak = (_status_kb("VmHWM") or 0) / 1024
            out += [peak, peak - start_kb / 1024]
        else:
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            out += [peak, peak]
            tracemalloc.stop()


def _time_counts(problem: Problem, r: Result) -> tuple[int, int]:
    """Overlaps and visits outside windows of Luling's booked slots, by the evaluator."""
    ev = evaluate(
        problem,
        [(a.need_id, a.volunteer_id) for a in r.assignments],
        arrays=build_arrays(problem),
        slots={
            (a.need_id, a.volunteer_id): (a.slot_start, a.slot_end)
            for a in r.assignments
            if a.slot_start is not None and a.slot_end is not None
        },
    )
    return ev.overlaps, ev.outside_window


def _measure(fn: Callable[[], Result | BaselineResult], problem: Problem) -> Run:
    with peak_memory() as peak:
        started = time.perf_counter()
        r = fn()
        wall = time.perf_counter() - started
    if isinstance(r, Result):
        overlaps, outside = _time_counts(problem, r)
        return Run(
            wall,
            r.objective,
            r.bound,
            r.gap,
            r.optimal,
            r.stats.seats_filled,
            r.stats.seats_total,
            r.stats.urgent_coverage,
            len(r.violations),
            *peak,
            overlaps=overlaps,
            outside_window=outside,
            stages=r.stats.stages,
            polished=r.stats.polished,
        )
    return Run(
        wall,
        r.objective,
        r.bound,
        r.gap,
        r.optimal,
        r.seats_filled,
        r.seats_total,
        r.urgent_coverage,
        len(r.violations),
        *peak,
        r.trace,
        r.found_solution,
        overlaps=r.overlaps,
        outside_window=r.outside_window,
    )


@dataclass(frozen=True)
class Instance:
    name: str
    problem: Problem
    load_seconds: float | None = None  # database -> Problem, not part of any method's time
    seed_seconds: float | None = None  # seeding the temporary database, if the bench did
    exact: bool = True  # small enough for the exact peer


def _seed_database(url: str, now: datetime) -> None:
    """Migrate an empty database and load the reference county (run in a child process)."""
    from schema.db import make_engine
    from schema.migrate import upgrade
    from seed.load import load_reference

    upgrade(url)
    engine = make_engine(url)
    try:
        load_reference(engine, reset=False, now=now)
    finally:
        engine.dispose()


def seed_temporary_database(directory: Path, now: datetime) -> str:
    """A SQLite database in `directory` holding the reference county anchored at `now`; returns
    its URL."""
    url = f"sqlite:///{directory / 'reference-county.db'}"
    child = multiprocessing.get_context("spawn").Process(target=_seed_database, args=(url, now))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"seeding the reference county failed (exit code {child.exitcode})")
    return url


def _iso_time(text: str) -> datetime:
    from schema.base import aware

    return aware(datetime.fromisoformat(text))


def load_county(url: str, now: datetime | None) -> tuple[Problem, float]:
    """The county's open work through the job service's loader, as a matching job loads it; returns
    the problem and the seconds loading took."""
    from schema.db import make_engine
    from schema.services.matching.loader import load_problem

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            started = time.perf_counter()
            problem = load_problem(conn, now=now).problem
            return problem, time.perf_counter() - started
    finally:
        engine.dispose()


def county_instance(args: argparse.Namespace) -> Instance:
    from seed.figures import REFERENCE_NOW

    anchor = args.now or REFERENCE_NOW
    now = None if args.wall_clock else anchor
    if args.database_url:
        problem, loaded = load_county(args.database_url, now)
        return Instance(COUNTY, problem, loaded)
    with tempfile.TemporaryDirectory(prefix="luling-bench-") as tmp:
        started = time.perf_counter()
        url = seed_temporary_database(Path(tmp), anchor)
        seeded = time.perf_counter() - started
        problem, loaded = load_county(url, now)
    return Instance(COUNTY, problem, loaded, seeded)


def _instances(args: argparse.Namespace) -> Iterator[Instance]:
    if not args.no_county:
        county = county_instance(args)
        if not county.problem.needs:
            print(f"{COUNTY}: the database holds no open needs to match", file=sys.stderr)
        yield county
    if not args.no_synthetic:
        yield Instance(SYNTHETIC, make_instance(*REFERENCE, seed=args.seed))
    if args.tight:
        yield Instance(
            f"{SYNTHETIC}-tight-hours",
            make_instance(*REFERENCE, seed=args.seed, capacity_scale=0.5),
        )
    if args.scale and args.scale > 1:
        v, n = REFERENCE[0] * args.scale, REFERENCE[1] * args.scale
        yield Instance(f"synthetic-{args.scale}x", make_instance(v, n, seed=args.seed), exact=False)


def run_instance(instance: Instance, args: argparse.Namespace) -> dict[str, Any]:
    problem = instance.problem
    # Plain CP-SAT last: the memory it frees is not all returned to the system.
    result: list[Result] = []

    def luling_solve() -> Result:
        whole = {"decompose_above": 2**62} if args.clusters else {}  # both: whole, then clusters
        result.append(solve(problem, time_limit_s=args.time_limit, **whole))
        return result[-1]

    luling = _measure(luling_solve, problem)
    clustered = (
        _measure(
            lambda: solve(
                problem,
                time_limit_s=args.time_limit,
                decompose_above=0,
                workers=args.cluster_workers,
            ),
            problem,
        )
        if args.clusters
        else None
    )
    base = _measure(lambda: greedy(problem), problem)
    plain = (
        None
        if args.no_cpsat
        else _measure(lambda: cpsat_plain(problem, time_limit_s=args.cpsat_limit), problem)
    )
    reached = (
        None if plain is None else next((t for t, o in plain.trace if o <= luling.objective), None)
    )
    exact = None
    if args.exact and instance.exact:
        exact = solve_exact_in_child(
            problem, other_parts(result[-1]), time_limit_s=args.exact_limit
        )
    return {
        "name": instance.name,
        "volunteers": len(problem.volunteers),
        "needs": len(problem.needs),
        "load_seconds": instance.load_seconds,
        "seed_seconds": instance.seed_seconds,
        "luling": luling,
        "luling_clusters": clustered,
        "cpsat_plain": plain,
        "greedy": base,
        "cpsat_time_to_luling": reached,
        "cpsat_over_luling": None if plain is None else plain.objective / max(1, luling.objective),
        "greedy_over_luling": base.objective / max(1, luling.objective),
        "exact": exact,
    }


def _fmt(x: float | int | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = [
        "instance",
        "method",
        "time s",
        "objective",
        "bound",
        "gap",
        "seats",
        "urgent cov",
        "peak MB (+growth)",
        "violations",
        "overlaps",
        "past window",
    ]
    lines: list[list[str]] = []
    notes: list[str] = []
    for row in rows:
        for method in ("luling", "luling_clusters", "cpsat_plain", "greedy"):
            r: Run | None = row[method]
            if r is None:
                continue
            lines.append(
                [
                    f"{row['name']} ({row['volunteers']}x{row['needs']})",
                    method,
                    f"{r.seconds:.2f}",
                    f"{r.objective:,}"
                    if r.found or method != "cpsat_plain"
                    else f"{r.objective:,} (empty)",
                    _fmt(r.bound, ","),
                    _fmt(None if r.gap is None else 100 * r.gap, ".3f")
                    + ("%" if r.gap is not None else ""),
                    f"{r.seats_filled}/{r.seats_total}",
                    f"{r.urgent_coverage:.3f}",
                    f"{r.peak_mb:.0f} (+{r.growth_mb:.0f})",
                    str(r.violations),
                    str(r.overlaps),
                    str(r.outside_window),
                ]
            )
        reached = row["cpsat_time_to_luling"]
        plain_note = (
            "plain CP-SAT not run; "
            if row["cpsat_plain"] is None
            else "plain CP-SAT "
            + (
                f"reached Luling's objective after {reached:.1f} s; "
                if reached is not None
                else "never reached Luling's objective; at its limit "
                f"{row['cpsat_over_luling']:.3f}x Luling's; "
            )
        )
        luling_run: Run = row["luling"]
        stages = ", ".join(f"{k} {v:,}" for k, v in luling_run.stages)
        notes.append(
            f"{row['name']}: {plain_note}greedy / Luling objective = "
            f"{row['greedy_over_luling']:.3f}; Luling's stages: {stages}; "
            f"polished: {'yes' if luling_run.polished else 'no'}"
        )
        if row["luling_clusters"] is not None:
            stages = ", ".join(f"{k} {v:,}" for k, v in row["luling_clusters"].stages)
            notes.append(f"{row['name']}: Luling in clusters, stages: {stages}")
        if row["load_seconds"] is not None:
            seeded = row["seed_seconds"]
            notes.append(
                f"{row['name']}: loaded from the database in {row['load_seconds']:.2f} s "
                "(not in the methods' times)"
                + (f"; seeding the temporary database took {seeded:.1f} s" if seeded else "")
            )
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Matching: Luling vs plain CP-SAT vs greedy (objective = cost)")
        for h in header:
            table.add_column(h, justify="left" if h in ("instance", "method") else "right")
        for line in lines:
            table.add_row(*line)
        console = Console(width=180)
        console.print(table)
        for note in notes:
            console.print(note)
    except ImportError:
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for line in lines:
            print("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)))
        for note in notes:
            print(note)


def exact_lines(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Luling's claimed gap beside the true one (against HiGHS's optimum, or its bound)."""
    lines = []
    for row in rows:
        e: ExactResult | None = row["exact"]
        if e is None:
            continue
        r: Run = row["luling"]
        if e.proven and e.objective is not None:
            peer = f"{e.objective:,} (optimum, {e.seconds:.0f} s)"
            true_gap = f"{100 * (r.objective - e.objective) / max(1, r.objective):.3f}%"
        elif e.bound is not None:
            best = "-" if e.objective is None else f"{e.objective:,}"
            peer = f"best {best}, bound {e.bound:,} (limit, {e.seconds:.0f} s)"
            true_gap = f"<= {100 * (r.objective - e.bound) / max(1, r.objective):.3f}%"
        else:
            peer, true_gap = f"no bound within the limit ({e.seconds:.0f} s)", "-"
        lines.append(
            [
                row["name"],
                f"{e.pairs:,}",
                f"{r.objective:,}",
                f"{r.bound:,} ({100 * (r.gap or 0):.3f}%)",
                peer,
                true_gap,
                f"{e.cuts}",
            ]
        )
    return lines


EXACT_HEADER = [
    "instance",
    "feasible pairs",
    "Luling objective",
    "claimed bound (gap)",
    "HiGHS",
    "true gap",
    "cuts",
]


def print_exact(rows: list[dict[str, Any]]) -> None:
    lines = exact_lines(rows)
    if not lines:
        return
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Exact peer: HiGHS over every feasible pair")
        for h in EXACT_HEADER:
            table.add_column(h, justify="left" if h == "instance" else "right")
        for line in lines:
            table.add_row(*line)
        Console(width=180).print(table)
    except ImportError:
        for line in [EXACT_HEADER, *lines]:
            print(" | ".join(line))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--scale", type=int, default=10, help="size of the scaled county (default 10)")
    p.add_argument("--no-scaled", action="store_true", help="skip the scaled county")
    p.add_argument(
        "--tight", action="store_true", help="add a reference county with half the hours"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cpsat-limit", type=float, default=30.0, help="plain CP-SAT time limit (s)")
    p.add_argument("--time-limit", type=float, default=10.0, help="Luling's time limit (s)")
    p.add_argument(
        "--database-url",
        default=None,
        help="take the reference county from this seeded database (default: seed a temporary "
        "SQLite database)",
    )
    p.add_argument("--no-county", action="store_true", help="skip the reference county")
    p.add_argument(
        "--now",
        type=_iso_time,
        default=None,
        help="anchor the reference county at this time (ISO 8601; default: the seed's fixed "
        "reference now) and take its open work then; the same --now gives the same instance",
    )
    p.add_argument(
        "--exact",
        action="store_true",
        help="also solve each instance (but the scaled one) exactly with HiGHS",
    )
    p.add_argument(
        "--exact-limit", type=float, default=600.0, help="HiGHS time limit per instance (s)"
    )
    p.add_argument("--no-cpsat", action="store_true", help="skip the plain CP-SAT baseline")
    p.add_argument("--no-synthetic", action="store_true", help="skip the synthetic county")
    p.add_argument(
        "--scaled-only",
        action="store_true",
        help="only the scaled county (no county, synthetic, tight or plain CP-SAT)",
    )
    p.add_argument(
        "--clusters",
        action="store_true",
        help="Luling twice: whole (never decomposed), then in community clusters (always)",
    )
    p.add_argument(
        "--cluster-workers",
        type=int,
        default=1,
        help="with --clusters: processes solving clusters at once (default 1; their memory is "
        "not in the peak column)",
    )
    p.add_argument(
        "--wall-clock",
        action="store_true",
        help="take the county's open work at the current time, not the seed's reference now",
    )
    args = p.parse_args(argv)
    if args.scaled_only:
        args.no_county = args.no_synthetic = args.no_cpsat = True
        args.tight = False
    if args.no_scaled:
        args.scale = 0
    rows = [run_instance(instance, args) for instance in _instances(args)]
    if args.json:
        out = {
            "instances": [
                {
                    "name": r["name"],
                    "volunteers": r["volunteers"],
                    "needs": r["needs"],
                    "load_seconds": None
                    if r["load_seconds"] is None
                    else round(r["load_seconds"], 3),
                    "luling": r["luling"].as_json(),
                    "luling_clusters": None
                    if r["luling_clusters"] is None
                    else r["luling_clusters"].as_json(),
                    "cpsat_plain": None if r["cpsat_plain"] is None else r["cpsat_plain"].as_json(),
                    "greedy": r["greedy"].as_json(),
                    "exact": None if r["exact"] is None else dataclasses.asdict(r["exact"]),
                }
                for r in rows
            ]
        }
        print(json.dumps(out))
    else:
        print_table(rows)
        print_exact(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
