"""Abuse benchmark: hostile GraphQL requests fired at a live Luling server, each timed, with the
/healthz latency measured at the same time and the server's resident memory.

    python bench/abuse.py                          # own server: temporary SQLite, seeded
    python bench/abuse.py --url http://127.0.0.1:8000 --pid 1234 --sqlite luling.db
    python bench/abuse.py --only ws --json abuse.json

By default the reference county is loaded into a temporary SQLite file (`luling seed`) and
`luling serve` runs in a subprocess on a free 127.0.0.1 port (killed at the end); `--url`
targets a running server instead (loopback only; memory only with `--pid`, audit rows only with
`--sqlite`). A second process GETs /healthz every ~10 ms throughout, and a thread reads VmRSS
from /proc/<pid>/status every 50 ms.

The attacks are in bench/abuse_attacks.py. Each is sent (some as a burst of parallel requests
or sockets), every request cut at --timeout; the server then gets --settle seconds to become
idle (healthz fast, CPU quiet): an own server that does not is restarted, so that the next
attack starts clean (the memory growth is summed over the restarts). Attacks that no longer
fit in --budget (the whole run, seeding included) are skipped.

An attack is ok when every request was refused or answered within 100 ms (or the attack's own
limit), none ended in INTERNAL, 5xx, a timeout or an open socket, /healthz p99 stayed under
50 ms during it, and its own checks passed. Target for the whole run: RSS growth < 50 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import abuse_attacks as attacks  # bench/ is on sys.path when this file is run
import httpx

ROOT = Path(__file__).resolve().parents[1]
SECRET = "luling-abuse-bench-" + secrets.token_hex(16)
HEALTH_MS = 50.0  # /healthz p99 during an attack must stay under this
RSS_TARGET_MB = 50.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, seconds: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base}/healthz did not answer within {seconds:g} s")


class Server:
    """`luling seed` into a temporary SQLite file, then `luling serve` on a loopback port."""

    def __init__(self, work: Path) -> None:
        self.db = work / "abuse.db"
        self.port = free_port()
        self.logfile = (work / "server.log").open("ab")
        self.env = os.environ | {
            "DATABASE_URL": f"sqlite:///{self.db}",
            "LULING_SECRET_KEY": SECRET,
            "LULING_LOG_LEVEL": "WARNING",
            "LULING_LOG_JSON": "false",
            "PYTHONPATH": str(ROOT),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def luling(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "api.cli", *args]

    def seed(self) -> None:
        start = time.perf_counter()
        out = dict(stdout=self.logfile, stderr=self.logfile, env=self.env, cwd=ROOT)
        subprocess.run(self.luling("seed"), check=True, timeout=180, **out)  # type: ignore[call-overload]  # **dict of mixed kwargs
        log(f"seeded the reference county in {time.perf_counter() - start:.1f} s")

    def start(self) -> None:
        cmd = self.luling("serve", "--host", "127.0.0.1", "--port", str(self.port))
        self.proc = subprocess.Popen(
            cmd, stdout=self.logfile, stderr=self.logfile, env=self.env, cwd=ROOT
        )
        wait_healthy(self.base, 60, self.proc)

    def stop(self, grace: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if grace > 0:  # uvicorn waits for running requests; a wedged one never ends
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                pass
        self.proc.kill()
        self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop(grace=0)
        self.start()


class HealthPoller:
    """A second process GETs /healthz every ~10 ms and reports (start, seconds, ok) per probe,
    so that the attacking client's own load does not delay the probes."""

    def __init__(self, base: str) -> None:
        self.samples: list[tuple[float, float, bool]] = []
        cmd = [sys.executable, __file__, "--poll", f"{base}/healthz"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            start, seconds, ok = line.split()
            self.samples.append((float(start), float(seconds), ok == "1"))

    def window(self, t0: float, t1: float) -> tuple[list[float], int]:
        """Latencies (ms) of the probes in flight during [t0, t1], and how many failed."""
        samples = list(self.samples)
        inside = [s for s in samples if s[0] <= t1 and s[0] + s[1] >= t0]
        ms = [s[1] * 1000 for s in inside]
        last_end = max((s[0] + s[1] for s in samples if s[0] <= t1), default=t0)
        if t1 - last_end > 0.1:  # a probe still waiting at t1: count what it waited so far
            ms.append((t1 - last_end) * 1000)
        return ms, sum(not s[2] for s in inside)

    def quiet(self, seconds: float) -> bool:
        """Probes answered in the last `seconds`, all fast and ok."""
        now = time.monotonic()
        recent = [s for s in self.samples[-100:] if s[0] + s[1] >= now - seconds]
        return bool(recent) and all(s[2] and s[1] * 1000 < HEALTH_MS for s in recent)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


def poll_forever(url: str) -> None:
    """The poller process: one probe every ~10 ms until the parent goes away."""
    parent = os.getppid()
    with httpx.Client(timeout=30) as client:
        while os.getppid() == parent:
            start = time.monotonic()
            try:
                ok = client.get(url).status_code == 200
            except httpx.HTTPError:
                ok = False
            print(f"{start:.6f} {time.monotonic() - start:.6f} {int(ok)}", flush=True)
            time.sleep(max(0.0, start + 0.01 - time.monotonic()))


def read_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Memory:
    """VmRSS of the server every 50 ms; one segment per server process (restarts)."""

    def __init__(self) -> None:
        self.segments: list[dict[str, Any]] = []
        self.peak_kb = 0  # since the last now_kb()
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def follow(self, pid: int) -> None:
        kb = read_rss_kb(pid)
        self.segments.append({"pid": pid, "first_kb": kb, "last_kb": kb, "max_kb": kb or 0})
        self.peak_kb = kb or 0

    def now_kb(self) -> int | None:
        if not self.segments:
            return None
        self.peak_kb = read_rss_kb(self.segments[-1]["pid"]) or 0
        return self.peak_kb or None

    def killed(self, kb_before: int | None) -> None:
        """The server is killed mid-attack: what it held before that attack is its last RSS
        (the growth counts what earlier attacks left behind, not the killed one's work)."""
        if self.segments and kb_before:
            self.segments[-1]["last_kb"] = kb_before
            self.segments[-1]["pid"] = None

    def _run(self) -> None:
        while not self.done.wait(0.05):
            seg = self.segments[-1] if self.segments else None
            kb = read_rss_kb(seg["pid"]) if seg and seg["pid"] else None
            if seg and kb is not None:
                seg["last_kb"], seg["max_kb"] = kb, max(seg["max_kb"], kb)
                self.peak_kb = max(self.peak_kb, kb)

    def summary(self) -> dict[str, Any]:
        self.done.set()
        segs = [s for s in self.segments if s["first_kb"] and s["last_kb"]]
        if not segs:
            return {}
        growth = sum(s["last_kb"] - s["first_kb"] for s in segs) / 1024
        return {
            "before_mb": round(segs[0]["first_kb"] / 1024, 1),
            "after_mb": round(segs[-1]["last_kb"] / 1024, 1),
            "max_mb": round(max(s["max_kb"] for s in segs) / 1024, 1),
            "growth_mb": round(growth, 1),
            "server_processes": len(segs),
            "segments_mb": [
                [round(s[k] / 1024, 1) for k in ("first_kb", "last_kb", "max_kb")] for s in segs
            ],
            "ok": growth < RSS_TARGET_MB,
        }


async def settle(poller: HealthPoller, pid: int | None, cap: float) -> float | None:
    """Seconds until the server is idle again (healthz fast, under half a core), or None."""
    start = time.monotonic()
    cpu, at = (cpu_seconds(pid) if pid else None), start
    while time.monotonic() - start < cap:
        await asyncio.sleep(0.25)
        now_cpu, now = (cpu_seconds(pid) if pid else None), time.monotonic()
        busy = cpu is not None and now_cpu is not None and (now_cpu - cpu) / (now - at) > 0.5
        cpu, at = now_cpu, now
        if not busy and poller.quiet(0.25):
            return now - start
    return None


async def gql(client: httpx.AsyncClient, t: attacks.Target, query: str, **kw: Any) -> Any:
    """The first value at the end of the path of single-key objects in `data` (or None)."""
    token = kw.pop("token", None)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = await client.post(t.http, json={"query": query, "variables": kw}, headers=headers)
    value = r.json().get("data")
    while isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return value


LOGIN_TOKEN = "mutation($u:String!,$p:String!){login(username:$u,password:$p){token}}"
REPORTED = "query($c:[ID!]){needs(first:1,filter:{status:[REPORTED],community:$c}){nodes{id}}}"


async def prepare(t: attacks.Target) -> None:
    """Demo tokens, a real activity, a reported need in the coordinator's community."""
    async with httpx.AsyncClient(timeout=t.timeout) as client:
        for role in ("volunteer", "coordinator", "admin"):
            if token := await gql(client, t, LOGIN_TOKEN, u=f"demo-{role}", p="luling-demo"):
                t.tokens[role] = token
        activities = await gql(client, t, "{activities(first:1){nodes{id}}}")
        t.activity_id = activities[0]["id"] if activities else None
        if token := t.tokens.get("coordinator"):
            community = await gql(client, t, "{me{communityId}}", token=token)
            scope = [community] if community else None
            needs = await gql(client, t, REPORTED, c=scope, token=token)
            t.need_id = needs[0]["id"] if needs else None
    log(f"logged in as {', '.join(f'demo-{r}' for r in t.tokens) or 'nobody'}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else 0.0
    )


def label(shots: list[attacks.Shot]) -> str:
    counts = Counter(
        f"{s.status} {s.code}" if s.code else f"{s.status}{' data' if s.kind == 'answered' else ''}"
        for s in shots
    )
    text = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in counts.most_common(2))
    return text + (f" +{len(counts) - 2}" if len(counts) > 2 else "")


