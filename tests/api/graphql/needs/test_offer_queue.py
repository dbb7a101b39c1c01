"""A coordinator finds the needs of their area with offers waiting (`awaitingOffer`), without
knowing the needs' IDs beforehand; the filter counts only offers the reader may see, so it does
not tell a volunteer that someone else offered."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.testclient import TestClient

from schema.enums import NeedStatus, Role
from tests import factories as f
from tests.api.graphql.mutate import gid, ok
from tests.api.graphql.needs.test_offers import offer
from tests.conftest import gql
from tests.county import County

WAITING = """query($waiting: Boolean) {
  needs(first: 50, filter: {open: true, awaitingOffer: $waiting}) {
    totalCount nodes { id offers { status } } } }"""
MY_WAITING = """{ me { myNeeds(first: 50, filter: {awaitingOffer: true}) { nodes { id } } } }"""


def _ids(body: dict[str, object]) -> set[str]:
    data = body["data"]
    assert isinstance(data, dict)
    return {n["id"] for n in data["needs"]["nodes"]}


def test_coordinator_lists_needs_with_offers_waiting(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    qt = county.quantang.id
    waiting = f.need(engine, qt, status=NeedStatus.REPORTED, headcount=2)
    quiet = f.need(engine, qt, status=NeedStatus.REPORTED, headcount=2)
    volunteer = county.token("volunteer")
    ok(offer(client, volunteer, gid("Need", waiting.id)))

    coordinator = county.token("coordinator")
    listed = _ids(gql(client, WAITING, {"waiting": True}, token=coordinator))
    assert gid("Need", waiting.id) in listed and gid("Need", quiet.id) not in listed
    others = _ids(gql(client, WAITING, {"waiting": False}, token=coordinator))
    assert gid("Need", quiet.id) in others and gid("Need", waiting.id) not in others

    # The need's reporter may read the need but not the offers on it: the filter does not
    # tell them that a volunteer offered (nor, in `me`, on their own needs).
    reporter = f.account(engine, Role.RESIDENT)
    mine = f.need(
        engine, qt, status=NeedStatus.REPORTED, headcount=2, reporter_account_id=reporter.id
    )
    ok(offer(client, volunteer, gid("Need", mine.id)))
    resident = f.token_for(reporter)
    assert gid("Need", mine.id) in _ids(gql(client, WAITING, {"waiting": False}, token=resident))
    assert _ids(gql(client, WAITING, {"waiting": True}, token=resident)) == set()
    assert gql(client, MY_WAITING, token=resident)["data"]["me"]["myNeeds"]["nodes"] == []

    # The volunteer sees their own offer waiting.
    assert gid("Need", mine.id) in _ids(gql(client, WAITING, {"waiting": True}, token=volunteer))


def test_offering_on_a_need_not_open_tells_nothing_of_it(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    """Offering is a way to probe any need ID: the refusal must not say where a need one may not
    see stands (closed, merged, resolved …), only that it takes no offers."""
    volunteer = county.token("volunteer")
    messages = set()
    for status in (NeedStatus.CLOSED, NeedStatus.RESOLVED, NeedStatus.MERGED):
        hidden = f.need(engine, county.quantang.id, status=status)
        body = gql(
            client,
            "mutation($i: OfferNeedInput!) { offerNeed(input: $i) { offer { id } "
            "userErrors { field message code } } }",
            {"i": {"needId": gid("Need", hidden.id)}},
            token=volunteer,
        )
        (error,) = body["data"]["offerNeed"]["userErrors"]
        assert status.value not in error["message"].lower()
        assert error["field"] == ["input", "needId"]
        messages.add((error["code"], error["message"]))
    assert len(messages) == 1  # the same answer whatever the status
