"""The outbox's dispatcher: claim pending deliveries, hold back what must wait, send the rest
through the channels it is given, and record what came of each.

Several dispatchers (processes or threads) may run against one database:
- a claim is one `UPDATE … WHERE <claimable> RETURNING` that moves deliveries to `sending`
  under a lease; on PostgreSQL its subquery takes the rows `FOR UPDATE SKIP LOCKED`, so
  concurrent claimers split the pending rows between them instead of queueing; on SQLite the
  database's single writer serialises claims, and the outer WHERE (the status guard) keeps a
  row from being claimed twice either way;
- what a dispatcher writes afterwards names itself (`claimed_by`) and the `sending` status, so
  a dispatcher whose lease lapsed cannot overwrite the one that took the row over;
- a round slower than half its lease renews the lease on the rows it still holds, and sends
  none that lapsed and another dispatcher claimed meanwhile (those are the other's to send);
- a dispatcher killed while holding rows loses nothing: once the lease lapses they are
  claimable again. Each delivery carries an idempotency key (the notification's key and the
  channel) that the channels pass on (SMTP Message-ID, the SMS provider's idempotency key), so a
  row sent just before its sender died is not delivered twice by a provider that honours it.

Retries back off exponentially (or as the provider's Retry-After says); after `max_attempts`
failures, or a refusal that no retry can fix, a delivery is a dead letter, and the next channel
of the recipient's preferences takes over (failover). SMS and WeChat wait out quiet hours
(county local time) unless the notification is urgent or the county is in emergency mode;
each recipient gets at most `rate_limit` external messages per `rate_window` (urgent ones
excepted). The channels themselves (SMTP, the provider's HTTP API) live in api/notify/.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from schema.base import LOCAL_ZONE, utcnow
from schema.notifications import (
    INTRUSIVE_CHANNELS,
    AttemptOutcome,
    Channel,
    DeliveryStatus,
    Notification,
    NotificationAttempt,
    NotificationDelivery,
    NotificationKind,
    retryable_dead_letters,
)
from schema.services.notify import CHANNELS, add_delivery, addresses_of

D = NotificationDelivery.__table__.c  # type: ignore[attr-defined]
N = Notification.__table__.c  # type: ignore[attr-defined]
ERROR_MAX = 2000


class DeliveryFailed(Exception):
    """A channel could not deliver. `permanent`: no retry can fix it (an invalid address, a
    refused template); `retry_after`: the provider said when to try again (seconds)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Throttled(DeliveryFailed):
    """The provider asks us to slow down (HTTP 429): not the message's fault, so not counted
    as an attempt; the channel rests until Retry-After."""


@dataclass(frozen=True)
class Claimed:
    """A delivery this dispatcher holds, with what it is to say."""

    id: int
    notification_id: int
    channel: Channel
    address: str
    attempts: int
    key: str
    kind: NotificationKind
    title: str
    body: str
    data: dict[str, Any]
    urgent: bool
    person_id: int | None
    account_id: int | None

    @property
    def idempotency_key(self) -> str:
        return f"{self.key}:{self.channel.value}"


Sender = Callable[[Claimed], str | None]  # returns the provider's message id, if any


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 5
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=2)
    quiet_start: time = time(22, 0)  # county local time
    quiet_end: time = time(7, 0)
    emergency_mode: bool = False
    rate_limit: int = 10  # external messages per recipient per window (0: no limit)
    rate_window: timedelta = timedelta(hours=1)


@dataclass
class Round:
    """What one dispatch round did (delivery ids)."""

    claimed: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    throttled: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # lease lapsed and another took them over


# ---------------------------------------------------------------- claiming


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(D.status == DeliveryStatus.PENDING, D.next_attempt_at <= now),
        sa.and_(D.status == DeliveryStatus.SENDING, D.claimed_until < now),  # a lapsed lease
    )


