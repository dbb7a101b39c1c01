"""Steps every need service shares: reading the current need, who handles it, recording events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.enums import OfferDecline, OfferStatus
from schema.needs import Need, NeedAssignment, NeedEvent
from schema.offers import NeedOffer
from schema.people import TeamMembership
from schema.places import places_left
from schema.services.common import Actor, Loop, get_current
from schema.services.errors import Forbidden
from schema.workflow import next_need_status

# ---------------------------------------------------------------- shared steps


async def get_need(session: AsyncSession, need_id: int, *, field: str = "need_id") -> Need:
    return await get_current(session, Need, need_id, kind="need", field=field)


async def is_assignee(session: AsyncSession, need_id: int, person_id: int | None) -> bool:
    """Whether the person is actively dispatched to the need, in person or through a team."""
    if person_id is None:
        return False
    teams = select(TeamMembership.team_id).where(col(TeamMembership.person_id) == person_id)
    stmt = select(sa.literal(1)).where(
        col(NeedAssignment.need_id) == need_id,
        col(NeedAssignment.active).is_(True),
        sa.or_(
            col(NeedAssignment.person_id) == person_id,
            col(NeedAssignment.team_id).in_(teams),
        ),
    )
    return (await session.execute(stmt.limit(1))).first() is not None


async def _require_handler(session: AsyncSession, need: Need, actor: Actor) -> None:
    """Arrive/resolve/return: the dispatched people themselves, or staff of the need's area."""
    assert need.id is not None
    if actor.is_staff and actor.in_scope(need.community_id):
        return
    if await is_assignee(session, need.id, actor.person_id):
        return
    raise Forbidden("only the people dispatched to this need or staff of its area may do this")


def _require_staff_in_scope(need: Need, actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("only grid workers, coordinators and administrators may do this")
    actor.require_scope(need.community_id)


def _about(need: Need) -> dict[str, Any]:
    return {"kind": "need", "need_id": need.id, "community_id": need.community_id}


_NEEDS = Loop(
    kind="need",
    table=Need,
    event_table=NeedEvent,
    row_key="need_id",
    next_status=next_need_status,
    message_about=_about,
)


async def _deactivate_assignments(session: AsyncSession, need_id: int) -> None:
    await session.execute(
        sa.update(NeedAssignment)
        .where(col(NeedAssignment.need_id) == need_id, col(NeedAssignment.active).is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )


# What offers still pending are told when they can no longer be taken up.
OFFER_ANSWERS = {
    OfferDecline.NEED_FULL: "名额已满，感谢请缨",  # the need's last place was taken
    OfferDecline.NEED_ENDED: "需求已办结或合并，感谢请缨",  # resolved, or merged into another
}


async def answer_pending_offers(
    session: AsyncSession,
    need_id: int,
    *,
    because: OfferDecline,
    now: Any,
    by_account_id: int | None,
) -> None:
    """Offers (请缨) still waiting on this need are declined `because` the need has no place for
    them any more, so they are answered now rather than left waiting; the volunteer's own note
    stays, the answer goes beside it."""
    await session.execute(
        sa.update(NeedOffer)
        .where(col(NeedOffer.need_id) == need_id, col(NeedOffer.status) == OfferStatus.OFFERED)
        .values(status=OfferStatus.DECLINED, declined_because=because, decided_at=now)
        .values(answer=OFFER_ANSWERS[because], decided_by_account_id=by_account_id)
        .execution_options(synchronize_session=False)
    )


async def settle_offers(
    session: AsyncSession,
    need: Need,
    person_ids: Sequence[int],
    *,
    now: Any,
    by_account_id: int | None,
) -> None:
    """After a dispatch that named people itself (not by accepting an offer): an offer of
    someone now dispatched is taken up (ACCEPTED), and once the need has no place left the
    offers still pending are answered (NEED_FULL) as when an acceptance takes the last place."""
    assert need.id is not None
    if person_ids:
        await session.execute(
            sa.update(NeedOffer)
            .where(
                col(NeedOffer.need_id) == need.id,
                col(NeedOffer.person_id).in_(person_ids),
                col(NeedOffer.status) == OfferStatus.OFFERED,
            )
            .values(status=OfferStatus.ACCEPTED, decided_at=now)
            .values(decided_by_account_id=by_account_id)
            .execution_options(synchronize_session=False)
        )
    if await places_left(session, need) <= 0:
        await answer_pending_offers(
            session, need.id, because=OfferDecline.NEED_FULL, now=now, by_account_id=by_account_id
        )
