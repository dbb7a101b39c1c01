"""The public reads at province size, before and after: `countyStats` and
`volunteerOpportunities` over a seeded province, served by a baseline revision's code (default
`main`) and by this checkout's, side by side in one run.

    python -m bench.province_reads --reuse luling_province20      # a province seeded at 0018
    python -m bench.province_reads --counties 20 [--keep]         # seeds one first (slow)

The baseline's code is taken with `git archive REF` into a temporary folder; it serves the
province database as seeded (its own migrations), and this checkout serves a copy of it
(`CREATE DATABASE … TEMPLATE`, then its migrations, e.g. 0019's indexes). One client sends each
query to one server then the other, alternating which goes first, so both see the same load;
it prints p50/p90 per query and server and the ratio of the medians. Queries only this
checkout knows (`countyStats(county:)`) are sent to it alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.api import SECRET, coordinator_token, free_port
from bench.api_queries import COUNTY_STATS, OPPORTUNITIES
from bench.province import LULING, NOW, Spawned, _admin, drop_database, log, wait_http

ROOT = Path(__file__).resolve().parent.parent

ARTICLE_YEAR = """query Year($from: DateTime, $to: DateTime) {
  countyStats(reportedFrom: $from, reportedTo: $to) {
    pairedUnits partyMembers cadres enterpriseHelpers urbanGrids ruralGrids compounds
    serviceStations villageVenues elderCareSites propertyCompanies redPropertySites
    volunteerTeams antActionRiders foodSafetyMonitors liveStreamers liveStreamSalesYuan
    enterpriseRequests teamProblemsSolved hotlineTickets sentinelSuggestions consultations
    disputesSettled volunteerActivities volunteerPersonTimes } }"""
YEAR = {"from": "2025-11-28T00:00:00Z", "to": "2026-11-28T00:00:00Z"}
ONE_COUNTY = """query Stats($county: String) { countyStats(county: $county) { pairedUnits
  partyMembers urbanGrids ruralGrids serviceStations enterpriseHelpers volunteerTeams
  enterpriseRequests } }"""
ONE_COUNTY_YEAR = ARTICLE_YEAR.replace(
    "countyStats(reportedFrom: $from, reportedTo: $to)",
    "countyStats(reportedFrom: $from, reportedTo: $to, county: $county)",
).replace("$to: DateTime)", "$to: DateTime, $county: String)")

SECOND = {"county": "吉安县-2"}

# (name, query, variables, sent to the baseline too)
QUERIES: list[tuple[str, str, dict[str, Any], bool]] = [
    ("countyStats (the bench mix's 8 figures)", COUNTY_STATS, {}, True),
    ("countyStats, the article's year (all 25)", ARTICLE_YEAR, YEAR, True),
    ("countyStats(county: 吉安县-2), 8 figures", ONE_COUNTY, SECOND, False),
    (
        "countyStats(county: 吉安县-2), the year",
        ONE_COUNTY_YEAR,
        YEAR | {"county": "吉安县-2"},
        False,
    ),
    ("volunteerOpportunities near, 5 km", OPPORTUNITIES, {"lat": 27.06, "lon": 114.92}, True),
]


def baseline_tree(ref: str, folder: Path) -> Path:
    """The baseline's files, as committed at `ref`."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


class Served(Spawned):
    """`luling serve` from the code in `code` (run there: nothing of this checkout imported)."""

    def __init__(self, code: Path, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                [*LULING, *args], env=env, cwd=code, stdout=out, stderr=subprocess.STDOUT
            )


def serve(code: Path, url: str, log_path: Path) -> tuple[Spawned, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LULING_SECRET_KEY": SECRET,
        "LULING_COST_BUDGET_PER_MINUTE": "100000000",
        "LULING_SEED_ON_EMPTY": "false",
        "LULING_CLOCK_SECONDS": "0",
        "LULING_LOG_LEVEL": "WARNING",
        "LULING_LOG_JSON": "false",
        "PYTHONPATH": str(code),
    }
    port = free_port()
    server = Served(code, ["serve", "--port", str(port), "--no-seed-if-empty"], env, log_path)
    return server, f"http://127.0.0.1:{port}"


def analyze(url: str) -> str:
    """The planner's statistics, as autovacuum would gather them; the database's revision."""
    engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return str(revision)


