"""Several dispatchers on one outbox: each delivery is claimed by one of them and sent once;
a dispatcher killed mid-round (SIGKILL, a real process) loses nothing, and what it held is sent
by the other once its lease lapses, without a second message to anybody."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import time as clock_time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.notify.dispatcher import Dispatcher
from schema import models as m
from schema.notifications import DeliveryStatus, NotificationKind
from schema.services.notify import notify_on
from tests import factories as f
from tests.conftest import make_settings
from tests.notify_servers import free_port, provider_server

ROOT = Path(__file__).resolve().parents[3]


def fill_outbox(engine: sa.Engine, people: int, per_person: int) -> int:
    ids = [f.person(engine, phone=f"1380000{i:04d}").id for i in range(people)]
    with engine.begin() as conn:
        for round_ in range(per_person):
            for pid in ids:
                assert pid is not None
                notify_on(
                    conn,
                    NotificationKind.SLOT_REMINDER,
                    key=f"test:{round_}",
                    data={"title": "上门理发", "place": "泉塘社区", "slot": "6月1日 09:00–10:00"},
                    person_ids=[pid],
                )
    return people * per_person


def statuses(engine: sa.Engine) -> dict[DeliveryStatus, int]:
    with Session(engine) as s:
        out: dict[DeliveryStatus, int] = {}
        for d in s.exec(select(m.NotificationDelivery)):
            out[d.status] = out.get(d.status, 0) + 1
        return out


def test_two_dispatchers_share_the_outbox_and_send_each_once(
    engine: sa.Engine, database_url: str
) -> None:
    total = fill_outbox(engine, people=30, per_person=2)
    with provider_server() as (url, provider):
        provider.delay = 0.005
        settings = make_settings(
            database_url,
            sms_api_url=url,
            sms_api_key="test-key",
            notify_batch=4,
            notify_rate_limit=0,
            notify_quiet_start=clock_time(0),
            notify_quiet_end=clock_time(0),
        )
        stop = threading.Event()
        workers = [Dispatcher(lambda: engine, settings, worker=f"w{i}") for i in range(2)]
        threads = [
            threading.Thread(target=w.run, kwargs={"interval": 0.02, "stop": stop}) for w in workers
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while statuses(engine).get(DeliveryStatus.SENT, 0) < total and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(10)
    assert statuses(engine) == {DeliveryStatus.SENT: total}
    keys = [r["headers"]["idempotency-key"] for r in provider.requests]
    assert len(keys) == total and len(set(keys)) == total  # not one request twice
    with Session(engine) as s:
        by_worker = {a.worker for a in s.exec(select(m.NotificationAttempt))}
    assert by_worker == {"w0", "w1"}  # both took part


def _dispatcher_process(database_url: str, provider_url: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": database_url,
        "LULING_SMS_API_URL": provider_url,
        "LULING_SMS_API_KEY": "test-key",
        "LULING_NOTIFY_BATCH": "5",
        "LULING_NOTIFY_LEASE_SECONDS": "2",
        "LULING_NOTIFY_RATE_LIMIT": "0",
        "LULING_NOTIFY_QUIET_START": "00:00",
        "LULING_NOTIFY_QUIET_END": "00:00",
        "LULING_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "notifications",
            "dispatch",
            "--loop",
            "--interval",
            "0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _log(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_killed_dispatcher_loses_nothing_and_sends_nothing_twice(
    engine: sa.Engine, database_url: str, tmp_path: Path
) -> None:
    total = fill_outbox(engine, people=20, per_person=3)
    port, log = free_port(), tmp_path / "provider.jsonl"
    provider = subprocess.Popen(
        [sys.executable, "-m", "tests.notify_servers", str(port), str(log), "0.03"], cwd=ROOT
    )
    first = second = None
    try:
        time.sleep(0.5)
        url = f"http://127.0.0.1:{port}"
        first = _dispatcher_process(database_url, url)
        deadline = time.monotonic() + 60
        while len(_log(log)) < 12 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # mid-round: it holds a claimed batch
        first.wait(10)
        held = statuses(engine).get(DeliveryStatus.SENDING, 0)
        second = _dispatcher_process(database_url, url)
        while statuses(engine).get(DeliveryStatus.SENT, 0) < total and time.monotonic() < deadline:
            time.sleep(0.2)
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    finally:
        for p in (first, second, provider):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
    assert held > 0, statuses  # the kill left rows claimed; the second dispatcher took them
    assert statuses(engine) == {DeliveryStatus.SENT: total}
    entries = _log(log)
    new = [e["key"] for e in entries if e["new"]]
    assert len(new) == total and len(set(new)) == total  # every message delivered, once
    # A resend of a message is possible only for the one the killed process had handed to
    # the provider but not yet recorded; its idempotency key made it no second message.
    resent = [e["key"] for e in entries if not e["new"]]
    assert len(resent) <= 1, resent
    with Session(engine) as s:
        workers = {
            a.worker
            for a in s.exec(
                select(m.NotificationAttempt).where(col(m.NotificationAttempt.outcome) == "sent")
            )
        }
    assert len(workers) == 2
