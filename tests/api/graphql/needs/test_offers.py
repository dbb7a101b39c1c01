"""Offers (请缨) over HTTP: a volunteer offers to take an open need, a coordinator accepts the
offer, which dispatches them through the closed loop, and they arrive and resolve it. A sign-up
on a need is refused with a pointer to offerNeed. A need's places are counted one way (people
dispatched): offers and acceptances stop at the headcount, also when two coordinators accept
at once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from api.app import create_app
from schema.enums import NeedStatus, Role
from schema.models import NeedAssignment, NeedEvent, Notification
from schema.notifications import NotificationKind
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok
from tests.conftest import gql, make_settings
from tests.county import County

PAYLOAD = """offer { id status person { name } } need { id status placesLeft }
  userErrors { field message code }"""
OFFER = f"mutation($input: OfferNeedInput!) {{ offerNeed(input: $input) {{ {PAYLOAD} }} }}"
WITHDRAW = f"mutation($input: OfferStepInput!) {{ withdrawOffer(input: $input) {{ {PAYLOAD} }} }}"
DECLINE = """mutation { declineOffer(input: {offerId: "OFFER", note: "本次人手已够"}) {
  offer { status note } userErrors { code } } }"""
ACCEPT = f"mutation($input: OfferStepInput!) {{ acceptOffer(input: $input) {{ {PAYLOAD} }} }}"


def offer(client: TestClient, token: str, need_id: str) -> dict[str, Any]:
    return gql(client, OFFER, {"input": {"needId": need_id}}, token=token)["data"]["offerNeed"]


def accept(client: TestClient, token: str, offer_id: str) -> dict[str, Any]:
    body = gql(client, ACCEPT, {"input": {"offerId": offer_id}}, token=token)
    return body["data"]["acceptOffer"]


def _volunteer(engine: sa.Engine, county: County, name: str) -> str:
    person = f.person(engine, name=name, registered_community_id=county.quantang.id)
    return f.token_for(f.account(engine, Role.VOLUNTEER, person_id=person.id))


def test_offer_accept_arrive_resolve(client: TestClient, engine: sa.Engine, county: County) -> None:
    need = f.need(engine, county.quantang.id, status=NeedStatus.REPORTED, headcount=1)
    nid, volunteer = gid("Need", need.id), county.token("volunteer")

    # A sign-up on a need is no way in any more: it says what to do instead.
    refused = mutate(client, "signUp", {"needId": nid}, volunteer)
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    assert "offerNeed" in refused["userErrors"][0]["message"]

    offered = ok(offer(client, volunteer, nid))["offer"]
    assert offered["status"] == "OFFERED" and offered["person"]["name"] == "王建国"
    assert ok(offer(client, volunteer, nid))["offer"]["id"] == offered["id"]  # harmless twice
    # Before acceptance the volunteer is not dispatched: arriving is refused.
    assert error_codes(mutate(client, "arriveNeed", {"needId": nid}, volunteer)) == ["FORBIDDEN"]
    # Only those who may dispatch accept.
    forbidden = gql(
        client, ACCEPT, {"input": {"offerId": offered["id"]}}, token=volunteer, expect_errors=True
    )
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    outsider = accept(client, county.token("outsider"), offered["id"])
    assert error_codes(outsider) == ["FORBIDDEN"]

    done = ok(accept(client, county.token("coordinator"), offered["id"]))
    assert done["offer"]["status"] == "ACCEPTED"
    assert done["need"]["status"] == "DISPATCHED" and done["need"]["placesLeft"] == 0
    with Session(engine) as s:
        (assignment,) = s.exec(select(NeedAssignment).where(col(NeedAssignment.active))).all()
        assert assignment.person_id == county.volunteer.id
        actions = [e.action.value for e in s.exec(select(NeedEvent).order_by(col(NeedEvent.id)))]
    assert actions == ["accept", "dispatch"]  # the loop's own steps, recorded

    assert ok(mutate(client, "arriveNeed", {"needId": nid}, volunteer))["need"]["status"] == (
        "ARRIVED"
    )
    assert ok(mutate(client, "resolveNeed", {"needId": nid}, volunteer))["need"]["status"] == (
        "RESOLVED"
    )
    mine = gql(client, "{ me { myOffers(first: 5) { nodes { status } } } }", token=volunteer)[
        "data"
    ]["me"]["myOffers"]["nodes"]
    assert mine == [{"status": "ACCEPTED"}]


def test_places_are_counted_one_way(client: TestClient, engine: sa.Engine, county: County) -> None:
    need = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED, headcount=2)
    nid, coordinator = gid("Need", need.id), county.token("coordinator")
    tokens = [_volunteer(engine, county, f"志愿者{i}") for i in range(3)]
    offers = [ok(offer(client, t, nid))["offer"]["id"] for t in tokens]
    # Offers hold no place: the opportunity still shows two.
    shown = gql(
        client,
        "query($id: ID!) { need(id: $id) { placesLeft offers { status } } }",
        {"id": nid},
        token=coordinator,
    )["data"]["need"]
    assert shown["placesLeft"] == 2 and len(shown["offers"]) == 3

    assert ok(accept(client, coordinator, offers[0]))["need"]["placesLeft"] == 1
    second = ok(accept(client, coordinator, offers[1]))["need"]
    assert second["placesLeft"] == 0 and second["status"] == "DISPATCHED"
    with Session(engine) as s:  # the second joined the first (加派), nobody was handed over
        active = s.exec(select(NeedAssignment).where(col(NeedAssignment.active))).all()
        # Each accepted volunteer is told once (the outbox), the first not again on the second.
        told = Counter(
            n.person_id
            for n in s.exec(
                select(Notification).where(Notification.kind == NotificationKind.NEED_DISPATCHED)
            )
        )
    assert len(active) == 2
    assert sorted(told.values()) == [1, 1] and set(told) == {a.person_id for a in active}
    # The need is full: the offer still pending was answered at once (found by using it: it
    # stayed OFFERED, waiting for a place that would not come).
    full = accept(client, coordinator, offers[2])
    assert error_codes(full) == ["CAPACITY_REACHED"]
    mine = "{ me { myOffers(first: 5) { nodes { status note } } } }"
    pending = gql(client, mine, token=tokens[2])
    assert pending["data"]["me"]["myOffers"]["nodes"] == [
        {"status": "DECLINED", "note": "名额已满，感谢请缨"}
    ]
    # A new offer on the full need is refused too; an answered offer is not withdrawn.
    late = _volunteer(engine, county, "迟到者")
    assert error_codes(offer(client, late, nid)) == ["CAPACITY_REACHED"]
    body = gql(client, WITHDRAW, {"input": {"offerId": offers[2]}}, token=tokens[2])
    assert error_codes(body["data"]["withdrawOffer"]) == ["ILLEGAL_TRANSITION"]
    # Declining is for a pending offer, and final for that need.
    other = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED)
    pending = ok(offer(client, late, gid("Need", other.id)))["offer"]["id"]
    decline = DECLINE.replace("OFFER", pending)
    declined = gql(client, decline, token=coordinator)["data"]["declineOffer"]
    assert ok(declined)["offer"] == {"status": "DECLINED", "note": "本次人手已够"}
    again = gql(client, decline, token=coordinator)["data"]["declineOffer"]
    assert error_codes(again) == ["ILLEGAL_TRANSITION"]
    assert error_codes(offer(client, late, gid("Need", other.id))) == ["CONFLICT"]
    opportunities = gql(
        client, "{ volunteerOpportunities(first: 50) { nodes { id } } }", token=tokens[2]
    )["data"]["volunteerOpportunities"]["nodes"]
    assert nid not in [o["id"] for o in opportunities]


def test_two_coordinators_accept_past_the_last_place(
    engine: sa.Engine, county: County, database_url: str
) -> None:
    need = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED, headcount=1)
    nid = gid("Need", need.id)
    coordinators = [county.token("coordinator"), county.token("county_coordinator")]
    with TestClient(create_app(make_settings(database_url))) as client:
        offers = [
            ok(offer(client, _volunteer(engine, county, f"抢{i}"), nid))["offer"]["id"]
            for i in range(2)
        ]
    results: list[dict[str, Any]] = [{}, {}]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            results[i] = accept(c, coordinators[i], offers[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    outcomes = Counter("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert outcomes["OK"] == 1, results
    assert set(outcomes) <= {"OK", "CAPACITY_REACHED", "CONFLICT"}
    with Session(engine) as s:
        active = s.exec(select(NeedAssignment).where(col(NeedAssignment.active))).all()
    assert len(active) == 1


def test_offers_pending_on_an_ended_need_are_answered(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    """Found by using it: offers on a need resolved by others, or merged into another, stayed
    OFFERED for ever and showed as waiting in the volunteer's `myOffers`."""
    coordinator = county.token("coordinator")
    resolved = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED, headcount=2)
    survivor = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED)
    duplicate = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED)
    first, second = (_volunteer(engine, county, name) for name in ("先到者", "后到者"))
    accepted = ok(offer(client, first, gid("Need", resolved.id)))["offer"]["id"]
    waiting = [
        ok(offer(client, second, gid("Need", need.id)))["offer"]["id"]
        for need in (resolved, duplicate)
    ]
    ok(accept(client, coordinator, accepted))  # one place of two taken: the other still waits

    nid = gid("Need", resolved.id)
    ok(mutate(client, "arriveNeed", {"needId": nid}, first))
    ok(mutate(client, "resolveNeed", {"needId": nid}, first))
    merge = {
        "survivorId": gid("Need", survivor.id),
        "duplicates": [{"id": gid("Need", duplicate.id)}],
    }
    ok(mutate(client, "mergeNeeds", merge, coordinator))

    mine = "{ me { myOffers(first: 5) { nodes { id status note } } } }"
    nodes = gql(client, mine, token=second)["data"]["me"]["myOffers"]["nodes"]
    ended = "需求已办结或合并，感谢请缨"
    assert sorted((n["id"], n["status"], n["note"]) for n in nodes) == sorted(
        (offer_id, "DECLINED", ended) for offer_id in waiting
    )
    # The accepted offer keeps its status: it was served.
    assert gql(client, mine, token=first)["data"]["me"]["myOffers"]["nodes"][0]["status"] == (
        "ACCEPTED"
    )
