"""The in-app inbox over HTTP and WebSocket: `myNotifications` shows each caller their own,
pages and filters unread ones; `markNotificationsRead` marks the caller's own only (all or
none); a dispatch reaches the dispatched person's `myNotifications` subscription once the
transaction commits; administrators see dead letters and retry them."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from schema import models as m
from schema.notifications import Channel, DeliveryStatus, NotificationKind
from schema.services.notify import notify_on
from tests.api.graphql.mutate import gid, mutate, ok
from tests.api.graphql.needs.test_subscriptions import next_data, subscribe, wait_for_subscriber
from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("needs")

INBOX = """query($unread: Boolean, $first: Int, $after: String) {
  myNotifications(unreadOnly: $unread, first: $first, after: $after) {
    totalCount unreadCount pageInfo { hasNextPage endCursor }
    nodes { id kind title body read urgent needId }
  } }"""
MARK = """mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) {
  marked unreadCount userErrors { field message code } } }"""


def tell(engine: sa.Engine, key: str, **who: Any) -> None:
    with engine.begin() as conn:
        notify_on(
            conn,
            NotificationKind.NEED_RESOLVED,
            key=key,
            data={"title": f"诉求{key}", "place": "泉塘社区", "need_id": 1},
            **who,
        )


def inbox(client: TestClient, token: str, **variables: Any) -> dict[str, Any]:
    return gql(client, INBOX, variables, token=token)["data"]["myNotifications"]


def test_each_caller_reads_their_own_newest_first_in_pages(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    for i in range(3):
        tell(engine, f"v{i}", person_ids=[county.volunteer.id])
    tell(engine, "c", account_ids=[county.account("coordinator").id])
    page = inbox(client, county.token("volunteer"), first=2)
    assert page["totalCount"] == 3 and page["unreadCount"] == 3
    assert [n["title"] for n in page["nodes"]] == ["【办结】诉求v2", "【办结】诉求v1"]
    assert page["pageInfo"]["hasNextPage"]
    rest = inbox(client, county.token("volunteer"), first=2, after=page["pageInfo"]["endCursor"])
    assert [n["title"] for n in rest["nodes"]] == ["【办结】诉求v0"] and not rest["pageInfo"][
        "hasNextPage"
    ]
    assert page["nodes"][0]["needId"] == to_global_id("Need", 1)
    coordinator = inbox(client, county.token("coordinator"))
    assert [n["title"] for n in coordinator["nodes"]] == ["【办结】诉求c"]
    assert inbox(client, county.token("resident"))["nodes"] == []


def test_me_carries_the_same_inbox(client: TestClient, engine: sa.Engine, county: County) -> None:
    """`me { notifications }` is the inbox of `myNotifications`, page for page."""
    for i in range(2):
        tell(engine, f"m{i}", person_ids=[county.volunteer.id])
    tell(engine, "other", account_ids=[county.account("coordinator").id])
    query = """{ me { notifications(first: 1) { totalCount unreadCount nodes { title } } } }"""
    mine = gql(client, query, token=county.token("volunteer"))["data"]["me"]["notifications"]
    direct = inbox(client, county.token("volunteer"), first=1)
    assert mine["nodes"] == [{"title": n["title"]} for n in direct["nodes"]]
    assert mine["nodes"] == [{"title": "【办结】诉求m1"}]
    assert (mine["totalCount"], mine["unreadCount"]) == (2, 2)


def test_mark_read_marks_the_callers_own_only(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    tell(engine, "a", person_ids=[county.volunteer.id])
    tell(engine, "b", person_ids=[county.volunteer.id])
    tell(engine, "theirs", account_ids=[county.account("coordinator").id])
    token = county.token("volunteer")
    mine = [n["id"] for n in inbox(client, token)["nodes"]]
    theirs = inbox(client, county.token("coordinator"))["nodes"][0]["id"]
    refused = gql(client, MARK, {"input": {"ids": [mine[0], theirs]}}, token=token)
    payload = refused["data"]["markNotificationsRead"]
    assert payload["marked"] == 0 and payload["unreadCount"] == 2
    assert payload["userErrors"][0]["field"] == ["input", "ids", "1"]
    done = gql(client, MARK, {"input": {"ids": [mine[0]]}}, token=token)
    assert done["data"]["markNotificationsRead"]["marked"] == 1
    unread = inbox(client, token, unread=True)
    assert [n["id"] for n in unread["nodes"]] == [mine[1]] and unread["unreadCount"] == 1
    assert unread["totalCount"] == 1  # of the unread ones asked for
    assert inbox(client, token)["totalCount"] == 2
    everything = gql(client, MARK, {"input": {"all": True}}, token=token)
    assert everything["data"]["markNotificationsRead"] == {
        "marked": 1,
        "unreadCount": 0,
        "userErrors": [],
    }
    assert inbox(client, county.token("coordinator"))["unreadCount"] == 1  # untouched


def test_a_dispatch_reaches_the_dispatched_persons_subscription(
    client: TestClient, county: County
) -> None:
    need = gid("Need", county.rows["need_open"].id)
    query = "subscription { myNotifications { kind title body urgent needId } }"
    with subscribe(client, county.token("volunteer"), query, {}) as ws:
        wait_for_subscriber(client, f"inbox:person:{county.volunteer.id}")
        ok(
            mutate(
                client,
                "dispatchNeed",
                {"needId": need, "toPersonIds": [gid("Person", county.volunteer.id)]},
                county.token("coordinator"),
            )
        )
        got = next_data(ws)["myNotifications"]
    assert got["kind"] == "NEED_DISPATCHED" and got["needId"] == need
    assert "路灯不亮" in got["title"] and "泉塘" in got["body"]


def test_administrators_see_and_retry_dead_letters(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    tell(engine, "x", person_ids=[county.volunteer.id])
    with Session(engine) as s:
        delivery = s.get(m.NotificationDelivery, 1)
        assert delivery is not None and delivery.channel is Channel.SMS
        delivery.status, delivery.attempts, delivery.last_error = DeliveryStatus.DEAD, 5, "503"
        s.add(delivery)
        s.commit()
    dead = """{ notificationDeliveries(status: DEAD) { totalCount
      nodes { id channel address status attempts lastError } } }"""
    listed = gql(client, dead, token=county.token("admin"))["data"]["notificationDeliveries"]
    assert listed["totalCount"] == 1 and listed["nodes"][0]["lastError"] == "503"
    refused = gql(client, dead, token=county.token("coordinator"), expect_errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    retry = """mutation($ids: [ID!]!) { retryNotificationDeliveries(input: {ids: $ids}) {
      deliveries { status attempts } userErrors { field code } } }"""
    ids = [listed["nodes"][0]["id"]]
    again = gql(client, retry, {"ids": ids}, token=county.token("admin"))
    assert again["data"]["retryNotificationDeliveries"] == {
        "deliveries": [{"status": "PENDING", "attempts": 0}],
        "userErrors": [],
    }
    twice = gql(client, retry, {"ids": ids}, token=county.token("admin"))
    assert twice["data"]["retryNotificationDeliveries"]["userErrors"][0]["field"] == [
        "input",
        "ids",
        "0",
    ]


PREFS = """mutation($input: SetNotificationPreferencesInput!) {
  setNotificationPreferences(input: $input) {
    preferences { channels email wechatOpenId } userErrors { field code } } }"""


def test_preferences_choose_the_channel_of_the_next_notice(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    token = county.token("volunteer")
    mine = "{ myNotificationPreferences { channels email } }"
    assert gql(client, mine, token=token)["data"]["myNotificationPreferences"] == {
        "channels": ["SMS"],
        "email": None,
    }  # the default: SMS to the phone on record
    missing = gql(client, PREFS, {"input": {"channels": ["EMAIL"]}}, token=token)
    assert missing["data"]["setNotificationPreferences"]["userErrors"] == [
        {"field": ["input", "email"], "code": "BAD_USER_INPUT"}
    ]
    no_phone = gql(
        client, PREFS, {"input": {"channels": ["SMS"]}}, token=county.token("coordinator")
    )
    assert no_phone["data"]["setNotificationPreferences"]["userErrors"][0]["field"] == [
        "input",
        "channels",
    ]
    chosen = gql(
        client,
        PREFS,
        {"input": {"channels": ["EMAIL", "SMS"], "email": "wang@example.org"}},
        token=token,
    )
    assert chosen["data"]["setNotificationPreferences"]["preferences"] == {
        "channels": ["EMAIL", "SMS"],
        "email": "wang@example.org",
        "wechatOpenId": None,
    }
    tell(engine, "after", person_ids=[county.volunteer.id])
    with Session(engine) as s:
        (delivery,) = s.exec(sa.select(m.NotificationDelivery)).scalars()  # type: ignore[call-overload]
        # The address is not confirmed yet (tests/api/notify/test_email_confirmation.py): the
        # next channel tells.
        assert (delivery.channel, delivery.address) == (Channel.SMS, county.volunteer.phone)


@pytest.mark.parametrize(
    "address",
    ["wang@example.org,postmaster", "wang@example.org;abuse", "<wang@example.org>", "王@例子.中国"],
)
def test_an_email_preference_is_one_plain_address(
    client: TestClient, engine: sa.Engine, county: County, address: str
) -> None:
    """A list or a bracketed address would reach more than the one recipient (a relay's
    postmaster, abuse …) through the county's mail server."""
    token = county.token("volunteer")
    refused = gql(client, PREFS, {"input": {"channels": ["EMAIL"], "email": address}}, token=token)
    assert refused["data"]["setNotificationPreferences"] == {
        "preferences": None,
        "userErrors": [{"field": ["input", "email"], "code": "BAD_USER_INPUT"}],
    }
    with Session(engine) as s:
        assert s.exec(sa.select(m.NotificationPreference)).first() is None  # type: ignore[call-overload]


