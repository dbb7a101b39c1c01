"""province reads: indexes on need's, activity's and person's point, so that a box around a
point (`volunteerOpportunities(near:)`, duplicates, the people of one county's `countyStats`)
is an index range in a province of many counties rather than a scan of all of them. On PostgreSQL they are built
CONCURRENTLY: writes go on while they are (docs/deploy.md, upgrading while running).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_need_latitude_longitude", "need"),
    ("ix_activity_latitude_longitude", "activity"),
    ("ix_person_latitude_longitude", "person"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Built without blocking writes to the tables (a running release keeps reporting needs
        # while a province's millions of rows are indexed): outside a transaction.
        with op.get_context().autocommit_block():
            for name, table in INDEXES:
                op.create_index(
                    name,
                    table,
                    ["latitude", "longitude"],
                    postgresql_concurrently=True,
                    if_not_exists=True,
                )
        return
    for name, table in INDEXES:
        op.create_index(name, table, ["latitude", "longitude"])


def downgrade() -> None:
    for name, table in reversed(INDEXES):
        op.drop_index(name, table_name=table)