def claim(
    engine: sa.Engine,
    worker: str,
    *,
    limit: int,
    policy: Policy,
    channels: Collection[Channel] = tuple(Channel),
    now: datetime | None = None,
) -> list[Claimed]:
    """Takes up to `limit` due deliveries on these channels for this worker (one transaction,
    committed). A channel that is not configured is not claimed: its deliveries wait."""
    now = now or utcnow()
    if not channels:
        return []
    due = (
        sa.select(D.id)
        .where(_claimable(now), D.channel.in_(list(channels)))
        .order_by(D.next_attempt_at, D.id)
        .limit(limit)
    )
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        # Two statements, not `UPDATE … WHERE id IN (SELECT … LIMIT n)`: PostgreSQL may run
        # such a subquery more than once and update more than n rows.
        candidates = list(conn.execute(due).scalars())
        if not candidates:
            return []
        claimed = conn.execute(
            sa.update(NotificationDelivery)
            .where(D.id.in_(candidates), _claimable(now))
            .values(
                status=DeliveryStatus.SENDING,
                claimed_by=worker,
                claimed_until=now + policy.lease,
            )
            .returning(D.id)
        ).scalars()
        ids = sorted(claimed)
        if not ids:
            return []
        rows = conn.execute(
            sa.select(
                D.id,
                D.notification_id,
                D.channel,
                D.address,
                D.attempts,
                N.key,
                N.kind,
                N.title,
                N.body,
                N.data,
                N.urgent,
                N.person_id,
                N.account_id,
            )
            .join_from(NotificationDelivery, Notification, D.notification_id == N.id)
            .where(D.id.in_(ids))
            .order_by(D.id)
        ).all()
    return [Claimed(**row._mapping) for row in rows]


# ---------------------------------------------------------------- holding back


def quiet_until(now: datetime, policy: Policy) -> datetime | None:
    """The end of the quiet hours `now` falls in (UTC), or None outside them."""
    local = now.astimezone(LOCAL_ZONE)
    t, start, end = local.time(), policy.quiet_start, policy.quiet_end
    if start == end:
        return None
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=LOCAL_ZONE).astimezone(UTC)


def _rate_free_at(
    conn: sa.Connection, d: Claimed, now: datetime, policy: Policy
) -> datetime | None:
    """When the recipient may get another external message, if they have had their fill."""
    if policy.rate_limit <= 0:
        return None
    who = N.person_id == d.person_id if d.person_id is not None else N.account_id == d.account_id
    since = now - policy.rate_window
    sent = conn.execute(
        sa.select(D.sent_at)
        .join_from(NotificationDelivery, Notification, D.notification_id == N.id)
        .where(who, D.status == DeliveryStatus.SENT, D.sent_at > since)
        .order_by(D.sent_at.desc())
        .limit(policy.rate_limit)
    ).scalars()
    times: list[datetime] = list(sent)
    if len(times) < policy.rate_limit:
        return None
    free_at: datetime = min(times) + policy.rate_window
    return free_at


def held_until(
    engine: sa.Engine, d: Claimed, now: datetime, policy: Policy
) -> tuple[datetime, str] | None:
    """Whether this delivery must wait (until when, and why) before it may be sent now."""
    if d.urgent:
        return None
    if d.channel in INTRUSIVE_CHANNELS and not policy.emergency_mode:
        until = quiet_until(now, policy)
        if until is not None:
            return until, "quiet hours (免打扰时段)"
    with engine.connect() as conn:
        free_at = _rate_free_at(conn, d, now, policy)
    if free_at is not None:
        return free_at, f"rate limit: {policy.rate_limit} messages per {policy.rate_window}"
    return None


# ---------------------------------------------------------------- recording outcomes


def _mine(d: Claimed, worker: str) -> sa.ColumnElement[bool]:
    return sa.and_(D.id == d.id, D.status == DeliveryStatus.SENDING, D.claimed_by == worker)


def _attempt(
    conn: sa.Connection,
    d: Claimed,
    outcome: AttemptOutcome,
    worker: str,
    now: datetime,
    error: str | None = None,
) -> None:
    conn.execute(
        sa.insert(NotificationAttempt).values(
            delivery_id=d.id, outcome=outcome, worker=worker, error=error, at=now
        )
    )


