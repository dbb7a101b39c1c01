"""The in-app inbox and the outbox's dead letters, as callers may see and change them.

A caller's inbox is what was written to their account, or to the person their account belongs
to; nobody reads or marks another's. Deliveries (dead letters among them) are administrators'
only: they carry addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.enums import Role
from schema.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    retryable_dead_letters,
)
from schema.people import Person
from schema.services.common import Actor, now_or
from schema.services.errors import Forbidden, Invalid, Problems
from schema.services.notify import CHANNELS, DEFAULT_CHANNELS

MARK_MAX = 500  # notifications marked read at once, by ids
EMAIL_MAX = 254
# One plain address (ASCII, no quoting, comments or lists): the To header and the SMTP envelope
# must name exactly it. A looser pattern let "a@b.cn,postmaster" or "a@b.cn;c" through, which a
# mail relay reads as more than one recipient.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
WECHAT_OPEN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # WeChat open ids are 28 such characters


def mine(actor: Actor) -> sa.ColumnElement[bool]:
    """The caller's notifications: to their account, or to their person."""
    own = [col(Notification.account_id) == actor.account_id]
    if actor.person_id is not None:
        own.append(col(Notification.person_id) == actor.person_id)
    return sa.or_(*own)


def _unread(unread_only: bool) -> sa.ColumnElement[bool]:
    return col(Notification.read_at).is_(None) if unread_only else sa.true()


async def inbox(
    session: AsyncSession,
    actor: Actor,
    *,
    unread_only: bool = False,
    before_id: int | None = None,
    limit: int = 20,
) -> list[Notification]:
    """Newest first; `before_id` pages on from the last one seen."""
    stmt = select(Notification).where(mine(actor), _unread(unread_only))
    if before_id is not None:
        stmt = stmt.where(col(Notification.id) < before_id)
    rows = await session.execute(stmt.order_by(col(Notification.id).desc()).limit(limit))
    return list(rows.scalars())


async def inbox_count(session: AsyncSession, actor: Actor, *, unread_only: bool) -> int:
    stmt = sa.select(sa.func.count()).where(mine(actor), _unread(unread_only))
    return int((await session.execute(stmt)).scalar_one())


async def own_notification(
    session: AsyncSession, actor: Actor, notification_id: int
) -> Notification | None:
    stmt = select(Notification).where(col(Notification.id) == notification_id, mine(actor))
    return (await session.execute(stmt)).scalar_one_or_none()


