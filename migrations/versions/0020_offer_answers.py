"""offers (请缨): the answer beside the volunteer's note — `declined_because` (the coordinator,
the need full, the need ended) and `answer` (what the decider said), where declining used to
write over the volunteer's note and acceptOffer told the cases apart by that text

Existing declined offers are sorted by the text the system wrote (名额已满…, 需求已办结或合并…);
every other declined offer was declined by its coordinator. Such a coordinator's reason, when
one was given, already replaced the volunteer's note and stays in `note`: which of the two it
is cannot be told afterwards. Downgrading puts a system answer back in `note`, as before.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The texts 0010–0019 wrote into `note` when the system answered a pending offer.
SYSTEM_ANSWERS = {
    "need_full": "名额已满，感谢请缨",
    "need_ended": "需求已办结或合并，感谢请缨",
}


def upgrade() -> None:
    with op.batch_alter_table("need_offer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "declined_because",
                sa.Enum(
                    "coordinator",
                    "need_full",
                    "need_ended",
                    name="offerdecline",
                    native_enum=False,
                    create_constraint=True,
                    length=11,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("answer", sa.String(length=500), nullable=False, server_default="")
        )
    offers = sa.table(
        "need_offer",
        sa.column("status", sa.String),
        sa.column("note", sa.String),
        sa.column("answer", sa.String),
        sa.column("declined_because", sa.String),
    )
    declined = offers.c.status == "declined"
    for because, text in SYSTEM_ANSWERS.items():
        op.execute(
            offers.update()
            .where(declined, offers.c.note == text)
            .values(declined_because=because, answer=text, note="")
        )
    op.execute(
        offers.update()
        .where(declined, offers.c.declined_because.is_(None))
        .values(declined_because="coordinator")
    )
    with op.batch_alter_table("need_offer", schema=None) as batch_op:
        batch_op.alter_column("answer", server_default=None)


def downgrade() -> None:
    offers = sa.table(
        "need_offer",
        sa.column("note", sa.String),
        sa.column("answer", sa.String),
        sa.column("declined_because", sa.String),
    )
    for because in SYSTEM_ANSWERS:
        op.execute(
            offers.update()
            .where(offers.c.declined_because == because)
            .values(note=offers.c.answer)
        )
    # A coordinator's reason went into `note` before 0020.
    op.execute(
        offers.update()
        .where(offers.c.declined_because == "coordinator", offers.c.answer != "")
        .values(note=offers.c.answer)
    )
    with op.batch_alter_table("need_offer", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_need_offer_offerdecline"), type_="check")
        batch_op.drop_column("answer")
        batch_op.drop_column("declined_because")