def _release(conn: sa.Connection, d: Claimed, worker: str, **values: Any) -> bool:
    """Writes `values` on a delivery this worker still holds; False when it no longer does."""
    done = conn.execute(
        sa.update(NotificationDelivery)
        .where(_mine(d, worker))
        .values(claimed_by=None, claimed_until=None, **values)
    )
    return done.rowcount == 1


def mark_sent(
    engine: sa.Engine, d: Claimed, worker: str, now: datetime, provider_id: str | None
) -> bool:
    with engine.begin() as conn:
        ok = _release(
            conn,
            d,
            worker,
            status=DeliveryStatus.SENT,
            sent_at=now,
            attempts=d.attempts + 1,
            provider_message_id=provider_id,
            last_error=None,
        )
        _attempt(conn, d, AttemptOutcome.SENT, worker, now)
    return ok


def backoff(attempts: int, policy: Policy) -> timedelta:
    """The wait after the `attempts`-th failure: base × 2^(attempts-1), capped."""
    seconds = policy.backoff_base.total_seconds() * math.pow(2, max(attempts - 1, 0))
    return min(timedelta(seconds=seconds), policy.backoff_max)


def _wait(seconds: float, policy: Policy) -> timedelta:
    """A provider's Retry-After, at most the longest backoff: a huge one would overflow the
    datetime (and park the channel for ever)."""
    if not math.isfinite(seconds):
        return policy.backoff_max
    return min(timedelta(seconds=max(min(seconds, 10**9), 0.0)), policy.backoff_max)


def _fail_over(conn: sa.Connection, d: Claimed, now: datetime) -> None:
    """The recipient's next preferred channel (one not tried for this notification) takes over."""
    tried = set(
        conn.execute(sa.select(D.channel).where(D.notification_id == d.notification_id)).scalars()
    )
    chain = addresses_of(conn, d.person_id, d.account_id)
    order = [channel for channel, _ in chain]
    if d.channel.value in order:
        chain = chain[order.index(d.channel.value) + 1 :]
    for channel, address in chain:
        if CHANNELS[channel] not in tried:
            add_delivery(conn, d.notification_id, CHANNELS[channel], address, now)
            return


def mark_failed(
    engine: sa.Engine,
    d: Claimed,
    worker: str,
    now: datetime,
    failure: DeliveryFailed,
    policy: Policy,
) -> bool:
    """A failed try: back to pending after the backoff, or dead (then failover)."""
    attempts = d.attempts + 1
    error = str(failure)[:ERROR_MAX]
    dead = failure.permanent or attempts >= policy.max_attempts
    with engine.begin() as conn:
        if dead:
            ok = _release(
                conn, d, worker, status=DeliveryStatus.DEAD, attempts=attempts, last_error=error
            )
            _attempt(
                conn,
                d,
                AttemptOutcome.REFUSED if failure.permanent else AttemptOutcome.FAILED,
                worker,
                now,
                error,
            )
            if ok:
                _fail_over(conn, d, now)
            return ok
        wait = backoff(attempts, policy)
        if failure.retry_after is not None:
            wait = max(wait, _wait(failure.retry_after, policy))
        ok = _release(
            conn,
            d,
            worker,
            status=DeliveryStatus.PENDING,
            attempts=attempts,
            next_attempt_at=now + wait,
            last_error=error,
        )
        _attempt(conn, d, AttemptOutcome.FAILED, worker, now, error)
    return ok


def postpone(
    engine: sa.Engine,
    d: Claimed,
    worker: str,
    until: datetime,
    now: datetime,
    outcome: AttemptOutcome,
    reason: str,
) -> bool:
    """Back to pending until `until`, not counted as an attempt (held back, or throttled)."""
    with engine.begin() as conn:
        ok = _release(conn, d, worker, status=DeliveryStatus.PENDING, next_attempt_at=until)
        _attempt(conn, d, outcome, worker, now, reason)
    return ok


