"""Root fields for people, teams and skills."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.auth.privacy import viewer
from api.graphql.context import Info
from api.graphql.enums import PersonKind, TeamKind
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.lists import MaxItems
from api.graphql.people.types import Person, Skill, Team
from api.graphql.relay import (
    Ordering,
    PageQuery,
    RowsPage,
    SortKey,
    connection_field,
    decode_id,
    load_one,
    table_columns,
)
from schema import models as m
from schema.disclosure import may_search_names, name_shown_sql
from schema.visibility import Viewer

P = m.Person


@strawberry.input(description="Which people to list: every condition given must hold.")
class PersonFilter:
    kind: list[PersonKind] | None = strawberry.field(
        default=None, description="Of these kinds (party member, grid worker, helper …)."
    )
    registered_community: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Registered (报到) with these communities (IDs)."
    )
    skills: list[str] | None = strawberry.field(
        default=None, description="Having every one of these skills (skill codes)."
    )
    team: strawberry.ID | None = strawberry.field(
        default=None, description="Members of this team (ID)."
    )
    is_commando: bool | None = strawberry.field(
        default=None, description="In the party commando (突击队), or not."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Name contains this text."
    )


def person_conditions(f: PersonFilter | None, v: Viewer) -> list[object]:
    if f is None:
        return []
    where: list[object] = []
    if f.kind:
        where.append(col(P.kind).in_(f.kind))
    if f.registered_community is not None:
        ids = [decode_id(c, "Community") for c in f.registered_community]
        where.append(col(P.registered_community_id).in_(ids))
    for code in f.skills or ():
        where.append(
            col(P.id).in_(
                sa.select(col(m.PersonSkill.person_id))
                .join(m.Skill, col(m.Skill.id) == col(m.PersonSkill.skill_id))
                .where(col(m.Skill.code) == code)
            )
        )
    if f.team is not None:
        team_id = decode_id(f.team, "Team")
        where.append(
            col(P.id).in_(
                sa.select(col(m.TeamMembership.person_id)).where(
                    col(m.TeamMembership.team_id) == team_id
                )
            )
        )
    if f.is_commando is not None:
        where.append(P.is_commando == f.is_commando)
    if f.name_contains:
        if not may_search_names(v, f.kind):
            raise CodedError(
                "nameContains matches residents' names, which you see masked: limit `kind` to "
                "kinds that serve",
                ErrorCode.FORBIDDEN,
            )
        # Only names the caller sees in full can match (whatever the people rule allows).
        where += [col(P.name).contains(f.name_contains, autoescape=True), name_shown_sql(v)]
    return where


@strawberry.type
class PeopleQuery:
    @connection_field(
        Person,
        description="People who serve, by name; at most 100 a page.",
        permission_classes=can("person.read"),
    )
    async def people(
        self,
        info: Info,
        filter: Annotated[PersonFilter | None, strawberry.argument(description="Who.")] = None,
    ) -> PageQuery:
        name = Ordering("NAME", (SortKey(P.name, "str"),), P.id)
        return RowsPage(Person, name, person_conditions(filter, viewer(info)))

    @strawberry.field(description="One person by ID.", permission_classes=can("person.read"))
    async def person(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Person | None:
        return await load_one(info, Person, decode_id(id, "Person"))

    @connection_field(
        Team, description="Volunteer teams, by name.", permission_classes=can("reference.read")
    )
    async def teams(
        self,
        kind: Annotated[
            list[TeamKind] | None, strawberry.argument(description="Of these kinds only.")
        ] = None,
        community: Annotated[
            strawberry.ID | None, strawberry.argument(description="Based in this community.")
        ] = None,
    ) -> PageQuery:
        t = m.Team
        where: list[object] = []
        if kind:
            where.append(col(t.kind).in_(kind))
        if community is not None:
            where.append(t.community_id == decode_id(community, "Community"))
        return RowsPage(Team, Ordering("NAME", (SortKey(t.name, "str"),), t.id), where)

    @strawberry.field(
        description="Every skill needs may require, by code.", extensions=[MaxItems(200)]
    )
    async def skills(self, info: Info) -> list[Skill]:
        stmt = sa.select(*table_columns(m.Skill)).order_by(m.Skill.code)
        async with info.context.db.session() as session:
            return Skill.from_rows((await session.execute(stmt)).all())