def timed(client: httpx.Client, url: str, query: str, variables: dict[str, Any]) -> float:
    t = time.perf_counter()
    r = client.post(f"{url}/graphql", json={"query": query, "variables": variables})
    took = time.perf_counter() - t
    body = r.json()
    if r.status_code != 200 or "errors" in body:
        raise SystemExit(f"{url}: {r.status_code} {str(body)[:400]}")
    return took


def measure(urls: dict[str, str], token: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {name: {} for name, *_ in QUERIES}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=600, headers=headers) as client:
        for name, query, variables, both in QUERIES:
            sides = ["before", "after"] if both else ["after"]
            for side in sides:  # warm up: plans, caches, connections
                timed(client, urls[side], query, variables)
            for i in range(rounds):
                for side in sides if i % 2 == 0 else sides[::-1]:
                    took = timed(client, urls[side], query, variables)
                    out[name].setdefault(side, []).append(took)
            log(f"{name}: done")
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(figures: dict[str, dict[str, list[float]]], ref: str, revisions: list[str]) -> None:
    print(f"before: {ref}'s code on the database at {revisions[0]}; after: this checkout's on a")
    print(f"copy at {revisions[1]}")
    print(f"| query | {ref}: p50 / p90 ms | this branch: p50 / p90 ms | before / after (p50) |")
    print("| --- | --- | --- | --- |")
    for name, sides in figures.items():
        after = sides["after"]
        a = f"{1000 * statistics.median(after):,.1f} / {_p(after, 0.9):,.1f}"
        if "before" in sides:
            before = sides["before"]
            b = f"{1000 * statistics.median(before):,.1f} / {_p(before, 0.9):,.1f}"
            ratio = f"{statistics.median(before) / statistics.median(after):,.1f}x"
        else:
            b, ratio = "(no such argument)", ""
        print(f"| {name} | {b} | {a} | {ratio} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="the PostgreSQL server (its database name is ignored)",
    )
    parser.add_argument(
        "--reuse", metavar="NAME", help="a province database seeded at the baseline"
    )
    parser.add_argument("--counties", type=int, default=20, help="without --reuse: seed this many")
    parser.add_argument("--baseline", default="main", help="git revision of the 'before' code")
    parser.add_argument("--rounds", type=int, default=20, help="requests per query and server")
    parser.add_argument("--keep", action="store_true", help="keep the databases made here")
    args = parser.parse_args()

    base = make_url(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="province_reads_"))
    code = baseline_tree(args.baseline, work / "baseline")
    name = args.reuse or f"province_reads_{os.getpid()}"
    copy = f"{name}_after"
    url = base.set(database=name).render_as_string(hide_password=False)
    copy_url = base.set(database=copy).render_as_string(hide_password=False)
    made = [] if args.reuse else [name]
    if not args.reuse:
        _admin(args.database_url, f'CREATE DATABASE "{name}"')
        log(f"seeding {args.counties} counties into {name} with {args.baseline}'s code")
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(code)}
        seed = ["seed", "--counties", str(args.counties), "--now", NOW]
        subprocess.run([sys.executable, "-c", "from api.cli import app; app()", *seed],
                       cwd=code, env=env, check=True)  # fmt: skip
    _admin(args.database_url, f'DROP DATABASE IF EXISTS "{copy}"',
           f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')  # fmt: skip
    made.append(copy)
    servers: list[Spawned] = []
    try:
        before, before_url = serve(code, url, work / "before.log")
        servers.append(before)
        after, after_url = serve(ROOT, copy_url, work / "after.log")  # migrates the copy
        servers.append(after)
        wait_http(before_url, before, timeout=600)
        wait_http(after_url, after, timeout=1800)
        revisions = [analyze(database_url) for database_url in (url, copy_url)]
        log(f"databases at revisions {revisions[0]} (before) and {revisions[1]} (after)")
        token = coordinator_token(url)[0]
        figures = measure({"before": before_url, "after": after_url}, token, args.rounds)
        report(figures, args.baseline, revisions)
    finally:
        for server in servers:
            server.stop()
        if not args.keep:
            for database in made:
                drop_database(args.database_url, database)


if __name__ == "__main__":
    main()