async def mark_read(
    session: AsyncSession,
    actor: Actor,
    *,
    ids: Sequence[int | None] | None,
    now: datetime | None = None,
) -> int:
    """Marks the caller's notifications read: these (all or none: an id that is not the
    caller's is refused, as `ids.<index>`), or every unread one when `ids` is None. How many
    changed (already read ones stay as they were)."""
    now = now_or(now)
    where = [mine(actor), col(Notification.read_at).is_(None)]
    if ids is not None:
        if not 1 <= len(ids) <= MARK_MAX:
            raise Invalid("ids", f"mark between 1 and {MARK_MAX} notifications at once")
        wanted = [i for i in ids if i is not None]
        own = set(
            (
                await session.execute(
                    sa.select(col(Notification.id)).where(
                        col(Notification.id).in_(wanted), mine(actor)
                    )
                )
            ).scalars()
        )
        problems = Problems()
        for index, i in enumerate(ids):
            if i is None or i not in own:
                problems.add(f"ids.{index}", "not one of your notifications")
        problems.raise_if_any()
        where.append(col(Notification.id).in_(wanted))
    done = await session.execute(
        sa.update(Notification)
        .where(*where)
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result is a cursor


# ---------------------------------------------------------------- administrators: deliveries


def require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden("only administrators see and retry notification deliveries")


async def deliveries(
    session: AsyncSession,
    actor: Actor,
    *,
    status: DeliveryStatus,
    before_id: int | None = None,
    limit: int = 20,
) -> list[NotificationDelivery]:
    require_admin(actor)
    stmt = select(NotificationDelivery).where(col(NotificationDelivery.status) == status)
    if before_id is not None:
        stmt = stmt.where(col(NotificationDelivery.id) < before_id)
    rows = await session.execute(stmt.order_by(col(NotificationDelivery.id).desc()).limit(limit))
    return list(rows.scalars())


async def delivery_count(session: AsyncSession, actor: Actor, *, status: DeliveryStatus) -> int:
    require_admin(actor)
    stmt = sa.select(sa.func.count()).where(col(NotificationDelivery.status) == status)
    return int((await session.execute(stmt)).scalar_one())


async def retry_deliveries(
    session: AsyncSession,
    actor: Actor,
    *,
    ids: Sequence[int | None],
    now: datetime | None = None,
) -> list[NotificationDelivery]:
    """Dead letters back to pending, attempts counted afresh; all or none (an id that is not
    a dead letter, or whose notification another channel delivered, is refused as
    `ids.<index>`)."""
    require_admin(actor)
    now = now_or(now)
    if not 1 <= len(ids) <= MARK_MAX:
        raise Invalid("ids", f"retry between 1 and {MARK_MAX} deliveries at once")
    wanted = [i for i in ids if i is not None]
    dead = set(
        (
            await session.execute(
                sa.select(col(NotificationDelivery.id)).where(
                    col(NotificationDelivery.id).in_(wanted), retryable_dead_letters()
                )
            )
        ).scalars()
    )
    problems = Problems()
    for index, i in enumerate(ids):
        if i is None or i not in dead:
            problems.add(
                f"ids.{index}", "not a dead letter, or already delivered through another channel"
            )
    problems.raise_if_any()
    await session.execute(
        sa.update(NotificationDelivery)
        .where(col(NotificationDelivery.id).in_(wanted))
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(NotificationDelivery)
        .where(col(NotificationDelivery.id).in_(wanted))
        .order_by(col(NotificationDelivery.id))
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


# ---------------------------------------------------------------- preferences


# E-mail confirmation: a six-digit code, valid for a while, with a few tries; and only a few
# codes an hour per person, so nobody can make the county mail an address again and again.
CODE_TTL = timedelta(minutes=30)
CODE_ATTEMPTS = 5
CODES_PER_WINDOW = 3
CODE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Preferences:
    channels: list[Channel]
    email: str | None
    wechat_open_id: str | None
    email_verified: bool = False


@dataclass(frozen=True)
class EmailCode:
    """A confirmation code to send (only ever to `address`; it is stored hashed)."""

    address: str
    code: str
    expires_at: datetime


def _hash_code(row: NotificationPreference, code: str) -> str:
    # Salted with the owner and the address: a code proves this address for this owner only.
    salt = f"{row.person_id}:{row.account_id}:{row.email}:"
    return hashlib.sha256((salt + code).encode()).hexdigest()


def _of(row: NotificationPreference) -> Preferences:
    return Preferences(
        [CHANNELS[c] for c in row.channels],
        row.email,
        row.wechat_open_id,
        row.email is not None and row.email_verified_at is not None,
    )


def _owner(actor: Actor) -> sa.ColumnElement[bool]:
    """A caller's preferences are their person's, or their account's when it has no person."""
    if actor.person_id is not None:
        return col(NotificationPreference.person_id) == actor.person_id
    return col(NotificationPreference.account_id) == actor.account_id


async def preferences(session: AsyncSession, actor: Actor) -> Preferences:
    """The caller's preferences; without any, SMS to their phone when they have one."""
    row = (
        await session.execute(select(NotificationPreference).where(_owner(actor)))
    ).scalar_one_or_none()
    if row is not None:
        return _of(row)
    phone = None
    if actor.person_id is not None:
        person = await session.get(Person, actor.person_id)
        phone = person.phone if person is not None else None
    return Preferences(list(DEFAULT_CHANNELS) if phone else [], None, None)


async def set_preferences(
    session: AsyncSession,
    actor: Actor,
    *,
    channels: Sequence[Channel],
    email: str | None = None,
    wechat_open_id: str | None = None,
    now: datetime | None = None,
) -> tuple[Preferences, EmailCode | None]:
    """How the caller wants to be told besides the inbox: external channels in order of
    preference (the next takes over when one fails for good), with their addresses.

    A new e-mail address is unconfirmed, and a code to confirm it is returned for sending to
    it (`confirm_email`); until then no notice goes there. Only a few codes an hour."""
    now = now_or(now)
    email = (email or "").strip() or None
    wechat_open_id = (wechat_open_id or "").strip() or None
    p = Problems()
    p.check(Channel.IN_APP not in channels, "channels", "the inbox (in-app) is always on")
    p.check(len(set(channels)) == len(channels), "channels", "name each channel once")
    if email is not None:
        p.check(
            len(email) <= EMAIL_MAX and EMAIL.fullmatch(email) is not None,
            "email",
            "not an e-mail address",
        )
    if wechat_open_id is not None:
        p.check(
            WECHAT_OPEN_ID.fullmatch(wechat_open_id) is not None,
            "wechat_open_id",
            "a WeChat open id: at most 64 letters, digits, '-' or '_'",
        )
    p.check(Channel.EMAIL not in channels or email is not None, "email", "give the e-mail address")
    p.check(
        Channel.WECHAT not in channels or wechat_open_id is not None,
        "wechat_open_id",
        "give the WeChat open id",
    )
    if Channel.SMS in channels:
        person = None if actor.person_id is None else await session.get(Person, actor.person_id)
        p.check(
            person is not None and bool(person.phone), "channels", "no phone number is on record"
        )
    row = (
        await session.execute(select(NotificationPreference).where(_owner(actor)))
    ).scalar_one_or_none()
    if row is None:
        row = NotificationPreference(
            person_id=actor.person_id,
            account_id=None if actor.person_id is not None else actor.account_id,
        )
    changed = email != row.email
    # A new address gets a code; so does an unconfirmed one set again (a fresh code), within
    # the hourly limit: over it, a new address is refused, the same one just gets no code.
    wants_code = email is not None and (changed or row.email_verified_at is None)
    window_open = row.email_codes_since is not None and now - row.email_codes_since < CODE_WINDOW
    over_limit = window_open and row.email_codes_sent >= CODES_PER_WINDOW
    p.check(
        not (changed and wants_code and over_limit),
        "email",
        f"at most {CODES_PER_WINDOW} confirmation codes an hour; try again later",
    )
    p.raise_if_any()
    code: EmailCode | None = None
    if changed:
        row.email_verified_at, row.email_code_hash, row.email_code_expires_at = None, None, None
    row.channels = [c.value for c in channels]
    row.email, row.wechat_open_id, row.updated_at = email, wechat_open_id, now
    if wants_code and not over_limit and email is not None:
        if row.email_codes_since is None or now - row.email_codes_since >= CODE_WINDOW:
            row.email_codes_since, row.email_codes_sent = now, 0
        row.email_codes_sent += 1
        code = EmailCode(email, f"{secrets.randbelow(10**6):06d}", now + CODE_TTL)
        row.email_code_hash = _hash_code(row, code.code)
        row.email_code_expires_at, row.email_code_attempts = code.expires_at, 0
    session.add(row)
    await session.flush()
    return _of(row), code


async def confirm_email(
    session: AsyncSession, actor: Actor, *, code: str, now: datetime | None = None
) -> tuple[Preferences | None, str | None]:
    """Confirms the caller's e-mail address with the code sent to it: the preferences now, or
    why not. A wrong code counts (and is kept: the caller commits it), so codes cannot be
    guessed; after a few, or once expired, only a new code (set the address again) helps."""
    now = now_or(now)
    row = (
        await session.execute(select(NotificationPreference).where(_owner(actor)))
    ).scalar_one_or_none()
    if row is None or row.email is None or row.email_code_hash is None:
        return None, "no e-mail address is waiting for confirmation"
    if row.email_code_expires_at is None or now >= row.email_code_expires_at:
        return None, "the code has expired; set the e-mail address again for a new one"
    if row.email_code_attempts >= CODE_ATTEMPTS:
        return None, "too many wrong codes; set the e-mail address again for a new one"
    if not hmac.compare_digest(_hash_code(row, code.strip()), row.email_code_hash):
        row.email_code_attempts += 1
        session.add(row)
        await session.flush()
        return None, "not the code sent to your e-mail address"
    row.email_verified_at, row.updated_at = now, now
    row.email_code_hash, row.email_code_expires_at, row.email_code_attempts = None, None, 0
    session.add(row)
    await session.flush()
    return _of(row), None
