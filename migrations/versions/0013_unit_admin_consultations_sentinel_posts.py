"""paired units and resources carry a version and resources can be retired; consultations
keep their parties, sessions and settled disputes; sentinel posts (民声前哨点) and the need
suggested at one

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-30 22:43:33.257633
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schema.base

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sentinel_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("keeper_person_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", schema.base.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "latitude BETWEEN 26.55 AND 27.45 AND longitude BETWEEN 114.45 AND 115.35",
            name=op.f("ck_sentinel_post_latitude_longitude_in_county"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_sentinel_post_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["keeper_person_id"],
            ["person.id"],
            name=op.f("fk_sentinel_post_keeper_person_id_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sentinel_post")),
        sa.UniqueConstraint(
            "community_id", "name", name=op.f("uq_sentinel_post_community_id_name")
        ),
    )
    with op.batch_alter_table("sentinel_post", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sentinel_post_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sentinel_post_keeper_person_id"), ["keeper_person_id"], unique=False
        )

    op.create_table(
        "consultation_party",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultation_party_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_consultation_party_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["paired_unit.id"], name=op.f("fk_consultation_party_unit_id_paired_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_party")),
        sa.UniqueConstraint(
            "consultation_id", "name", name=op.f("uq_consultation_party_consultation_id_name")
        ),
    )
    with op.batch_alter_table("consultation_party", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_party_consultation_id"), ["consultation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consultation_party_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consultation_party_unit_id"), ["unit_id"], unique=False
        )

    op.create_table(
        "consultation_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("held_at", schema.base.UTCDateTime(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("recorded_by_account_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", schema.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("attendees >= 0", name=op.f("ck_consultation_session_attendees")),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_consultation_session_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_account_id"],
            ["account.id"],
            name=op.f("fk_consultation_session_recorded_by_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_session")),
    )
    with op.batch_alter_table("consultation_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consultation_session_consultation_id"), ["consultation_id"], unique=False
        )

    op.create_table(
        "settled_dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("settled_at", schema.base.UTCDateTime(), nullable=False),
        sa.Column("settled_by_account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_settled_dispute_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["settled_by_account_id"],
            ["account.id"],
            name=op.f("fk_settled_dispute_settled_by_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settled_dispute")),
    )
    with op.batch_alter_table("settled_dispute", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settled_dispute_consultation_id"), ["consultation_id"], unique=False
        )

    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("concluded_at", schema.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("created_by_account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_consultation_created_by_account_id_account"),
            "account",
            ["created_by_account_id"],
            ["id"],
        )

    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentinel_post_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_need_sentinel_post_id"), ["sentinel_post_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_need_sentinel_post_id_sentinel_post"),
            "sentinel_post",
            ["sentinel_post_id"],
            ["id"],
        )

    with op.batch_alter_table("paired_unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", schema.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("retired_at")

    with op.batch_alter_table("paired_unit", schema=None) as batch_op:
        batch_op.drop_column("version")

    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_need_sentinel_post_id_sentinel_post"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_need_sentinel_post_id"))
        batch_op.drop_column("sentinel_post_id")

    with op.batch_alter_table("consultation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consultation_created_by_account_id_account"), type_="foreignkey"
        )
        batch_op.drop_column("version")
        batch_op.drop_column("created_by_account_id")
        batch_op.drop_column("concluded_at")

    with op.batch_alter_table("settled_dispute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settled_dispute_consultation_id"))

    op.drop_table("settled_dispute")
    with op.batch_alter_table("consultation_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_session_consultation_id"))

    op.drop_table("consultation_session")
    with op.batch_alter_table("consultation_party", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consultation_party_unit_id"))
        batch_op.drop_index(batch_op.f("ix_consultation_party_person_id"))
        batch_op.drop_index(batch_op.f("ix_consultation_party_consultation_id"))

    op.drop_table("consultation_party")
    with op.batch_alter_table("sentinel_post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sentinel_post_keeper_person_id"))
        batch_op.drop_index(batch_op.f("ix_sentinel_post_community_id"))

    op.drop_table("sentinel_post")
