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
DECLINE = """mutation { declineOffer(input: {offerId: "OFFER", note: "REASON"}) {
  offer { status note declinedBecause answer } userErrors { code } } }"""
ACCEPT = f"mutation($input: OfferStepInput!) {{ acceptOffer(input: $input) {{ {PAYLOAD} }} }}"


def offer(client: TestClient, token: str, need_id: str, note: str = "") -> dict[str, Any]:
    variables = {"input": {"needId": need_id, "note": note}}
    return gql(client, OFFER, variables, token=token)["data"]["offerNeed"]


def decline(client: TestClient, token: str, offer_id: str, reason: str) -> dict[str, Any]:
    body = gql(client, DECLINE.replace("OFFER", offer_id).replace("REASON", reason), token=token)
    return body["data"]["declineOffer"]


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
    offers = [ok(offer(client, t, nid, f"第{i}个"))["offer"]["id"] for i, t in enumerate(tokens)]
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
    # The answer goes beside the volunteer's own note, which stays.
    mine = "{ me { myOffers(first: 5) { nodes { status note declinedBecause answer } } } }"
    pending = gql(client, mine, token=tokens[2])
    assert pending["data"]["me"]["myOffers"]["nodes"] == [
        {
            "status": "DECLINED",
            "note": "第2个",
            "declinedBecause": "NEED_FULL",
            "answer": "名额已满，感谢请缨",
        }
    ]
    # A new offer on the full need is refused too; an answered offer is not withdrawn.
    late = _volunteer(engine, county, "迟到者")
    assert error_codes(offer(client, late, nid)) == ["CAPACITY_REACHED"]
    body = gql(client, WITHDRAW, {"input": {"offerId": offers[2]}}, token=tokens[2])
    assert error_codes(body["data"]["withdrawOffer"]) == ["ILLEGAL_TRANSITION"]
    # Declining is for a pending offer, and final for that need.
    other = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED)
    pending = ok(offer(client, late, gid("Need", other.id)))["offer"]["id"]
    declined = decline(client, coordinator, pending, "本次人手已够")
    assert ok(declined)["offer"] == {
        "status": "DECLINED",
        "note": "",
        "declinedBecause": "COORDINATOR",
        "answer": "本次人手已够",
    }
    again = decline(client, coordinator, pending, "本次人手已够")
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

    mine = "{ me { myOffers(first: 5) { nodes { id status declinedBecause answer } } } }"
    nodes = gql(client, mine, token=second)["data"]["me"]["myOffers"]["nodes"]
    ended = "需求已办结或合并，感谢请缨"
    assert sorted(tuple(n.values()) for n in nodes) == sorted(
        (offer_id, "DECLINED", "NEED_ENDED", ended) for offer_id in waiting
    )
    # The accepted offer keeps its status: it was served.
    assert gql(client, mine, token=first)["data"]["me"]["myOffers"]["nodes"][0]["status"] == (
        "ACCEPTED"
    )


def test_an_answered_offer_is_told_by_its_reason_not_its_words(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    """Found by using it: acceptOffer told an offer answered because the need was full from one
    its coordinator declined by the answer's text, and the answer wrote over the volunteer's
    note. A coordinator who declines in the system's words is still final; an offer answered
    because the need was full is taken again once a place frees."""
    coordinator = county.token("coordinator")
    need = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED, headcount=1)
    nid = gid("Need", need.id)
    first, second, third = (_volunteer(engine, county, n) for n in ("甲", "乙", "丙"))
    taken = ok(offer(client, first, nid))["offer"]["id"]
    waiting = ok(offer(client, second, nid, "周末都有空"))["offer"]["id"]
    refused = ok(offer(client, third, nid))["offer"]["id"]
    ok(decline(client, coordinator, refused, "名额已满，感谢请缨"))
    assert error_codes(accept(client, coordinator, refused)) == ["ILLEGAL_TRANSITION"]
    ok(accept(client, coordinator, taken))  # the last place: the second offer is answered
    assert error_codes(accept(client, coordinator, waiting)) == ["CAPACITY_REACHED"]

    # The place frees: the need is handed to a team instead (转派; a team holds no place).
    team = f.team(engine, name="应急小分队")
    to_team = {"needId": nid, "toTeamId": gid("Team", team.id)}
    ok(mutate(client, "dispatchNeed", to_team, coordinator))
    places = "query($id: ID!) { need(id: $id) { placesLeft } }"
    assert gql(client, places, {"id": nid}, token=coordinator)["data"]["need"]["placesLeft"] == 1
    # ...and the answered volunteer may offer again; the one declined by the coordinator not.
    again = ok(offer(client, second, nid, "还可以来"))["offer"]
    assert again["id"] == waiting and again["status"] == "OFFERED"
    assert error_codes(offer(client, third, nid)) == ["CONFLICT"]
    shown = gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on NeedOffer { note declinedBecause answer } } }",
        {"id": waiting},
        token=coordinator,
    )["data"]["node"]
    assert shown == {"note": "还可以来", "declinedBecause": None, "answer": ""}


