"""The notices administration writes into the outbox: an activity cancelled, a commando team
(党员突击队) mobilised or stood down.

Each hook runs inside the calling service's transaction, after the change it reports, so its
notifications commit or roll back with the change: nobody is told of a change that did not
happen. Each event's key is stable (`activity:{id}:cancelled`, `commando:{team}:mobilised`,
`commando:{team}:stood_down`), so a person is told of it once however often it is reported.
Live subscribers also learn of each change from the broadcast published after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.activities import Activity
from schema.areas import Community, Venue
from schema.notification_texts import local_span, local_time
from schema.notifications import NotificationKind
from schema.people import Team
from schema.services.notify import notify


async def _community_name(session: AsyncSession, community_id: int | None) -> str:
    if community_id is None:
        return ""
    name = await session.scalar(
        sa.select(col(Community.name)).where(col(Community.id) == community_id)
    )
    return name or ""


async def activity_cancelled(
    session: AsyncSession, *, activity: Activity, person_ids: Sequence[int], reason: str
) -> None:
    """An activity was cancelled: each person who was signed up (or checked in) hears why."""
    if not person_ids:
        return
    place = await _community_name(session, activity.community_id)
    if activity.venue_id is not None:
        venue = await session.scalar(
            sa.select(col(Venue.name)).where(col(Venue.id) == activity.venue_id)
        )
        place += venue or ""
    data: dict[str, Any] = {
        "activity_id": activity.id,
        "title": activity.title,
        "time": local_span(activity.starts_at, activity.ends_at),
        "place": place,
        "community_id": activity.community_id,
        "reason": reason,
    }
    key = f"activity:{activity.id}:cancelled"
    await notify(
        session, NotificationKind.ACTIVITY_CANCELLED, key=key, data=data, person_ids=person_ids
    )


async def _tell_members(
    session: AsyncSession,
    kind: NotificationKind,
    event: str,
    team: Team,
    person_ids: Sequence[int],
    when: datetime | None,
    *,
    urgent: bool = False,
) -> None:
    """Tells a commando's members of `event` (its key: `commando:{team}:{event}`)."""
    data = {
        "team_id": team.id,
        "team": team.name,
        "community_id": team.community_id,
        "community": await _community_name(session, team.community_id),
        "time": local_time(when),
    }
    key = f"commando:{team.id}:{event}"
    await notify(session, kind, key=key, data=data, person_ids=person_ids, urgent=urgent)


async def commando_mobilised(
    session: AsyncSession, *, team: Team, person_ids: Sequence[int]
) -> None:
    """A commando team was formed: each member hears, at once (urgent: quiet hours do not hold
    it back), that they are mobilised, with which team and where."""
    kind = NotificationKind.COMMANDO_MOBILISED
    await _tell_members(session, kind, "mobilised", team, person_ids, team.founded_at, urgent=True)


async def commando_stood_down(
    session: AsyncSession, *, team: Team, person_ids: Sequence[int]
) -> None:
    """The area returned to normal mode: each member hears the commando stood down (not
    urgent: it can wait for the morning)."""
    kind = NotificationKind.COMMANDO_STOOD_DOWN
    await _tell_members(session, kind, "stood_down", team, person_ids, team.disbanded_at)
