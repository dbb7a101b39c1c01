"""What must be true before the API may serve in production."""

from __future__ import annotations

import sqlalchemy as sa

from api.settings import DEFAULT_SECRET, Settings

MAX_PRODUCTION_TOKEN_TTL_MINUTES = 7 * 24 * 60


def production_problems(settings: Settings) -> list[str]:
    """Reasons to refuse starting in production; empty when it is safe (or not production)."""
    if not settings.is_production:
        return []
    problems: list[str] = []
    if settings.secret_key == DEFAULT_SECRET or len(settings.secret_key) < 32:
        problems.append("LULING_SECRET_KEY is the default or shorter than 32 characters")
    if "*" in settings.cors_origins:
        problems.append("LULING_CORS_ORIGINS allows any origin ('*'); list the front ends")
    if "*" in settings.websocket_origins:
        problems.append("LULING_WEBSOCKET_ORIGINS allows any origin ('*'); list the front ends")
    if settings.token_ttl_minutes > MAX_PRODUCTION_TOKEN_TTL_MINUTES:
        problems.append("LULING_TOKEN_TTL_MINUTES is longer than 7 days")
    if _demo_accounts_exist(settings.database_url):
        problems.append("demo accounts (demo-*) exist; delete them before serving in production")
    return problems


def _demo_accounts_exist(url: str) -> bool:
    from schema.db import make_engine, table_of
    from schema.models import Account

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            stmt = sa.select(sa.func.count()).where(sa.column("username").like("demo-%"))
            stmt = stmt.select_from(table_of(Account))
            return bool(conn.execute(stmt).scalar())
    except sa.exc.SQLAlchemyError:
        return False  # no account table yet: nothing to refuse
    finally:
        engine.dispose()
