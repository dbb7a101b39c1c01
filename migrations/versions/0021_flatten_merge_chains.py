"""needs: a report merged into a need that was itself merged later points at the need it ended
in (as merges now do), so that its reporter is told of that need's resolution and its 12345
ticket is answered by it. The reports' own MERGE events keep where they went first, so there is
nothing to undo: downgrading leaves them as they are.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    need = sa.table("need", sa.column("id", sa.Integer), sa.column("merged_into_id", sa.Integer))
    target = need.alias("target")
    # One step along every chain per round; a chain of k merges takes k - 1 rounds.
    next_step = (
        sa.select(target.c.merged_into_id)
        .where(target.c.id == need.c.merged_into_id)
        .scalar_subquery()
    )
    chained = sa.select(target.c.id).where(target.c.merged_into_id.is_not(None))
    while True:
        moved = op.get_bind().execute(
            need.update()
            .where(need.c.merged_into_id.in_(chained))
            .values(merged_into_id=next_step)
        )
        if not moved.rowcount:
            break


def downgrade() -> None:
    pass
