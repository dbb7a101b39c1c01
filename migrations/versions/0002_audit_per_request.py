"""audit log: one row per request, with its root fields and their outcomes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "root_fields",
                sqlmodel.sql.sqltypes.AutoString(length=512),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("outcomes", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
    # Rows written one per field before: their field is their operation.
    op.execute("UPDATE audit_log SET root_fields = ',' || operation || ','")


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("count")
        batch_op.drop_column("outcomes")
        batch_op.drop_column("root_fields")