def judge(name: str, out: attacks.Outcome, health: list[float], failed: int) -> dict[str, Any]:
    reasons = list(out.failures)
    bad = Counter(s.kind for s in out.shots if s.kind in ("internal", "timeout", "error", "open"))
    reasons += [f"{n} {kind}" for kind, n in bad.items()]
    slow = sum(s.ms > out.limit_ms for s in out.shots if s.kind in ("answered", "refused"))
    if slow:
        reasons.append(f"{slow} over {out.limit_ms:g} ms")
    h = {k: round(percentile(health, q), 1) for k, q in (("p50", 0.5), ("p99", 0.99), ("max", 1))}
    if h["p99"] >= HEALTH_MS:
        reasons.append("healthz slow")
    if failed:
        reasons.append(f"{failed} healthz failed")
    times = [s.ms for s in out.shots]
    return {
        "attack": name,
        "requests": out.requests,
        "outcome": label(out.shots),
        "refusal_ms": {
            "p50": round(percentile(times, 0.5), 1),
            "max": round(max(times, default=0), 1),
        },
        "healthz_ms": h,
        "healthz_samples": health,
        "ok": not reasons,
        "reasons": reasons,
        "notes": [n for n in out.notes if n],
        "figures": out.figures,
        "shots": [s.__dict__ for s in out.shots[:50]],
    }


