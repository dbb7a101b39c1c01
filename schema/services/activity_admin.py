"""Administering volunteer activities (义善庐陵, the "1+6+12+N" system): organisers at their
levels, and activities published, updated, cancelled and finished by coordinators.

Rules, each once:
- An organiser sits at one level; a level holds at most its seats (`LEVEL_SEATS`: 1, 6, 12, N),
  checked under a lock so two offices cannot both take the last seat. An organiser with a
  community organises there only; levels 1, 6 and 12 are county-wide and created county-wide.
- Coordinators publish in their own area (county-level coordinators and administrators
  anywhere); an activity's time runs forward, starts in the future when published and lasts at
  most `MAX_DURATION`; its capacity is 1..`MAX_CAPACITY` and never below the places already
  taken (checked under the activity's row lock, which sign-ups take too).
- Updates, cancellations and finishing are version-checked (`expectedVersion`), so two offices
  cannot overwrite each other; the loser gets CONFLICT and nothing changes.
- Cancelling closes sign-ups (the sign-up service accepts open activities only), cancels the
  places not yet used, and tells everyone who was signed up: a broadcast after commit and the
  outbox hook (`schema.services.outbox_hooks.activity_cancelled`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.activities import (
    LEVEL_SEATS,
    Activity,
    ActivitySkill,
    ServiceOrganiser,
    SignUp,
    organiser_problem,
)
from schema.areas import Community, Venue
from schema.enums import ActivityStatus, ServiceLevel, SignUpStatus
from schema.people import Skill, Team
from schema.places import HOLDING_A_PLACE
from schema.services.common import (
    DESCRIPTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    Actor,
    check_version,
    clean_text,
    lock_row,
    now_or,
    to_publish,
    versioned_update,
)
from schema.services.errors import Conflict, Forbidden, Invalid, LimitReached, NotFound, Problems
from schema.services.locations import place_problem
from schema.services.outbox_hooks import activity_cancelled
from schema.workflow import IllegalTransition

OPEN_STATUSES = frozenset({ActivityStatus.PLANNED, ActivityStatus.ONGOING})
MAX_CAPACITY = 10_000
MAX_DURATION = timedelta(days=7)
MAX_SKILLS = 20
ORGANISER_NAME_MAX = 96


# --- organisers ------------------------------------------------------------------------------


async def create_organiser(
    *,
    session: AsyncSession,
    actor: Actor,
    name: str,
    level: ServiceLevel,
    community_id: int | None = None,
    team_id: int | None = None,
) -> ServiceOrganiser:
    """Adds an organiser at a level, while the level has a seat left."""
    name = clean_text(name, "name", max_length=ORGANISER_NAME_MAX, required=True)
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators add organisers")
    if level is not ServiceLevel.N and community_id is not None:
        raise Invalid("community_id", f"level {level.label} is county-wide: give no community")
    if community_id is None:
        if not actor.in_scope(None):
            raise Forbidden("county-wide organisers are added by county-level coordinators")
    else:
        if await session.get(Community, community_id) is None:
            raise NotFound("community", community_id, field="community_id")
        actor.require_scope(community_id)
    if team_id is not None and await session.get(Team, team_id) is None:
        raise NotFound("team", team_id, field="team_id")
    seats = LEVEL_SEATS[level]
    if seats is not None:
        # One writer per level at a time: the count below cannot go stale before the insert.
        await _lock_level(session, level)
        taken = await session.scalar(
            sa.select(sa.func.count()).where(col(ServiceOrganiser.level) == level)
        )
        if (taken or 0) >= seats:
            raise LimitReached("level", f"level {level.label} holds {seats} organisers already")
    row = ServiceOrganiser(name=name, level=level, community_id=community_id, team_id=team_id)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict("an organiser with this name exists already", field="name") from None
    return row


async def _lock_level(session: AsyncSession, level: ServiceLevel) -> None:
    """Serialises seat checks of one level: locks the level's first organiser row if any (the
    centre's single seat, a level's later seats), else the whole table's write on SQLite and a
    transaction-scoped advisory lock on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        key = list(ServiceLevel).index(level) + 0x4C4C0000  # "LL" + level
        await session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        return
    # SQLite: any write takes the database's write lock for the rest of the transaction.
    await session.execute(
        sa.update(ServiceOrganiser)
        .where(col(ServiceOrganiser.id) == -1)
        .values(name=ServiceOrganiser.name)
    )


