"""notification e-mail addresses are confirmed by a code sent to them before notices go there
(notification_preference gains the verification, the hashed code and its limits)

Addresses set before this revision stay unconfirmed: nothing proves they are their owners'
(the gap this closes), so notices go to the next channel or the inbox until they are confirmed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 00:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification_preference", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("email_code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_code_expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("email_code_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("email_codes_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("email_codes_since", sa.DateTime(), nullable=True))
    with op.batch_alter_table("notification_preference", schema=None) as batch_op:
        batch_op.alter_column("email_code_attempts", server_default=None)
        batch_op.alter_column("email_codes_sent", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("notification_preference", schema=None) as batch_op:
        batch_op.drop_column("email_codes_since")
        batch_op.drop_column("email_codes_sent")
        batch_op.drop_column("email_code_attempts")
        batch_op.drop_column("email_code_expires_at")
        batch_op.drop_column("email_code_hash")
        batch_op.drop_column("email_verified_at")
