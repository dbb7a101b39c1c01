"""Matching benchmark: Luling's solver vs a plain CP-SAT model vs greedy, on the same instances.

    python -m bench.matching [--json] [--scale N] [--no-scaled] [--seed S] [--cpsat-limit S]
                             [--tight] [--database-url URL]

Instances: "reference" (a synthetic county of 3,500 volunteers x 3,000 needs, or the open work
of a seeded database with --database-url once `matching.loader` exists), "<N>x" (a synthetic
county N times larger, default 10), and with --tight a reference county whose weekly hours are
halved (hours budgets bind hard). Every method runs in this process on the same instance and is
scored by the same evaluator. Peak memory is the process's peak RSS while the method ran (reset
before each method through /proc/self/clear_refs), with the growth over the RSS it started from
in brackets; where /proc is unavailable, tracemalloc's peak of Python allocations instead.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import json
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from matching.baselines import BaselineResult, cpsat_plain, greedy
from matching.problem import Problem
from matching.result import Result
from matching.solver import solve
from matching.synthetic import make_instance

REFERENCE = (3500, 3000)


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

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "objective": self.objective,
            "bound": self.bound,
            "gap": None if self.gap is None else round(self.gap, 6),
            "optimal": self.optimal,
            "seats_filled": self.seats_filled,
            "urgent_coverage": round(self.urgent_coverage, 4),
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


def _measure(fn: Callable[[], Result | BaselineResult]) -> Run:
    with peak_memory() as peak:
        started = time.perf_counter()
        r = fn()
        wall = time.perf_counter() - started
    if isinstance(r, Result):
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
    )


def _from_database(url: str) -> Problem | None:
    """The open work of a seeded database, through `matching.loader` (imported lazily: the
    benchmark runs without a database or the loader's dependencies)."""
    if importlib.util.find_spec("matching.loader") is None:
        print("matching.loader is not available: using the synthetic reference", file=sys.stderr)
        return None
    import sqlalchemy as sa

    loader = importlib.import_module("matching.loader")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return loader.load_problem(conn).problem
    finally:
        engine.dispose()


def _instances(args: argparse.Namespace) -> Iterator[tuple[str, Problem]]:
    seeded = _from_database(args.database_url) if args.database_url else None
    if seeded is not None:
        yield "reference-db", seeded
    else:
        yield "reference", make_instance(*REFERENCE, seed=args.seed)
    if args.tight:
        yield "reference-tight-hours", make_instance(*REFERENCE, seed=args.seed, capacity_scale=0.5)
    if args.scale and args.scale > 1:
        v, n = REFERENCE[0] * args.scale, REFERENCE[1] * args.scale
        yield f"{args.scale}x", make_instance(v, n, seed=args.seed)


def run_instance(name: str, problem: Problem, args: argparse.Namespace) -> dict[str, Any]:
    # Plain CP-SAT last: the memory it frees is not all returned to the system.
    luling = _measure(lambda: solve(problem, time_limit_s=args.time_limit))
    base = _measure(lambda: greedy(problem))
    plain = _measure(lambda: cpsat_plain(problem, time_limit_s=args.cpsat_limit))
    reached = next((t for t, obj in plain.trace if obj <= luling.objective), None)
    return {
        "name": name,
        "volunteers": len(problem.volunteers),
        "needs": len(problem.needs),
        "luling": luling,
        "cpsat_plain": plain,
        "greedy": base,
        "cpsat_time_to_luling": reached,
        "cpsat_over_luling": plain.objective / max(1, luling.objective),
        "greedy_over_luling": base.objective / max(1, luling.objective),
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
    ]
    lines: list[list[str]] = []
    notes: list[str] = []
    for row in rows:
        for method in ("luling", "cpsat_plain", "greedy"):
            r: Run = row[method]
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
                ]
            )
        reached = row["cpsat_time_to_luling"]
        notes.append(
            f"{row['name']}: plain CP-SAT "
            + (
                f"reached Luling's objective after {reached:.1f} s"
                if reached is not None
                else "never reached Luling's objective; at its limit "
                f"{row['cpsat_over_luling']:.3f}x Luling's"
            )
            + f"; greedy / Luling objective = {row['greedy_over_luling']:.3f}"
        )
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Matching: Luling vs plain CP-SAT vs greedy (objective = cost)")
        for h in header:
            table.add_column(h, justify="left" if h in ("instance", "method") else "right")
        for line in lines:
            table.add_row(*line)
        console = Console(width=160)
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
    p.add_argument("--database-url", default=None, help="load the reference from a seeded database")
    args = p.parse_args(argv)
    if args.no_scaled:
        args.scale = 0
    rows = [run_instance(name, problem, args) for name, problem in _instances(args)]
    if args.json:
        out = {
            "instances": [
                {
                    "name": r["name"],
                    "volunteers": r["volunteers"],
                    "needs": r["needs"],
                    "luling": r["luling"].as_json(),
                    "cpsat_plain": r["cpsat_plain"].as_json(),
                    "greedy": r["greedy"].as_json(),
                }
                for r in rows
            ]
        }
        print(json.dumps(out))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
