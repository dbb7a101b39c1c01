"""shared registry (一表同享): typed people, houses and enterprises keyed by natural key

The old `registry_record` table was never written (no type, query or import used it), so it is
replaced rather than altered.

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-30 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import schema.base

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registry_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_record_kind"))
        batch_op.drop_index(batch_op.f("ix_registry_record_community_id"))
    op.drop_table("registry_record")
    op.create_table(
        "registry_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("natural_key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("source_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("row_hash", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("imported_at", schema.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", schema.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(latitude IS NULL AND longitude IS NULL) OR (latitude BETWEEN 26.55 AND 27.45 "
            "AND longitude BETWEEN 114.45 AND 115.35)",
            name=op.f("ck_registry_record_latitude_longitude_in_county"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_registry_record_community_id_community"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_record")),
        sa.UniqueConstraint(
            "kind", "natural_key", name=op.f("uq_registry_record_kind_natural_key")
        ),
    )
    with op.batch_alter_table("registry_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_record_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index("ix_registry_record_kind_name", ["kind", "name"], unique=False)
        batch_op.create_index(
            "ix_registry_record_source_source_key", ["source", "source_key"], unique=False
        )


def downgrade() -> None:
    op.drop_table("registry_record")
    op.create_table(
        "registry_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("imported_at", schema.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_registry_record_community_id_community"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_record")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_registry_record_source_external_id")
        ),
    )
    with op.batch_alter_table("registry_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_record_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_record_kind"), ["kind"], unique=False)
