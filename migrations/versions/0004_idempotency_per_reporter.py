"""idempotency keys per reporter (needs) and per submitter (enterprise requests), with a hash of
the body first sent under each key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (("need", "reporter_account_id"), ("enterprise_request", "submitted_by_account_id"))


def upgrade() -> None:
    for table, owner in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "idempotency_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
                )
            )
            batch_op.drop_constraint(f"uq_{table}_idempotency_key", type_="unique")
            batch_op.create_unique_constraint(
                f"uq_{table}_{owner}_idempotency_key", [owner, "idempotency_key"]
            )


def downgrade() -> None:
    for table, owner in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_{owner}_idempotency_key", type_="unique")
            batch_op.create_unique_constraint(f"uq_{table}_idempotency_key", ["idempotency_key"])
            batch_op.drop_column("idempotency_hash")
