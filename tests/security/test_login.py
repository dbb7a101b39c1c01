"""Logins: limited per client address and per username as well as per (username, address), and
password hashes capped per process so that a flood of logins cannot starve other requests."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.app import create_app
from schema.enums import Role
from schema.services import accounts
from tests import factories as f
from tests.conftest import make_settings

LOGIN = """mutation($u: String!, $p: String!) {
  login(username: $u, password: $p) { token userErrors { code } }
}"""


def login(client: TestClient, username: str, password: str) -> dict[str, Any]:
    r = client.post("/graphql", json={"query": LOGIN, "variables": {"u": username, "p": password}})
    assert r.status_code == 200, r.text
    return r.json()


def refused(body: dict[str, Any]) -> int:
    """The retry hint of a RATE_LIMITED refusal (fails on anything else)."""
    assert body["data"] is None, body
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "RATE_LIMITED", body
    return extensions["retryAfter"]


def wrong(body: dict[str, Any]) -> bool:
    return body["data"]["login"]["userErrors"] == [{"code": "UNAUTHENTICATED"}]


def from_address(app: Starlette, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def test_refuse_password_spraying_from_one_address(engine: sa.Engine, database_url: str) -> None:
    f.account(engine, Role.RESIDENT, password="right-password", username="alice")
    for n in range(5):
        f.account(engine, Role.RESIDENT, username=f"sprayed{n}")
    app = create_app(make_settings(database_url, login_address_rate_limit=3))
    with from_address(app, "10.0.0.1") as c:
        # One guess for each of many usernames: each (username, address) pair is fresh.
        assert all(wrong(login(c, f"sprayed{n}", "Spring2024!")) for n in range(3))
        retry_after = refused(login(c, "sprayed3", "Spring2024!"))
        assert 0 < retry_after <= 300
        refused(login(c, "alice", "right-password"))  # refused before the password is checked
    with from_address(app, "10.0.0.2") as c:  # another address is not affected
        assert login(c, "alice", "right-password")["data"]["login"]["token"]


def test_refuse_guessing_one_username_from_many_addresses(
    engine: sa.Engine, database_url: str
) -> None:
    f.account(engine, Role.RESIDENT, password="right-password", username="target")
    f.account(engine, Role.RESIDENT, password="right-password", username="bystander")
    app = create_app(make_settings(database_url, login_username_rate_limit=2))
    for address in ("10.0.1.1", "10.0.1.2"):
        with from_address(app, address) as c:
            assert wrong(login(c, "target", "guess"))
    with from_address(app, "10.0.1.3") as c:
        assert 0 < refused(login(c, " Target ", "right-password")) <= 300  # same name, spelt so
        assert login(c, "bystander", "right-password")["data"]["login"]["token"]


def test_refuse_logins_when_password_hashing_is_saturated(
    engine: sa.Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    f.account(engine, Role.RESIDENT, password="right-password", username="alice")
    release, started = threading.Event(), []
    real_verify = accounts.verify_password

    def held_verify(password_hash: str, password: str) -> bool:
        started.append(password)
        release.wait(timeout=60)  # a hash that takes as long as the test wants
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", held_verify)
    settings = make_settings(database_url, password_hash_concurrency=1, password_hash_waiting=1)
    app = create_app(settings)
    try:
        asyncio.run(_saturate(app, release, started))
    finally:
        release.set()


async def _saturate(app: Starlette, release: threading.Event, started: list[str]) -> None:
    from api.auth import hashing

    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://luling") as client:

            async def attempt(password: str) -> dict[str, Any]:
                variables = {"u": "alice", "p": password}
                r = await client.post("/graphql", json={"query": LOGIN, "variables": variables})
                return r.json()

            running = asyncio.create_task(attempt("right-password"))
            waiting = asyncio.create_task(attempt("wrong-password"))
            deadline = time.monotonic() + 30
            while hashing.gate().load() != (1, 1) or not started:
                assert time.monotonic() < deadline, hashing.gate().load()
                await asyncio.sleep(0.01)
            # Both slots taken: the next login is refused at once, without hashing.
            body = await asyncio.wait_for(attempt("third-password"), 30)
            assert refused(body) == hashing.RETRY_AFTER_SECONDS
            assert len(started) == 1  # whichever reached the gate first; the third never did
            # Other requests are answered while the hash runs.
            stats = await asyncio.wait_for(
                client.post("/graphql", json={"query": "{ countyStats { pairedUnits } }"}), 30
            )
            assert stats.json()["data"] == {"countyStats": {"pairedUnits": 0}}
            release.set()
            first, second = await asyncio.wait_for(asyncio.gather(running, waiting), 60)
            assert first["data"]["login"]["token"] and wrong(second)
            assert sorted(started) == ["right-password", "wrong-password"]
            assert hashing.gate().load() == (0, 0)
    finally:
        release.set()
        await app.state.db.dispose()


def test_cap_hashes_for_every_caller_of_the_gate() -> None:
    asyncio.run(_cap_hashes())


async def _cap_hashes() -> None:
    from api.auth.hashing import PasswordHashBusy, PasswordHashGate

    # The same gate serves change_password and create_account; a cancelled caller keeps its
    # slot until its hash has really finished.
    gate, release = PasswordHashGate(concurrency=1, waiting=0), threading.Event()
    holder = asyncio.create_task(gate.run(release.wait, 60))
    while gate.load() != (1, 0):
        await asyncio.sleep(0.01)
    with pytest.raises(PasswordHashBusy) as busy:
        await gate.run(len, "x")
    assert busy.value.extensions == {"code": "RATE_LIMITED", "retryAfter": 1}
    holder.cancel()
    await asyncio.sleep(0.05)
    assert gate.load() == (1, 0)  # still hashing in its thread
    release.set()
    while gate.load() != (0, 0):
        await asyncio.sleep(0.01)
    assert await gate.run(len, "xyz") == 3