def test_offers_are_settled_whoever_fills_the_need(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    """Found by using it (attack5): a coordinator who filled a need by dispatchNeed left its
    offers waiting (the volunteer dispatched directly too); a deactivated volunteer's offer
    could still be accepted; a volunteer could take and rate their own report; declining said
    nothing to the volunteer; accepting an offer answered as full, once a place had freed,
    still said there was none."""
    coordinator = county.token("coordinator")
    need = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED, headcount=1)
    nid = gid("Need", need.id)
    waiting = _volunteer(engine, county, "等待者")
    pending = ok(offer(client, waiting, nid, "下午有空"))["offer"]["id"]
    ok(offer(client, county.token("volunteer"), nid))
    again = ok(offer(client, waiting, nid, "晚上也行"))["offer"]  # offering again says it anew
    assert again["id"] == pending
    dispatch = {"needId": nid, "toPersonIds": [gid("Person", county.volunteer.id)]}
    ok(mutate(client, "dispatchNeed", dispatch, coordinator))
    shown = gql(
        client,
        "query($id: ID!) { need(id: $id) { offers { note status declinedBecause "
        "person { name } } } }",
        {"id": nid},
        token=coordinator,
    )["data"]["need"]["offers"]
    assert sorted((o["person"]["name"], o["status"], o["declinedBecause"]) for o in shown) == [
        ("王建国", "ACCEPTED", None),  # dispatched directly: their offer is taken up
        ("等待者", "DECLINED", "NEED_FULL"),  # the last place went: answered at once
    ]
    assert "晚上也行" in [o["note"] for o in shown]

    # A place frees (handed to a team): the answer says to offer again, not "no place".
    team = f.team(engine, name="先锋队")
    ok(
        mutate(
            client, "dispatchNeed", {"needId": nid, "toTeamId": gid("Team", team.id)}, coordinator
        )
    )
    freed = accept(client, coordinator, pending)
    assert error_codes(freed) == ["BAD_USER_INPUT"]
    assert "offer again" in freed["userErrors"][0]["message"]

    # Declining owes the volunteer a reason.
    other = f.need(engine, county.quantang.id, status=NeedStatus.ACCEPTED)
    oid = ok(offer(client, waiting, gid("Need", other.id)))["offer"]["id"]
    assert error_codes(decline(client, coordinator, oid, "  ")) == ["BAD_USER_INPUT"]

    # One's own report is for someone else to take.
    resident = county.account("resident")
    mine = f.need(
        engine,
        county.quantang.id,
        status=NeedStatus.ACCEPTED,
        reporter_account_id=resident.id,
        reporter_person_id=county.volunteer.id,
    )
    own = offer(client, county.token("volunteer"), gid("Need", mine.id))
    assert (
        error_codes(own) == ["BAD_USER_INPUT"] and "you reported" in own["userErrors"][0]["message"]
    )

    # A deactivated volunteer's pending offers are withdrawn: nobody could act on the dispatch.
    person = f.person(engine, name="离任者", registered_community_id=county.quantang.id)
    account = f.account(engine, Role.VOLUNTEER, person_id=person.id)
    gone = ok(offer(client, f.token_for(account), gid("Need", other.id)))["offer"]["id"]
    deactivate = """mutation($id: ID!) { deactivateAccount(id: $id) { userErrors { code } } }"""
    admin = county.token("admin")
    assert (
        gql(client, deactivate, {"id": gid("Account", account.id)}, token=admin)["data"][
            "deactivateAccount"
        ]["userErrors"]
        == []
    )
    assert error_codes(accept(client, coordinator, gone)) == ["ILLEGAL_TRANSITION"]


def test_an_answered_offer_still_says_what_it_was_for(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    """Found by using it: once an offer was declined, the volunteer's `myOffers` showed
    `need: null` (the need is no longer theirs to read), so an app could not say which need the
    answer was about. `offeredFor` tells it, as the opportunity showed it: no personal title."""
    coordinator = county.token("coordinator")
    need = f.need(
        engine, county.quantang.id, status=NeedStatus.ACCEPTED, title="张阿姨家水管爆了", urgency=4
    )
    volunteer = _volunteer(engine, county, "丁")
    refused = ok(offer(client, volunteer, gid("Need", need.id), "我会修水管"))["offer"]["id"]
    mine = """{ me { myOffers(first: 5) { nodes { id status need { title }
        offeredFor { title category urgency isOpen community { name } } } } } }"""
    pending = gql(client, mine, token=volunteer)["data"]["me"]["myOffers"]["nodes"]
    # readable while pending (its own title is for those handling it: the public one)
    assert pending[0]["need"] == {"title": "基础设施求助"}
    ok(decline(client, coordinator, refused, "已有人负责"))
    answered = gql(client, mine, token=volunteer)["data"]["me"]["myOffers"]["nodes"]
    assert [o["id"] for o in answered] == [refused]
    assert answered[0]["status"] == "DECLINED" and answered[0]["need"] is None
    assert answered[0]["offeredFor"] == {
        "title": "基础设施求助",
        "category": "INFRASTRUCTURE",
        "urgency": 4,
        "isOpen": True,
        "community": {"name": county.quantang.name},
    }
    # Another volunteer sees neither the offer nor, through it, the need.
    stranger = _volunteer(engine, county, "戊")
    node = "query($id: ID!) { node(id: $id) { ... on NeedOffer { offeredFor { title } } } }"
    assert gql(client, node, {"id": refused}, token=stranger)["data"]["node"] is None
