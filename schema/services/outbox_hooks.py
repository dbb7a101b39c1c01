"""Where the notifications outbox will write (built on another branch).

Each hook runs inside the service's transaction, after the change it reports, so an outbox row
written here commits or rolls back with the change: nobody is told of a change that did not
happen. Until the outbox lands the hooks write nothing; live subscribers already learn of each
change from the broadcast published after commit.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from schema.activities import Activity
from schema.people import Team


async def activity_cancelled(
    session: AsyncSession, *, activity: Activity, person_ids: Sequence[int], reason: str
) -> None:
    """An activity was cancelled: tell each person who was signed up (or checked in) why.

    Outbox: one notice per person (`activity_cancelled`, activity id, reason)."""
    return None


async def commando_mobilised(
    session: AsyncSession, *, team: Team, person_ids: Sequence[int]
) -> None:
    """A commando team (党员突击队) was formed: tell each member they are mobilised and where.

    Outbox: one notice per person (`commando_mobilised`, team id, community id)."""
    return None


async def commando_stood_down(
    session: AsyncSession, *, team: Team, person_ids: Sequence[int]
) -> None:
    """The area returned to normal mode: tell each member the commando stood down.

    Outbox: one notice per person (`commando_stood_down`, team id)."""
    return None
