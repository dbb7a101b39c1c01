"""enterprise accounts and the business office (roles), claims (抢单), property routing

Accounts may speak for an enterprise (`account.enterprise_id`); two roles (business_office,
enterprise) and one enterprise-request action (claim) join their CHECK constraints; a need
records the property company it was routed to (`need.property_unit_id`).

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("resident", "volunteer", "grid_worker", "coordinator", "enterprise_helper", "admin")
NEW_ROLES = (
    "resident",
    "volunteer",
    "grid_worker",
    "coordinator",
    "enterprise_helper",
    "business_office",
    "enterprise",
    "admin",
)
OLD_ACTIONS = ("submit", "assign", "note", "resolve", "rate")
NEW_ACTIONS = ("submit", "assign", "claim", "note", "resolve", "rate")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _swap_check(
    table: str, column: str, name: str, old: tuple[str, ...], new: tuple[str, ...]
) -> None:
    """Replace the CHECK constraint an enum column carries (its values changed)."""
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a constraint: batch mode copies the table with the new type.
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.alter_column(
                column,
                existing_type=_enum(old, name),
                type_=_enum(new, name),
                existing_nullable=False,
            )
        return
    listed = ", ".join(f"'{v}'" for v in new)
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(
        op.f(f"ck_{table}_{name}"), table, sa.text(f"{column} IN ({listed})")
    )


def upgrade() -> None:
    _swap_check("account", "role", "role", OLD_ROLES, NEW_ROLES)
    _swap_check("enterprise_request_event", "action", "enterpriseaction", OLD_ACTIONS, NEW_ACTIONS)
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_account_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_account_enterprise_id_enterprise"),
            "enterprise",
            ["enterprise_id"],
            ["id"],
        )
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.add_column(sa.Column("property_unit_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_need_property_unit_id"), ["property_unit_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_need_property_unit_id_paired_unit"),
            "paired_unit",
            ["property_unit_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_need_property_unit_id_paired_unit"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_need_property_unit_id"))
        batch_op.drop_column("property_unit_id")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_account_enterprise_id_enterprise"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_account_enterprise_id"))
        batch_op.drop_column("enterprise_id")
    _swap_check("enterprise_request_event", "action", "enterpriseaction", NEW_ACTIONS, OLD_ACTIONS)
    _swap_check("account", "role", "role", NEW_ROLES, OLD_ROLES)
