"""Accepting a need, allocating resources and dispatching people or teams to it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import GridStaff
from schema.enums import GridRole, NeedAction, NeedKind, NeedStatus, NeedTier
from schema.needs import Need, NeedAssignment
from schema.notifications import NotificationKind
from schema.people import Person, Team
from schema.services.common import Actor, clean_text, lock_row, now_or, step
from schema.services.errors import Forbidden, Invalid, NotFound
from schema.services.needs.limits import DISPATCH_MAX_PEOPLE, NOTE_MAX
from schema.services.needs.shared import (
    _NEEDS,
    _deactivate_assignments,
    _require_staff_in_scope,
    get_need,
    settle_offers,
)
from schema.services.notify import URGENT_FROM, assignees, notify_need
from schema.sla import Slot, dispatch_deadlines
from schema.units import Resource

# ---------------------------------------------------------------- the loop


async def accept_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    tier: NeedTier | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """受理: staff of the need's area take it on, optionally classifying its 1341 tier."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    need = await get_need(session, need_id)
    _require_staff_in_scope(need, actor)
    values: dict[str, Any] = {"accepted_at": now}
    data: dict[str, Any] = {}
    if tier is not None and tier is not need.tier:
        values["tier"] = tier
        data = {"from_tier": need.tier.value, "to_tier": tier.value}
    return await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.ACCEPT,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values=values,
        note=note,
        data=data,
    )


async def _grid_worker(session: AsyncSession, grid_id: int | None) -> int:
    """The grid's full-time worker (专职网格员), or its leader when it has none."""
    if grid_id is None:
        raise Invalid("to_grid_worker", "the need has no grid to take a grid worker from")
    rows = (
        await session.execute(select(GridStaff).where(col(GridStaff.grid_id) == grid_id))
    ).scalars()
    by_role = {row.role: row.person_id for row in rows}
    for role in (GridRole.FULL_TIME, GridRole.LEADER):
        if role in by_role:
            return by_role[role]
    raise Invalid("to_grid_worker", "the need's grid has no full-time worker or leader")


async def allocate_resources(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    allocations: Sequence[tuple[int, int]],
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Need:
    """调配资源: lend quantities of resources (resource id, quantity) to an open need.

    Recorded as its own event, so that what was lent, by whom and when stays in the history.
    """
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    if not allocations:
        raise Invalid("allocations", "allocate at least one resource")
    if any(quantity <= 0 for _, quantity in allocations):
        raise Invalid("allocations", "quantities must be positive")
    need = await get_need(session, need_id)
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators allocate resources")
    actor.require_scope(need.community_id)
    ids = [resource_id for resource_id, _ in allocations]
    # Locked first, so that a resource retired at the same moment is either seen retired here
    # or retired after this lending (and then refused: schema/services/units.py).
    for resource_id in sorted(set(ids)):
        if not await lock_row(session, Resource, resource_id):
            raise NotFound("resource", resource_id, field="allocations")
    retired = (
        await session.execute(
            select(Resource.id).where(
                col(Resource.id).in_(ids), col(Resource.retired_at).is_not(None)
            )
        )
    ).first()
    if retired is not None:
        raise Invalid("allocations", f"resource {retired[0]} was retired; it is lent no more")
    updated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.ALLOCATE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        note=note,
        data={"resources": [{"resource_id": r, "quantity": q} for r, q in allocations]},
    )
    session.add_all(
        NeedAssignment(
            need_id=need_id,
            resource_id=resource_id,
            quantity=quantity,
            assigned_at=now,
            assigned_by_account_id=actor.account_id,
        )
        for resource_id, quantity in allocations
    )
    await session.flush()
    return updated


def _checked_slot(slot: Slot, need: Need, now: datetime) -> Slot:
    """A slot a caller names: only for a scheduled need, inside its window, not in the past."""
    if need.kind is not NeedKind.SCHEDULED:
        raise Invalid("slot", "only a scheduled need is booked for a slot")
    if slot.start.tzinfo is None or slot.end.tzinfo is None:
        raise Invalid("slot", "give the slot's times with their offset")
    if slot.end <= slot.start:
        raise Invalid("slot", "the slot must end after it starts")
    if slot.start < now:
        raise Invalid("slot", "the slot has already started")
    if (need.window_start is not None and slot.start < need.window_start) or (
        need.window_end is not None and slot.end > need.window_end
    ):
        raise Invalid("slot", "the slot must lie inside the need's service window")
    return slot


