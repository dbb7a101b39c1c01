"""a province of counties in one database: community.county, points anywhere in the province,
and province matching jobs fanned out into one job per county (scope_counties, province_job_id,
county_stats)

Existing communities belong to the reference county (吉安县, the column's server default).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFERENCE_COUNTY = "吉安县"
COUNTY_BOX = "latitude BETWEEN 26.55 AND 27.45 AND longitude BETWEEN 114.45 AND 115.35"
PROVINCE_BOX = "latitude BETWEEN 26.55 AND 40.95 AND longitude BETWEEN 114.45 AND 128.85"
# Every table whose points the CHECK keeps in the box (registry records may have no point).
POINT_TABLES = (
    "activity",
    "community",
    "compound",
    "enterprise",
    "grid",
    "need",
    "paired_unit",
    "person",
    "registry_record",
    "resource",
    "sentinel_post",
    "venue",
)


def _swap_box(table: str, box: str) -> None:
    cond = box
    if table == "registry_record":
        cond = f"(latitude IS NULL AND longitude IS NULL) OR ({box})"
    name = op.f(f"ck_{table}_latitude_longitude_in_county")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a constraint: batch mode copies the table with the new one.
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.drop_constraint(name, type_="check")
            batch_op.create_check_constraint(name, sa.text(cond))
        return
    op.drop_constraint(name, table, type_="check")
    op.create_check_constraint(name, table, sa.text(cond))


def _swap_boxes(box: str) -> None:
    """Every point table's CHECK to `box`. SQLite rebuilds the tables (batch mode); other
    tables reference them, so foreign keys are off meanwhile (SQLite ignores that pragma inside
    a transaction: the rebuilds run between two autocommit blocks) and checked before they are
    enforced again (as 0015 does)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
    for table in POINT_TABLES:
        _swap_box(table, box)
    if sqlite:
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"foreign keys broken by rebuilding the point tables: {broken}")
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    _swap_boxes(PROVINCE_BOX)
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "county",
                sa.String(length=64),
                nullable=False,
                server_default=REFERENCE_COUNTY,
            )
        )
        batch_op.create_index(batch_op.f("ix_community_county"), ["county"], unique=False)
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope_counties", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("province_job_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("county_stats", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.create_index(
            batch_op.f("ix_matching_job_province_job_id"), ["province_job_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_matching_job_province_job_id_matching_job"),
            "matching_job",
            ["province_job_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_matching_job_province_job_id_matching_job"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_matching_job_province_job_id"))
        batch_op.drop_column("county_stats")
        batch_op.drop_column("province_job_id")
        batch_op.drop_column("scope_counties")
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_county"))
        batch_op.drop_column("county")
    _swap_boxes(COUNTY_BOX)
