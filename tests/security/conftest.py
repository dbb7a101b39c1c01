"""Fixtures for the security tests: a client that reports server errors as responses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from tests.conftest import make_settings


@pytest.fixture
def raw_client(engine: sa.Engine, database_url: str) -> Iterator[TestClient]:
    """Like `client`, but an unhandled exception comes back as the 500 a real client would see
    instead of being raised into the test."""
    with TestClient(create_app(make_settings(database_url)), raise_server_exceptions=False) as c:
        yield c
