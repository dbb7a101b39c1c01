"""Places left (`schema.places`): one number through every path that shows or enforces it, the
`placesLeft` fields of Need and Activity, `volunteerOpportunities`, and the sign-up, offer and
acceptance that are refused once none is left, on a real database."""

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
    """A need for three people: two dispatched in person (one of them also signed up, to log
    time), an old sign-up of someone not dispatched, one cancelled, an ended assignment and a
    team (none of those holds a place): one place left. An activity for two with one sign-up
    and one cancelled: one place left."""

    def __init__(self, engine: sa.Engine) -> None:
        self.county: County = build(engine)
        home = self.county.quantang.id
        self.need = f.need(engine, home, status=NeedStatus.DISPATCHED, headcount=3)
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


OFFER = """mutation($input: OfferNeedInput!) { offerNeed(input: $input) {
  offer { id } userErrors { code } } }"""
ACCEPT = """mutation($input: OfferStepInput!) { acceptOffer(input: $input) {
  need { placesLeft } userErrors { code } } }"""


def offer(client: TestClient, token: str, need: Need) -> dict[str, Any]:
    variables = {"input": {"needId": gid("Need", need.id)}}
    return gql(client, OFFER, variables, token=token)["data"]["offerNeed"]


def test_places_left_is_one_number_on_every_path(client: TestClient, world: World) -> None:
    assert shown(client, world) == {"need": (1, 1), "activity": (1, 1)}

    ok(sign_up(client, world.volunteer(world.joiners[0]), world.activity))
    offered = ok(offer(client, world.volunteer(world.joiners[0]), world.need))["offer"]
    accepted = gql(
        client,
        ACCEPT,
        {"input": {"offerId": offered["id"]}},
        token=world.county.token("coordinator"),
    )["data"]["acceptOffer"]
    assert ok(accepted)["need"] == {"placesLeft": 0}
    # None left: the fields say 0, the opportunities no longer list them, sign-ups and offers
    # are refused.
    assert shown(client, world) == {"need": (0, None), "activity": (0, None)}
    refused = sign_up(client, world.volunteer(world.joiners[1]), world.activity)
    assert error_codes(refused) == ["CAPACITY_REACHED"], refused
    assert error_codes(offer(client, world.volunteer(world.joiners[1]), world.need)) == [
        "CAPACITY_REACHED"
    ]

    # Someone dispatched to the need may sign up on it to log time: that takes no other place.
    ok(sign_up(client, world.volunteer(world.dispatched), world.need))
    assert shown(client, world)["need"] == (0, None)

    # Cancelling frees the activity's place on every path at once.
    with Session(world.engine) as s:
        joined = s.exec(select(SignUp.id).where(SignUp.person_id == world.joiners[0].id)).all()
    assert len(joined) == 1
    step = {"signUpId": gid("SignUp", joined[0])}
    ok(mutate(client, "cancelSignUp", step, world.county.token("coordinator")))
    assert shown(client, world)["activity"] == (1, 1)


def test_over_dispatched_need_has_no_place_left(client: TestClient, world: World) -> None:
    with Session(world.engine) as s:
        for p in world.joiners[:2]:
            s.add(NeedAssignment(need_id=world.need.id, person_id=p.id))
        s.commit()
    assert shown(client, world)["need"] == (0, None)  # never below zero
    refused = offer(client, world.volunteer(world.joiners[2]), world.need)
    assert error_codes(refused) == ["CAPACITY_REACHED"]
