"""Volunteer activities ("1+6+12+N" 志愿服务体系, 义善庐陵), sign-ups and service minutes."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.auth.permissions import can
from api.graphql.activities.loaders import places_left, taken_places
from api.graphql.context import Info
from api.graphql.enums import ActivityStatus, ServiceLevel, SignUpStatus
from api.graphql.lists import MaxItems
from api.graphql.relay import (
    Node,
    RowType,
    ToOne,
    frozen,
    load_children,
    load_linked,
    load_one,
    register_node,
)
from api.graphql.type_refs import CommunityT, NeedT, PersonT, SkillT, TeamT, VenueT
from schema import models as m


@strawberry.type(
    description='An organiser of volunteer activities at one level of the "1+6+12+N" system.'
)
class ServiceOrganiser(RowType, Node):
    __model__ = m.ServiceOrganiser
    __node_name__ = "ServiceOrganiser"

    name: str = strawberry.field(description="Name.")
    level: ServiceLevel = strawberry.field(description="Its level: 1, 6, 12 or N.")
    created_at: datetime = strawberry.field(description="When it was added.")
    community_id: strawberry.Private[int | None]
    team_id: strawberry.Private[int | None]

    @strawberry.field(description="The community it organises in; null: county-wide.")
    async def community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.community_id)

    @strawberry.field(description="The team that runs it, if any.")
    async def team(self, info: Info) -> TeamT | None:
        return await load_one(info, TeamT, self.team_id)


class _ActivityAttributes:
    """Relations read as plain attributes (see relay.ToOne)."""

    community = ToOne(CommunityT, "community_id")


@strawberry.type(description="A volunteer activity with a time, a place and a number of places.")
class Activity(RowType, _ActivityAttributes, Node):
    __model__ = m.Activity
    __node_name__ = "Activity"
    __needs__ = frozen(
        {
            "community": ("community_id",),
            "venue": ("venue_id",),
            "organiser_team": ("organiser_team_id",),
            "organiser": ("organiser_id",),
        }
    )

    title: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="What volunteers will do.")
    status: ActivityStatus = strawberry.field(description="Planned, ongoing, finished, cancelled.")
    starts_at: datetime = strawberry.field(description="Start.")
    ends_at: datetime = strawberry.field(description="End.")
    capacity: int = strawberry.field(description="How many volunteers it takes.")
    latitude: float = strawberry.field(description="Where (latitude).")
    longitude: float = strawberry.field(description="Where (longitude).")
    created_at: datetime = strawberry.field(description="When it was published.")
    version: int = strawberry.field(
        description="Changes with every update; pass it back as expectedVersion."
    )
    updated_at: datetime | None = strawberry.field(description="Last change.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    cancel_reason: str = strawberry.field(description="Why it was cancelled (empty otherwise).")
    finished_at: datetime | None = strawberry.field(description="When it was finished.")
    organiser_id: strawberry.Private[int | None]
    community_id: strawberry.Private[int]
    venue_id: strawberry.Private[int | None]
    organiser_team_id: strawberry.Private[int | None]

    community: CommunityT = strawberry.field(description="The community it serves.")

    @strawberry.field(description="Where it takes place, if at a venue.")
    async def venue(self, info: Info) -> VenueT | None:
        return await load_one(info, VenueT, self.venue_id)

    @strawberry.field(description='Its organiser in the "1+6+12+N" system, if any.')
    async def organiser(self, info: Info) -> ServiceOrganiser | None:
        return await load_one(info, ServiceOrganiser, self.organiser_id)

    @strawberry.field(description="The team organising it, if any.")
    async def organiser_team(self, info: Info) -> TeamT | None:
        return await load_one(info, TeamT, self.organiser_team_id)

    @strawberry.field(description="Skills it wants.", extensions=[MaxItems(50)])
    async def skills(self, info: Info) -> list[SkillT]:
        return await load_linked(
            info,
            SkillT,
            m.ActivitySkill,
            parent="activity_id",
            target="skill_id",
            key=self.pk,
            order_by=[m.Skill.code],
        )

    @strawberry.field(description="Sign-ups holding a place (not cancelled).")
    async def signed_up_count(self, info: Info) -> int:
        return await taken_places(info, self.pk)

    @strawberry.field(description="Places still open: capacity minus sign-ups holding a place.")
    async def places_left(self, info: Info) -> int:
        return await places_left(info, m.Activity, self.pk)

    @strawberry.field(
        description="Its sign-ups, in order of signing up.", extensions=[MaxItems(500)]
    )
    async def sign_ups(self, info: Info) -> list[SignUp]:
        return await load_children(
            info, SignUp, "activity_id", self.pk, order_by=[m.SignUp.signed_up_at, m.SignUp.id]
        )


@strawberry.type(
    description="A person's sign-up for an activity or a need; check-out logs minutes."
)
class SignUp(RowType, Node):
    __model__ = m.SignUp
    __node_name__ = "SignUp"
    __needs__ = frozen(
        {"person": ("person_id",), "activity": ("activity_id",), "need": ("need_id",)}
    )

    status: SignUpStatus = strawberry.field(description="Signed up, cancelled, checked in or out.")
    signed_up_at: datetime = strawberry.field(description="When they signed up.")
    checked_in_at: datetime | None = strawberry.field(description="Check-in.")
    checked_out_at: datetime | None = strawberry.field(description="Check-out.")
    minutes: int | None = strawberry.field(description="Service minutes logged at check-out.")
    person_id: strawberry.Private[int]
    activity_id: strawberry.Private[int | None]
    need_id: strawberry.Private[int | None]

    @strawberry.field(description="The volunteer.", permission_classes=can("person.read"))
    async def person(self, info: Info) -> PersonT:
        return await load_one(info, PersonT, self.person_id)

    @strawberry.field(description="The activity, if the sign-up is for an activity.")
    async def activity(self, info: Info) -> Activity | None:
        return await load_one(info, Activity, self.activity_id)

    @strawberry.field(
        description="The need, if the sign-up is for a need.",
        permission_classes=can("need.read"),
    )
    async def need(self, info: Info) -> NeedT | None:
        return await load_one(info, NeedT, self.need_id)


register_node(Activity)
register_node(ServiceOrganiser)
register_node(SignUp, "person.read")
