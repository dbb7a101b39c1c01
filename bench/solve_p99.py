"""The API's latency while a 10x-county matching job solves on a worker (issue 18's "Done when":
p99 on a fixed query mix within 1.5x of the idle p99).

    python bench/solve_p99.py                                   # builds the 10x template once
    python bench/solve_p99.py --template luling_p99_x10_<key>   # or any database seeded so
    python bench/solve_p99.py --configs same:0,same:10,separated:0 --rounds 3 --json

For each configuration, on a fresh copy of a PostgreSQL database holding the 10x synthetic
county (`luling seed --scale 10`; built once as a template, then copied: CREATE DATABASE …
TEMPLATE), it starts one `luling serve` and one `luling worker` (LULING_JOB_RUNNER=queue, Redis
for events and limits) and a load generator in a third process: `--concurrency` clients
looping over the fixed mix of bench/api.py (needs page, overdue page, opportunities near,
communities, countyStats, a need with its history). It then alternates, `--rounds` times, an
idle window (`--idle-seconds`, nothing solving) and a solving window (a county-wide matching
job started through the GraphQL API with `--time-limit`, measured from the moment the worker
marks it RUNNING to the moment it ends: loading, model and solve). It prints p50/p99 of every
request in each kind of window, their ratio, and each job's solve time and gap.

A configuration is `<cores>:<nice>`:
- `same`: every process may run on every core (one machine for the API and the worker);
  `separated`: the API and the load generator are pinned to core 0 and the worker (with its
  solving child) to core 1, a model of separate machines (PostgreSQL and Redis stay unpinned).
- `<nice>`: LULING_WORKER_NICE, how much nicer than normal the worker's solving child runs.

Figures are ratios within one run (windows interleave, so both kinds see the same background
load); absolute milliseconds depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.api import SECRET, coordinator_token, free_port, mix  # noqa: E402

LULING = [sys.executable, "-c", "from api.cli import app; app()"]
START = """mutation($input: StartMatchingJobInput!) { startMatchingJob(input: $input) {
  job { id status } userErrors { message } } }"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# The database: a seeded template, copied per run


