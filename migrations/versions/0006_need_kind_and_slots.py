"""the county's clock: a need's kind (response or scheduled), the overdue flag the scheduler
sets, the slot a proposal books, and no-shows among sign-ups

Revision ID: 0006
Revises: 0007
Create Date: 2026-11-30 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNUP_BEFORE = ("signed_up", "cancelled", "checked_in", "checked_out")
SIGNUP_AFTER = (*SIGNUP_BEFORE, "no_show")


def _allow_signup(values: tuple[str, ...]) -> None:
    """Replace the CHECK on sign_up.status (a VARCHAR enum) with one listing `values`."""
    listed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table("sign_up", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sign_up_signupstatus"), type_="check")
        batch_op.create_check_constraint(op.f("ck_sign_up_signupstatus"), f"status IN ({listed})")


def upgrade() -> None:
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "response",
                    "scheduled",
                    name="needkind",
                    native_enum=False,
                    create_constraint=True,
                    length=9,
                ),
                nullable=False,
                server_default="response",
            )
        )
        batch_op.add_column(sa.Column("overdue_flagged_at", sa.DateTime(), nullable=True))
    # What needs to be booked ahead: needs waiting for people with a service window.
    op.execute(
        "UPDATE need SET kind = 'scheduled' WHERE window_end IS NOT NULL "
        "AND category NOT IN ('safety', 'emergency') "
        "AND source NOT IN ('grid_patrol', 'team_report')"
    )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slot_start", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("slot_end", sa.DateTime(), nullable=True))
    _allow_signup(SIGNUP_AFTER)


def downgrade() -> None:
    op.execute("UPDATE sign_up SET status = 'signed_up' WHERE status = 'no_show'")
    _allow_signup(SIGNUP_BEFORE)
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_column("slot_end")
        batch_op.drop_column("slot_start")
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_need_needkind"), type_="check")
        batch_op.drop_column("overdue_flagged_at")
        batch_op.drop_column("kind")
