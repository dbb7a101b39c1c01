"""Batched reads for people and teams (one statement per field per request, whatever the page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from api.graphql.context import Context, Info
from api.graphql.relay import (
    ChildrenPage,
    Ordering,
    SortKey,
    loader,
    row_class,
    table_columns,
)
from api.graphql.type_refs import PersonT
from schema import models as m
from schema.enums import SignUpStatus

MEMBERS_BY_NAME = Ordering("NAME", (SortKey(m.Person.name, "str"),), m.Person.id)


def members_of_community(community_id: int) -> ChildrenPage:
    return ChildrenPage(
        PersonT,
        fk="registered_community_id",
        parent=community_id,
        ordering=MEMBERS_BY_NAME,
        name="community.members",
    )


async def _service_minutes_by_person(ctx: Context, keys: list[int]) -> list[int]:
    stmt = (
        sa.select(col(m.SignUp.person_id), sa.func.coalesce(sa.func.sum(col(m.SignUp.minutes)), 0))
        .where(col(m.SignUp.person_id).in_(keys), col(m.SignUp.status) == SignUpStatus.CHECKED_OUT)
        .group_by(col(m.SignUp.person_id))
    )
    async with ctx.db.session() as session:
        found = {r[0]: r[1] for r in (await session.execute(stmt)).all()}
    return [int(found.get(k) or 0) for k in keys]  # (coalesce: never None)


async def service_minutes_of_person(info: Info, person_id: int) -> int:
    return await loader(info, "person.service_minutes", _service_minutes_by_person).load(person_id)


def team_service_minutes_stmt(team_ids: list[int] | None = None) -> sa.Select[Any, Any]:
    """Minutes logged (checked-out sign-ups) by each team's members, per team."""
    tm, su = m.TeamMembership, m.SignUp
    stmt = (
        sa.select(col(tm.team_id), sa.func.coalesce(sa.func.sum(su.minutes), 0).label("minutes"))
        .join(su, col(su.person_id) == col(tm.person_id))
        .where(col(su.status) == SignUpStatus.CHECKED_OUT)
        .group_by(col(tm.team_id))
    )
    if team_ids is not None:
        stmt = stmt.where(col(tm.team_id).in_(team_ids))
    return stmt


async def _service_minutes_by_team(ctx: Context, keys: list[int]) -> list[int]:
    async with ctx.db.session() as session:
        found = {r[0]: r[1] for r in (await session.execute(team_service_minutes_stmt(keys))).all()}
    return [int(found.get(k, 0)) for k in keys]


async def service_minutes_of_team(info: Info, team_id: int) -> int:
    return await loader(info, "team.service_minutes", _service_minutes_by_team).load(team_id)


async def _member_counts(ctx: Context, keys: list[int]) -> list[int]:
    tm = m.TeamMembership
    stmt = (
        sa.select(col(tm.team_id), sa.func.count())
        .where(col(tm.team_id).in_(keys))
        .group_by(col(tm.team_id))
    )
    async with ctx.db.session() as session:
        found = {r[0]: r[1] for r in (await session.execute(stmt)).all()}
    return [int(found.get(k, 0)) for k in keys]


async def member_count_of_team(info: Info, team_id: int) -> int:
    return await loader(info, "team.member_count", _member_counts).load(team_id)


async def _people_by_pk_unruled(ctx: Context, keys: list[int]) -> list[Any]:
    p = m.Person
    stmt = sa.select(*table_columns(p)).where(col(p.id).in_(keys))
    async with ctx.db.session() as session:
        found = {r.id: r for r in (await session.execute(stmt)).all()}
    return [found.get(k) for k in keys]


async def reporter_of(info: Info, person_id: int | None, *, phone: bool) -> Any:
    """A need's reporter for a caller the need's rules let see them (`Need.reporter`).

    The grant comes from the need, not from the people rule (the reporter may live in
    another community), so the row is read without that rule; the object returned is a fresh
    copy carrying the grant, never the request's cached Person, so `node(id:)` on the same
    person in the same request stays masked."""
    if person_id is None:
        return None
    row = await loader(info, "person.reporter", _people_by_pk_unruled).load(person_id)
    if row is None:
        return None
    person = row_class(PersonT).from_row(row)
    person.__dict__["_grant"] = ReporterGrant(name=True, phone=phone)
    return person


async def serving_person_of(info: Info, person_id: int) -> Any:
    """Someone serving a need, for its reporter (亮身份: `sees_serving_people`), who may not
    read people otherwise: a fresh copy marked `_serving_only`, which shows who they are (name,
    kind, skills, community) and nothing of where they live, when they are free or what else
    they do (`Person._only_serving`)."""
    row = await loader(info, "person.serving", _people_by_pk_unruled).load(person_id)
    if row is None:
        return None
    person = row_class(PersonT).from_row(row)
    person.__dict__["_serving_only"] = True
    return person


@dataclass(frozen=True)
class ReporterGrant:
    """What a copy of a person reached as a need's reporter shows beyond the people rule."""

    name: bool
    phone: bool
