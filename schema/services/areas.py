"""平急转换: switching a community or village between normal and emergency mode."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.areas import Community
from schema.enums import AreaMode
from schema.services.common import Actor, clean_text, now_or, to_publish
from schema.services.errors import Conflict, Forbidden, NotFound
from schema.services.teams import stand_down_commandos
from schema.workflow import IllegalTransition


async def set_area_mode(
    *,
    session: AsyncSession,
    community_id: int,
    mode: AreaMode,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Community:
    """Switches the mode; switching to the mode the area is already in is an illegal step.
    Back to normal, the area's commando (formed by `form_commando`) stands down."""
    now = now_or(now)
    reason = clean_text(reason, "reason", max_length=1000, required=False)
    community = await session.get(Community, community_id, populate_existing=True)
    if community is None:
        raise NotFound("community", community_id, field="community_id")
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators switch an area's mode")
    actor.require_scope(community_id)
    before = community.mode
    if before is mode:
        other = next(m for m in AreaMode if m is not mode)
        raise IllegalTransition(f"set_mode {mode.value}", before.value, (other.value,))
    stmt = (
        sa.update(Community)
        .where(col(Community.id) == community_id, col(Community.mode) == before)
        .values(mode=mode, mode_changed_at=now)
        .returning(Community)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    updated = (await session.execute(stmt)).scalars().one_or_none()
    if updated is None:
        raise Conflict("the area's mode was switched at the same time; reload and retry")
    if mode is AreaMode.NORMAL:
        await stand_down_commandos(session, community_id, now)  # 平急转换: back to their teams
    to_publish(session).append(
        {
            "kind": "area_mode",
            "community_id": community_id,
            "from_mode": before.value,
            "to_mode": mode.value,
            "actor_account_id": actor.account_id,
            "reason": reason,
        }
    )
    return updated
