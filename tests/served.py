"""`luling serve` (uvicorn, as in production) in a child process on a free port, for the tests
that need a real server: its banner, the GraphQL-over-HTTP audit, the console in a browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

LULING = [sys.executable, "-c", "from api.cli import app; app()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(database_url: str, folder: Path) -> Iterator[str]:
    """`luling serve --no-seed-if-empty` over `database_url` (migrated by the server), its log
    in `folder`; yields the base URL once /healthz answers 200, fails the test if it never does,
    and stops the server afterwards."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LULING_SEED_ON_EMPTY": "false",
        "LULING_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    log_path = folder / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*LULING, "serve", "--port", str(port), "--no-seed-if-empty"],
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log_tail = log_path.read_text(errors="replace")[-2000:]
                pytest.fail(f"luling serve did not become healthy:\n{log_tail}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
