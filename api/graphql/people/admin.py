"""Teams: create, add and remove members; the commando (党员突击队) an area forms in emergency
mode, and `mobilised`, which tells a member when they are mobilised and stood down.
Rules: `schema.services.teams`."""

from __future__ import annotations

import enum
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.auth.scope import in_scope
from api.broadcast import mobilisation_channel
from api.graphql.context import Info
from api.graphql.enums import TeamKind
from api.graphql.errors import CodedError, ErrorCode, UserError
from api.graphql.lists import MaxItems
from api.graphql.people.types import Team, TeamMembership
from api.graphql.relay import decode_id, load_one
from api.graphql.writes import actor_of, opt_pk, pk, write
from schema import models as m
from schema.roles import STAFF_ROLES
from schema.services import teams as svc

Input = strawberry.argument(description="The mutation's input.")


@strawberry.input(description="A new team (commando teams are formed by formCommando).")
class CreateTeamInput:
    name: str = strawberry.field(description="Name (unique, up to 64 characters).")
    kind: TeamKind = strawberry.field(description="Kind of team.")
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its home community; null: a county-wide team."
    )


@strawberry.input(description="A person to add to a team (again: only `isLeader` changes).")
class AddTeamMemberInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")
    person_id: strawberry.ID = strawberry.field(description="The person.")
    is_leader: bool = strawberry.field(default=False, description="Leads the team.")


@strawberry.input(description="A member to take off a team.")
class RemoveTeamMemberInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")
    person_id: strawberry.ID = strawberry.field(description="The member.")


@strawberry.input(description="组建党员突击队: the area (in emergency mode) to form it for.")
class FormCommandoInput:
    community_id: strawberry.ID = strawberry.field(description="The community or village.")


@strawberry.type(description="The team a team mutation changed, or why not.")
class TeamPayload:
    team: Team | None = strawberry.field(description="The team now; null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


@strawberry.type(description="The membership added, or why not.")
class TeamMembershipPayload:
    membership: TeamMembership | None = strawberry.field(description="Null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


def _team(row: m.Team | None, errors: list[UserError]) -> TeamPayload:
    return TeamPayload(team=Team.from_row(row) if row is not None else None, user_errors=errors)


@strawberry.type
class TeamsMutation:
    @strawberry.mutation(
        description="Create a team in your area (county-wide: county-level coordinators).",
        permission_classes=can("team.manage"),
    )
    async def create_team(
        self, info: Info, input: Annotated[CreateTeamInput, Input]
    ) -> TeamPayload:
        async def work(session: AsyncSession) -> m.Team:
            return await svc.create_team(
                session=session,
                actor=actor_of(info),
                name=input.name,
                kind=input.kind,
                community_id=opt_pk(input.community_id, "Community", "community_id"),
            )

        return _team(*await write(info, work))

    @strawberry.mutation(
        description="Add a person to a team of your area.",
        permission_classes=can("team.manage"),
    )
    async def add_team_member(
        self, info: Info, input: Annotated[AddTeamMemberInput, Input]
    ) -> TeamMembershipPayload:
        async def work(session: AsyncSession) -> m.TeamMembership:
            return await svc.add_team_member(
                session=session,
                actor=actor_of(info),
                team_id=pk(input.team_id, "Team", "team_id"),
                person_id=pk(input.person_id, "Person", "person_id"),
                is_leader=input.is_leader,
            )

        row, errors = await write(info, work)
        membership = TeamMembership.from_row(row) if row is not None else None
        return TeamMembershipPayload(membership=membership, user_errors=errors)

    @strawberry.mutation(
        description="Take a member off a team of your area (NOT_FOUND if not a member).",
        permission_classes=can("team.manage"),
    )
    async def remove_team_member(
        self, info: Info, input: Annotated[RemoveTeamMemberInput, Input]
    ) -> TeamPayload:
        async def work(session: AsyncSession) -> m.Team:
            return await svc.remove_team_member(
                session=session,
                actor=actor_of(info),
                team_id=pk(input.team_id, "Team", "team_id"),
                person_id=pk(input.person_id, "Person", "person_id"),
            )

        return _team(*await write(info, work))

    @strawberry.mutation(
        description="组建党员突击队: assemble the commando from the area's commando-flagged "
        "people while it is in emergency mode (ILLEGAL_TRANSITION otherwise); they are told "
        "(mobilised) and return to their teams when setAreaMode switches the area back.",
        permission_classes=can("team.manage"),
    )
    async def form_commando(
        self, info: Info, input: Annotated[FormCommandoInput, Input]
    ) -> TeamPayload:
        async def work(session: AsyncSession) -> m.Team:
            return await svc.form_commando(
                session=session,
                actor=actor_of(info),
                community_id=pk(input.community_id, "Community", "community_id"),
            )

        return _team(*await write(info, work))


@strawberry.enum(description="What happened to a member's commando.")
class MobilisationAction(enum.Enum):
    MOBILISED = strawberry.enum_value("mobilised", description="Mobilised (集结).")
    STOOD_DOWN = strawberry.enum_value("stood_down", description="Stood down (解散), back home.")


@strawberry.type(description="A member's mobilisation on a commando team.")
class Mobilisation:
    action: MobilisationAction = strawberry.field(description="Mobilised or stood down.")
    team: Team = strawberry.field(description="The commando team.")


@strawberry.type
class TeamsSubscription:
    @strawberry.subscription(
        description="党员突击队: tells a member when they are mobilised onto a commando team and "
        "when it stands down (yourself by default; staff: people of their area).",
        permission_classes=can("team.watch_mobilisation"),
    )
    async def mobilised(
        self,
        info: Info,
        person_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Whose mobilisations; yours when omitted."),
        ] = None,
    ) -> AsyncGenerator[Mobilisation, None]:
        account = info.context.account
        assert account is not None  # `Can` refuses anonymous callers
        pid = account.person_id if person_id is None else decode_id(person_id, "Person")
        if pid is None:
            raise CodedError("your account is not linked to a person", ErrorCode.BAD_USER_INPUT)
        if pid != account.person_id:
            await _require_staff_of_person(info, pid)
        broadcaster = info.context.request.app.state.broadcaster
        async with broadcaster.subscribe(mobilisation_channel(pid)) as messages:
            async for message in messages:
                info.context.loaders.clear()
                team = await load_one(info, Team, message["teamId"])
                if team is not None:
                    yield Mobilisation(action=MobilisationAction(message["action"]), team=team)


async def _require_staff_of_person(info: Info, person_id: int) -> None:
    """Staff follow the people of their area only."""
    async with info.context.db.session() as session:
        person = await session.get(m.Person, person_id)
    account = info.context.account
    staff = account is not None and account.role in STAFF_ROLES
    if person is None or not staff or not in_scope(info, person.registered_community_id):
        raise CodedError("not allowed to follow this person's mobilisations", ErrorCode.FORBIDDEN)
