"""The production topology on one machine: 2 API processes (`luling serve`) and 2 workers
(`luling worker`) on a fresh PostgreSQL database holding the reference county, sharing Redis for
the broadcaster and the rate limits. Heartbeats are short (env vars), so a killed worker's job is
failed within seconds.

The reference county takes ~30 s to load, so it is loaded once into a template database
(`luling_mp_<key>`, the key naming the migrations and the seed code; it stays on the server for
the next run) and each topology starts from a copy of it (CREATE DATABASE … TEMPLATE: a file
copy, about a second).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from schema.db import make_engine
from tests.served import LULING, free_port

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_S = 0.5
STALLED_S = 4.0  # several heartbeats: a loaded machine delays beats
LOGIN_LIMIT = 3  # failed logins per username, counted across both API processes
REDIS_URL = os.environ.get("LULING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _template_key() -> str:
    digest = hashlib.sha256()
    for folder in ("migrations", "seed"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run([*LULING, *args], env=env, cwd=cwd, capture_output=True, timeout=300)
    if done.returncode != 0:
        pytest.fail(
            f"luling {' '.join(args)} failed:\n{done.stdout[-2000:]!r}\n{done.stderr[-2000:]!r}"
        )


def seeded_template(base_url: str, folder: Path) -> str:
    """The name of a database holding the migrated reference county (built once)."""
    admin = make_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"luling_mp_{_template_key()}"
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if exists:
                return name
            building = f"{name}_{uuid.uuid4().hex[:6]}"
            conn.execute(sa.text(f'CREATE DATABASE "{building}"'))
        url = make_url(base_url).set(database=building).render_as_string(hide_password=False)
        env = {**os.environ, "DATABASE_URL": url, "LULING_LOG_LEVEL": "WARNING"}
        _run(["db", "upgrade"], env, folder)
        _run(["seed"], env, folder)
        with admin.connect() as conn:
            try:
                conn.execute(sa.text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
            except sa.exc.ProgrammingError:  # another run built it meanwhile
                conn.execute(sa.text(f'DROP DATABASE "{building}" WITH (FORCE)'))
        return name
    finally:
        admin.dispose()


@contextmanager
def copy_of(base_url: str, template: str) -> Iterator[str]:
    admin = make_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"luling_mp_run_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Process:
    """One `luling …` child process with its log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.popen: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                [*LULING, *self.args], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine dies."""
        assert self.popen is not None
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout: float = 20) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class Topology:
    def __init__(self, database_url: str, folder: Path) -> None:
        self.database_url = database_url
        self.folder = folder
        prefix = f"luling:test:{uuid.uuid4().hex[:8]}:"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "LULING_JOB_RUNNER": "queue",
            "LULING_BROADCAST_URL": f"{REDIS_URL}?channel_prefix={prefix}ev:",
            "LULING_REDIS_URL": REDIS_URL,  # rate limits and cost budgets
            "LULING_REDIS_KEY_PREFIX": prefix,
            "LULING_LOGIN_USERNAME_RATE_LIMIT": str(LOGIN_LIMIT),
            "LULING_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_S),
            "LULING_WORKER_STALLED_SECONDS": str(STALLED_S),
            "LULING_WORKER_POLL_SECONDS": "0.5",
            "LULING_CLOCK_SECONDS": "1",
            "LULING_SEED_ON_EMPTY": "false",
            "LULING_LOG_LEVEL": "INFO",
            "LULING_LOG_JSON": "false",
        }
        self.engine = make_engine(database_url)
        self.ports = [free_port(), free_port()]
        self.worker_ports: list[int] = []
        self.apis = [self._api(port) for port in self.ports]
        self.workers = [self._worker(i) for i in range(2)]
        for port, api in zip(self.ports, self.apis, strict=True):
            self.wait_healthy(port, api)
        self.wait_workers(2)

    def _api(self, port: int) -> Process:
        args = ["serve", "--port", str(port), "--no-seed-if-empty"]
        return Process(args, self.env, self.folder / f"api-{port}.log")

    def _worker(self, i: int) -> Process:
        port = free_port()
        self.worker_ports.append(port)
        args = ["worker", "--health-port", str(port)]
        return Process(args, self.env, self.folder / f"worker-{i}.log")

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def ws_url(self, i: int) -> str:
        return f"ws://127.0.0.1:{self.ports[i]}/graphql"

    def wait_healthy(self, port: int, api: Process, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert api.popen is not None
            if api.popen.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"luling serve did not become healthy:\n{api.text()[-2000:]}")
            time.sleep(0.1)

    def live_workers(self) -> int:
        query = (
            "SELECT count(*) FROM procrastinate_workers "
            "WHERE last_heartbeat > now() - interval '2 seconds'"
        )
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text(query)).scalar_one())

    def wait_workers(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.live_workers() < n:
            for w in self.workers:
                assert w.popen is not None
                if w.popen.poll() is not None:
                    pytest.fail(f"luling worker stopped:\n{w.text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("the workers did not register")
            time.sleep(0.1)

    def restart_api(self, i: int) -> None:
        self.apis[i].stop()
        self.apis[i].start()
        self.wait_healthy(self.ports[i], self.apis[i])

    def replace_worker(self, i: int) -> None:
        self.workers[i].stop()
        self.workers[i] = self._worker(i + len(self.workers))

    def worker_of(self, job_id: int, timeout: float = 30) -> int:
        """Which worker took the job (its log says so)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, w in enumerate(self.workers):
                if re.search(rf"matching job taken\s+job_id={job_id}\b", w.text()):
                    return i
            time.sleep(0.05)
        pytest.fail(f"no worker took job {job_id}")

    def stop(self) -> None:
        processes = [*self.apis, *self.workers]
        for p in processes:  # all at once: each takes a moment to finish
            if p.popen is not None and p.popen.poll() is None:
                p.popen.terminate()
        for p in processes:
            if p.popen is not None:
                try:
                    p.popen.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.popen.kill()
                    p.popen.wait()
        self.engine.dispose()