async def bench(
    args: argparse.Namespace,
    t: attacks.Target,
    server: Server | None,
    pid: int | None,
    deadline: float,
) -> dict[str, Any]:
    await prepare(t)
    poller, memory = HealthPoller(t.http.removesuffix("/graphql")), Memory()
    chosen = [
        (n, fn) for n, fn in attacks.ATTACKS if not args.only or any(w in n for w in args.only)
    ]
    rows: list[dict[str, Any]] = []
    try:
        await asyncio.sleep(1.0)  # the poller's first probes: a baseline
        if pid:
            memory.follow(pid)
        for i, (name, fn) in enumerate(chosen, 1):
            if time.monotonic() + args.timeout + args.settle > deadline:
                rows.append({"attack": name, "skipped": "out of --budget"})
                continue
            t0, kb0 = time.monotonic(), memory.now_kb()
            try:
                left = deadline - time.monotonic() - args.settle  # the budget cuts it too
                out = await asyncio.wait_for(fn(t), min(3 * args.timeout + 10, left))
            except attacks.Skip as exc:
                rows.append({"attack": name, "skipped": str(exc)})
                continue
            except TimeoutError:
                out = attacks.Outcome(failures=["cut: attack ran out of time"])
            except Exception as exc:  # the bench keeps going; the row says what broke
                out = attacks.Outcome(failures=[f"bench: {type(exc).__name__} {exc}"[:80]])
            t1 = time.monotonic()
            idle = await settle(poller, server.pid if server else pid, args.settle)
            if kb0:
                peak, kb1 = memory.peak_kb, memory.now_kb() or 0
                out.figures |= {"rss_mb": [round(k / 1024, 1) for k in (kb0, peak, kb1)]}
                if peak - kb0 > 50 * 1024:
                    out.notes.append(f"RSS peak +{(peak - kb0) / 1024:.0f} MB")
            died = server is not None and server.proc is not None and server.proc.poll() is not None
            if died:
                out.failures.append("server died")
            elif idle is None:
                restarted = ": restarted" if server else ""
                out.notes.append(f"busy >{args.settle:g} s after{restarted}")
            if server is not None and (died or idle is None):
                memory.killed(kb0)
                server.restart()
                memory.follow(server.pid)  # type: ignore[arg-type]  # the restarted server has a pid
                await asyncio.sleep(0.5)
            health, failed = poller.window(t0, t1)
            rows.append(judge(name, out, health, failed))
            log(f"[{i}/{len(chosen)}] {name}: {rows[-1]['outcome']} ({t1 - t0:.1f} s)")
        await settle(poller, server.pid if server else pid, args.settle)
    finally:
        poller.stop()
    every = [ms for r in rows for ms in r.get("healthz_samples", [])]
    judged = [r for r in rows if "ok" in r]
    rss = memory.summary()
    return {
        "server": t.http,
        "attacks": rows,
        "healthz_ms": {
            k: round(percentile(every, q), 1) for k, q in (("p50", 0.5), ("p99", 0.99), ("max", 1))
        },
        "rss": rss,
        "attacks_ok": sum(r["ok"] for r in judged),
        "attacks_judged": len(judged),
        "ok": bool(judged) and all(r["ok"] for r in judged) and rss.get("ok", True),
    }