def _admin(base_url: str) -> sa.Engine:
    from sqlalchemy.engine import make_url

    from schema.db import make_engine

    return make_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def _url(base_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(base_url).set(database=database).render_as_string(hide_password=False)


def _template_key(scale: int) -> str:
    digest = hashlib.sha256(str(scale).encode())
    for folder in ("migrations", "seed"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def seeded_template(base_url: str, scale: int, prefix: str) -> str:
    """A database holding the migrated county at `scale` (built once: minutes at 10x)."""
    name = f"{prefix}_x{scale}_{_template_key(scale)}"
    admin = _admin(base_url)
    try:
        with admin.connect() as conn:
            exists = sa.text("SELECT 1 FROM pg_database WHERE datname = :n")
            if conn.execute(exists, {"n": name}).scalar():
                return name
            building = f"{name}_{uuid.uuid4().hex[:6]}"
            conn.execute(sa.text(f'CREATE DATABASE "{building}"'))
        env = {
            **os.environ,
            "DATABASE_URL": _url(base_url, building),
            "LULING_LOG_LEVEL": "WARNING",
        }
        log(f"seeding the {scale}x county into {building} (once; minutes)")
        for args in (["db", "upgrade"], ["seed", "--scale", str(scale)]):
            subprocess.run([*LULING, *args], env=env, cwd=ROOT, check=True, capture_output=True)
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
        return name
    finally:
        admin.dispose()


@contextlib.contextmanager
def copy_of(base_url: str, template: str, prefix: str) -> Iterator[str]:
    admin = _admin(base_url)
    name = f"{prefix}_run_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield _url(base_url, name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# ------------------------------------------------------------------------------------------
# The processes


def _pin(pid: int, cores: set[int] | None) -> None:
    if cores is not None:
        os.sched_setaffinity(pid, cores)


class Processes:
    """One API process and one worker on `url`, pinned as the configuration says."""

    def __init__(self, url: str, args: argparse.Namespace, cores: str, nice: int) -> None:
        prefix = f"luling:bench:p99:{uuid.uuid4().hex[:8]}:"
        self.port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "LULING_SECRET_KEY": SECRET,
            "LULING_JOB_RUNNER": "queue",
            "LULING_REDIS_URL": args.redis_url,
            "LULING_REDIS_KEY_PREFIX": prefix,
            "LULING_BROADCAST_URL": f"{args.redis_url}?channel_prefix={prefix}ev:",
            "LULING_WORKER_NICE": str(nice),
            "LULING_SEED_ON_EMPTY": "false",
            "LULING_LOG_LEVEL": "WARNING",
            "LULING_LOG_JSON": "false",
            # The load generator is one client address firing on purpose: no fairness limits.
            "LULING_MAX_REQUESTS_PER_ADDRESS": "10000",
            "LULING_COST_BUDGET_PER_MINUTE": str(10**12),
            "LULING_COST_BUDGET_ANONYMOUS_PER_MINUTE": str(10**12),
        }
        ncores = os.cpu_count() or 1
        self.api_cores = {0} if cores == "separated" else None
        self.worker_cores = {min(1, ncores - 1)} if cores == "separated" else None
        self.logs = Path(args.work)
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--no-seed-if-empty"]
        self.api = self._start(serve, "api")
        _pin(self.api.pid, self.api_cores)
        self.worker = self._start(["worker"], "worker")
        _pin(self.worker.pid, self.worker_cores)  # before it forks its solver processes
        self._wait_ready()

    def _start(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}-{self.port}.log").open("ab")
        return subprocess.Popen([*LULING, *args], env=self.env, cwd=ROOT, stdout=out, stderr=out)

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            for p in (self.api, self.worker):
                if p.poll() is not None:
                    raise SystemExit(f"a process exited with {p.returncode}: see {self.logs}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise SystemExit("the API process did not become ready within 180 s")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        for p in (self.api, self.worker):
            if p.poll() is None:
                p.terminate()
        for p in (self.api, self.worker):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# ------------------------------------------------------------------------------------------
# The load generator (a process of its own: `--client`, plan on stdin, samples on stdout)


async def client_main(plan: dict[str, Any]) -> list[tuple[float, float]]:
    """Fires the mix at fixed concurrency until a line arrives on stdin; returns (time the
    request ended on the monotonic clock, seconds it took) for every request."""
    import httpx

    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(
        target=lambda: (sys.stdin.readline(), loop.call_soon_threadsafe(stop.set)), daemon=True
    ).start()
    requests = []
    for case in plan["cases"]:
        headers = {"content-type": "application/json"}
        if case["auth"]:
            headers["authorization"] = f"Bearer {plan['token']}"
        body = json.dumps({"query": case["query"], "variables": case["variables"]})
        requests.append((case["name"], body, headers))
    limits = httpx.Limits(max_connections=plan["concurrency"])
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        for name, body, headers in requests:  # check each once
            r = await client.post(plan["url"], content=body, headers=headers)
            if r.status_code != 200 or "errors" in r.json():
                raise SystemExit(f"{name}: {r.status_code} {r.text[:300]}")

        async def one(offset: int) -> None:
            i = offset
            while not stop.is_set():
                name, body, headers = requests[i % len(requests)]
                i += 1
                t = time.monotonic()
                r = await client.post(plan["url"], content=body, headers=headers)
                end = time.monotonic()
                if r.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {r.status_code} {r.text[:300]}")
                samples.append((end, end - t))

        await asyncio.gather(*(one(k) for k in range(plan["concurrency"])))
    return samples


class LoadGenerator:
    def __init__(self, plan: dict[str, Any], cores: set[int] | None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        _pin(self.proc.pid, cores)
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(plan) + "\n").encode())
        self.proc.stdin.flush()

    def finish(self) -> list[tuple[float, float]]:
        out, _ = self.proc.communicate(b"stop\n", timeout=120)
        if self.proc.returncode != 0:
            raise SystemExit(f"the load generator failed ({self.proc.returncode})")
        return [(float(t), float(s)) for t, s in json.loads(out)]


# ------------------------------------------------------------------------------------------
# One configuration


def start_job(base: str, token: str, time_limit: float) -> int:
    import httpx

    variables = {"input": {"timeLimitSeconds": time_limit}}
    r = httpx.post(
        f"{base}/graphql",
        json={"query": START, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )
    payload = r.json()["data"]["startMatchingJob"]
    if payload["userErrors"]:
        raise SystemExit(f"startMatchingJob: {payload['userErrors']}")
    return int(base64.b64decode(payload["job"]["id"]).decode().split(":")[1])


def job_row(engine: sa.Engine, job_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT status, seconds, gap, error FROM matching_job WHERE id = :j"),
            {"j": job_id},
        ).one()


def solving_window(engine: sa.Engine, base: str, token: str, time_limit: float) -> dict[str, Any]:
    job_id = start_job(base, token, time_limit)
    started = None
    deadline = time.monotonic() + time_limit + 3600
    while time.monotonic() < deadline:
        row = job_row(engine, job_id)
        status = str(row.status).lower()
        if started is None and status != "queued":
            started = time.monotonic()
        if status not in ("queued", "running"):
            ended = time.monotonic()
            if status != "succeeded":
                raise SystemExit(f"job {job_id} ended {status}: {row.error}")
            assert started is not None
            return {
                "job": job_id,
                "from": started,
                "to": ended,
                "solve_seconds": row.seconds,
                "gap": row.gap,
            }
        time.sleep(0.1)
    raise SystemExit(f"job {job_id} did not end")


def percentiles(latencies: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in latencies)
    if not ms:
        return {"n": 0, "p50_ms": float("nan"), "p99_ms": float("nan")}
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
    }


def within(samples: list[tuple[float, float]], windows: list[tuple[float, float]]) -> list[float]:
    return [s for t, s in samples if any(a <= t <= b for a, b in windows)]


def run_config(
    url: str, cores: str, nice: int, args: argparse.Namespace, plan: dict[str, Any]
) -> dict[str, Any]:
    from schema.db import make_engine

    log(f"== {cores} cores, worker nice {nice}")
    procs = Processes(url, args, cores, nice)
    engine = make_engine(url)
    try:
        load = LoadGenerator({**plan, "url": f"{procs.base}/graphql"}, procs.api_cores)
        time.sleep(args.warm_up)
        idle: list[tuple[float, float]] = []
        solving: list[tuple[float, float]] = []
        jobs: list[dict[str, Any]] = []
        for r in range(args.rounds):
            a = time.monotonic()
            time.sleep(args.idle_seconds)
            idle.append((a, time.monotonic()))
            job = solving_window(engine, procs.base, args.admin_token, args.time_limit)
            solving.append((job["from"], job["to"]))
            jobs.append(job)
            log(
                f"   round {r + 1}: job {job['job']} solved in {job['solve_seconds']:.1f} s, "
                f"gap {100 * (job['gap'] or 0):.2f}%, window {job['to'] - job['from']:.1f} s"
            )
            time.sleep(2)  # the worker writes its results and settles
        samples = load.finish()
    finally:
        engine.dispose()
        procs.stop()
    rounds = []
    for (ia, ib), (sa_, sb) in zip(idle, solving, strict=True):
        i, s = percentiles(within(samples, [(ia, ib)])), percentiles(within(samples, [(sa_, sb)]))
        rounds.append({"idle": i, "solving": s, "p99_ratio": round(s["p99_ms"] / i["p99_ms"], 2)})
    idle_all, solving_all = (
        percentiles(within(samples, idle)),
        percentiles(within(samples, solving)),
    )
    return {
        "cores": cores,
        "worker_nice": nice,
        "idle": idle_all,
        "solving": solving_all,
        "p50_ratio": round(solving_all["p50_ms"] / idle_all["p50_ms"], 2),
        "p99_ratio": round(solving_all["p99_ms"] / idle_all["p99_ms"], 2),
        "rounds": rounds,
        "jobs": [
            {
                "solve_seconds": j["solve_seconds"],
                "gap": j["gap"],
                "window_seconds": round(j["to"] - j["from"], 1),
            }
            for j in jobs
        ],
    }


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\nAPI p50/p99 on the fixed mix ({args.concurrency} clients), idle vs while a "
        f"{args.scale}x-county job solves on the worker (time limit {args.time_limit:g} s), "
        f"{args.rounds} rounds"
    )
    head = (
        f"{'configuration':<24}{'idle p50':>9}{'idle p99':>9}{'solve p50':>10}{'solve p99':>10}"
        f"{'p99 ×':>7}  per round p99 ×     solve s (gap)"
    )
    print(head)
    print("-" * len(head) + "-" * 20)
    for r in results:
        name = f"{r['cores']} cores, nice {r['worker_nice']}"
        per_round = " ".join(f"{x['p99_ratio']:.2f}" for x in r["rounds"])
        jobs = ", ".join(
            f"{j['solve_seconds']:.1f} ({100 * (j['gap'] or 0):.2f}%)" for j in r["jobs"]
        )
        print(
            f"{name:<24}{r['idle']['p50_ms']:>9}{r['idle']['p99_ms']:>9}"
            f"{r['solving']['p50_ms']:>10}{r['solving']['p99_ms']:>10}{r['p99_ratio']:>7}  "
            f"{per_round:<18}  {jobs}"
        )
    print("(ms; p99 × = solving p99 / idle p99; requests counted:", end=" ")
    print(", ".join(f"{r['idle']['n']}+{r['solving']['n']}" for r in results) + ")")


