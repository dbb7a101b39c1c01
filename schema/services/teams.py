"""Teams and their members; the commando (“吉先锋”党员突击队) an area forms in emergency mode.

- Coordinators manage the teams of their community; county-wide teams (no community) are
  managed by county-level coordinators and administrators.
- Commando teams are not created by hand: `form_commando` assembles one from the area's
  commando-flagged people (`Person.is_commando`) while the area is in emergency mode (平急转换).
  Its members are away from their other teams (`TeamMembership.away_with_team_id`) until the
  area returns to normal mode, when `stand_down_commandos` (called by `set_area_mode`) disbands
  it and returns them. The membership rows stay: who served on which commando is history.
- Forming is serialised by the community's row lock: two offices forming at once get one team,
  and the members are told once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import Community
from schema.enums import AreaMode, TeamKind
from schema.people import Person, Team, TeamMembership
from schema.services.common import Actor, clean_text, lock_row, now_or, to_publish
from schema.services.errors import Conflict, Forbidden, Invalid, NotFound
from schema.services.outbox_hooks import commando_mobilised, commando_stood_down
from schema.workflow import IllegalTransition

TEAM_NAME_MAX = 64


def _require_manager(actor: Actor, community_id: int | None) -> None:
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators manage teams")
    if not actor.in_scope(community_id):
        what = "county-wide teams are" if community_id is None else "this team is"
        raise Forbidden(f"outside your area: {what} managed elsewhere")


async def create_team(
    *,
    session: AsyncSession,
    actor: Actor,
    name: str,
    kind: TeamKind,
    community_id: int | None = None,
    now: datetime | None = None,
) -> Team:
    now = now_or(now)
    name = clean_text(name, "name", max_length=TEAM_NAME_MAX, required=True)
    if kind is TeamKind.COMMANDO:
        raise Invalid("kind", "commando teams are formed by formCommando in emergency mode")
    if community_id is not None and await session.get(Community, community_id) is None:
        raise NotFound("community", community_id, field="community_id")
    _require_manager(actor, community_id)
    team = Team(name=name, kind=kind, community_id=community_id, founded_at=now)
    try:
        async with session.begin_nested():
            session.add(team)
            await session.flush()
    except IntegrityError:
        raise Conflict("a team with this name exists already", field="name") from None
    return team


async def _team_to_change(session: AsyncSession, team_id: int, actor: Actor) -> Team:
    team = await session.get(Team, team_id, populate_existing=True)
    if team is None:
        raise NotFound("team", team_id, field="team_id")
    _require_manager(actor, team.community_id)
    if team.disbanded_at is not None:
        raise IllegalTransition("change members", "team disbanded", ())
    return team


async def add_team_member(
    *,
    session: AsyncSession,
    actor: Actor,
    team_id: int,
    person_id: int,
    is_leader: bool = False,
    now: datetime | None = None,
) -> TeamMembership:
    """Adds a person (adding someone already in the team changes only whether they lead)."""
    now = now_or(now)
    await _team_to_change(session, team_id, actor)
    if await session.get(Person, person_id) is None:
        raise NotFound("person", person_id, field="person_id")
    existing = await _membership(session, team_id, person_id)
    if existing is None:
        row = TeamMembership(
            team_id=team_id, person_id=person_id, is_leader=is_leader, joined_at=now
        )
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
            return row
        except IntegrityError:  # added at the same moment by another office: the same result
            existing = await _membership(session, team_id, person_id)
            if existing is None:
                raise
    await session.execute(
        sa.update(TeamMembership)
        .where(col(TeamMembership.team_id) == team_id, col(TeamMembership.person_id) == person_id)
        .values(is_leader=is_leader)
    )
    existing.is_leader = is_leader
    return existing


async def _membership(session: AsyncSession, team_id: int, person_id: int) -> TeamMembership | None:
    stmt = (
        select(TeamMembership)
        .where(col(TeamMembership.team_id) == team_id, col(TeamMembership.person_id) == person_id)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def remove_team_member(
    *, session: AsyncSession, actor: Actor, team_id: int, person_id: int
) -> Team:
    team = await _team_to_change(session, team_id, actor)
    if team.kind is TeamKind.COMMANDO:
        raise Invalid("team_id", "a commando stands down with its area, not member by member")
    result = await session.execute(
        sa.delete(TeamMembership).where(
            col(TeamMembership.team_id) == team_id, col(TeamMembership.person_id) == person_id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("member of this team", person_id, field="person_id")
    return team


async def active_commando(session: AsyncSession, community_id: int) -> Team | None:
    stmt = select(Team).where(
        col(Team.kind) == TeamKind.COMMANDO,
        col(Team.community_id) == community_id,
        col(Team.disbanded_at).is_(None),
    )
    return (await session.execute(stmt)).scalars().first()


async def form_commando(
    *,
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    now: datetime | None = None,
) -> Team:
    """组建党员突击队: the area's commando-flagged people, while it is in emergency mode. Forming
    again while one is mobilised returns that one (nobody is told twice)."""
    now = now_or(now)
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators form commando teams")
    community = await session.get(Community, community_id, populate_existing=True)
    if community is None:
        raise NotFound("community", community_id, field="community_id")
    actor.require_scope(community_id)
    # One office at a time per area: the second waits here and then finds the team formed.
    await lock_row(session, Community, community_id)
    await session.refresh(community)
    if community.mode is not AreaMode.EMERGENCY:
        raise IllegalTransition("form_commando", f"area {community.mode.value}", ("emergency",))
    formed = await active_commando(session, community_id)
    if formed is not None:
        return formed
    flagged = (
        sa.select(col(Person.id))
        .where(col(Person.is_commando).is_(True))
        .where(col(Person.registered_community_id) == community_id)
        .order_by(col(Person.id))
    )
    members = [p for p in (await session.execute(flagged)).scalars() if p is not None]
    if not members:
        raise Invalid("community_id", "nobody in this area is flagged for the commando")
    earlier = await session.scalar(
        sa.select(sa.func.count()).where(
            col(Team.kind) == TeamKind.COMMANDO, col(Team.community_id) == community_id
        )
    )
    team = Team(
        name=f"“吉先锋”党员突击队·{community.name}·{int(earlier or 0) + 1}"[:TEAM_NAME_MAX],
        kind=TeamKind.COMMANDO,
        community_id=community_id,
        founded_at=now,
    )
    session.add(team)
    await session.flush()
    assert team.id is not None
    session.add_all(TeamMembership(team_id=team.id, person_id=p, joined_at=now) for p in members)
    await session.execute(
        sa.update(TeamMembership)
        .where(col(TeamMembership.person_id).in_(members), col(TeamMembership.team_id) != team.id)
        .values(away_with_team_id=team.id)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    await commando_mobilised(session, team=team, person_ids=members)
    _announce(session, team, "mobilised", members)
    return team


async def stand_down_commandos(session: AsyncSession, community_id: int, now: datetime) -> None:
    """The area is back in normal mode: its commando disbands and its members return to their
    teams (called inside `set_area_mode`'s transaction)."""
    team = await active_commando(session, community_id)
    if team is None:
        return
    assert team.id is not None
    team.disbanded_at = now
    session.add(team)
    members = list(
        (
            await session.execute(
                select(col(TeamMembership.person_id))
                .where(col(TeamMembership.team_id) == team.id)
                .order_by(col(TeamMembership.person_id))
            )
        ).scalars()
    )
    await session.execute(
        sa.update(TeamMembership)
        .where(col(TeamMembership.away_with_team_id) == team.id)
        .values(away_with_team_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    await commando_stood_down(session, team=team, person_ids=members)
    _announce(session, team, "stood_down", members)


def _announce(session: AsyncSession, team: Team, action: str, person_ids: list[int]) -> None:
    to_publish(session).append(
        {
            "kind": "mobilisation",
            "team_id": team.id,
            "community_id": team.community_id,
            "action": action,
            "person_ids": person_ids,
        }
    )