# ---------------------------------------------------------------- one round


def renew(
    engine: sa.Engine, worker: str, ids: Collection[int], now: datetime, policy: Policy
) -> set[int]:
    """Extends this worker's lease on the deliveries it still holds (of `ids`); those whose
    lease lapsed and that another dispatcher claimed are no longer this one's to send."""
    if not ids:
        return set()
    with engine.begin() as conn:
        kept = conn.execute(
            sa.update(NotificationDelivery)
            .where(
                D.id.in_(list(ids)),
                D.status == DeliveryStatus.SENDING,
                D.claimed_by == worker,
            )
            .values(claimed_until=now + policy.lease)
            .returning(D.id)
        ).scalars()
        return set(kept)


def dispatch_round(
    engine: sa.Engine,
    senders: Mapping[Channel, Sender],
    *,
    worker: str,
    policy: Policy,
    limit: int = 50,
    now: Callable[[], datetime] = utcnow,
) -> Round:
    """Claim, then send or hold back each delivery in turn; a channel that throttles rests for
    the rest of the round (its deliveries go back until its Retry-After)."""
    out = Round()
    resting: dict[Channel, datetime] = {}
    start = now()
    claimed = claim(engine, worker, limit=limit, policy=policy, channels=list(senders), now=start)
    out.claimed = [d.id for d in claimed]
    ours, lease_end = {d.id for d in claimed}, start + policy.lease
    for d in claimed:
        t = now()
        if t >= lease_end - policy.lease / 2:  # a slow round: keep the rest before they lapse
            ours, lease_end = renew(engine, worker, ours, t, policy), t + policy.lease
        if d.id not in ours:  # lapsed, and another dispatcher has it now: not ours to send
            out.lost.append(d.id)
            continue
        ours.discard(d.id)
        if d.channel in resting:
            postpone(
                engine,
                d,
                worker,
                resting[d.channel],
                t,
                AttemptOutcome.THROTTLED,
                "the channel is throttled",
            )
            out.throttled.append(d.id)
            continue
        held = held_until(engine, d, t, policy)
        if held is not None:
            postpone(engine, d, worker, held[0], t, AttemptOutcome.DEFERRED, held[1])
            out.deferred.append(d.id)
            continue
        try:
            provider_id = senders[d.channel](d)
        except Throttled as slow:
            until = t + _wait(slow.retry_after or policy.backoff_base.total_seconds(), policy)
            resting[d.channel] = until
            postpone(engine, d, worker, until, t, AttemptOutcome.THROTTLED, str(slow))
            out.throttled.append(d.id)
            continue
        except Exception as exc:  # one delivery's trouble must not stall the round
            # A delivery a channel cannot even build (a bug, odd data) is a failed attempt too:
            # retried, at last a dead letter; never left `sending` for the next round to crash on.
            failure = (
                exc
                if isinstance(exc, DeliveryFailed)
                else DeliveryFailed(f"{type(exc).__name__}: {exc}")
            )
            mark_failed(engine, d, worker, now(), failure, policy)
            dead = failure.permanent or d.attempts + 1 >= policy.max_attempts
            (out.dead if dead else out.failed).append(d.id)
            continue
        mark_sent(engine, d, worker, now(), provider_id)
        out.sent.append(d.id)
    return out


# ---------------------------------------------------------------- operators


def retry_dead(
    engine: sa.Engine, ids: list[int] | None = None, *, now: datetime | None = None
) -> list[int]:
    """Dead letters (these, or all) back to pending with a fresh count of attempts; those whose
    notification another channel delivered stay dead (`retryable_dead_letters`)."""
    now = now or utcnow()
    where = retryable_dead_letters()
    if ids is not None:
        where = sa.and_(where, D.id.in_(ids))
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(NotificationDelivery)
            .where(where)
            .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
            .returning(D.id)
        ).scalars()
        return sorted(done)