def main() -> None:
    if "--client" in sys.argv:
        plan = json.loads(sys.stdin.readline())
        print(json.dumps(asyncio.run(client_main(plan))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server (any database on it): templates and copies are made there",
    )
    parser.add_argument("--template", help="a database already seeded to copy (default: built)")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--configs", default="same:0,same:10,separated:0")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--warm-up", type=float, default=5.0)
    parser.add_argument(
        "--skip",
        default="countyStats,opportunities",
        help="leave out the cases of bench/api.py's mix whose names contain these (comma "
        "separated; at 10x countyStats takes over a minute and opportunities ~10 s idle: "
        "their own issue, not what this measures)",
    )
    parser.add_argument("--db-prefix", default="luling_p99", help="names of the databases made")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.skip = [s for s in args.skip.split(",") if s]
    configs = []
    for item in args.configs.split(","):
        cores, _, nice = item.partition(":")
        if cores not in ("same", "separated"):
            parser.error(f"--configs: '{cores}' is neither 'same' nor 'separated'")
        configs.append((cores, int(nice or 0)))
    if any(c == "separated" for c, _ in configs) and (os.cpu_count() or 1) < 2:
        parser.error("'separated' needs 2 cores")
    template = args.template or seeded_template(args.database_url, args.scale, args.db_prefix)
    results = []
    args.work = tempfile.mkdtemp(prefix="luling-p99-")
    log(f"process logs in {args.work}")
    with copy_of(args.database_url, template, args.db_prefix) as url:
        token, _ = coordinator_token(url)
        args.admin_token, _ = coordinator_token(url, "admin")
        skipped = [c.name for c in mix(url) if any(s in c.name for s in args.skip)]
        cases = [c for c in mix(url) if c.name not in skipped]
        log(f"the mix: {', '.join(c.name for c in cases)}; left out: {', '.join(skipped)}")
        plan = {
            "token": token,
            "concurrency": args.concurrency,
            "cases": [
                {
                    "name": c.name,
                    "query": c.query,
                    "variables": {k: v for k, v in c.variables.items() if k != "pk"},
                    "auth": c.auth,
                }
                for c in cases
            ],
        }
        for cores, nice in configs:
            results.append(run_config(url, cores, nice, args, plan))
            log(json.dumps(results[-1]))  # as each ends: a long run's figures so far
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results, args)


if __name__ == "__main__":
    main()
