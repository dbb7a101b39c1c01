"""notifications: people taken off a need when it is dispatched to others (改派) are told
(notification.kind gains `need_reassigned`)

Downgrading deletes the notifications of the new kind (with their deliveries and attempts):
they are messages already told or due; the re-dispatch itself stays in the need's events.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = (
    "need_dispatched",
    "match_committed",
    "request_assigned",
    "request_taken",
    "need_resolved",
    "need_escalated",
    "slot_reminder",
    "deadline_warning",
    "activity_cancelled",
    "commando_mobilised",
    "commando_stood_down",
)
NEW_KINDS = ("need_reassigned",)
KINDS_AFTER = (*KINDS_BEFORE, *NEW_KINDS)


def _allow_kinds(values: tuple[str, ...]) -> None:
    """Replace the CHECK on notification.kind with one listing `values` (as 0015 does: SQLite
    rebuilds the table with its foreign keys off, between two autocommit blocks)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
    listed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_notificationkind"), type_="check")
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(),
            type_=sa.String(length=max(len(v) for v in values)),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(
            op.f("ck_notification_notificationkind"), f"kind IN ({listed})"
        )
    if sqlite:
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"foreign keys broken by rebuilding notification: {broken}")
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    _allow_kinds(KINDS_AFTER)


def downgrade() -> None:
    doomed = "SELECT id FROM notification WHERE kind IN ({})".format(
        ", ".join(f"'{v}'" for v in NEW_KINDS)
    )
    op.execute(
        "DELETE FROM notification_attempt WHERE delivery_id IN (SELECT id FROM "
        f"notification_delivery WHERE notification_id IN ({doomed}))"
    )
    op.execute(f"DELETE FROM notification_delivery WHERE notification_id IN ({doomed})")
    op.execute(f"DELETE FROM notification WHERE id IN ({doomed})")
    _allow_kinds(KINDS_BEFORE)
