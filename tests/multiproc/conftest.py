"""The 2 API + 2 worker topology (tests/multiproc/topology.py), once per module: PostgreSQL and
Redis only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from sqlmodel import Session, select

from schema.db import is_sqlite
from schema.models import Account
from tests import factories as f
from tests.multiproc.topology import REDIS_URL, Topology, copy_of, seeded_template


@contextmanager
def started_topology(
    tmp_path_factory: pytest.TempPathFactory, **options: Any
) -> Iterator[Topology]:
    """A topology on a fresh copy of the seeded database (`options`: Topology's)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base or is_sqlite(base):
        pytest.skip(
            "several processes share PostgreSQL (the job queue) and Redis: "
            "run with DATABASE_URL=postgresql://…"
        )
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} does not answer ({exc}): .ci/run starts it")
    folder = tmp_path_factory.mktemp("multiproc")
    template = seeded_template(base, folder)
    with copy_of(base, template) as url:
        topology = Topology(url, folder, **options)
        try:
            yield topology
        finally:
            topology.stop()


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with started_topology(tmp_path_factory) as topology:
        yield topology


@pytest.fixture(scope="module")
def token(topology: Topology) -> str:
    """A bearer token of the reference county's administrator (demo-admin)."""
    with Session(topology.engine) as s:
        admin = s.exec(select(Account).where(Account.username == "demo-admin")).one()
    return f.token_for(admin)
