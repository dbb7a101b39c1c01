"""Benchmark of the GraphQL read API over the reference county, beside a hand-written floor.

    python bench/api.py                     # SQLite in a temporary folder, loaded once
    python bench/api.py --database-url postgresql://postgres@127.0.0.1:5432/luling_bench
    python bench/api.py --json              # the same figures as one JSON document

1. In-process comparison (the target): a 20-item page of needs with 12 fields and a nested
   community, executed with `schema.execute` in this process, against the floor — the same page
   fetched by one hand-written SQL query through the same async engine (session, driver) and
   encoded to JSON. Timings interleave the variants (so all see the same machine load); the
   ratio of wall-clock medians is the figure the target (<= 10x) is about; CPU time (all
   threads of the process) and minimums are printed too, being less sensitive to other load.
   For reference: the floor on a plain blocking driver connection (no async engine, no
   session), and the same page with each executor (`LULING_EXECUTOR`): the fast one
   (api/graphql/executor.py) and Strawberry's own (no fast path), side by side.
2. Over HTTP: the API is served by uvicorn in a subprocess on 127.0.0.1 (a free port); a second
   process fires a fixed mix of typical queries over loopback with httpx (keep-alive, a few
   concurrent requests, a bounded count and time per query) and reports requests per second
   and p50/p99 latency per query. Each query's floor (its hand-written SQL + JSON encoding,
   in-process) is printed beside it. The server runs the executor `LULING_EXECUTOR` names
   (default: fast): `LULING_EXECUTOR=strawberry python bench/api.py` measures the other.

The queries, their floors and `Case` are in bench/api_queries.py.

3. `--peer postgraphile`: Luling beside PostGraphile 5 on the same PostgreSQL, the same four
   queries, data checked equal first (bench/peer.py, bench/peer_queries.py):

    python bench/api.py --database-url postgresql://postgres@127.0.0.1:5432/luling_bench \
        --peer postgraphile [--luling-workers 2] [--levels 4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.api_queries import (  # noqa: E402
    COMMUNITIES,
    COUNTY_STATS,
    NEED_DETAIL,
    NEEDS_PAGE,
    OPPORTUNITIES,
    OVERDUE_PAGE,
    Case,
    floor_communities,
    floor_need,
    floor_needs,
    floor_opportunities,
    floor_overdue,
    floor_stats,
    gid,
)

SECRET = "luling-bench-secret-0123456789abcdef"

# ------------------------------------------------------------------------------------------
# Set-up: database with the reference county, a coordinator, the mix


def prepare_database(url: str | None, work: Path) -> str:
    from schema.db import make_engine
    from schema.migrate import upgrade
    from schema.models import Community

    if url is None:
        url = f"sqlite:///{work / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            empty = conn.execute(sa.select(sa.func.count()).select_from(Community)).scalar() == 0
        if empty:
            from seed.load import load_reference

            start = time.perf_counter()
            load_reference(engine, reset=True, scale=1)
            log(f"loaded the reference county in {time.perf_counter() - start:.1f} s")
    finally:
        engine.dispose()
    return url


def mix(url: str) -> list[Case]:
    from schema.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        quantang = (
            conn.execute(
                sa.text("SELECT latitude, longitude FROM community WHERE name = '泉塘社区'")
            ).first()
            or conn.execute(sa.text("SELECT latitude, longitude FROM community")).first()
        )
        need_id = conn.execute(
            sa.text(
                "SELECT need_id FROM need_event GROUP BY need_id ORDER BY count(*) DESC, need_id"
                " LIMIT 1"
            )
        ).scalar()
    engine.dispose()
    near = {"lat": quantang.latitude, "lon": quantang.longitude}
    return [
        Case("needs page (20, 12 fields + community)", NEEDS_PAGE, {"first": 20}, floor_needs),
        Case("overdue needs by deadline", OVERDUE_PAGE, {}, floor_overdue),
        Case("volunteer opportunities near", OPPORTUNITIES, near, floor_opportunities, False),
        Case("communities page (50)", COMMUNITIES, {}, floor_communities),  # signed in
        Case("countyStats headline", COUNTY_STATS, {}, floor_stats, False),
        Case(
            "need with history",
            NEED_DETAIL,
            {"id": gid("Need", need_id), "pk": need_id},
            floor_need,
        ),
    ]


def coordinator_token(url: str, role: str = "coordinator") -> tuple[str, int]:
    from api.auth.tokens import issue_token
    from api.settings import Settings
    from schema.accounts import Account
    from schema.db import make_engine
    from schema.enums import Role

    engine = make_engine(url)
    from sqlmodel import Session, select

    with Session(engine) as s:
        account = s.exec(select(Account).where(Account.role == Role(role))).first()
        if account is None:
            raise SystemExit(f"no {role} account in the database (load the reference county)")
        token = issue_token(account, Settings(secret_key=SECRET, DATABASE_URL=url))[0]
        pk = account.id
    engine.dispose()
    assert pk is not None
    return token, pk


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# 1. In process


async def in_process(url: str, account_id: int, cases: list[Case], rounds: int) -> dict[str, Any]:
    from api.database import Database
    from api.graphql.context import Context
    from api.graphql.schema import build_schema
    from api.settings import Settings
    from schema.accounts import Account

    settings = Settings(DATABASE_URL=url, secret_key=SECRET, log_level="WARNING")
    db = Database(url)
    schema = build_schema(settings.model_copy(update={"executor": "fast"}))
    plain = build_schema(settings.model_copy(update={"executor": "strawberry"}))
    async with db.session() as s:
        account = await s.get(Account, account_id)

    def runner(the_schema: Any, case: Case) -> Callable[[], Awaitable[str]]:
        variables = {k: v for k, v in case.variables.items() if k != "pk"}

        async def run() -> str:
            ctx = Context(request=None, response=None, db=db, settings=settings, account=account)  # type: ignore[arg-type]  # no HTTP request in a direct call
            result = await the_schema.execute(
                case.query, variable_values=variables, context_value=ctx
            )
            if result.errors:
                raise RuntimeError(f"{case.name}: {result.errors}")
            return json.dumps({"data": result.data}, ensure_ascii=False)

        return run

    def floor_runner(case: Case) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            async with db.session() as session:
                conn = await session.connection()
                return await case.floor(conn, case.variables)

        return run

    async def timed(
        fns: dict[str, Callable[[], Awaitable[str]]], n: int
    ) -> dict[str, tuple[list[float], list[float]]]:
        """Wall-clock and CPU (all threads of this process) seconds per call, interleaved."""
        for fn in fns.values():  # warm up: caches, connections, compiled statements
            for _ in range(20):
                await fn()
        out: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in fns}
        for _ in range(n):
            for key, fn in fns.items():
                wall, cpu = out[key]
                for _ in range(5):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    await fn()
                    cpu.append(time.process_time() - start_cpu)
                    wall.append(time.perf_counter() - start)
        return out

    from schema.db import make_engine

    sync_engine = make_engine(url)

    class _Sync:  # runs the floor's statement on a plain (blocking) driver connection
        def __init__(self, conn: Any) -> None:
            self.conn = conn

        async def execute(self, *args: Any, **kwargs: Any) -> Any:
            return self.conn.execute(*args, **kwargs)

    def sync_floor_runner(case: Case) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            with sync_engine.connect() as conn:
                return await case.floor(_Sync(conn), case.variables)

        return run

    hot = cases[0]
    samples = await timed(
        {
            "floor_sync_driver": sync_floor_runner(hot),
            "floor": floor_runner(hot),
            "graphql": runner(schema, hot),
            "graphql_strawberry_executor": runner(plain, hot),
        },
        rounds,
    )
    figures = {k: summary(*v) for k, v in samples.items()}
    floor = figures["floor"]

    def ratio(key: str, stat: str) -> float:
        return round(figures[key][stat] / floor[stat], 2)

    floors = {}
    for case in cases:
        t = await timed({"floor": floor_runner(case)}, max(4, rounds // 4))
        floors[case.name] = summary(*t["floor"])
    await db.dispose()
    sync_engine.dispose()
    return {
        "page": hot.name,
        **figures,
        "ratio_median_vs_sync_driver": round(
            figures["graphql"]["median_ms"] / figures["floor_sync_driver"]["median_ms"], 2
        ),
        "ratio_median": ratio("graphql", "median_ms"),
        "ratio_cpu": ratio("graphql", "cpu_median_ms"),
        "ratio_min": ratio("graphql", "min_ms"),
        "ratio_strawberry_executor": ratio("graphql_strawberry_executor", "median_ms"),
        "ratio_strawberry_executor_cpu": ratio("graphql_strawberry_executor", "cpu_median_ms"),
        "target": 10.0,
        "meets_target": ratio("graphql", "median_ms") <= 10.0,
        "floors": floors,
    }


def summary(seconds: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    out = {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 3),
        "min_ms": round(ms[0], 3),
    }
    if cpu:
        out["cpu_median_ms"] = round(statistics.median(c * 1000 for c in cpu), 3)
    return out


# ------------------------------------------------------------------------------------------
# 2. Over HTTP: server subprocess, client subprocess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": url,
        "LULING_SECRET_KEY": SECRET,
        "LULING_LOG_LEVEL": "WARNING",
        "LULING_LOG_JSON": "false",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not come up within 60 s")


async def client_main(plan: dict[str, Any]) -> dict[str, Any]:
    """Runs in the second process: fires each query of the mix, returns the figures."""
    import httpx

    url = plan["url"]
    out: dict[str, Any] = {}
    limits = httpx.Limits(max_connections=plan["concurrency"])
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for case in plan["cases"]:
            headers = {"content-type": "application/json"}
            if case["auth"]:
                headers["authorization"] = f"Bearer {plan['token']}"
            body = json.dumps({"query": case["query"], "variables": case["variables"]})
            for _ in range(10):  # warm up
                r = await client.post(url, content=body, headers=headers)
                data = r.json()
                if r.status_code != 200 or "errors" in data:
                    raise SystemExit(f"{case['name']}: {r.status_code} {r.text[:300]}")
            latencies: list[float] = []
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    _worker(client, url, body, headers, case["name"], latencies, state)
                    for state in [{"left": plan["requests"], "stop": started + plan["seconds"]}]
                    for _ in range(plan["concurrency"])
                )
            )
            elapsed = time.perf_counter() - started
            figures = summary(latencies)
            figures["rps"] = round(len(latencies) / elapsed, 1)
            out[case["name"]] = figures
    return out


async def _worker(
    client: Any,
    url: str,
    body: str,
    headers: dict[str, str],
    name: str,
    latencies: list[float],
    state: dict[str, Any],
) -> None:
    """Sends requests until the shared count or the time cap runs out."""
    while state["left"] > 0 and time.perf_counter() < state["stop"]:
        state["left"] -= 1
        t = time.perf_counter()
        r = await client.post(url, content=body, headers=headers)
        latencies.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise SystemExit(f"{name}: HTTP {r.status_code}")


def over_http(url: str, token: str, cases: list[Case], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    server = start_server(url, port)
    try:
        plan = {
            "url": f"http://127.0.0.1:{port}/graphql",
            "token": token,
            "requests": args.requests,
            "seconds": args.seconds,
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
        client = subprocess.run(
            [sys.executable, __file__, "--client"],
            input=json.dumps(plan).encode(),
            capture_output=True,
            check=False,
            cwd=ROOT,
            env=os.environ | {"PYTHONPATH": str(ROOT)},
        )
        if client.returncode != 0:
            raise SystemExit(f"client failed: {client.stderr.decode()[-2000:]}")
        return json.loads(client.stdout)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


# ------------------------------------------------------------------------------------------


def print_table(report: dict[str, Any]) -> None:
    ip = report["in_process"]
    print(f"\nIn process: {ip['page']} — schema.execute vs one SQL query + json.dumps")
    print(
        f"{'':32} {'median ms':>9} {'p99 ms':>8} {'min ms':>7} {'cpu ms':>7}"
        f" {'x floor':>8} {'x (cpu)':>8}"
    )
    floor = ip["floor"]
    for key, label in (
        ("floor_sync_driver", "floor, blocking driver"),
        ("floor", "floor (SQL + json.dumps)"),
        ("graphql", "GraphQL (fast executor)"),
        ("graphql_strawberry_executor", "GraphQL (Strawberry executor)"),
    ):
        f = ip[key]
        print(
            f"{label:32} {f['median_ms']:>9.3f} {f['p99_ms']:>8.3f} {f['min_ms']:>7.3f}"
            f" {f['cpu_median_ms']:>7.3f} {f['median_ms'] / floor['median_ms']:>7.1f}x"
            f" {f['cpu_median_ms'] / floor['cpu_median_ms']:>7.1f}x"
        )
    verdict = "meets" if ip["meets_target"] else "MISSES"
    print(
        f"ratio {ip['ratio_median']}x (wall medians), {ip['ratio_cpu']}x (CPU medians), "
        f"{ip['ratio_min']}x (minimums): {verdict} the <= {ip['target']:g}x target; "
        f"{ip['ratio_median_vs_sync_driver']}x the blocking-driver floor"
    )
    if "http" in report:
        print(f"\nOver HTTP (uvicorn, 1 worker; httpx client, {report['concurrency']} concurrent)")
        print(f"{'query':40} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'n':>5} {'floor ms':>9}")
        for name, f in report["http"].items():
            fl = ip["floors"][name]["median_ms"]
            print(
                f"{name:40} {f['rps']:>7.1f} {f['median_ms']:>8.2f} {f['p99_ms']:>8.2f}"
                f" {f['n']:>5} {fl:>9.3f}"
            )


def peer_main(url: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """Luling beside PostGraphile (bench/peer.py); None when the peer cannot run here."""
    from sqlalchemy.engine import make_url

    from bench import peer
    from bench.peer_queries import peer_cases

    if not url.startswith("postgres"):
        raise SystemExit("--peer needs --database-url postgresql://…")
    try:
        node, cli = peer.install_postgraphile()
    except peer.PeerUnavailable as exc:
        log(f"skipping the PostGraphile peer: {exc}")
        return None
    u = make_url(url)
    database = u.database or ""
    admin_url = u.set(database="postgres").render_as_string(hide_password=False)
    plain = u.set(drivername="postgresql").render_as_string(hide_password=False)
    with make_sync_engine(url).connect() as conn:
        need_id = conn.execute(
            sa.text(
                "SELECT need_id FROM need_event GROUP BY need_id ORDER BY count(*) DESC, need_id"
                " LIMIT 1"
            )
        ).scalar()
    cases = peer_cases(int(need_id))
    token, _ = coordinator_token(url, "admin")
    logs = Path(tempfile.mkdtemp(prefix="luling-peer-"))
    log(f"server logs in {logs}")

    def start() -> dict[str, peer.Server]:
        luling = start_luling(url, free_port(), args.luling_workers, logs / "luling.log")
        luling.token = token
        pg = peer.start_postgraphile(node, cli, plain, free_port(), logs / "postgraphile.log")
        probe = {"query": "{ __typename }"}
        for server in (luling, pg):
            peer.wait_ready(server, peer.build_request(server, probe))
        return {"luling": luling, "postgraphile": pg}

    def stop(servers: dict[str, peer.Server]) -> None:
        for server in servers.values():
            server.stop()

    def set_logging(value: str) -> None:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" SET log_statement = {value}')

    report: dict[str, Any] = {"luling_workers": args.luling_workers, "statements": {}}
    log("counting statements per request (log_statement = all on a first pair of servers) …")
    set_logging("'all'")
    try:
        servers = start()
        try:
            peer.check_equal(servers, cases)
            for case in cases:
                for name, server in servers.items():
                    req = peer.build_request(server, peer._body(case, name))
                    asyncio.run(peer.load(server, req, 1, 0.5))  # warm: pools, plans
                    per, how = peer.count_statements(server, req, 20, admin_url, database)
                    report["statements"].setdefault(case.name, {})[name] = round(per, 2)
                    report["statements_counted_by"] = how
        finally:
            stop(servers)
    finally:
        set_logging("DEFAULT")
    log("timing (fresh servers) …")
    servers = start()
    try:
        report["timing"] = peer.side_by_side(
            servers,
            cases,
            levels=[int(x) for x in args.levels.split(",")],
            rounds=args.peer_rounds,
            seconds=args.peer_seconds,
            admin_url=admin_url,
            database=database,
        )
    finally:
        stop(servers)
    return report


def make_sync_engine(url: str) -> Any:
    from schema.db import make_engine

    return make_engine(url)


def start_luling(url: str, port: int, workers: int, logfile: Path) -> Any:
    """`luling serve --workers N` (default settings but the secret, and a cost budget no timed
    run spends: at ~100 req/s a 10,000-point query would spend the default 1,000,000 a minute,
    and the bench would time 429s), in its own process group."""
    from bench.peer import Server

    env = os.environ | {
        "DATABASE_URL": url,
        "LULING_SECRET_KEY": SECRET,
        "LULING_COST_BUDGET_PER_MINUTE": str(10**12),
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-c", "from api.cli import app; app()", "serve", "--no-seed-if-empty",
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]  # fmt: skip
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True
        )
    return Server("luling", proc, port)


def print_peer(report: dict[str, Any]) -> None:
    workers = report["luling_workers"]
    print(f"\nLuling (luling serve --workers {workers}) beside PostGraphile 5 (1 Node process)")
    print(f"statements per request ({report['statements_counted_by']}):")
    for name, per in report["statements"].items():
        print(f"  {name:36} luling {per['luling']:>5}   postgraphile {per['postgraphile']:>5}")
    for level, part in report["timing"].items():
        conns = part["new_connections_per_request"]
        print(
            f"\nconcurrency {level} (new PostgreSQL connections per request: luling "
            f"{conns['luling']}, postgraphile {conns['postgraphile']})"
        )
        print(
            f"{'query':36} {'L req/s':>8} {'PG req/s':>8} {'ratio':>6} {'L p50':>6} {'L p99':>6}"
            f" {'PG p50':>6} {'PG p99':>6} {'L cpu/req':>9} {'PG cpu/req':>10}"
        )
        for name, f in part["queries"].items():
            lu, pg = f["luling"], f["postgraphile"]
            ratio = lu["rps"] / pg["rps"] if pg["rps"] else 0.0
            print(
                f"{name:36} {lu['rps']:>8.0f} {pg['rps']:>8.0f} {ratio:>6.2f} {lu['p50_ms']:>6.1f}"
                f" {lu['p99_ms']:>6.1f} {pg['p50_ms']:>6.1f} {pg['p99_ms']:>6.1f}"
                f" {lu['cpu_ms_per_request']:>7.2f}ms {pg['cpu_ms_per_request']:>8.2f}ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="Database to use (default: temporary SQLite).")
    parser.add_argument("--rounds", type=int, default=60, help="In-process rounds (x5 each).")
    parser.add_argument("--requests", type=int, default=400, help="HTTP requests per query.")
    parser.add_argument("--seconds", type=float, default=15.0, help="Time cap per query.")
    parser.add_argument("--concurrency", type=int, default=4, help="Concurrent HTTP requests.")
    parser.add_argument("--skip-http", action="store_true", help="Only the in-process part.")
    parser.add_argument("--json", action="store_true", help="Print figures as JSON.")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--peer", choices=["postgraphile"], help="Only Luling beside this peer (PostgreSQL)."
    )
    parser.add_argument("--luling-workers", type=int, default=1, help="With --peer.")
    parser.add_argument("--levels", default="4,16", help="With --peer: concurrency levels.")
    parser.add_argument("--peer-rounds", type=int, default=3, help="With --peer: rounds.")
    parser.add_argument(
        "--peer-seconds", type=float, default=3.0, help="With --peer: seconds per query/round."
    )
    args = parser.parse_args()
    if args.client:
        plan = json.loads(sys.stdin.read())
        print(json.dumps(asyncio.run(client_main(plan))))
        return
    if args.peer:
        url = prepare_database(args.database_url, Path(tempfile.gettempdir()))
        found = peer_main(url, args)
        if found is not None:
            print(json.dumps(found, indent=2, ensure_ascii=False) if args.json else "", end="")
            if not args.json:
                print_peer(found)
        return
    with tempfile.TemporaryDirectory(prefix="luling-bench-") as tmp:
        url = prepare_database(args.database_url, Path(tmp))
        cases = mix(url)
        token, account_id = coordinator_token(url)
        report: dict[str, Any] = {"database": url.split("://")[0], "concurrency": args.concurrency}
        log("in-process comparison …")
        report["in_process"] = asyncio.run(in_process(url, account_id, cases, args.rounds))
        if not args.skip_http:
            log("over HTTP …")
            report["http"] = over_http(url, token, cases, args)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
