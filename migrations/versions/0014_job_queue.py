"""the matching job queue: procrastinate 3.10.0's schema (PostgreSQL only; SQLite runs jobs
in-process and needs nothing)

The SQL is procrastinate's own `schema.sql`, frozen beside this file, so this revision does the
same whatever procrastinate is installed later; a later procrastinate's schema changes arrive as
later revisions running its migration files.

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-30 22:50:00
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA_SQL = Path(__file__).with_name("0014_procrastinate_3_10_0_schema.sql")

# Everything the schema creates is named procrastinate_*: drop it by name, whatever the kind.
DROP_ALL = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn, p.prokind FROM pg_proc p
             JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        IF r.prokind = 'p' THEN
            EXECUTE format('DROP PROCEDURE IF EXISTS %s CASCADE', r.fn);
        ELSE
            EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.fn);
        END IF;
    END LOOP;
    FOR r IN SELECT t.typname FROM pg_type t
             JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
               AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
    END LOOP;
END $$;
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # The driver sees no parameters, but psycopg still reads '%' as a placeholder: double it.
    bind.exec_driver_sql(SCHEMA_SQL.read_text(encoding="utf-8").replace("%", "%%"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.exec_driver_sql(DROP_ALL.replace("%", "%%"))
