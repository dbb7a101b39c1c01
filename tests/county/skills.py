"""Skills and when people serve: the volunteer is an electrician and counsellor free on
Saturday mornings, the rider gives legal advice, the helper knows financing."""

from __future__ import annotations

from sqlmodel import Session

from schema import models as m
from schema.enums import EnterpriseRequestKind
from tests.county.core import County, add

REQUIRES = ("people",)


def build(s: Session, c: County) -> None:
    skills = {
        "electrician": m.Skill(code="electrician", name="电工"),
        "legal": m.Skill(code="legal", name="法律咨询"),
        "psych": m.Skill(code="psych", name="心理疏导"),
    }
    c.rows |= {name: add(s, skill) for name, skill in skills.items()}
    volunteer, rider = c.volunteer.id, c.rows["rider"].id
    add(s, m.PersonSkill(person_id=volunteer, skill_id=c.rows["electrician"].id))
    add(s, m.PersonSkill(person_id=volunteer, skill_id=c.rows["psych"].id))
    add(s, m.PersonSkill(person_id=rider, skill_id=c.rows["legal"].id))
    add(s, m.Availability(person_id=volunteer, weekday=5, start_minute=540, end_minute=720))
    add(s, m.HelperExpertise(person_id=c.helper.id, kind=EnterpriseRequestKind.FINANCING))
