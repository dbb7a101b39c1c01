"""The handler's steps after dispatch (arrive, resolve, escalate, return) and the rating."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.enums import NeedAction, NeedStatus, NeedTier, OfferDecline
from schema.needs import Need
from schema.notifications import NotificationKind
from schema.services.common import Actor, check_rating, check_version, clean_text, now_or, step
from schema.services.errors import Forbidden
from schema.services.needs.limits import NOTE_MAX
from schema.services.needs.shared import (
    _NEEDS,
    _deactivate_assignments,
    _require_handler,
    _require_staff_in_scope,
    answer_pending_offers,
    get_need,
)
from schema.services.notify import assignees, coordinators, notify_need
from schema.sla import escalated_resolve_by
from schema.workflow import escalated_tier, next_need_status


async def _handler_step(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    action: NeedAction,
    stamp: str,
    expected_version: int | None,
    note: str,
    now: datetime | None,
) -> Need:
    """A step by someone dispatched (or staff of the area), its time recorded in `stamp`."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    need = await get_need(session, need_id)
    await _require_handler(session, need, actor)
    return await step(
        session,
        _NEEDS,
        need,
        action=action,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={stamp: now},
        note=note,
    )


async def arrive_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """到场: someone dispatched is on site (the 10-minute promise)."""
    return await _handler_step(
        session=session,
        need_id=need_id,
        actor=actor,
        action=NeedAction.ARRIVE,
        stamp="arrived_at",
        expected_version=expected_version,
        note=note,
        now=now,
    )


async def resolve_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """办结: the problem is solved (or, for a major need, a plan is made); whoever reported it
    is told (a resident's account, or the person who reported it)."""
    need = await _handler_step(
        session=session,
        need_id=need_id,
        actor=actor,
        action=NeedAction.RESOLVE,
        stamp="resolved_at",
        expected_version=expected_version,
        note=note,
        now=now,
    )
    await answer_pending_offers(
        session,
        need_id,
        because=OfferDecline.NEED_ENDED,
        now=need.updated_at,
        by_account_id=actor.account_id,
    )
    # Whoever reported it, and whoever reported a need merged into it (a duplicate report).
    reporters = (
        await session.execute(
            sa.select(col(Need.reporter_person_id), col(Need.reporter_account_id)).where(
                sa.or_(col(Need.id) == need_id, col(Need.merged_into_id) == need_id)
            )
        )
    ).all()
    await notify_need(
        session,
        NotificationKind.NEED_RESOLVED,
        need_id,
        key=f"need:{need_id}:v{need.version}:resolved",
        person_ids=sorted({p for p, _ in reporters if p is not None}),
        account_ids=sorted({a for _, a in reporters if a is not None}),
        now=now,
    )
    return need


async def rate_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    satisfaction: int,
    comment: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Need:
    """评价: whoever reported the need (any role) rates the result (1–5) and it is closed. A
    need reported without an account (an imported hotline ticket) is rated by a coordinator of
    its area on the caller's behalf (回访); nobody else rates someone's report for them."""
    now = now_or(now)
    comment = check_rating(satisfaction, comment)
    need = await get_need(session, need_id)
    if need.reporter_account_id is None:
        if not (actor.is_coordination and actor.in_scope(need.community_id)):
            raise Forbidden("only a coordinator of its area may record this caller's rating")
    elif need.reporter_account_id != actor.account_id:
        raise Forbidden("only whoever reported this need may rate it")
    return await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.RATE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={"satisfaction": satisfaction, "rating_comment": comment, "closed_at": now},
        note=comment,
        data={"satisfaction": satisfaction},
    )


async def escalate_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Need:
    """升级: one tier up; a dispatched need's deadline is recomputed from its dispatch time."""
    now = now_or(now)
    reason = clean_text(reason, "reason", max_length=NOTE_MAX, required=True)
    need = await get_need(session, need_id)
    _require_staff_in_scope(need, actor)
    assert need.id is not None
    check_version("need", need.id, need.version, expected_version)
    next_need_status(need.status, NeedAction.ESCALATE)  # status first: a closed need stays put
    tier = escalated_tier(need.tier)
    values: dict[str, Any] = {"tier": tier}
    data: dict[str, Any] = {"from_tier": need.tier.value, "to_tier": tier.value}
    if need.dispatched_at is not None and need.status in (
        NeedStatus.DISPATCHED,
        NeedStatus.ARRIVED,
    ):
        resolve_by = escalated_resolve_by(
            kind=need.kind, tier=tier, dispatched_at=need.dispatched_at, resolve_by=need.resolve_by
        )
        if resolve_by is not None and resolve_by != need.resolve_by:
            values["resolve_by"] = resolve_by
            data["resolve_by"] = resolve_by.isoformat()
    escalated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.ESCALATE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values=values,
        note=reason,
        data=data,
    )
    # The area's coordinators answer for it now, and whoever works on it must know the new
    # deadline; the one who escalated it needs no notice.
    await notify_need(
        session,
        NotificationKind.NEED_ESCALATED,
        need_id,
        key=f"need:{need_id}:v{escalated.version}:escalated",
        person_ids=await assignees(session, need_id),
        account_ids=[
            a for a in await coordinators(session, need.community_id) if a != actor.account_id
        ],
        urgent=tier is NeedTier.MAJOR,
        extra={"reason": reason},
        now=now,
    )
    return escalated


async def return_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Need:
    """退回: the dispatched work goes back to the coordinator's desk, with the reason.

    The assignments end; the deadlines stay, so a need waiting to be dispatched again still
    shows as overdue once they pass.
    """
    now = now_or(now)
    reason = clean_text(reason, "reason", max_length=NOTE_MAX, required=True)
    need = await get_need(session, need_id)
    await _require_handler(session, need, actor)
    updated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.RETURN,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={"arrived_at": None},
        note=reason,
    )
    await _deactivate_assignments(session, need_id)
    return updated
