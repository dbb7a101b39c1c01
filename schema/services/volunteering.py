"""Volunteering (义善庐陵): sign up for an activity, cancel, check in, check out.

A need is not signed up for: a volunteer offers to take it (`offerNeed`, schema/services/
offers.py) and a coordinator's acceptance dispatches them. Someone dispatched to a need may sign
up on it only to log their time there (check in, check out); that takes no place.

Places left (`schema.places`) are checked under a row lock on the activity (or need), so that
concurrent sign-ups cannot overfill it; a sign-up's own changes are guarded by its status
(`WHERE status = :read`).

Service time counts only real work:
- on a need, only someone dispatched to it (in person or with their team) checks in: signing
  up offers help, a coordinator's dispatch accepts it;
- one check-in at a time per person, checked under a lock on the person's row (so two
  concurrent check-ins cannot both pass); a check-in whose time can no longer count (its
  activity ended, its need's window closed) does not block the next;
- the minutes credited stop at the activity's end, at the need's window end or resolution,
  and after `MAX_SERVICE` (a need: after twice its planned duration), whatever the check-out
  time: credited intervals of one person never overlap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.activities import Activity, SignUp
from schema.enums import ActivityStatus, SignUpStatus
from schema.needs import Need
from schema.people import Person
from schema.places import places_left
from schema.services.common import Actor, lock_row, now_or, to_publish
from schema.services.errors import Conflict, Forbidden, Invalid, LimitReached, NotFound
from schema.services.needs.shared import is_assignee
from schema.workflow import OPEN_NEED_STATUSES, IllegalTransition, next_sign_up_status

OPEN_ACTIVITY_STATUSES = frozenset({ActivityStatus.PLANNED, ActivityStatus.ONGOING})
CHECK_IN_EARLY = timedelta(hours=1)  # check-in opens an hour before the start (or window)
MAX_SERVICE = timedelta(hours=12)  # one check-in counts for at most 12 hours
NEED_OVERRUN = 2  # work on a need counts for at most twice its planned duration


async def _target(
    session: AsyncSession, activity_id: int | None, need_id: int | None
) -> Activity | Need:
    if (activity_id is None) == (need_id is None):
        raise Invalid("activity_id", "sign up for exactly one activity or one need")
    if activity_id is not None:
        activity = await session.get(Activity, activity_id, populate_existing=True)
        if activity is None:
            raise NotFound("activity", activity_id, field="activity_id")
        return activity
    assert need_id is not None
    need = await session.get(Need, need_id, populate_existing=True)
    if need is None:
        raise NotFound("need", need_id, field="need_id")
    return need


def _require_open(target: Activity | Need, action: str, now: datetime) -> None:
    if isinstance(target, Activity):
        if target.status not in OPEN_ACTIVITY_STATUSES or target.ends_at <= now:
            status = target.status.value if target.ends_at > now else "finished"
            allowed = tuple(sorted(s.value for s in OPEN_ACTIVITY_STATUSES))
            raise IllegalTransition(action, f"activity {status}", allowed)
    elif target.status not in OPEN_NEED_STATUSES:
        allowed = tuple(sorted(s.value for s in OPEN_NEED_STATUSES))
        raise IllegalTransition(action, f"need {target.status.value}", allowed)


def _where_target(target: Activity | Need) -> Any:
    if isinstance(target, Activity):
        return col(SignUp.activity_id) == target.id
    return col(SignUp.need_id) == target.id


def _publish(session: AsyncSession, sign_up: SignUp, action: str) -> None:
    to_publish(session).append(
        {
            "kind": "sign_up",
            "sign_up_id": sign_up.id,
            "activity_id": sign_up.activity_id,
            "need_id": sign_up.need_id,
            "action": action,
            "to_status": sign_up.status.value,
        }
    )


async def sign_up(
    *,
    session: AsyncSession,
    actor: Actor,
    activity_id: int | None = None,
    need_id: int | None = None,
    person_id: int | None = None,
    now: datetime | None = None,
) -> SignUp:
    """报名: a person takes a place, if one is left (signing up twice is harmless).

    The person is the actor's own; coordinators may sign up someone else (`person_id`) for an
    activity or need of their area.
    """
    now = now_or(now)
    target = await _target(session, activity_id, need_id)
    if person_id is None or person_id == actor.person_id:
        if actor.person_id is None:
            raise Forbidden("your account is not linked to a person, so it cannot sign up")
        person_id = actor.person_id
    else:
        if not actor.is_coordination:
            raise Forbidden("only coordinators may sign up someone else")
        actor.require_scope(target.community_id)
        if await session.get(Person, person_id) is None:
            raise NotFound("person", person_id, field="person_id")
    _require_open(target, "sign_up", now)
    if isinstance(target, Need):
        assert target.id is not None
        if not await is_assignee(session, target.id, person_id):
            raise Invalid(
                "need_id",
                "sign-ups are for activities: to serve a need, offer to take it (offerNeed); "
                "once a coordinator accepts the offer you are dispatched to it",
            )
    model = type(target)
    assert target.id is not None
    # The row lock makes count-then-insert safe when many sign up for the last places at once.
    await lock_row(session, model, target.id)
    existing = (
        await session.execute(
            select(SignUp)
            .where(_where_target(target), col(SignUp.person_id) == person_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if existing is not None and existing.status is not SignUpStatus.CANCELLED:
        return existing
    # On a need the person is dispatched, so holds their place already: signing up takes none.
    if isinstance(target, Activity) and await places_left(session, target) <= 0:
        raise LimitReached("activity_id", "no places left")
    if existing is not None:
        row = await _move(
            session, existing, "sign_up", {"signed_up_at": now, "checked_in_at": None}
        )
        _publish(session, row, "sign_up")
        return row
    row = SignUp(
        person_id=person_id,
        activity_id=activity_id,
        need_id=need_id,
        status=SignUpStatus.SIGNED_UP,
        signed_up_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict("you signed up at the same moment from elsewhere; reload") from None
    _publish(session, row, "sign_up")
    return row


async def _get_sign_up(session: AsyncSession, sign_up_id: int) -> SignUp:
    row = await session.get(SignUp, sign_up_id, populate_existing=True)
    if row is None:
        raise NotFound("sign-up", sign_up_id, field="sign_up_id")
    return row


async def _require_own_or_staff(session: AsyncSession, row: SignUp, actor: Actor) -> None:
    if actor.person_id is not None and row.person_id == actor.person_id:
        return
    target = await _target(session, row.activity_id, row.need_id)
    if actor.is_staff and actor.in_scope(target.community_id):
        return
    raise Forbidden("only the volunteer or staff of the area may change this sign-up")


async def _move(session: AsyncSession, row: SignUp, action: str, values: dict[str, Any]) -> SignUp:
    """The sign-up's next status, updated only if nobody moved it since it was read."""
    before = row.status
    target = next_sign_up_status(before, action)
    stmt = (
        sa.update(SignUp)
        .where(col(SignUp.id) == row.id, col(SignUp.status) == before)
        .values(status=target, **values)
        .returning(SignUp)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    updated = (await session.execute(stmt)).scalars().one_or_none()
    if updated is None:
        raise Conflict("the sign-up was changed at the same time; reload and retry")
    return updated


async def cancel_sign_up(
    *, session: AsyncSession, sign_up_id: int, actor: Actor, now: datetime | None = None
) -> SignUp:
    now_or(now)
    row = await _get_sign_up(session, sign_up_id)
    await _require_own_or_staff(session, row, actor)
    updated = await _move(session, row, "cancel", {})
    _publish(session, updated, "cancel")
    return updated


async def check_in(
    *, session: AsyncSession, sign_up_id: int, actor: Actor, now: datetime | None = None
) -> SignUp:
    """签到: from an hour before an activity starts until it ends; on a need, only someone
    dispatched to it, while it is open and within its window; one check-in at a time."""
    now = now_or(now)
    row = await _get_sign_up(session, sign_up_id)
    await _require_own_or_staff(session, row, actor)
    target = await _target(session, row.activity_id, row.need_id)
    _require_open(target, "check_in", now)
    if isinstance(target, Need):
        assert target.id is not None
        if not await is_assignee(session, target.id, row.person_id):
            raise Forbidden(
                "only people dispatched to this need may check in on it "
                "(signing up offers help; a coordinator's dispatch accepts it)",
                field="sign_up_id",
            )
        if target.window_end is not None and now >= target.window_end:
            raise Invalid("sign_up_id", "the need's time window has ended")
    starts = target.starts_at if isinstance(target, Activity) else target.window_start
    if starts is not None and now < starts - CHECK_IN_EARLY:
        raise Invalid("sign_up_id", "check-in opens an hour before the start")
    # Under the person's row lock: a concurrent check-in of the same person waits here and
    # then sees this one.
    await lock_row(session, Person, row.person_id)
    await _require_no_other_check_in(session, row, now)
    updated = await _move(session, row, "check_in", {"checked_in_at": now})
    _publish(session, updated, "check_in")
    return updated


async def _require_no_other_check_in(session: AsyncSession, row: SignUp, now: datetime) -> None:
    others = (
        await session.execute(
            select(SignUp).where(
                col(SignUp.person_id) == row.person_id,
                col(SignUp.status) == SignUpStatus.CHECKED_IN,
                col(SignUp.id) != row.id,
            )
        )
    ).scalars()
    for other in others:
        assert other.checked_in_at is not None
        target = await _target(session, other.activity_id, other.need_id)
        if credit_end(other.checked_in_at, target) > now:
            what = "an activity" if isinstance(target, Activity) else "a need"
            raise Conflict(
                f"already checked in on {what} (「{target.title[:40]}」); check out there first",
                field="sign_up_id",
            )


def credit_end(checked_in_at: datetime, target: Activity | Need) -> datetime:
    """The last moment a check-in at `checked_in_at` can count until, whenever it checks out."""
    ends = [checked_in_at + MAX_SERVICE]
    if isinstance(target, Activity):
        ends.append(target.ends_at)
    else:
        ends.append(checked_in_at + NEED_OVERRUN * timedelta(minutes=target.duration_minutes))
        ends += [t for t in (target.window_end, target.resolved_at, target.closed_at) if t]
    return min(ends)


def service_minutes(
    checked_in_at: datetime, checked_out_at: datetime, target: Activity | Need
) -> int:
    """Minutes served: from check-in (not before an activity starts) to check-out, capped at
    `credit_end`."""
    start = checked_in_at
    if isinstance(target, Activity):
        start = max(start, target.starts_at)
    end = min(checked_out_at, credit_end(checked_in_at, target))
    return max(0, int((end - start).total_seconds() // 60))


async def check_out(
    *, session: AsyncSession, sign_up_id: int, actor: Actor, now: datetime | None = None
) -> SignUp:
    """签退: records the service minutes (志愿服务时长)."""
    now = now_or(now)
    row = await _get_sign_up(session, sign_up_id)
    await _require_own_or_staff(session, row, actor)
    target = await _target(session, row.activity_id, row.need_id)
    if row.checked_in_at is None:
        next_sign_up_status(row.status, "check_out")  # not checked in: illegal
        raise Invalid("sign_up_id", "the sign-up has no check-in time")
    minutes = service_minutes(row.checked_in_at, now, target)
    updated = await _move(session, row, "check_out", {"checked_out_at": now, "minutes": minutes})
    _publish(session, updated, "check_out")
    return updated
