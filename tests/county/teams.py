"""Teams: Quantang's rider team (the volunteer leads it, the rider rides) and a help squad led
by the enterprise helper."""

from __future__ import annotations

from sqlmodel import Session

from schema import models as m
from schema.enums import TeamKind
from tests.county.core import County, add

REQUIRES = ("people",)


def build(s: Session, c: County) -> None:
    riders = add(
        s, m.Team(name="吉先锋骑手队", kind=TeamKind.NEW_BUSINESS, community_id=c.quantang.id)
    )
    squad = add(s, m.Team(name="小赣事帮办专班", kind=TeamKind.HELP_SQUAD))
    add(s, m.TeamMembership(team_id=riders.id, person_id=c.volunteer.id, is_leader=True))
    add(s, m.TeamMembership(team_id=riders.id, person_id=c.rows["rider"].id))
    add(s, m.TeamMembership(team_id=squad.id, person_id=c.helper.id, is_leader=True))
    c.rows |= {"team1": riders, "team2": squad}