def test_a_wechat_open_id_is_letters_digits_dash_underscore(
    client: TestClient, county: County
) -> None:
    token = county.token("volunteer")
    for bad in ["../../admin", "o AbC", "o\nAbC"]:
        refused = gql(
            client, PREFS, {"input": {"channels": ["WECHAT"], "wechatOpenId": bad}}, token=token
        )
        assert refused["data"]["setNotificationPreferences"]["userErrors"] == [
            {"field": ["input", "wechatOpenId"], "code": "BAD_USER_INPUT"}
        ], bad
    fine = gql(
        client,
        PREFS,
        {"input": {"channels": ["WECHAT"], "wechatOpenId": "oAbC123-x_Y"}},
        token=token,
    )
    assert fine["data"]["setNotificationPreferences"]["userErrors"] == []


def test_marking_ids_and_all_at_once_is_refused(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    tell(engine, "a", person_ids=[county.volunteer.id])
    tell(engine, "b", person_ids=[county.volunteer.id])
    token = county.token("volunteer")
    first = inbox(client, token)["nodes"][-1]["id"]
    both = gql(client, MARK, {"input": {"ids": [first], "all": True}}, token=token)
    assert both["data"]["markNotificationsRead"] == {
        "marked": 0,
        "unreadCount": 2,
        "userErrors": [
            {
                "field": ["input", "ids"],
                "message": "give ids or all, not both",
                "code": "BAD_USER_INPUT",
            }
        ],
    }
