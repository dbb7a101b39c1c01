"""An e-mail address gets notices only once its owner confirmed it with the code sent to it
(issue 19: anyone could point their preference at someone else's address). Through the app,
against a real SMTP server on loopback and the dispatcher."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from api.app import create_app
from schema import models as m
from schema.notifications import Channel, DeliveryStatus
from tests.api.notify.test_dispatcher import DAY, Clock, dispatcher, run_round, tell
from tests.conftest import gql, make_settings
from tests.county import County
from tests.notify_servers import Mailbox, Provider, provider_server, smtp_server

SET = """mutation($input: SetNotificationPreferencesInput!) {
  setNotificationPreferences(input: $input) {
    preferences { channels email emailVerified } emailCodeSent userErrors { field message } } }"""
CONFIRM = """mutation($code: String!) { confirmNotificationEmail(input: {code: $code}) {
  preferences { email emailVerified } userErrors { field message code } } }"""
MINE = "{ myNotificationPreferences { email emailVerified } }"


@pytest.fixture
def servers() -> Iterator[tuple[int, Mailbox, str, Provider]]:
    with smtp_server() as (smtp_port, box), provider_server() as (url, provider):
        yield smtp_port, box, url, provider


@pytest.fixture
def app_client(database_url: str, engine: sa.Engine, servers: Any) -> Iterator[TestClient]:
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=servers[0], smtp_from="luling@jian.example"
    )
    with TestClient(create_app(settings)) as c:
        yield c


def set_email(client: TestClient, token: str, address: str) -> dict[str, Any]:
    variables = {"input": {"channels": ["EMAIL", "SMS"], "email": address}}
    out: dict[str, Any] = gql(client, SET, variables, token=token)["data"][
        "setNotificationPreferences"
    ]
    return out


def code_in(mail: Any) -> str:
    found = re.search(r"：(\d{6})", mail.get_content())
    assert found, mail.get_content()
    return found.group(1)


def to(box: Mailbox, address: str) -> list[Any]:
    return [mail for mail in box.messages if mail["To"] == address]


def test_notices_go_to_an_email_address_only_once_its_code_confirmed_it(
    app_client: TestClient, engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    box: Mailbox = servers[1]
    provider: Provider = servers[3]
    token = county.token("volunteer")
    answer = set_email(app_client, token, "wang@example.org")
    assert answer == {
        "preferences": {
            "channels": ["EMAIL", "SMS"],
            "email": "wang@example.org",
            "emailVerified": False,
        },
        "emailCodeSent": True,
        "userErrors": [],
    }
    (mail,) = box.messages  # the code arrived at once
    assert mail["To"] == "wang@example.org" and mail["From"] == "luling@jian.example"
    code = code_in(mail)
    with Session(engine) as s:  # stored hashed, never as sent
        pref = s.exec(select(m.NotificationPreference)).one()
        assert pref.email_code_hash is not None and code not in pref.email_code_hash

    # Not confirmed: the notice goes by SMS, the next channel, and nothing more by e-mail.
    tell(engine, county.volunteer.id, key="before")
    out = run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert len(out.sent) == 1 and len(box.messages) == 1 and len(provider.accepted) == 1
    assert gql(app_client, MINE, token=token)["data"]["myNotificationPreferences"] == {
        "email": "wang@example.org",
        "emailVerified": False,
    }

    wrong = "000000" if code != "000000" else "111111"
    refused = gql(app_client, CONFIRM, {"code": wrong}, token=token)["data"]
    assert refused["confirmNotificationEmail"]["preferences"] is None
    assert refused["confirmNotificationEmail"]["userErrors"][0]["field"] == ["input", "code"]
    with Session(engine) as s:
        pref = s.exec(select(m.NotificationPreference)).one()
        assert pref.email_verified_at is None and pref.email_code_attempts == 1  # kept

    confirmed = gql(app_client, CONFIRM, {"code": code}, token=token)["data"]
    assert confirmed["confirmNotificationEmail"] == {
        "preferences": {"email": "wang@example.org", "emailVerified": True},
        "userErrors": [],
    }
    again = gql(app_client, CONFIRM, {"code": code}, token=token)["data"]
    assert again["confirmNotificationEmail"]["userErrors"]  # a code works once

    tell(engine, county.volunteer.id, key="after")
    out = run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert len(out.sent) == 1 and len(provider.accepted) == 1  # no SMS this time
    notice = box.messages[-1]
    assert notice["To"] == "wang@example.org" and notice["Subject"] == "【派单】路灯不亮"

    # Changing the address makes it unconfirmed again, with a new code to the new one only.
    changed = set_email(app_client, token, "wang.jg@example.org")
    assert changed["preferences"]["emailVerified"] is False
    assert len(to(box, "wang.jg@example.org")) == 1 and len(to(box, "wang@example.org")) == 2


def test_someone_elses_address_gets_the_one_code_and_nothing_more(
    app_client: TestClient, engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    box: Mailbox = servers[1]
    victim = "wang@example.org"
    attacker = county.token("grid_worker")
    assert set_email(app_client, attacker, victim)["emailCodeSent"] is True
    for n in range(5):  # guessing: every wrong code counts, then none is accepted
        guess = gql(app_client, CONFIRM, {"code": f"{n:06d}9"[:6]}, token=attacker)["data"]
        assert guess["confirmNotificationEmail"]["preferences"] is None
    real = code_in(to(box, victim)[0])
    locked = gql(app_client, CONFIRM, {"code": real}, token=attacker)["data"]
    assert "too many" in locked["confirmNotificationEmail"]["userErrors"][0]["message"]

    for key in ("a", "b", "c"):
        tell(engine, county.worker.id, key=key)
    run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert len(to(box, victim)) == 1  # the code only
    with Session(engine) as s:
        email_deliveries = s.exec(
            select(m.NotificationDelivery).where(
                col(m.NotificationDelivery.channel) == Channel.EMAIL
            )
        ).all()
        assert email_deliveries == []
        sms = s.exec(select(m.NotificationDelivery)).all()
        assert {d.status for d in sms} == {DeliveryStatus.SENT} and len(sms) == 3

    # Setting it again and again mails it at most three times an hour.
    answers = [
        set_email(app_client, attacker, a) for a in ("x@example.org", victim, "y@example.org")
    ]
    assert [a["emailCodeSent"] for a in answers[:2]] == [True, True]
    assert answers[2]["userErrors"][0]["field"] == ["input", "email"]
    assert set_email(app_client, attacker, victim)["emailCodeSent"] is False  # same: no code
    assert len(to(box, victim)) == 2 and to(box, "y@example.org") == []
