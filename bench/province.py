"""A province on the job queue: N counties seeded into a fresh PostgreSQL database, matched as one
province job (one part per county) by 1, 2 and 4 `luling worker` processes, while another
process times the API (`luling serve`) on a fixed query mix.

    python -m bench.province [--counties 20] [--workers 1,2,4] [--time-limit 5]
                             [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Prints, per worker count: wall time, counties/minute and the speed-up over one worker, each
worker's peak memory (RSS of its process tree: the worker, its forkserver and the solving child),
and the API's p50/p99 idle and during the solve; then each county's gap, time and candidate
pairs per run, and the extrapolation to 100 counties on K machines. The database
(`province_bench_<pid>`) is dropped at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.api import SECRET, coordinator_token, free_port
from bench.api_queries import COMMUNITIES, COUNTY_STATS, OPPORTUNITIES

ROOT = Path(__file__).resolve().parents[1]
LULING = [sys.executable, "-c", "from api.cli import app; app()"]
NOW = "2026-11-28T08:00+08:00"
REDIS_URL = os.environ.get("LULING_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# The fixed mix (as a coordinator): headline figures, a page of communities, opportunities near
# a point.
MIX: list[tuple[str, str, dict[str, Any]]] = [
    ("countyStats", COUNTY_STATS, {}),
    ("communities", COMMUNITIES, {}),
    ("opportunities", OPPORTUNITIES, {"lat": 27.06, "lon": 114.92}),
]
PROBE_INTERVAL_S = 0.05


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ database


def _admin(base_url: str, *statements: str) -> None:
    """Run statements on the server's `postgres` database, outside a transaction."""
    admin = sa.create_engine(
        make_url(base_url).set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    admin.dispose()


def fresh_database(base_url: str, name: str) -> str:
    _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str, name: str) -> None:
    _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------ processes


class Spawned:
    """One `luling …` process with its log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                [*LULING, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        out.setdefault(ppid, []).append(int(entry))
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Samples each worker's process tree (worker, forkserver, solving child) and keeps the
    peak of its total RSS."""

    def __init__(self, pids: list[int], every: float = 0.25) -> None:
        self.pids = pids
        self.peak_kb = dict.fromkeys(pids, 0)
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            children = _children()
            for pid in self.pids:
                tree, todo = [], [pid]
                while todo:
                    p = todo.pop()
                    tree.append(p)
                    todo.extend(children.get(p, ()))
                total = sum(_rss_kb(p) for p in tree)
                self.peak_kb[pid] = max(self.peak_kb[pid], total)
            self._stop.wait(self.every)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak_kb


