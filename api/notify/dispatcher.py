"""The dispatcher as settings configure it: its channels, its policy, and its rounds, run by
`luling serve` (next to the clock) or by `luling notifications dispatch` on its own."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from api.logs import log
from api.notify.channels import ProviderChannel, SmtpChannel
from api.settings import Settings
from schema.notifications import Channel
from schema.services.notification_outbox import Policy, Round, Sender, dispatch_round


def policy_of(settings: Settings) -> Policy:
    return Policy(
        max_attempts=settings.notify_max_attempts,
        backoff_base=timedelta(seconds=settings.notify_backoff_seconds),
        backoff_max=timedelta(seconds=settings.notify_backoff_max_seconds),
        lease=timedelta(seconds=settings.notify_lease_seconds),
        quiet_start=settings.notify_quiet_start,
        quiet_end=settings.notify_quiet_end,
        emergency_mode=settings.notify_emergency_mode,
        rate_limit=settings.notify_rate_limit,
        rate_window=timedelta(seconds=settings.notify_rate_window_seconds),
    )


def senders_of(settings: Settings) -> dict[Channel, Sender]:
    """The channels that are configured; deliveries on the others wait until one is."""
    senders: dict[Channel, Sender] = {}
    if settings.smtp_host:
        senders[Channel.EMAIL] = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )
    if settings.sms_api_url:
        senders[Channel.SMS] = ProviderChannel(
            Channel.SMS,
            settings.sms_api_url,
            settings.sms_api_key,
            dict(settings.sms_templates),
            settings.sms_sign_name,
            settings.provider_timeout_seconds,
        )
    if settings.wechat_api_url:
        senders[Channel.WECHAT] = ProviderChannel(
            Channel.WECHAT,
            settings.wechat_api_url,
            settings.wechat_api_key,
            dict(settings.wechat_templates),
            "",
            settings.provider_timeout_seconds,
        )
    return senders


def worker_name() -> str:
    """Unique per dispatcher: host, process, and a random tail (threads of one process)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(
        self,
        engine: Callable[[], sa.Engine],
        settings: Settings,
        *,
        senders: dict[Channel, Sender] | None = None,
        worker: str | None = None,
    ) -> None:
        self._engine = engine
        self.settings = settings
        self.policy = policy_of(settings)
        self.senders = senders_of(settings) if senders is None else senders
        self.worker = worker or worker_name()

    def run_once(self) -> Round:
        out = dispatch_round(
            self._engine(),
            self.senders,
            worker=self.worker,
            policy=self.policy,
            limit=self.settings.notify_batch,
        )
        if out.claimed:
            log.info(
                "notifications",
                worker=self.worker,
                sent=len(out.sent),
                failed=len(out.failed),
                dead=out.dead,
                deferred=len(out.deferred),
                throttled=len(out.throttled),
                lost=len(out.lost),
            )
        return out

    def run(
        self, *, interval: float, stop: threading.Event | None = None, rounds: int | None = None
    ) -> int:
        """Rounds until `stop` is set (or `rounds` have run); a full round runs again at once.
        The deliveries sent."""
        stop = stop or threading.Event()
        sent, done = 0, 0
        while not stop.is_set() and (rounds is None or done < rounds):
            try:
                out = self.run_once()
            except sa.exc.SQLAlchemyError as exc:  # the database went away: try again later
                log.error("notification round failed", error=str(exc))
                out = Round()
            sent += len(out.sent)
            done += 1
            if len(out.claimed) < self.settings.notify_batch:
                stop.wait(interval)
        return sent
