"""Places left (`schema.places`): one number through every path that shows or enforces it, the
`placesLeft` fields of Need and Activity, `volunteerOpportunities`, and the sign-up that is
refused once none is left, on a real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from schema.base import utcnow
from schema.enums import NeedStatus, Role, SignUpStatus
from schema.models import Account, Activity, Need, NeedAssignment, Person, SignUp
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok
from tests.conftest import gql
from tests.county import County, build

SHOWN = """query($need: ID!, $activity: ID!) {
  need: node(id: $need) { ... on Need { placesLeft } }
  activity: node(id: $activity) { ... on Activity { placesLeft } }
  volunteerOpportunities(first: 50) { nodes { id placesLeft } }
}"""


class World:
    """A need for four people: two dispatched in person (one of them also signed up), one
    signed up, one cancelled, an ended assignment and a team (neither holds a place): one place
    left. An activity for two with one sign-up and one cancelled: one place left."""

    def __init__(self, engine: sa.Engine) -> None:
        self.county: County = build(engine)
        home = self.county.quantang.id
        self.need = f.need(engine, home, status=NeedStatus.DISPATCHED, headcount=4)
        start = utcnow() + timedelta(hours=1)
        self.activity = f.activity(
            engine, home, starts_at=start, ends_at=start + timedelta(hours=2), capacity=2
        )
        people = [f.person(engine, registered_community_id=home) for _ in range(8)]
        dispatched, both, signed, cancelled, ended, *self.joiners = people
        self.dispatched = dispatched
        team = f.team(engine)
        with Session(engine) as s:
            for p in (dispatched, both):
                s.add(NeedAssignment(need_id=self.need.id, person_id=p.id))
            s.add(NeedAssignment(need_id=self.need.id, person_id=ended.id, active=False))
            s.add(NeedAssignment(need_id=self.need.id, team_id=team.id))
            for p, status in ((both, SignUpStatus.CHECKED_IN), (signed, SignUpStatus.SIGNED_UP)):
                s.add(SignUp(person_id=p.id, need_id=self.need.id, status=status))
            gone, done = SignUpStatus.CANCELLED, SignUpStatus.CHECKED_OUT
            s.add(SignUp(person_id=cancelled.id, need_id=self.need.id, status=gone))
            s.add(SignUp(person_id=signed.id, activity_id=self.activity.id, status=done))
            s.add(SignUp(person_id=cancelled.id, activity_id=self.activity.id, status=gone))
            s.commit()
        self.engine = engine

    def volunteer(self, person: Person) -> str:
        account: Account = f.account(self.engine, Role.VOLUNTEER, person_id=person.id)
        return f.token_for(account)


@pytest.fixture
def world(engine: sa.Engine) -> World:
    return World(engine)


def shown(client: TestClient, world: World) -> dict[str, tuple[int, int | None]]:
    """Per target: (its own placesLeft field, its placesLeft in volunteerOpportunities, None
    when it is not listed there)."""
    need_id, activity_id = gid("Need", world.need.id), gid("Activity", world.activity.id)
    data = gql(
        client,
        SHOWN,
        {"need": need_id, "activity": activity_id},
        token=world.county.token("coordinator"),
    )["data"]
    listed = {o["id"]: o["placesLeft"] for o in data["volunteerOpportunities"]["nodes"]}
    return {
        "need": (data["need"]["placesLeft"], listed.get(need_id)),
        "activity": (data["activity"]["placesLeft"], listed.get(activity_id)),
    }


def sign_up(client: TestClient, token: str, target: Need | Activity) -> dict[str, Any]:
    key = "needId" if isinstance(target, Need) else "activityId"
    return mutate(client, "signUp", {key: gid(type(target).__name__, target.id)}, token)


def test_places_left_is_one_number_on_every_path(client: TestClient, world: World) -> None:
    assert shown(client, world) == {"need": (1, 1), "activity": (1, 1)}

    for target in (world.need, world.activity):
        ok(sign_up(client, world.volunteer(world.joiners[0]), target))
    # None left: the fields say 0, the opportunities no longer list them, sign-ups are refused.
    assert shown(client, world) == {"need": (0, None), "activity": (0, None)}
    for target in (world.need, world.activity):
        refused = sign_up(client, world.volunteer(world.joiners[1]), target)
        assert error_codes(refused) == ["CAPACITY_REACHED"], refused

    # Someone dispatched to the need already holds a place: signing up takes no other.
    ok(sign_up(client, world.volunteer(world.dispatched), world.need))
    assert shown(client, world)["need"] == (0, None)

    # Cancelling frees the place on every path at once.
    with Session(world.engine) as s:
        joined = s.exec(select(SignUp.id).where(SignUp.person_id == world.joiners[0].id)).all()
    assert len(joined) == 2
    for sign_up_id in joined:
        step = {"signUpId": gid("SignUp", sign_up_id)}
        ok(mutate(client, "cancelSignUp", step, world.county.token("coordinator")))
    assert shown(client, world) == {"need": (1, 1), "activity": (1, 1)}


def test_over_dispatched_need_has_no_place_left(client: TestClient, world: World) -> None:
    with Session(world.engine) as s:
        for p in world.joiners[:2]:
            s.add(NeedAssignment(need_id=world.need.id, person_id=p.id))
        s.commit()
    assert shown(client, world)["need"] == (0, None)  # never below zero
    refused = sign_up(client, world.volunteer(world.joiners[2]), world.need)
    assert error_codes(refused) == ["CAPACITY_REACHED"]
