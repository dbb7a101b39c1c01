"""notifications of administration: an activity cancelled, a commando mobilised or stood down
(notification.kind gains three values; its VARCHAR widens to the longest)

Downgrading deletes the notifications of the new kinds (with their deliveries and attempts):
they are messages already told or due, not records of the change itself, which stays in the
activity and team rows.

Revision ID: 0015
Revises: 0012
Create Date: 2026-11-30 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0010"
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
)
NEW_KINDS = ("activity_cancelled", "commando_mobilised", "commando_stood_down")
KINDS_AFTER = (*KINDS_BEFORE, *NEW_KINDS)


def _allow_kinds(values: tuple[str, ...]) -> None:
    """Replace the CHECK on notification.kind (a VARCHAR enum) with one listing `values`, and
    size the column to the longest.

    SQLite rebuilds the table (batch mode); deliveries reference it, so its foreign keys must
    be off meanwhile, and SQLite ignores that pragma inside a transaction: the rebuild runs
    between two autocommit blocks, and the keys are checked before they are enforced again."""
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
