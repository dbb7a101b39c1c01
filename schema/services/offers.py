"""Offers (请缨): a volunteer offers to take an open need, and whoever may dispatch the need
accepts the offer, which dispatches the volunteer through the closed loop (`dispatch_need`, 加派
when people are already on it), so they can then arrive and resolve it as any dispatched person.

A need's places are counted one way (`schema.places`: people dispatched in person): an offer is
refused when none is left, and so is accepting one, under the need's row lock, so two
coordinators accepting offers past the last place cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.enums import NeedStatus, OfferDecline, OfferStatus
from schema.needs import Need
from schema.offers import NeedOffer
from schema.places import places_left
from schema.services.common import Actor, clean_text, get_current, lock_row, now_or
from schema.services.errors import Conflict, Forbidden, Invalid, LimitReached
from schema.services.needs import accept_need, dispatch_need, get_need, is_assignee
from schema.services.needs.shared import settle_offers
from schema.workflow import OPEN_NEED_STATUSES, IllegalTransition

NOTE_MAX = 500


def _require_offerable(need: Need, action: str, now: datetime) -> None:
    if need.status not in OPEN_NEED_STATUSES:
        allowed = tuple(sorted(s.value for s in OPEN_NEED_STATUSES))
        raise IllegalTransition(action, f"need {need.status.value}", allowed)
    if need.window_end is not None and now >= need.window_end:
        raise Invalid("need_id", "the need's time window has ended")


async def _get_offer(session: AsyncSession, offer_id: int) -> NeedOffer:
    return await get_current(session, NeedOffer, offer_id, kind="offer", field="offer_id")


async def _move(
    session: AsyncSession, offer: NeedOffer, to: OfferStatus, values: dict[str, Any]
) -> NeedOffer:
    """The offer's next status, written only if nobody moved it since it was read."""
    stmt = (
        sa.update(NeedOffer)
        .where(col(NeedOffer.id) == offer.id, col(NeedOffer.status) == offer.status)
        .values(status=to, **values)
        .returning(NeedOffer)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    updated = (await session.execute(stmt)).scalars().one_or_none()
    if updated is None:
        raise Conflict("the offer was changed at the same time; reload and retry")
    return updated


async def _to_decide(session: AsyncSession, actor: Actor, offer_id: int) -> NeedOffer:
    """The offer, for an actor who may dispatch its need (coordination in the need's area)."""
    offer = await _get_offer(session, offer_id)
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators accept or decline offers")
    need = await get_need(session, offer.need_id)
    actor.require_scope(need.community_id)
    return offer


async def offer_need(
    *,
    session: AsyncSession,
    actor: Actor,
    need_id: int,
    note: str = "",
    now: datetime | None = None,
) -> NeedOffer:
    """请缨: offer to take an open need with a place left (offering twice is harmless)."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    person_id = actor.person_id
    if person_id is None:
        raise Forbidden("your account is not linked to a person, so it cannot offer to serve")
    await lock_row(session, Need, need_id)  # offers and acceptances of one need queue here
    need = await get_need(session, need_id)
    if need.status not in OPEN_NEED_STATUSES:
        # Any need ID can be tried here: say no without telling where a need stands.
        raise Invalid("need_id", "this need takes no offers; pick one from volunteerOpportunities")
    _require_offerable(need, "offer", now)
    if need.reporter_person_id == person_id or (
        need.reporter_account_id is not None and need.reporter_account_id == actor.account_id
    ):
        # Serving one's own report would also rate one's own service (satisfaction, 1341).
        raise Invalid("need_id", "you reported this need: someone else takes it")
    if await is_assignee(session, need_id, person_id):
        raise Conflict("you are already dispatched to this need", field="need_id")
    existing = (
        await session.execute(
            select(NeedOffer)
            .where(col(NeedOffer.need_id) == need_id, col(NeedOffer.person_id) == person_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if existing is not None and existing.status is OfferStatus.OFFERED:
        if note and note != existing.note:  # offering again says it anew
            return await _move(session, existing, OfferStatus.OFFERED, {"note": note})
        return existing
    if existing is not None and existing.declined_because is OfferDecline.COORDINATOR:
        raise Conflict("your offer on this need was declined by its coordinator", field="need_id")
    if await places_left(session, need) <= 0:
        raise LimitReached("need_id", "no places left on this need")
    if existing is not None:
        # Withdrawn, or answered because the need was full or had ended: offered afresh.
        values = {
            "offered_at": now,
            "note": note,
            "decided_at": None,
            "decided_by_account_id": None,
            "declined_because": None,
            "answer": "",
        }
        return await _move(session, existing, OfferStatus.OFFERED, values)
    row = NeedOffer(
        need_id=need_id, person_id=person_id, status=OfferStatus.OFFERED, note=note, offered_at=now
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict("you offered at the same moment from elsewhere; reload") from None
    return row


async def withdraw_offer(
    *, session: AsyncSession, actor: Actor, offer_id: int, now: datetime | None = None
) -> NeedOffer:
    """撤回: the volunteer takes back an offer not yet accepted."""
    now = now_or(now)
    offer = await _get_offer(session, offer_id)
    if actor.person_id is None or offer.person_id != actor.person_id:
        raise Forbidden("only the volunteer who offered may withdraw the offer", field="offer_id")
    if offer.status is not OfferStatus.OFFERED:
        raise IllegalTransition("withdraw", f"offer {offer.status.value}", ("offered",))
    return await _move(session, offer, OfferStatus.WITHDRAWN, {"decided_at": now})


async def accept_offer(
    *,
    session: AsyncSession,
    actor: Actor,
    offer_id: int,
    note: str = "",
    now: datetime | None = None,
) -> tuple[NeedOffer, Need]:
    """接受请缨: dispatch the volunteer who offered (accepting a reported need first), if the
    need still has a place for them; only those who may dispatch the need."""
    now = now_or(now)
    offer = await _to_decide(session, actor, offer_id)
    need_id = offer.need_id
    await lock_row(session, Need, need_id)  # the last place goes to one acceptance only
    offer = await _get_offer(session, offer_id)
    if offer.declined_because is OfferDecline.NEED_FULL:
        if await places_left(session, await get_need(session, need_id)) > 0:
            raise Invalid(
                "offer_id",
                "this offer was answered when the need was full; a place is free again: the "
                "volunteer may offer again",
            )
        raise LimitReached("offer_id", "no places left on this need: the offer was answered")
    if offer.declined_because is OfferDecline.NEED_ENDED:
        raise Invalid("offer_id", "the need was resolved or merged: the offer was answered")
    if offer.status is not OfferStatus.OFFERED:
        raise IllegalTransition("accept", f"offer {offer.status.value}", ("offered",))
    need = await get_need(session, need_id)
    _require_offerable(need, "accept an offer on", now)
    if not await is_assignee(session, need_id, offer.person_id):
        if await places_left(session, need) <= 0:
            raise LimitReached(
                "offer_id", f"no places left on this need (it takes {need.headcount})"
            )
        if need.status is NeedStatus.REPORTED:
            need = await accept_need(session=session, need_id=need_id, actor=actor, now=now)
        need = await dispatch_need(
            session=session,
            need_id=need_id,
            actor=actor,
            to_person_ids=[offer.person_id],
            note=note or "接受请缨",
            now=now,
            add=True,
        )
    values = {"decided_at": now, "decided_by_account_id": actor.account_id}
    accepted = await _move(session, offer, OfferStatus.ACCEPTED, values)
    # The last place taken answers the offers still pending (NEED_FULL), as any dispatch does.
    await settle_offers(session, need, [], now=now, by_account_id=actor.account_id)
    return accepted, need


async def decline_offer(
    *,
    session: AsyncSession,
    actor: Actor,
    offer_id: int,
    note: str = "",
    now: datetime | None = None,
) -> NeedOffer:
    """不采纳: whoever may dispatch the need declines an offer still pending (final: the
    volunteer cannot offer on that need again)."""
    now = now_or(now)
    # The volunteer is told why, and cannot offer on this need again: a reason is owed.
    note = clean_text(note, "note", max_length=NOTE_MAX, required=True)
    offer = await _to_decide(session, actor, offer_id)
    if offer.status is not OfferStatus.OFFERED:
        raise IllegalTransition("decline", f"offer {offer.status.value}", ("offered",))
    values: dict[str, Any] = {
        "decided_at": now,
        "decided_by_account_id": actor.account_id,
        "declined_because": OfferDecline.COORDINATOR,
        "answer": note,
    }
    return await _move(session, offer, OfferStatus.DECLINED, values)