def print_table(report: dict[str, Any]) -> None:
    head = (
        f"{'attack':40} {'requests':21} {'status/code':30} {'refusal p50/max ms':>19}"
        f" {'healthz p50/p99/max ms':>23}  ok   notes"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for r in report["attacks"]:
        if "skipped" in r:
            print(f"{r['attack']:40} {'':21} {'skipped':30} {'':>19} {'':>23}  --   {r['skipped']}")
            continue
        ref, h = r["refusal_ms"], r["healthz_ms"]
        notes = "; ".join(r["reasons"] + r["notes"])
        print(
            f"{r['attack'][:40]:40} {r['requests'][:21]:21} {r['outcome'][:30]:30}"
            f" {ref['p50']:>9.0f} /{ref['max']:>8.0f}"
            f" {h['p50']:>7.1f} /{h['p99']:>6.0f} /{h['max']:>6.0f}"
            f"  {'ok ' if r['ok'] else 'NO '}  {notes}"
        )
    h, rss = report["healthz_ms"], report["rss"]
    print(f"\nhealthz over all attacks: p50 {h['p50']} ms, p99 {h['p99']} ms, max {h['max']} ms")
    if rss:
        print(
            f"server RSS: {rss['before_mb']} MB before, {rss['after_mb']} MB after,"
            f" max {rss['max_mb']} MB;"
            f" growth {rss['growth_mb']} MB over {rss['server_processes']} process(es)"
            f" (target < {RSS_TARGET_MB:g} MB): {'ok' if rss['ok'] else 'NO'}"
        )
    else:
        print("server RSS: not measured (give --pid with --url)")
    verdict = "PASS" if report["ok"] else "FAIL"
    print(f"VERDICT: {verdict} — {report['attacks_ok']}/{report['attacks_judged']} attacks ok")


def loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"refusing to attack {host!r}: loopback addresses only")
    return url.rstrip("/").removesuffix("/graphql")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--url", help="A running server (loopback only), e.g. http://127.0.0.1:8000."
    )
    parser.add_argument("--pid", type=int, help="With --url: the server's pid, to read its memory.")
    parser.add_argument(
        "--sqlite", type=Path, help="With --url: its SQLite file, to count audit rows."
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="Per request, seconds.")
    parser.add_argument("--settle", type=float, default=3.0, help="Wait for idle after an attack.")
    parser.add_argument("--budget", type=float, default=180.0, help="The whole run, seconds.")
    parser.add_argument("--only", nargs="*", help="Only attacks whose name contains a word.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    parser.add_argument("--poll", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.poll:
        poll_forever(args.poll)
        return
    deadline = time.monotonic() + args.budget
    with tempfile.TemporaryDirectory(prefix="luling-abuse-") as tmp:
        server = None
        try:
            if args.url is None:
                server = Server(Path(tmp))
                server.seed()
                server.start()
                target = attacks.Target(
                    server.base + "/graphql", args.timeout, secret=SECRET, sqlite=server.db
                )
                pid = server.pid
            else:
                target = attacks.Target(
                    loopback(args.url) + "/graphql", args.timeout, sqlite=args.sqlite
                )
                wait_healthy(target.http.removesuffix("/graphql"), 10)
                pid = args.pid
            report = asyncio.run(bench(args, target, server, pid, deadline))
        finally:
            if server is not None:
                server.stop()
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