# --- activities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityChanges:
    """What an update sets; None leaves a field as it is."""

    title: str | None = None
    description: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None
    venue_id: int | None = None
    clear_venue: bool = False
    latitude: float | None = None
    longitude: float | None = None
    skill_ids: Sequence[int] | None = None


def _check_time(problems: Problems, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        problems.add("starts_at", "times need a zone (e.g. 2026-12-05T09:00:00+08:00)")
        return
    problems.check(ends_at > starts_at, "ends_at", "the activity must end after it starts")
    problems.check(
        ends_at - starts_at <= MAX_DURATION, "ends_at", "an activity lasts at most 7 days"
    )
    problems.check(ends_at > now, "ends_at", "the activity must end in the future")


def _check_capacity(problems: Problems, capacity: int) -> None:
    problems.check(
        1 <= capacity <= MAX_CAPACITY, "capacity", f"capacity must be 1 to {MAX_CAPACITY}"
    )


async def _venue_place(
    session: AsyncSession, venue_id: int, community_id: int
) -> tuple[float, float]:
    venue = await session.get(Venue, venue_id)
    if venue is None:
        raise NotFound("venue", venue_id, field="venue_id")
    if venue.community_id != community_id:
        raise Invalid("venue_id", "the venue is in another community")
    return venue.latitude, venue.longitude


async def _check_skills(session: AsyncSession, skill_ids: Sequence[int]) -> list[int]:
    wanted = list(dict.fromkeys(skill_ids))
    if len(wanted) > MAX_SKILLS:
        raise Invalid("skill_ids", f"at most {MAX_SKILLS} skills")
    if not wanted:
        return []
    found = set(
        (await session.execute(sa.select(col(Skill.id)).where(col(Skill.id).in_(wanted))))
        .scalars()
        .all()
    )
    missing = [i for i, sid in enumerate(skill_ids) if sid not in found]
    if missing:
        raise Invalid(problems=[(f"skill_ids.{i}", "no such skill") for i in missing])
    return wanted


async def _set_skills(session: AsyncSession, activity_id: int, skill_ids: list[int]) -> None:
    await session.execute(
        sa.delete(ActivitySkill).where(col(ActivitySkill.activity_id) == activity_id)
    )
    for sid in skill_ids:
        session.add(ActivitySkill(activity_id=activity_id, skill_id=sid))
    await session.flush()


async def _point(
    session: AsyncSession, latitude: float | None, longitude: float | None, community_id: int
) -> tuple[float, float] | None:
    """The activity's place, which lies in its community's county (`place_problem`)."""
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise Invalid("latitude", "give both latitude and longitude")
    why = await place_problem(session, latitude, longitude, community_id=community_id)
    if why is not None:
        raise Invalid("latitude", why)
    return latitude, longitude


def _announce(session: AsyncSession, row: Activity, action: str, **extra: Any) -> None:
    to_publish(session).append(
        {
            "kind": "activity",
            "activity_id": row.id,
            "community_id": row.community_id,
            "action": action,
            "to_status": row.status.value,
            "version": row.version,
            **extra,
        }
    )


async def publish_activity(
    *,
    session: AsyncSession,
    actor: Actor,
    organiser_id: int,
    community_id: int,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    description: str = "",
    venue_id: int | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    skill_ids: Sequence[int] = (),
    now: datetime | None = None,
) -> Activity:
    """发布活动: a planned activity under an organiser, open for sign-ups."""
    now = now_or(now)
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators publish activities")
    problems = Problems()
    title = clean_text(title, "title", max_length=TITLE_MAX, required=True)
    description = clean_text(description, "description", max_length=DESCRIPTION_MAX, required=False)
    _check_time(problems, starts_at, ends_at, now)
    if not problems.items:
        problems.check(starts_at > now, "starts_at", "the activity must start in the future")
    _check_capacity(problems, capacity)
    problems.raise_if_any()
    if await session.get(Community, community_id) is None:
        raise NotFound("community", community_id, field="community_id")
    actor.require_scope(community_id)
    organiser = await session.get(ServiceOrganiser, organiser_id)
    if organiser is None:
        raise NotFound("organiser", organiser_id, field="organiser_id")
    problem = organiser_problem(organiser, community_id)
    if problem is not None:
        raise Invalid("organiser_id", problem)
    place = await _point(session, latitude, longitude, community_id)
    if venue_id is not None:
        venue_place = await _venue_place(session, venue_id, community_id)
        place = place or venue_place
    if place is None:
        raise Invalid("venue_id", "give a venue or the place's latitude and longitude")
    skills = await _check_skills(session, skill_ids)
    row = Activity(
        title=title,
        description=description,
        community_id=community_id,
        venue_id=venue_id,
        organiser_team_id=organiser.team_id,
        organiser_id=organiser_id,
        status=ActivityStatus.PLANNED,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        latitude=place[0],
        longitude=place[1],
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    await _set_skills(session, row.id, skills)
    _announce(session, row, "publish")
    return row


async def _get_for_change(
    session: AsyncSession, activity_id: int, actor: Actor, action: str
) -> Activity:
    row = await session.get(Activity, activity_id, populate_existing=True)
    if row is None:
        raise NotFound("activity", activity_id, field="activity_id")
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators change activities")
    actor.require_scope(row.community_id)
    if row.status not in OPEN_STATUSES:
        allowed = tuple(sorted(s.value for s in OPEN_STATUSES))
        raise IllegalTransition(action, f"activity {row.status.value}", allowed)
    return row


async def taken_places(session: AsyncSession, activity_id: int) -> int:
    count = await session.scalar(
        sa.select(sa.func.count()).where(
            col(SignUp.activity_id) == activity_id, col(SignUp.status).in_(HOLDING_A_PLACE)
        )
    )
    return int(count or 0)


async def update_activity(
    *,
    session: AsyncSession,
    actor: Actor,
    activity_id: int,
    changes: ActivityChanges,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Activity:
    """修改活动: changes what is given; the capacity never drops below the places taken."""
    now = now_or(now)
    row = await _get_for_change(session, activity_id, actor, "update")
    version = check_version("activity", activity_id, row.version, expected_version)
    if changes == ActivityChanges():
        # Nothing given: no new version (another office's edit would turn stale) and no notice.
        raise Invalid(None, "nothing to change")
    values: dict[str, Any] = {"updated_at": now}
    problems = Problems()
    if changes.title is not None:
        values["title"] = clean_text(changes.title, "title", max_length=TITLE_MAX, required=True)
    if changes.description is not None:
        values["description"] = clean_text(
            changes.description, "description", max_length=DESCRIPTION_MAX, required=False
        )
    starts_at = changes.starts_at or row.starts_at
    ends_at = changes.ends_at or row.ends_at
    if changes.starts_at is not None or changes.ends_at is not None:
        _check_time(problems, starts_at, ends_at, now)
        if changes.starts_at is not None and row.starts_at > now and not problems.items:
            problems.check(starts_at > now, "starts_at", "a planned activity must start later")
        values |= {"starts_at": starts_at, "ends_at": ends_at}
    if changes.capacity is not None:
        _check_capacity(problems, changes.capacity)
        values["capacity"] = changes.capacity
    problems.raise_if_any()
    place = await _point(session, changes.latitude, changes.longitude, row.community_id)
    if changes.clear_venue:
        values["venue_id"] = None
    elif changes.venue_id is not None:
        venue_place = await _venue_place(session, changes.venue_id, row.community_id)
        values["venue_id"] = changes.venue_id
        place = place or venue_place
    if place is not None:
        values |= {"latitude": place[0], "longitude": place[1]}
    skills = None if changes.skill_ids is None else await _check_skills(session, changes.skill_ids)
    if "capacity" in values:
        # Sign-ups take this lock too: none can slip in between the count and the update.
        await lock_row(session, Activity, activity_id)
        taken = await taken_places(session, activity_id)
        if values["capacity"] < taken:
            raise Invalid("capacity", f"{taken} people have signed up: capacity cannot go lower")
    updated = await versioned_update(
        session, Activity, activity_id, version, values, kind="activity"
    )
    if skills is not None:
        await _set_skills(session, activity_id, skills)
    _announce(session, updated, "update")
    return updated


async def _close(
    session: AsyncSession,
    activity_id: int,
    version: int,
    values: dict[str, Any],
    unused_places: SignUpStatus,
) -> tuple[Activity, list[int]]:
    """Moves the activity to its final status (version-checked, under its row lock, so a sign-up
    racing it is either counted here or refused afterwards) and the places never used (signed
    up, not checked in) to `unused_places`. Returns the activity and who held a place then."""
    await lock_row(session, Activity, activity_id)
    updated = await versioned_update(
        session, Activity, activity_id, version, values, kind="activity"
    )
    holders = select(SignUp.person_id).where(
        col(SignUp.activity_id) == activity_id,
        col(SignUp.status).in_([SignUpStatus.SIGNED_UP, SignUpStatus.CHECKED_IN]),
    )
    held = list((await session.execute(holders.order_by(col(SignUp.person_id)))).scalars())
    await session.execute(
        sa.update(SignUp)
        .where(
            col(SignUp.activity_id) == activity_id,
            col(SignUp.status) == SignUpStatus.SIGNED_UP,
        )
        .values(status=unused_places)
        .execution_options(synchronize_session=False)
    )
    return updated, held


async def cancel_activity(
    *,
    session: AsyncSession,
    actor: Actor,
    activity_id: int,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Activity:
    """取消活动: sign-ups close, places not yet used are cancelled, and everyone signed up is
    told (broadcast and outbox hook)."""
    now = now_or(now)
    reason = clean_text(reason, "reason", max_length=NOTE_MAX, required=True)
    row = await _get_for_change(session, activity_id, actor, "cancel")
    if row.ends_at <= now:
        raise IllegalTransition(
            "cancel",
            "activity ended",
            (),
            detail="the activity has ended and cannot be cancelled: finish it instead",
        )
    version = check_version("activity", activity_id, row.version, expected_version)
    values = {"status": ActivityStatus.CANCELLED, "cancelled_at": now, "cancel_reason": reason}
    updated, told = await _close(
        session, activity_id, version, values | {"updated_at": now}, SignUpStatus.CANCELLED
    )
    await activity_cancelled(session, activity=updated, person_ids=told, reason=reason)
    _announce(session, updated, "cancel", person_ids=told, reason=reason)
    return updated


async def finish_activity(
    *,
    session: AsyncSession,
    actor: Actor,
    activity_id: int,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Activity:
    """结束活动: once it has started; those who signed up and never checked in are no-shows."""
    now = now_or(now)
    row = await _get_for_change(session, activity_id, actor, "finish")
    if now < row.starts_at:
        raise IllegalTransition(
            "finish",
            "activity not started",
            (),
            detail="the activity has not started yet: change or cancel it instead",
        )
    version = check_version("activity", activity_id, row.version, expected_version)
    values = {"status": ActivityStatus.FINISHED, "finished_at": now, "updated_at": now}
    updated, _ = await _close(session, activity_id, version, values, SignUpStatus.NO_SHOW)
    _announce(session, updated, "finish")
    return updated
