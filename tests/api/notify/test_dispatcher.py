"""The dispatcher against real parts on loopback: an SMTP server (aiosmtpd) and an HTTP server
speaking the SMS provider's API. Retries back off, dead letters fail over to the next channel,
429 rests the channel, quiet hours and rate limits hold messages back, dead letters retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.notify.dispatcher import Dispatcher
from schema import models as m
from schema.base import utcnow
from schema.notifications import AttemptOutcome, Channel, DeliveryStatus, NotificationKind
from schema.services.notification_outbox import Round, retry_dead
from schema.services.notify import notify_on
from tests.conftest import make_settings
from tests.county import County
from tests.notify_servers import Mailbox, Provider, provider_server, smtp_server
from tests.schema.services.test_notify import deliveries as rows

# 10:00 in Ji'an (02:00 UTC): outside quiet hours.
DAY = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
NIGHT = datetime(2026, 6, 1, 15, 30, tzinfo=UTC)  # 23:30 local


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def servers() -> Iterator[tuple[int, Mailbox, str, Provider]]:
    with smtp_server() as (smtp_port, box), provider_server() as (url, provider):
        yield smtp_port, box, url, provider


def dispatcher(
    engine: sa.Engine, database_url: str, servers: tuple[int, Mailbox, str, Provider], **kw: Any
) -> Dispatcher:
    smtp_port, _, url, _ = servers
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="luling@jian.example",
        sms_api_url=url,
        sms_api_key="test-key",
        sms_templates={"need_dispatched": "SMS_0001"},
        **kw,
    )
    return Dispatcher(lambda: engine, settings, worker="test-worker")


def run_round(d: Dispatcher, clock: Clock) -> Round:
    from schema.services.notification_outbox import dispatch_round

    return dispatch_round(
        d._engine(), d.senders, worker=d.worker, policy=d.policy, limit=50, now=clock
    )


def tell(
    engine: sa.Engine,
    person_id: int,
    *,
    key: str = "e1",
    urgent: bool = False,
    when: datetime = DAY,
) -> None:
    with engine.begin() as conn:
        notify_on(
            conn,
            NotificationKind.NEED_DISPATCHED,
            key=key,
            data={
                "title": "路灯不亮",
                "place": "泉塘社区人民路",
                "deadline": "6月1日 10:30",
                "arrive_by": "6月1日 10:10",
                "slot": "",
                "need_id": 7,
            },
            person_ids=[person_id],
            urgent=urgent,
            now=when,
        )


def prefer(
    engine: sa.Engine, person_id: int, channels: list[str], email: str | None = None
) -> None:
    """A confirmed e-mail address (as confirmNotificationEmail leaves it)."""
    with Session(engine) as s:
        verified = utcnow() if email else None
        s.add(
            m.NotificationPreference(
                person_id=person_id, channels=channels, email=email, email_verified_at=verified
            )
        )
        s.commit()


def attempts(engine: sa.Engine) -> list[AttemptOutcome]:
    with Session(engine) as s:
        return [
            a.outcome
            for a in s.exec(select(m.NotificationAttempt).order_by(col(m.NotificationAttempt.id)))
        ]


def test_sms_goes_through_the_provider_with_template_and_values(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    tell(engine, county.volunteer.id)
    out = run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert len(out.sent) == 1
    provider: Provider = servers[3]
    (request,) = provider.requests
    body = request["body"]
    assert body["to"] == "13812345678" and body["template"] == "SMS_0001"
    assert body["params"]["title"] == "路灯不亮" and body["params"]["place"] == "泉塘社区人民路"
    assert request["headers"]["idempotency-key"].endswith(":sms")
    (d,) = rows(engine)
    assert d.status is DeliveryStatus.SENT and d.provider_message_id == "m1" and d.attempts == 1
    assert run_round(dispatcher(engine, database_url, servers), Clock(DAY)).claimed == []


def test_email_reaches_a_real_smtp_server(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    prefer(engine, county.volunteer.id, ["email"], "wang@example.org")
    tell(engine, county.volunteer.id)
    out = run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert len(out.sent) == 1
    box: Mailbox = servers[1]
    (mail,) = box.messages
    assert mail["To"] == "wang@example.org" and mail["Subject"] == "【派单】路灯不亮"
    assert "泉塘社区人民路" in mail.get_content() and mail["Message-ID"].endswith("@luling>")


def test_a_failing_provider_is_retried_with_growing_waits(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    provider: Provider = servers[3]
    provider.script = [(500, {"code": "SYSTEM_ERROR"}, {}), (200, {"code": "BUSY"}, {})]
    tell(engine, county.volunteer.id)
    d, clock = dispatcher(engine, database_url, servers), Clock(DAY)
    assert run_round(d, clock).failed
    assert rows(engine)[0].next_attempt_at == DAY + timedelta(seconds=30)
    assert run_round(d, clock).claimed == []  # not before its time
    clock.now += timedelta(seconds=30)
    assert run_round(d, clock).failed
    assert rows(engine)[0].next_attempt_at == clock.now + timedelta(seconds=60)  # doubled
    clock.now += timedelta(seconds=60)
    assert run_round(d, clock).sent
    assert rows(engine)[0].attempts == 3 and len(provider.accepted) == 1
    assert attempts(engine) == [AttemptOutcome.FAILED, AttemptOutcome.FAILED, AttemptOutcome.SENT]


def test_after_n_failures_a_dead_letter_fails_over_to_email(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    provider: Provider = servers[3]
    provider.script = [(503, {}, {})] * 3
    prefer(engine, county.volunteer.id, ["sms", "email"], "wang@example.org")
    tell(engine, county.volunteer.id)
    d, clock = dispatcher(engine, database_url, servers, notify_max_attempts=3), Clock(DAY)
    for _ in range(3):
        out = run_round(d, clock)
        clock.now += timedelta(hours=1)
    assert out.dead
    sms, email = rows(engine)
    assert (
        sms.status is DeliveryStatus.DEAD and sms.attempts == 3 and "503" in (sms.last_error or "")
    )
    assert email.channel is Channel.EMAIL and email.status is DeliveryStatus.PENDING
    assert run_round(d, clock).sent == [email.id]
    assert len(servers[1].messages) == 1
    # Found by attacking: retrying every dead letter told the person twice. The SMS that died is
    # not retried once the e-mail got through.
    assert retry_dead(engine, now=clock.now) == []
    assert retry_dead(engine, [sms.id], now=clock.now) == []
    assert rows(engine)[0].status is DeliveryStatus.DEAD


def test_an_invalid_number_is_dead_at_once(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    servers[3].invalid.add("13812345678")
    tell(engine, county.volunteer.id)
    out = run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert out.dead
    (sms,) = rows(engine)  # no other channel to fail over to
    assert sms.status is DeliveryStatus.DEAD and "INVALID_NUMBER" in (sms.last_error or "")
    assert attempts(engine) == [AttemptOutcome.REFUSED]


def test_429_rests_the_channel_until_retry_after_without_counting(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    servers[3].script = [(429, {"code": "THROTTLED"}, {"Retry-After": "120"})]
    tell(engine, county.volunteer.id, key="a")
    tell(engine, county.worker.id, key="b")
    d, clock = dispatcher(engine, database_url, servers), Clock(DAY)
    out = run_round(d, clock)
    assert len(out.throttled) == 2 and len(servers[3].requests) == 1  # the second never went
    assert all(
        r.attempts == 0 and r.next_attempt_at == DAY + timedelta(seconds=120) for r in rows(engine)
    )
    clock.now += timedelta(seconds=120)
    assert len(run_round(d, clock).sent) == 2


def test_quiet_hours_hold_sms_but_not_urgent_email_or_emergency(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    prefer(engine, county.worker.id, ["email"], "li@example.org")
    tell(engine, county.volunteer.id, key="plain", when=NIGHT)
    tell(engine, county.volunteer.id, key="urgent", urgent=True, when=NIGHT)
    tell(engine, county.worker.id, key="mail", when=NIGHT)
    d, clock = dispatcher(engine, database_url, servers), Clock(NIGHT)
    out = run_round(d, clock)
    assert len(out.sent) == 2 and len(out.deferred) == 1
    held = next(r for r in rows(engine) if r.status is DeliveryStatus.PENDING)
    # 07:00 the next morning in Ji'an
    assert held.next_attempt_at == datetime(2026, 6, 1, 23, 0, tzinfo=UTC)
    assert held.attempts == 0
    # In emergency mode (LULING_NOTIFY_EMERGENCY_MODE) the night holds nothing back.
    tell(engine, county.worker.id, key="in-emergency", when=NIGHT)
    with Session(engine) as s:
        s.exec(sa.delete(m.NotificationPreference))  # type: ignore[call-overload]
        s.commit()
    tell(engine, county.worker.id, key="sms-in-emergency", when=NIGHT)
    emergency = dispatcher(engine, database_url, servers, notify_emergency_mode=True)
    assert len(run_round(emergency, clock).sent) == 2


def test_a_person_gets_at_most_the_rate_limit(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    for i in range(3):
        tell(engine, county.volunteer.id, key=f"k{i}")
    d, clock = dispatcher(engine, database_url, servers, notify_rate_limit=2), Clock(DAY)
    out = run_round(d, clock)
    assert len(out.sent) == 2 and len(out.deferred) == 1
    later = next(r for r in rows(engine) if r.status is DeliveryStatus.PENDING)
    assert later.next_attempt_at == DAY + timedelta(hours=1)
    clock.now += timedelta(hours=1)
    assert run_round(d, clock).sent == [later.id]


def test_smtp_refusal_is_dead_a_busy_mailbox_retried(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    box: Mailbox = servers[1]
    box.refuse.add("gone@example.org")
    box.busy.add("busy@example.org")
    prefer(engine, county.volunteer.id, ["email"], "gone@example.org")
    prefer(engine, county.worker.id, ["email"], "busy@example.org")
    tell(engine, county.volunteer.id, key="a")
    tell(engine, county.worker.id, key="b")
    out = run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert len(out.dead) == 1 and len(out.failed) == 1
    assert {r.status for r in rows(engine)} == {DeliveryStatus.DEAD, DeliveryStatus.PENDING}


def test_an_unreachable_smtp_server_is_retried(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    prefer(engine, county.volunteer.id, ["email"], "wang@example.org")
    tell(engine, county.volunteer.id)
    d = dispatcher(engine, database_url, servers)
    d.senders[Channel.EMAIL] = type(d.senders[Channel.EMAIL])(host="127.0.0.1", port=1, timeout=2)
    out = run_round(d, Clock(DAY))
    assert out.failed and rows(engine)[0].status is DeliveryStatus.PENDING


def test_dead_letters_retry_on_demand(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    servers[3].script = [(400, {"code": "TEMPLATE_MISSING"}, {})]
    tell(engine, county.volunteer.id)
    d, clock = dispatcher(engine, database_url, servers), Clock(DAY)
    assert run_round(d, clock).dead
    assert retry_dead(engine, now=DAY) == [rows(engine)[0].id]
    assert run_round(d, clock).sent
    assert rows(engine)[0].status is DeliveryStatus.SENT


def test_quiet_hours_are_configurable(engine: sa.Engine, database_url: str, servers: Any) -> None:
    d = dispatcher(
        engine, database_url, servers, notify_quiet_start=time(0, 0), notify_quiet_end=time(0, 0)
    )
    from schema.services.notification_outbox import quiet_until

    assert quiet_until(NIGHT, d.policy) is None  # start == end: no quiet hours


def test_wechat_template_messages_go_to_the_open_id(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    with Session(engine) as s:
        s.add(
            m.NotificationPreference(
                person_id=county.volunteer.id, channels=["wechat", "sms"], wechat_open_id="oWang123"
            )
        )
        s.commit()
    tell(engine, county.volunteer.id)
    url = servers[2]
    d = dispatcher(
        engine,
        database_url,
        servers,
        wechat_api_url=url,
        wechat_api_key="test-key",
        wechat_templates={"need_dispatched": "WX-TPL-9"},
    )
    assert run_round(d, Clock(DAY)).sent
    (request,) = servers[3].requests
    assert request["body"]["channel"] == "wechat" and request["body"]["to"] == "oWang123"
    assert request["body"]["template"] == "WX-TPL-9"
    assert [r.channel for r in rows(engine)] == [Channel.WECHAT]  # SMS only if WeChat fails


def test_a_title_with_line_breaks_is_one_subject_line_and_stalls_nothing(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    """A need's title is free text: a line break in it once made the e-mail raise, the round
    crash, and every row it had claimed stay `sending` (and crash the next round again)."""
    prefer(engine, county.volunteer.id, ["email"], "wang@example.org")
    with engine.begin() as conn:
        notify_on(
            conn,
            NotificationKind.NEED_RESOLVED,
            key="evil",
            data={"title": "路灯不亮\r\nBcc: victim@evil.example", "place": "泉塘", "need_id": 1},
            person_ids=[county.volunteer.id],
            now=DAY,
        )
    tell(engine, county.worker.id, key="plain")  # SMS, claimed in the same round
    out = run_round(dispatcher(engine, database_url, servers), Clock(DAY))
    assert len(out.sent) == 2 and not out.failed
    (mail,) = servers[1].messages
    assert mail["Subject"] == "【办结】路灯不亮 Bcc: victim@evil.example"
    assert mail["Bcc"] is None and mail["To"] == "wang@example.org"


def test_a_sender_that_breaks_fails_that_delivery_only(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    def broken(_: Any) -> str:
        raise ValueError("cannot build this message")

    tell(engine, county.volunteer.id, key="a")
    tell(engine, county.worker.id, key="b")
    d = dispatcher(engine, database_url, servers)
    calls: list[int] = []

    def flaky(c: Any) -> str | None:
        calls.append(c.id)
        return broken(c) if len(calls) == 1 else real(c)

    real = d.senders[Channel.SMS]
    d.senders[Channel.SMS] = flaky
    out = run_round(d, Clock(DAY))
    assert len(out.failed) == 1 and len(out.sent) == 1
    failed = next(r for r in rows(engine) if r.id == out.failed[0])
    assert failed.status is DeliveryStatus.PENDING and failed.claimed_by is None
    assert "ValueError: cannot build this message" in (failed.last_error or "")


@pytest.mark.parametrize("retry_after", ["1e12", "inf", "nan"])
def test_an_absurd_retry_after_rests_the_channel_at_most_the_longest_backoff(
    engine: sa.Engine, database_url: str, county: County, servers: Any, retry_after: str
) -> None:
    servers[3].script = [(429, {"code": "THROTTLED"}, {"Retry-After": retry_after})]
    tell(engine, county.volunteer.id)
    d, clock = dispatcher(engine, database_url, servers), Clock(DAY)
    assert len(run_round(d, clock).throttled) == 1
    (sms,) = rows(engine)
    assert sms.status is DeliveryStatus.PENDING and sms.attempts == 0
    assert DAY < sms.next_attempt_at <= DAY + timedelta(hours=1)


def test_a_slow_round_keeps_its_lease_and_never_sends_what_another_took_over(
    engine: sa.Engine, database_url: str, county: County, servers: Any
) -> None:
    """A round slower than its lease (a provider taking seconds per message): once sent the
    rest anyway although a second dispatcher had claimed them again (each sent twice)."""
    from schema.services.notification_outbox import claim

    for key, who in (
        ("a", county.volunteer.id),
        ("b", county.worker.id),
        ("c", county.volunteer.id),
    ):
        tell(engine, who, key=key)
    d, clock = dispatcher(engine, database_url, servers, notify_lease_seconds=60), Clock(DAY)
    real = d.senders[Channel.SMS]
    taken: list[int] = []

    def slow(c: Any) -> str | None:
        clock.now += timedelta(seconds=40)  # each message takes 40 s of a 60 s lease
        if c.person_id == county.worker.id:  # meanwhile another claims what lapsed
            taken.extend(
                x.id for x in claim(engine, "other", limit=50, policy=d.policy, now=clock.now)
            )
        return real(c)

    d.senders[Channel.SMS] = slow
    out = run_round(d, clock)
    assert taken == []  # renewed in time: nothing lapsed for another to take
    assert len(servers[3].requests) == 3 and len(out.sent) == 3 and out.lost == []

    # A message that outlasts the whole lease: another dispatcher claims the lapsed rest,
    # and this round leaves them to it.
    for key in ("d", "e", "f"):
        tell(engine, county.worker.id, key=key)
    clock.now += timedelta(hours=2)

    def slower(c: Any) -> str | None:
        clock.now += timedelta(seconds=70)
        taken.extend(x.id for x in claim(engine, "other", limit=50, policy=d.policy, now=clock.now))
        return real(c)

    d.senders[Channel.SMS] = slower
    out = run_round(d, clock)
    # (the one in flight lapsed too: the other may resend it, under the same idempotency key)
    assert len(servers[3].requests) == 4  # not the two that are the other's now
    assert len(out.sent) == 1 and len(out.lost) == 2 and set(taken) == {*out.sent, *out.lost}
    assert {r.claimed_by for r in rows(engine) if r.id in out.lost} == {"other"}
