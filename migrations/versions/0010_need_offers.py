"""offers (请缨): a volunteer offers to take an open need; a coordinator accepts the offer by
dispatching them

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schema.base

revision: str = "0010"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "need_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "offered",
                "withdrawn",
                "accepted",
                "declined",
                name="offerstatus",
                native_enum=False,
                create_constraint=True,
                length=9,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("offered_at", schema.base.UTCDateTime(), nullable=False),
        sa.Column("decided_at", schema.base.UTCDateTime(), nullable=True),
        sa.Column("decided_by_account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_account_id"],
            ["account.id"],
            name=op.f("fk_need_offer_decided_by_account_id_account"),
        ),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"], name=op.f("fk_need_offer_need_id_need")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_need_offer_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_offer")),
        sa.UniqueConstraint("need_id", "person_id", name=op.f("uq_need_offer_need_id_person_id")),
    )
    with op.batch_alter_table("need_offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_need_offer_need_id"), ["need_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_offer_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_offer_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("need_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_offer_status"))
        batch_op.drop_index(batch_op.f("ix_need_offer_person_id"))
        batch_op.drop_index(batch_op.f("ix_need_offer_need_id"))
    op.drop_table("need_offer")
