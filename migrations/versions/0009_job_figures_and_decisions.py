"""matching jobs report their own figures per kind (resources, helper tasks); a proposal keeps
the reason a coordinator gave for a decision and the history of changed decisions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_FIGURES = (
    "resources_allocated",
    "resources_requested",
    "helper_tasks_matched",
    "helper_tasks_total",
)


def upgrade() -> None:
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        for name in JOB_FIGURES:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("decision_history", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_column("decision_history")
        batch_op.drop_column("decision_reason")
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        for name in reversed(JOB_FIGURES):
            batch_op.drop_column(name)
