"""Production checks: the settings and data `luling serve` refuses to start with (api/safety.py)."""

from __future__ import annotations

import sqlalchemy as sa

from api.safety import production_problems
from api.settings import DEFAULT_SECRET
from schema.enums import Role
from tests import factories as f
from tests.conftest import make_settings


def test_refuse_unsafe_production_settings(engine: sa.Engine, database_url: str) -> None:
    safe = {"environment": "production", "secret_key": "x" * 40}
    assert production_problems(make_settings(database_url, **safe)) == []
    assert production_problems(make_settings(database_url, secret_key=DEFAULT_SECRET)) == []
    cases = {
        "LULING_SECRET_KEY": {"secret_key": DEFAULT_SECRET},
        "LULING_CORS_ORIGINS": {"cors_origins": ["*"]},
        "LULING_WEBSOCKET_ORIGINS": {"websocket_origins": ["*"]},
        "LULING_TOKEN_TTL_MINUTES": {"token_ttl_minutes": 60 * 24 * 30},
    }
    for name, override in cases.items():
        problems = production_problems(make_settings(database_url, **(safe | override)))
        assert len(problems) == 1 and name in problems[0], (name, problems)
    f.account(engine, Role.RESIDENT, username="demo-resident")
    problems = production_problems(make_settings(database_url, **safe))
    assert len(problems) == 1 and "demo accounts" in problems[0]