async def dispatch_need(
    *,
    session: AsyncSession,
    need_id: int,
    actor: Actor,
    expected_version: int | None = None,
    to_person_ids: Sequence[int] = (),
    to_team_id: int | None = None,
    to_grid_worker: bool = False,
    slot: Slot | None = None,
    note: str = "",
    now: datetime | None = None,
    notify_people: bool = True,
    add: bool = False,
) -> Need:
    """派单/转派: to people, a team and/or the grid's worker; sets the deadlines (schema/sla.py).

    A response need gets the 1341 deadlines from this dispatch; a scheduled need is booked for
    `slot` (or the first slot of its window reachable from now) and must be on site by its start
    and done by its end. Dispatching again deactivates the earlier assignments, unless `add`
    (加派, an accepted offer): then a dispatched (or arrived) need keeps its status, its people and
    the deadlines already running, and the new people join them. Everyone sent (a team's members
    too) is notified, unless the caller tells them itself (`notify_people`: a matching job's
    commit sends each person one notice of all their tasks).
    """
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    person_ids = list(dict.fromkeys(to_person_ids))
    if not person_ids and to_team_id is None and not to_grid_worker:
        raise Invalid("to_person_ids", "dispatch to at least one person, a team or the grid worker")
    if len(person_ids) > DISPATCH_MAX_PEOPLE:
        raise Invalid("to_person_ids", f"at most {DISPATCH_MAX_PEOPLE} people per dispatch")
    need = await get_need(session, need_id)
    _require_staff_in_scope(need, actor)
    if person_ids:
        found = set(
            (
                await session.execute(select(Person.id).where(col(Person.id).in_(person_ids)))
            ).scalars()
        )
        missing = [i for i in person_ids if i not in found]
        if missing:
            raise NotFound("person", missing[0], field="to_person_ids")
    if to_team_id is not None and await session.get(Team, to_team_id) is None:
        raise NotFound("team", to_team_id, field="to_team_id")
    if to_grid_worker:
        worker = await _grid_worker(session, need.grid_id)
        if worker not in person_ids:
            person_ids.append(worker)
    if add and need.status is not NeedStatus.ACCEPTED:
        return await _add_people(session, need, actor, person_ids, expected_version, note, now)
    if slot is not None:
        slot = _checked_slot(slot, need, now)
    deadlines, booked = dispatch_deadlines(
        kind=need.kind,
        tier=need.tier,
        window_start=need.window_start,
        window_end=need.window_end,
        duration_minutes=need.duration_minutes,
        now=now,
        slot=slot,
    )
    data: dict[str, Any] = {
        "person_ids": person_ids,
        "team_id": to_team_id,
        "kind": need.kind.value,
        "arrive_by": deadlines.arrive_by.isoformat(),
        "resolve_by": deadlines.resolve_by.isoformat(),
    }
    if booked is not None:
        data["slot"] = {"start": booked.start.isoformat(), "end": booked.end.isoformat()}
    updated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.DISPATCH,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={
            "dispatched_at": now,
            "arrive_by": deadlines.arrive_by,
            "resolve_by": deadlines.resolve_by,
            "arrived_at": None,
        },
        note=note,
        data=data,
    )
    before = set(await assignees(session, need_id))
    await _deactivate_assignments(session, need_id)
    rows = [
        NeedAssignment(
            need_id=need_id, person_id=p, assigned_at=now, assigned_by_account_id=actor.account_id
        )
        for p in person_ids
    ]
    if to_team_id is not None:
        rows.append(
            NeedAssignment(
                need_id=need_id,
                team_id=to_team_id,
                assigned_at=now,
                assigned_by_account_id=actor.account_id,
            )
        )
    session.add_all(rows)
    await session.flush()
    if not add:  # an accepted offer settles its own (schema/services/offers.py)
        await settle_offers(session, updated, person_ids, now=now, by_account_id=actor.account_id)
    # Those taken off the need (转派 to others) would otherwise still set out for it.
    taken_off = sorted(before - set(await assignees(session, need_id)))
    if taken_off:
        await notify_need(
            session,
            NotificationKind.NEED_REASSIGNED,
            need_id,
            key=f"need:{need_id}:v{updated.version}:reassigned",
            person_ids=taken_off,
            extra={"note": note},
            now=now,
        )
    if notify_people:
        await notify_need(
            session,
            NotificationKind.NEED_DISPATCHED,
            need_id,
            key=f"need:{need_id}:v{updated.version}:dispatched",
            person_ids=await assignees(session, need_id),
            urgent=updated.urgency >= URGENT_FROM,
            now=now,
        )
    return updated


async def _add_people(
    session: AsyncSession,
    need: Need,
    actor: Actor,
    person_ids: list[int],
    expected_version: int | None,
    note: str,
    now: datetime,
) -> Need:
    """加派: people join a dispatched or arrived need; its status, assignments and deadlines stay
    as they are (the step is a dispatch that keeps the status, recorded as such)."""
    assert need.id is not None
    updated = await step(
        session,
        _NEEDS,
        need,
        action=NeedAction.DISPATCH,
        expected_version=expected_version,
        actor=actor,
        now=now,
        note=note,
        data={"person_ids": person_ids, "added": True},
        keep_status=True,
    )
    active = set(
        (
            await session.execute(
                select(NeedAssignment.person_id).where(
                    col(NeedAssignment.need_id) == need.id,
                    col(NeedAssignment.active).is_(True),
                )
            )
        ).scalars()
    )
    joining = [p for p in person_ids if p not in active]
    session.add_all(
        NeedAssignment(
            need_id=need.id, person_id=p, assigned_at=now, assigned_by_account_id=actor.account_id
        )
        for p in joining
    )
    await session.flush()
    # Only those joining are told: the people already there heard of the first dispatch.
    await notify_need(
        session,
        NotificationKind.NEED_DISPATCHED,
        need.id,
        key=f"need:{need.id}:v{updated.version}:dispatched",
        person_ids=joining,
        urgent=updated.urgency >= URGENT_FROM,
        now=now,
    )
    return updated
