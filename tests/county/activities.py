"""Activities and sign-ups: a meal service tomorrow at the service station (one of its three
places taken, a cancelled sign-up freed another), a law talk in Hengxi the day after (full), a
finished clean-up the volunteer served two hours at, and the rider signed up for the open need."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from schema import models as m
from schema.enums import ActivityStatus, SignUpStatus
from tests.county.core import A_LAT, A_LON, B_LAT, B_LON, NOW, County, add

REQUIRES = ("units", "skills", "teams", "needs")


def build(s: Session, c: County) -> None:
    r = c.rows
    qt, hx, team = c.quantang.id, c.hengxi.id, r["team1"].id
    soon = add(
        s,
        m.Activity(
            title="义善庐陵·敬老助餐",
            community_id=qt,
            venue_id=r["station"].id,
            organiser_team_id=team,
            status=ActivityStatus.PLANNED,
            starts_at=NOW + timedelta(days=1),
            ends_at=NOW + timedelta(days=1, hours=3),
            capacity=3,
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    far = add(
        s,
        m.Activity(
            title="横溪村法律讲座",
            community_id=hx,
            venue_id=r["hall"].id,
            status=ActivityStatus.PLANNED,
            starts_at=NOW + timedelta(days=2),
            ends_at=NOW + timedelta(days=2, hours=2),
            capacity=1,
            latitude=B_LAT,
            longitude=B_LON,
        ),
    )
    done = add(
        s,
        m.Activity(
            title="环境整治",
            community_id=qt,
            organiser_team_id=team,
            status=ActivityStatus.FINISHED,
            starts_at=NOW - timedelta(days=5),
            ends_at=NOW - timedelta(days=5) + timedelta(hours=2),
            capacity=10,
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    r |= {"act_soon": soon, "act_far": far, "act_done": done}
    add(s, m.ActivitySkill(activity_id=soon.id, skill_id=r["electrician"].id))
    add(s, m.ActivitySkill(activity_id=far.id, skill_id=r["legal"].id))
    volunteer, rider = c.volunteer.id, r["rider"].id
    signup = add(
        s, m.SignUp(person_id=volunteer, activity_id=soon.id, status=SignUpStatus.SIGNED_UP)
    )
    add(s, m.SignUp(person_id=rider, activity_id=soon.id, status=SignUpStatus.CANCELLED))
    add(s, m.SignUp(person_id=rider, activity_id=far.id, status=SignUpStatus.SIGNED_UP))
    served = add(
        s,
        m.SignUp(
            person_id=volunteer,
            activity_id=done.id,
            status=SignUpStatus.CHECKED_OUT,
            checked_in_at=done.starts_at,
            checked_out_at=done.ends_at,
            minutes=120,
        ),
    )
    add(s, m.SignUp(person_id=rider, need_id=r["need_open"].id, status=SignUpStatus.SIGNED_UP))
    r |= {"signup": signup, "signup_done": served}
