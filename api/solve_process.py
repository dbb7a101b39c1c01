"""A worker solves each job in a child process, so that a cancel stops the solve at once.

The solver is pure Python and numpy with no way to be interrupted: in a thread it could not be
stopped. In a child process a cancel (the job's row CANCELLED, by any API process) kills it, the
worker's loop shares no interpreter with it, and a solve that runs out of memory takes only the
child with it. Killing it never leaves half a result: results are written
in one transaction at the end (`run_job`). Children come from a forkserver that has imported the
solver once, so starting one costs milliseconds, and each dies with its worker (PDEATHSIG).

The child lowers its own priority by `nice` (`LULING_WORKER_NICE`) before the solver starts any
thread: where a worker shares cores with an API process, the solve takes what the API leaves
instead of queueing requests behind it (bench/solve_p99.py measures both).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import sqlalchemy as sa

from schema.enums import JobStatus
from schema.services.matching.jobs import job_status
from schema.workflow import FINAL_JOB_STATUSES

_PR_SET_PDEATHSIG = 1
_context: Any = None


def _context_once() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["schema.services.matching.runner", "schema.db"])
    return _context


def warm_up() -> None:
    """Start the forkserver (it imports the solver: seconds) before the first job needs it.
    Blocking: run it in a thread, never on the worker's event loop (heartbeats would stop)."""
    from multiprocessing import forkserver

    _context_once()
    forkserver.ensure_running()


def _die_with(worker_pid: int) -> None:
    """End this child, saving nothing, as soon as its worker is gone: its parent is the
    forkserver, so PDEATHSIG alone (for the forkserver's death) is not enough."""
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(worker_pid, 0)
            except ProcessLookupError:
                os._exit(1)  # no clean-up: the open transaction, if any, is rolled back

    threading.Thread(target=watch, daemon=True, name="luling-worker-watch").start()


def _child(database_url: str, job_id: int, out: Connection, worker_pid: int, nice: int) -> None:
    """In the child: run the job, sending each progress report up the pipe."""
    if nice:  # first, so that every thread the solver starts inherits it
        os.nice(nice)
    _die_with(worker_pid)
    from schema.db import make_engine
    from schema.services.matching.runner import run_job

    engine = make_engine(database_url)

    def progress(jid: int, status: JobStatus, value: float, stage: str) -> None:
        try:
            out.send((status.value, value, stage))
        except OSError:  # the worker is gone: stop before anything more is written
            os._exit(1)

    try:
        run_job(engine, job_id, on_progress=progress)
    finally:
        out.close()
        engine.dispose()


Progress = Callable[[str, float, str], Awaitable[None]]


async def solve_in_child(
    database_url: str,
    engine: sa.Engine,
    job_id: int,
    *,
    on_progress: Progress,
    check_every: float,
    nice: int = 0,
) -> str:
    """Run the job in a child process; kill it when the job is cancelled meanwhile. Returns the
    job's status at the end ("killed: …" when the child died without ending the job)."""
    ctx = _context_once()
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child, args=(database_url, job_id, writer, os.getpid(), nice), daemon=True
    )
    # Off the loop: starting a child talks to the forkserver (and may have to start it).
    await asyncio.to_thread(child.start)
    writer.close()
    try:
        while True:
            ready = await asyncio.to_thread(reader.poll, check_every)
            if ready:
                try:
                    status, value, stage = reader.recv()
                except EOFError:  # the child is done (or dead)
                    break
                await on_progress(status, value, stage)  # in order, one at a time
                continue
            if _status(engine, job_id) is JobStatus.CANCELLED:
                child.kill()  # a cancel from any API process: stop solving now
                break
    finally:
        reader.close()
        await asyncio.to_thread(child.join)
    final = _status(engine, job_id)
    if final in FINAL_JOB_STATUSES:
        return str(final.value) if final is not None else "missing"
    return f"killed: its solver process ended with code {child.exitcode}"


def _status(engine: sa.Engine, job_id: int) -> JobStatus | None:
    with engine.connect() as conn:
        return job_status(conn, job_id)