def wait_http(url: str, server: Spawned, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            raise SystemExit(f"luling serve stopped:\n{server.log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("luling serve did not come up")


def wait_workers(engine: sa.Engine, n: int, timeout: float = 120) -> None:
    query = sa.text(
        "SELECT count(*) FROM procrastinate_workers "
        "WHERE last_heartbeat > now() - interval '5 seconds'"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if int(conn.execute(query).scalar_one()) >= n:
                return
        time.sleep(0.2)
    raise SystemExit(f"{n} workers did not register")


# ------------------------------------------------------------------ the API probe


def probe(url: str, token: str, stop: Any, out: Any) -> None:
    """In another process: the fixed mix, one request every PROBE_INTERVAL_S, until `stop`."""
    import httpx

    latencies: list[float] = []
    by_query: dict[str, list[float]] = {name: [] for name, _, _ in MIX}
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=60, headers=headers) as client:
        for _, query, variables in MIX * 3:  # warm up: plans, caches, connections
            client.post(f"{url}/graphql", json={"query": query, "variables": variables})
        out.put("ready")
        i = 0
        while not stop.is_set():
            name, query, variables = MIX[i % len(MIX)]
            i += 1
            t = time.perf_counter()
            try:
                r = client.post(f"{url}/graphql", json={"query": query, "variables": variables})
                problem = None if r.status_code == 200 and "errors" not in r.json() else r.text
            except httpx.HTTPError as exc:
                problem = repr(exc)
            latencies.append(time.perf_counter() - t)
            by_query[name].append(latencies[-1])
            if problem is not None:
                errors.append(f"{name}: {problem[:200]}")
            stop.wait(PROBE_INTERVAL_S)
    medians = {k: round(1000 * statistics.median(v), 1) for k, v in by_query.items() if v}
    out.put({"latencies": latencies, "errors": errors, "p50_by_query_ms": medians})


class Probe:
    def __init__(self, url: str, token: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.stop_event = ctx.Event()
        self.queue = ctx.Queue()
        self.process = ctx.Process(target=probe, args=(url, token, self.stop_event, self.queue))
        self.process.start()
        assert self.queue.get(timeout=600) == "ready"

    def finish(self) -> dict[str, Any]:
        self.stop_event.set()
        result: dict[str, Any] = self.queue.get(timeout=120)
        self.process.join()
        lat = sorted(result["latencies"])
        out: dict[str, Any] = {
            "n": len(lat),
            "errors": len(result["errors"]),
            "first_errors": result["errors"][:3],
            "p50_by_query_ms": result["p50_by_query_ms"],
        }
        if not lat:
            return out | {"p50_ms": None, "p99_ms": None}
        return out | {
            "p50_ms": round(1000 * statistics.median(lat), 1),
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1),
        }


# ------------------------------------------------------------------ one run


def start_province_job(engine: sa.Engine, time_limit: float) -> int:
    from api.jobqueue import enqueue
    from schema.services.matching.jobs import create_scoped_job

    with engine.begin() as conn:
        return create_scoped_job(
            conn,
            scope_community_id=None,
            kinds=["volunteer", "resource", "helper"],
            weights=None,
            time_limit_s=time_limit,
            enqueue=enqueue,
        )


def wait_job(engine: sa.Engine, job_id: int, timeout: float) -> Any:
    from schema.services.matching.jobs import read_job
    from schema.workflow import FINAL_JOB_STATUSES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            job = read_job(conn, job_id)
        if job.status in FINAL_JOB_STATUSES:
            return job
        time.sleep(0.2)
    raise SystemExit(f"province job {job_id} did not end within {timeout:.0f} s")


def run(
    workers: int, env: dict[str, str], engine: sa.Engine, api_url: str, args: Any, folder: Path
) -> dict[str, Any]:
    spawned = [
        Spawned(["worker"], env, folder / f"worker-{workers}-{i}.log") for i in range(workers)
    ]
    try:
        wait_workers(engine, workers)
        time.sleep(2.0)  # let them warm their forkservers (the solver's imports)
        watch = MemoryWatch([w.popen.pid for w in spawned])
        api = Probe(api_url, args.token)
        t = time.perf_counter()
        job_id = start_province_job(engine, args.time_limit)
        job = wait_job(engine, job_id, timeout=args.counties * (args.time_limit + 120))
        wall = time.perf_counter() - t
        latency = api.finish()
        peaks = watch.stop()
    finally:
        for w in spawned:
            w.stop()
    if job.status.value != "succeeded":
        raise SystemExit(f"province job {job_id} {job.status.value}: {job.error}")
    return {
        "workers": workers,
        "job_id": job_id,
        "wall_s": round(wall, 1),
        "counties_per_minute": round(args.counties / wall * 60, 2),
        "objective": job.objective,
        "bound": job.bound,
        "gap": job.gap,
        "peak_rss_mb": [round(kb / 1024) for kb in peaks.values()],
        "api": latency,
        "parts": job.county_stats,
    }


# ------------------------------------------------------------------ report


def print_report(report: dict[str, Any]) -> None:
    runs = report["runs"]
    idle = report["api_idle"]
    base = runs[0]["counties_per_minute"]
    print(
        f"\nprovince of {report['counties']} counties, time limit {report['time_limit']} s "
        f"per county, seeded in {report['seed_s']:.0f} s ({report['rows']:,} rows)"
    )
    print(f"API idle: p50 {idle['p50_ms']} ms, p99 {idle['p99_ms']} ms ({idle['n']} requests)\n")
    print(
        "| workers | wall s | counties/min | speed-up | gap (sum) | peak RSS per worker MB "
        "| API p50 ms | API p99 ms | requests |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        print(
            f"| {r['workers']} | {r['wall_s']} | {r['counties_per_minute']} | "
            f"{r['counties_per_minute'] / base:.2f}x | {r['gap']:.3%} | "
            f"{', '.join(map(str, r['peak_rss_mb']))} | {r['api']['p50_ms']} | "
            f"{r['api']['p99_ms']} | {r['api']['n']} |"
        )
    print("\nper county (gap / solve s / candidate pairs), by worker count:\n")
    head = " | ".join(f"{r['workers']} worker(s)" for r in runs)
    print(f"| county | {head} |")
    print("| --- |" + " --- |" * len(runs))
    for i, part in enumerate(runs[0]["parts"]):
        cells = []
        for r in runs:
            p = r["parts"][i]
            cells.append(f"{p['gap']:.3%} / {p['seconds']:.1f} / {p['pairs']}")
        print(f"| {', '.join(part['counties'])} | " + " | ".join(cells) + " |")
    best = max(runs, key=lambda r: r["counties_per_minute"])
    per_machine = best["counties_per_minute"]
    print(
        f"\nextrapolation to 100 counties: this 2-core machine does {per_machine} counties/min "
        f"with {best['workers']} worker(s); counties are independent, so K such machines "
        "sharing one PostgreSQL do about K times that:"
    )
    for k in (1, 2, 4, 8):
        print(f"  K={k}: {100 / (k * per_machine):.1f} min for 100 counties")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=20)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--time-limit", type=float, default=5.0, help="per county, seconds")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "LULING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server to create the bench database on",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--reuse", metavar="NAME", help="a database an earlier --keep run seeded (skip seeding)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args()

    from datetime import datetime

    from schema.db import make_engine
    from schema.migrate import upgrade
    from seed.load import load_reference

    name = args.reuse or f"province_bench_{os.getpid()}"
    if args.reuse:
        url = make_url(args.database_url).set(database=name).render_as_string(False)
    else:
        url = fresh_database(args.database_url, name)
    folder = Path(f"/tmp/{name}")
    folder.mkdir(exist_ok=True)
    servers: list[Spawned] = []
    engine = make_engine(url)
    try:
        upgrade(url)
        t = time.perf_counter()
        if args.reuse:
            counts, seed_s = {}, 0.0
            log(f"reusing {name} as seeded")
        else:
            log(f"seeding {args.counties} counties into {name}")
            counts = load_reference(
                engine, reset=False, counties=args.counties, now=datetime.fromisoformat(NOW)
            )
            seed_s = time.perf_counter() - t
            log(f"seeded {sum(counts.values()):,} rows in {seed_s:.0f} s")
            with engine.connect() as conn:  # the planner's statistics, as autovacuum would
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
        prefix = f"luling:bench:{uuid.uuid4().hex[:8]}:"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "LULING_JOB_RUNNER": "queue",
            "LULING_BROADCAST_URL": f"{REDIS_URL}?channel_prefix={prefix}ev:",
            "LULING_REDIS_URL": REDIS_URL,
            "LULING_REDIS_KEY_PREFIX": prefix,
            "LULING_SECRET_KEY": SECRET,
            "LULING_COST_BUDGET_PER_MINUTE": "100000000",
            "LULING_SEED_ON_EMPTY": "false",
            "LULING_LOG_LEVEL": "WARNING",
            "LULING_LOG_JSON": "false",
            "PYTHONPATH": str(ROOT),
        }
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        servers.append(
            Spawned(["serve", "--port", str(port), "--no-seed-if-empty"], env, folder / "api.log")
        )
        wait_http(api_url, servers[0])
        args.token = coordinator_token(url)[0]
        idle_probe = Probe(api_url, args.token)
        time.sleep(30)
        idle = idle_probe.finish()
        log(f"API idle: {idle}")
        runs = []
        for n in [int(x) for x in args.workers.split(",")]:
            log(f"solving the province with {n} worker(s)")
            runs.append(run(n, env, engine, api_url, args, folder))
            log(f"{n} worker(s): {json.dumps(runs[-1], ensure_ascii=False, default=str)}")
        report = {
            "counties": args.counties,
            "time_limit": args.time_limit,
            "seed_s": seed_s,
            "rows": sum(counts.values()),
            "api_idle": idle,
            "runs": runs,
        }
        if args.json:
            sys.stdout.write(json.dumps(report, ensure_ascii=False, default=str) + "\n")
        else:
            print_report(report)
    finally:
        for s in servers:
            s.stop()
        engine.dispose()
        if not args.keep and not args.reuse:
            drop_database(args.database_url, name)


if __name__ == "__main__":
    main()
