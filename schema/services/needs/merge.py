"""Merging duplicate needs (合并) into an open survivor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.enums import NeedAction, OfferDecline
from schema.needs import Need
from schema.services.common import Actor, clean_text, lock_row, now_or, step
from schema.services.errors import Conflict, Invalid
from schema.services.needs.limits import MERGE_MAX, NOTE_MAX
from schema.services.needs.shared import (
    _NEEDS,
    _deactivate_assignments,
    _require_staff_in_scope,
    answer_pending_offers,
    get_need,
)
from schema.workflow import OPEN_NEED_STATUSES


async def merge_needs(
    *,
    session: AsyncSession,
    survivor_id: int,
    duplicates: Sequence[tuple[int, int | None]],
    actor: Actor,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """合并: each duplicate (id, expected version) is folded into the open survivor.

    The duplicates keep their reporters and point at the survivor (`merged_into_id`); their
    active assignments end. Needs merged earlier into a duplicate now point at the survivor
    too, so that every merged report has the need that answers it one step away (its reporter
    is told of that need's resolution, its 12345 ticket answered by it); their own MERGE events
    still say where they went first. The survivor itself is locked for the transaction but not
    changed.
    """
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    ids = [d for d, _ in duplicates]
    if not ids:
        raise Invalid("duplicates", "name at least one duplicate to merge")
    if len(ids) > MERGE_MAX:
        raise Invalid("duplicates", f"at most {MERGE_MAX} needs per merge")
    if len(set(ids)) != len(ids):
        raise Invalid("duplicates", "a need is named twice")
    if survivor_id in ids:
        raise Invalid("duplicates", "a need cannot be merged into itself")
    survivor = await get_need(session, survivor_id, field="survivor_id")
    _require_staff_in_scope(survivor, actor)
    if survivor.status not in OPEN_NEED_STATUSES:
        raise Invalid(
            "survivor_id", f"the surviving need is {survivor.status.value}; it must be open"
        )
    # Lock every need involved in id order, so two merges over the same needs cannot deadlock.
    for locked in sorted({survivor_id, *ids}):
        await lock_row(session, Need, locked)
    survivor = await get_need(session, survivor_id, field="survivor_id")
    if survivor.status not in OPEN_NEED_STATUSES:
        raise Conflict("the surviving need was closed meanwhile; reload and retry")
    for i, (dup_id, expected) in enumerate(duplicates):
        dup = await get_need(session, dup_id, field=f"duplicates.{i}.id")
        _require_staff_in_scope(dup, actor)
        await _deactivate_assignments(session, dup_id)
        await step(
            session,
            _NEEDS,
            dup,
            action=NeedAction.MERGE,
            expected_version=expected,
            actor=actor,
            now=now,
            values={"merged_into_id": survivor_id},
            note=note or f"合并至 #{survivor_id}",
            data={"merged_into_id": survivor_id},
        )
        await session.execute(
            sa.update(Need)
            .where(col(Need.merged_into_id) == dup_id)
            .values(merged_into_id=survivor_id)
            .execution_options(synchronize_session=False)
        )
        await answer_pending_offers(
            session,
            dup_id,
            because=OfferDecline.NEED_ENDED,
            now=now,
            by_account_id=actor.account_id,
        )
    return survivor
