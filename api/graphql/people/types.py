"""People who serve (party members, grid workers, cadres, helpers, team members), their skills,
time and teams. Phones, ID numbers and exact home locations go through `api.auth.privacy`."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.auth.privacy import (
    coarse_coordinate,
    mask_id_number,
    mask_name,
    mask_phone,
    viewer,
)
from api.graphql.context import Info
from api.graphql.enums import EnterpriseRequestKind, PersonKind, TeamKind, TravelMode
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.lists import MaxItems
from api.graphql.people.loaders import (
    member_count_of_team,
    service_minutes_of_person,
    service_minutes_of_team,
)
from api.graphql.relay import (
    Node,
    RowType,
    frozen,
    load_children,
    load_linked,
    load_one,
    register_node,
)
from api.graphql.type_refs import (
    CommunityT,
    EnterpriseRequestT,
    GridStaffMemberT,
    PairedUnitT,
    SignUpT,
)
from schema import models as m
from schema.disclosure import PersonFacts, sees_id_number, sees_person_contact, sees_person_name


@strawberry.type(
    description="A party member, grid worker, cadre, enterprise helper (小赣事), team member or "
    "resident. Phone, ID number and exact home location are masked unless the caller may see them."
)
class Person(RowType, Node):
    __model__ = m.Person
    __node_name__ = "Person"
    __needs__ = frozen(
        {
            "name": ("name", "kind", "registered_community_id"),
            "phone": ("phone", "kind", "registered_community_id"),
            "id_number": ("id_number",),
            "latitude": ("latitude", "kind", "registered_community_id"),
            "longitude": ("longitude", "kind", "registered_community_id"),
            "registered_community": ("registered_community_id",),
            "employer_unit": ("employer_unit_id",),
        }
    )

    kind: PersonKind = strawberry.field(description="What the person is to the county.")
    is_party_member: bool = strawberry.field(description="Member of the Communist Party.")
    created_at: datetime = strawberry.field(description="When the record was created.")
    registered_community_id: strawberry.Private[int | None]
    employer_unit_id: strawberry.Private[int | None]

    def _facts(self) -> PersonFacts:
        d = self.__dict__
        return PersonFacts(self.pk, d.get("kind"), d.get("registered_community_id"))

    def _only_serving(self) -> None:
        """Reached as someone serving the caller's need (`serving_person_of`): who they are,
        not where they live, when they are free or what else they do."""
        if self.__dict__.get("_serving_only"):
            raise CodedError(
                "not allowed: a need's reporter sees who serves it, not this", ErrorCode.FORBIDDEN
            )

    @strawberry.field(description="How they travel to serve.")
    def travel_mode(self) -> TravelMode:
        self._only_serving()
        return self.__dict__["travel_mode"]

    @strawberry.field(description="Minutes a week they can give to service.")
    def weekly_capacity_minutes(self) -> int:
        self._only_serving()
        return self.__dict__["weekly_capacity_minutes"]

    @strawberry.field(description="In the party commando (“吉先锋”党员突击队) for emergency mode.")
    def is_commando(self) -> bool:
        self._only_serving()
        return self.__dict__["is_commando"]

    @strawberry.field(
        description="Helpers (小赣事): how many open enterprise requests they may carry."
    )
    def max_open_requests(self) -> int:
        self._only_serving()
        return self.__dict__["max_open_requests"]

    def _contact(self, info: Info) -> bool:
        grant = self.__dict__.get("_grant")  # set on a copy reached as a need's reporter
        if grant is not None and grant.phone:
            return True
        return sees_person_contact(viewer(info), self._facts())

    @strawberry.field(
        description="Name. Those who serve (party members, grid workers, helpers …) show theirs "
        "(亮身份); residents' names are masked (王**) except to themselves, administrators, "
        "staff of their community and those handling a need they reported."
    )
    def name(self, info: Info) -> str:
        raw: str = self.__dict__["name"]
        grant = self.__dict__.get("_grant")
        if (grant is not None and grant.name) or sees_person_name(viewer(info), self._facts()):
            return raw
        return mask_name(raw) or ""

    @strawberry.field(
        description="Mobile phone; masked (138****5678) except to the person, administrators, "
        "staff of their community, and the handler of an open need they reported."
    )
    def phone(self, info: Info) -> str | None:
        raw: str | None = self.__dict__["phone"]
        return raw if self._contact(info) else mask_phone(raw)

    @strawberry.field(description="ID card number; masked for everyone but administrators.")
    def id_number(self, info: Info) -> str | None:
        self._only_serving()
        raw: str | None = self.__dict__["id_number"]
        return raw if sees_id_number(viewer(info)) else mask_id_number(raw)

    @strawberry.field(
        description="Home latitude; rounded to about 1 km except for the person, "
        "administrators and staff of their community."
    )
    def latitude(self, info: Info) -> float:
        self._only_serving()
        raw: float = self.__dict__["latitude"]
        exact = sees_person_contact(viewer(info), self._facts())
        return raw if exact else coarse_coordinate(raw)

    @strawberry.field(description="Home longitude; rounded like `latitude`.")
    def longitude(self, info: Info) -> float:
        self._only_serving()
        raw: float = self.__dict__["longitude"]
        exact = sees_person_contact(viewer(info), self._facts())
        return raw if exact else coarse_coordinate(raw)

    @strawberry.field(
        description="The community they registered with (报到), where they serve first."
    )
    async def registered_community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.registered_community_id)

    @strawberry.field(description="The paired unit employing them, if any.")
    async def employer_unit(self, info: Info) -> PairedUnitT | None:
        self._only_serving()
        return await load_one(info, PairedUnitT, self.employer_unit_id)

    @strawberry.field(description="Their skills.", extensions=[MaxItems(50)])
    async def skills(self, info: Info) -> list[Skill]:
        return await load_linked(
            info,
            Skill,
            m.PersonSkill,
            parent="person_id",
            target="skill_id",
            key=self.pk,
            order_by=[m.Skill.code],
        )

    @strawberry.field(
        description="Weekly windows (county time) when they can serve.", extensions=[MaxItems(100)]
    )
    async def availability(self, info: Info) -> list[AvailabilityWindow]:
        self._only_serving()
        return await load_children(
            info,
            AvailabilityWindow,
            "person_id",
            self.pk,
            order_by=[m.Availability.weekday, m.Availability.start_minute],
        )

    @strawberry.field(description="Teams they belong to.", extensions=[MaxItems(50)])
    async def teams(self, info: Info) -> list[TeamMembership]:
        self._only_serving()
        return await load_children(info, TeamMembership, "person_id", self.pk, name="tm:person")

    @strawberry.field(description="Grids they work, and in which role.", extensions=[MaxItems(50)])
    async def grid_roles(self, info: Info) -> list[GridStaffMemberT]:
        self._only_serving()
        return await load_children(info, GridStaffMemberT, "person_id", self.pk)

    @strawberry.field(description="Helpers (小赣事): the enterprise-request kinds they handle.")
    async def expertise(self, info: Info) -> list[EnterpriseRequestKind]:
        self._only_serving()
        rows = await load_children(info, HelperKind, "person_id", self.pk)
        return [r.kind for r in rows]

    @strawberry.field(
        description="Their sign-ups for activities and needs, latest first.",
        extensions=[MaxItems(500)],
    )
    async def sign_ups(self, info: Info) -> list[SignUpT]:
        self._only_serving()
        return await load_children(
            info, SignUpT, "person_id", self.pk, order_by=[col(m.SignUp.signed_up_at).desc()]
        )

    @strawberry.field(description="Service hours logged (checked-out sign-ups).")
    async def service_hours(self, info: Info) -> float:
        self._only_serving()
        return round(await service_minutes_of_person(info, self.pk) / 60, 2)

    @strawberry.field(
        description="Helpers (小赣事): enterprise requests assigned to them that you may see, "
        "latest first.",
        permission_classes=can("enterprise.read"),
        extensions=[MaxItems(500)],
    )
    async def assigned_requests(self, info: Info) -> list[EnterpriseRequestT]:
        self._only_serving()
        return await load_children(
            info,
            EnterpriseRequestT,
            "helper_id",
            self.pk,
            order_by=[col(m.EnterpriseRequest.submitted_at).desc()],
        )


@strawberry.type(description="A skill a need may require (电工, 法律咨询, 心理疏导 …).")
class Skill(RowType, Node):
    __model__ = m.Skill
    __node_name__ = "Skill"

    code: str = strawberry.field(description="Stable code, e.g. electrician.")
    name: str = strawberry.field(description="Name, in Chinese.")


@strawberry.type(description="A weekly window (county local time) in which a person can serve.")
class AvailabilityWindow(RowType):
    __model__ = m.Availability

    weekday: int = strawberry.field(description="0 = Monday … 6 = Sunday.")
    start_minute: int = strawberry.field(description="Start, minutes after midnight.")
    end_minute: int = strawberry.field(description="End, minutes after midnight.")


@strawberry.type(description="A kind of enterprise request a helper handles.")
class HelperKind(RowType):
    __model__ = m.HelperExpertise
    __pk__ = "person_id"

    kind: EnterpriseRequestKind = strawberry.field(description="The kind.")


@strawberry.type(
    description="A volunteer team: new-business 吉先锋 teams, Ant Action riders, food-safety "
    "monitors, live-streamers, commandos, the helpers' squad …"
)
class Team(RowType, Node):
    __model__ = m.Team
    __node_name__ = "Team"
    __needs__ = frozen({"community": ("community_id",)})

    name: str = strawberry.field(description="Name.")
    kind: TeamKind = strawberry.field(description="Kind of team.")
    sales_yuan: int = strawberry.field(
        description="Live-streamers: farm produce sold (助农销售), in yuan."
    )
    founded_at: datetime = strawberry.field(description="When it was founded.")
    disbanded_at: datetime | None = strawberry.field(
        description="When it stood down (a commando, when its area returned to normal mode)."
    )
    community_id: strawberry.Private[int | None]

    @strawberry.field(description="Its home community, if it has one.")
    async def community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.community_id)

    @strawberry.field(description="Its members, leaders first.", extensions=[MaxItems(1000)])
    async def members(self, info: Info) -> list[TeamMembership]:
        rows = await load_children(
            info,
            TeamMembership,
            "team_id",
            self.pk,
            order_by=[col(m.TeamMembership.is_leader).desc(), col(m.TeamMembership.person_id)],
            name="tm:team",
        )
        return rows

    @strawberry.field(description="How many members it has.")
    async def member_count(self, info: Info) -> int:
        return await member_count_of_team(info, self.pk)

    @strawberry.field(description="Service hours its members logged (checked-out sign-ups).")
    async def service_hours(self, info: Info) -> float:
        return round(await service_minutes_of_team(info, self.pk) / 60, 2)


@strawberry.type(description="A person's membership of a team.")
class TeamMembership(RowType):
    __model__ = m.TeamMembership
    __pk__ = "person_id"

    is_leader: bool = strawberry.field(description="Leads the team.")
    joined_at: datetime = strawberry.field(description="When they joined.")
    team_id: strawberry.Private[int]
    person_id: strawberry.Private[int]
    away_with_team_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The commando team (党员突击队) they serve on meanwhile, while mobilised."
    )
    async def away_with_team(self, info: Info) -> Team | None:
        return await load_one(info, Team, self.away_with_team_id)

    @strawberry.field(description="The team.")
    async def team(self, info: Info) -> Team:
        return await load_one(info, Team, self.team_id)

    @strawberry.field(
        description="The member; null for a caller who may not see that person (a resident "
        "member is seen by staff of the area, see the privacy table).",
        permission_classes=can("person.read"),
    )
    async def person(self, info: Info) -> Person | None:
        return await load_one(info, Person, self.person_id)


register_node(Person, "person.read")
register_node(Skill)
register_node(Team, "reference.read")
