"""Administering activities (义善庐陵, "1+6+12+N"): organisers, and publish, update, cancel,
finish; `activityChanged` tells subscribers (e.g. those signed up) of each change.

Each mutation answers `{ activity, userErrors }` (or `{ organiser, userErrors }`); the rules
live in `schema.services.activity_admin`.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.broadcast import activity_channel
from api.graphql.activities.types import Activity, ServiceOrganiser
from api.graphql.context import Info
from api.graphql.enums import ServiceLevel
from api.graphql.errors import CodedError, ErrorCode, UserError
from api.graphql.lists import MaxItems
from api.graphql.relay import (
    Ordering,
    PageQuery,
    RowsPage,
    SortKey,
    as_utc,
    connection_field,
    decode_id,
    load_one,
)
from api.graphql.writes import actor_of, opt_pk, pk, pks, write
from schema import models as m
from schema.activities import organises_in as organises_in_community
from schema.services import activity_admin as svc

Input = strawberry.argument(description="The mutation's input.")


@strawberry.input(description='An organiser to add at a level of "1+6+12+N".')
class CreateServiceOrganiserInput:
    name: str = strawberry.field(description="Name (unique).")
    level: ServiceLevel = strawberry.field(
        description="CENTRE (1 seat), SIX (6), TWELVE (12) or N (no limit)."
    )
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="N only: the community it organises in; null: county-wide."
    )
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="The team that runs it, if any."
    )


@strawberry.type(description="The organiser added, or why not.")
class ServiceOrganiserPayload:
    organiser: ServiceOrganiser | None = strawberry.field(description="Null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


@strawberry.input(description="发布活动: a new activity, open for sign-ups.")
class PublishActivityInput:
    organiser_id: strawberry.ID = strawberry.field(description="Its organiser.")
    community_id: strawberry.ID = strawberry.field(description="The community it serves.")
    title: str = strawberry.field(description="Title (up to 200 characters).")
    starts_at: datetime = strawberry.field(description="Start (in the future).")
    ends_at: datetime = strawberry.field(description="End (after the start, within 7 days).")
    capacity: int = strawberry.field(description="How many volunteers it takes (1–10000).")
    description: str = strawberry.field(default="", description="What volunteers will do.")
    venue_id: strawberry.ID | None = strawberry.field(
        default=None, description="Where, if at a venue of the community."
    )
    latitude: float | None = strawberry.field(
        default=None, description="Where, if not at a venue (or elsewhere than its point)."
    )
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    skill_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Skills it wants (at most 20)."
    )


@strawberry.input(description="修改活动: what to change; omitted fields stay as they are.")
class UpdateActivityInput:
    activity_id: strawberry.ID = strawberry.field(description="The activity.")
    expected_version: int | None = strawberry.field(
        default=None, description="The version you read: CONFLICT if it changed since."
    )
    title: str | None = strawberry.field(default=None, description="New title.")
    description: str | None = strawberry.field(default=None, description="New description.")
    starts_at: datetime | None = strawberry.field(default=None, description="New start.")
    ends_at: datetime | None = strawberry.field(default=None, description="New end.")
    capacity: int | None = strawberry.field(
        default=None, description="New capacity (not below the places taken)."
    )
    venue_id: strawberry.ID | None = strawberry.field(default=None, description="New venue.")
    clear_venue: bool = strawberry.field(default=False, description="Drop the venue.")
    latitude: float | None = strawberry.field(default=None, description="New place.")
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    skill_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The skills it wants now (replaces them)."
    )


@strawberry.input(description="取消活动: closes sign-ups and tells everyone signed up.")
class CancelActivityInput:
    activity_id: strawberry.ID = strawberry.field(description="The activity.")
    reason: str = strawberry.field(description="Why (told to those signed up).")
    expected_version: int | None = strawberry.field(default=None, description="As read.")


@strawberry.input(description="结束活动: once it has started.")
class FinishActivityInput:
    activity_id: strawberry.ID = strawberry.field(description="The activity.")
    expected_version: int | None = strawberry.field(default=None, description="As read.")


@strawberry.type(description="The activity an administration mutation changed, or why not.")
class ActivityPayload:
    activity: Activity | None = strawberry.field(description="The activity now; null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


@strawberry.enum(description="What happened to an activity.")
class ActivityChangeAction(enum.Enum):
    PUBLISH = strawberry.enum_value("publish", description="Published (发布).")
    UPDATE = strawberry.enum_value("update", description="Changed (修改).")
    CANCEL = strawberry.enum_value("cancel", description="Cancelled (取消): sign-ups closed.")
    FINISH = strawberry.enum_value("finish", description="Finished (结束).")


@strawberry.type(description="A change to an activity, as it happens.")
class ActivityChange:
    action: ActivityChangeAction = strawberry.field(description="What happened.")
    notified: int = strawberry.field(
        description="How many people signed up were told (a cancellation)."
    )
    activity: Activity = strawberry.field(description="The activity after the change.")


def _payload(row: m.Activity | None, errors: list[UserError]) -> ActivityPayload:
    return ActivityPayload(
        activity=Activity.from_row(row) if row is not None else None, user_errors=errors
    )


def _ids(values: list[strawberry.ID] | None, field: str) -> list[int] | None:
    return None if values is None else pks(values, "Skill", field)


@strawberry.type
class ActivityAdminMutation:
    @strawberry.mutation(
        description='Add an organiser at a level of "1+6+12+N" (levels hold 1, 6, 12 and any '
        "number; CAPACITY_REACHED when full).",
        permission_classes=can("activity.manage"),
    )
    async def create_service_organiser(
        self, info: Info, input: Annotated[CreateServiceOrganiserInput, Input]
    ) -> ServiceOrganiserPayload:
        async def work(session: AsyncSession) -> m.ServiceOrganiser:
            return await svc.create_organiser(
                session=session,
                actor=actor_of(info),
                name=input.name,
                level=input.level,
                community_id=opt_pk(input.community_id, "Community", "community_id"),
                team_id=opt_pk(input.team_id, "Team", "team_id"),
            )

        row, errors = await write(info, work)
        organiser = ServiceOrganiser.from_row(row) if row is not None else None
        return ServiceOrganiserPayload(organiser=organiser, user_errors=errors)

    @strawberry.mutation(
        description="发布活动: publish an activity in your area under an organiser.",
        permission_classes=can("activity.manage"),
    )
    async def publish_activity(
        self, info: Info, input: Annotated[PublishActivityInput, Input]
    ) -> ActivityPayload:
        async def work(session: AsyncSession) -> m.Activity:
            starts_at, ends_at = as_utc(input.starts_at), as_utc(input.ends_at)
            assert starts_at is not None and ends_at is not None
            return await svc.publish_activity(
                session=session,
                actor=actor_of(info),
                organiser_id=pk(input.organiser_id, "ServiceOrganiser", "organiser_id"),
                community_id=pk(input.community_id, "Community", "community_id"),
                title=input.title,
                description=input.description,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=input.capacity,
                venue_id=opt_pk(input.venue_id, "Venue", "venue_id"),
                latitude=input.latitude,
                longitude=input.longitude,
                skill_ids=_ids(input.skill_ids, "skill_ids") or [],
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="修改活动: change an open activity (version-checked; the capacity never "
        "below the places taken).",
        permission_classes=can("activity.manage"),
    )
    async def update_activity(
        self, info: Info, input: Annotated[UpdateActivityInput, Input]
    ) -> ActivityPayload:
        async def work(session: AsyncSession) -> m.Activity:
            changes = svc.ActivityChanges(
                title=input.title,
                description=input.description,
                starts_at=as_utc(input.starts_at),
                ends_at=as_utc(input.ends_at),
                capacity=input.capacity,
                venue_id=opt_pk(input.venue_id, "Venue", "venue_id"),
                clear_venue=input.clear_venue,
                latitude=input.latitude,
                longitude=input.longitude,
                skill_ids=_ids(input.skill_ids, "skill_ids"),
            )
            return await svc.update_activity(
                session=session,
                actor=actor_of(info),
                activity_id=pk(input.activity_id, "Activity", "activity_id"),
                changes=changes,
                expected_version=input.expected_version,
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="取消活动: cancel an open activity; sign-ups close and those signed up are "
        "told (activityChanged, notifications).",
        permission_classes=can("activity.manage"),
    )
    async def cancel_activity(
        self, info: Info, input: Annotated[CancelActivityInput, Input]
    ) -> ActivityPayload:
        async def work(session: AsyncSession) -> m.Activity:
            return await svc.cancel_activity(
                session=session,
                actor=actor_of(info),
                activity_id=pk(input.activity_id, "Activity", "activity_id"),
                reason=input.reason,
                expected_version=input.expected_version,
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="结束活动: finish an activity that has started; sign-ups never checked in "
        "become no-shows.",
        permission_classes=can("activity.manage"),
    )
    async def finish_activity(
        self, info: Info, input: Annotated[FinishActivityInput, Input]
    ) -> ActivityPayload:
        async def work(session: AsyncSession) -> m.Activity:
            return await svc.finish_activity(
                session=session,
                actor=actor_of(info),
                activity_id=pk(input.activity_id, "Activity", "activity_id"),
                expected_version=input.expected_version,
            )

        return _payload(*await write(info, work))


ORGANISERS_BY_NAME = Ordering(
    "NAME", (SortKey(m.ServiceOrganiser.name, "str"),), m.ServiceOrganiser.id
)


@strawberry.type
class ActivityAdminQuery:
    @connection_field(
        ServiceOrganiser,
        description='Organisers of the "1+6+12+N" system, by name.',
        permission_classes=can("opportunity.read"),
    )
    async def service_organisers(
        self,
        level: Annotated[
            ServiceLevel | None, strawberry.argument(description="Of this level only.")
        ] = None,
        organises_in: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Only those who may organise in this community (its own organisers "
                "and the county-wide ones): the choices for publishing an activity there."
            ),
        ] = None,
    ) -> PageQuery:
        where = [] if level is None else [m.ServiceOrganiser.level == level]
        if organises_in is not None:
            where.append(organises_in_community(decode_id(organises_in, "Community")))
        return RowsPage(ServiceOrganiser, ORGANISERS_BY_NAME, where)


@strawberry.type
class ActivityAdminSubscription:
    @strawberry.subscription(
        description="An activity's changes as they happen (updated, cancelled, finished): "
        "those signed up learn of a cancellation here.",
        permission_classes=can("opportunity.read"),
    )
    async def activity_changed(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The activity's ID.")],
    ) -> AsyncGenerator[ActivityChange, None]:
        activity_id = decode_id(id, "Activity")
        broadcaster = info.context.request.app.state.broadcaster
        async with broadcaster.subscribe(activity_channel(activity_id)) as messages:
            if await load_one(info, Activity, activity_id) is None:
                raise CodedError(f"no activity with ID '{id}'", ErrorCode.NOT_FOUND)
            async for message in messages:
                info.context.loaders.clear()  # read the activity as it is now
                activity = await load_one(info, Activity, activity_id)
                if activity is None:
                    return
                yield ActivityChange(
                    action=ActivityChangeAction(message["action"]),
                    notified=int(message.get("notified", 0)),
                    activity=activity,
                )
