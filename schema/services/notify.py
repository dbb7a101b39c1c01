"""Writing notifications into the outbox, inside the caller's transaction.

    await notify(session, NotificationKind.NEED_DISPATCHED, key=f"need:{id}:v{version}:dispatch",
                 data=await need_data(session, id), person_ids=[…])

One notification per recipient (a person, or an account with no person: a coordinator), its
in-app inbox entry, and one delivery on the first external channel of the recipient's
preferences that has an address (schema/notifications.py; without preferences, SMS to the
person's phone). The rows are part of the caller's transaction: a change that rolls back leaves
no notification, and nothing is sent until the dispatcher finds the committed delivery.

`key` names the event; with the recipient it is the notification's unique key, so telling of
the same event twice (a tick run again, a retried request) writes nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schema.accounts import Account
from schema.areas import Community
from schema.enterprise import Enterprise, EnterpriseRequest
from schema.enums import AreaMode, NeedCategory, NeedKind, Role
from schema.needs import Need, NeedAssignment
from schema.notification_texts import local_span, local_time, render
from schema.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationKind,
    NotificationPreference,
)
from schema.people import Person, TeamMembership
from schema.services.common import now_or, to_publish

DEFAULT_CHANNELS = (Channel.SMS,)
CHANNELS = {c.value: c for c in Channel}
# A need this urgent (1–5) is told at once, quiet hours or not, as an emergency is.
URGENT_FROM = 5


@dataclass(frozen=True)
class Recipient:
    person_id: int | None
    account_id: int | None

    @property
    def suffix(self) -> str:
        return f"p{self.person_id}" if self.person_id is not None else f"a{self.account_id}"


def _recipients(
    conn: sa.Connection, person_ids: Iterable[int], account_ids: Iterable[int]
) -> list[Recipient]:
    """Each person once; an account stands for its person when it has one."""
    people = dict.fromkeys(p for p in person_ids if p is not None)
    alone: list[int] = []
    accounts = list(dict.fromkeys(a for a in account_ids if a is not None))
    if accounts:
        rows = conn.execute(
            sa.select(col(Account.id), col(Account.person_id)).where(col(Account.id).in_(accounts))
        ).all()
        for account_id, person_id in rows:
            if person_id is not None:
                people.setdefault(person_id)
            elif account_id is not None:
                alone.append(account_id)
    return [Recipient(p, None) for p in people] + [Recipient(None, a) for a in sorted(alone)]


def _addresses(conn: sa.Connection, who: list[Recipient]) -> dict[Recipient, list[tuple[str, str]]]:
    """Each recipient's (channel, address) pairs in order of preference, those with an address."""
    people = [r.person_id for r in who if r.person_id is not None]
    accounts = [r.account_id for r in who if r.account_id is not None]
    pref = NotificationPreference.__table__.c  # type: ignore[attr-defined]
    prefs = conn.execute(
        sa.select(pref).where(sa.or_(pref.person_id.in_(people), pref.account_id.in_(accounts)))
    ).all()
    by_owner = {("p", r.person_id) if r.person_id else ("a", r.account_id): r for r in prefs}
    phones = dict(
        conn.execute(
            sa.select(col(Person.id), col(Person.phone)).where(col(Person.id).in_(people))
        ).all()
    )
    out: dict[Recipient, list[tuple[str, str]]] = {}
    for r in who:
        owner = ("p", r.person_id) if r.person_id is not None else ("a", r.account_id)
        row = by_owner.get(owner)
        channels = list(row.channels) if row is not None else [c.value for c in DEFAULT_CHANNELS]
        address = {
            Channel.SMS.value: phones.get(r.person_id) if r.person_id is not None else None,
            # An unconfirmed e-mail address is no address: the next channel (or the inbox) tells.
            Channel.EMAIL.value: row.email
            if row is not None and row.email_verified_at is not None
            else None,
            Channel.WECHAT.value: row.wechat_open_id if row is not None else None,
        }
        out[r] = [(c, a) for c in channels if (a := address.get(c))]
    return out


def addresses_of(
    conn: sa.Connection, person_id: int | None, account_id: int | None
) -> list[tuple[str, str]]:
    """One recipient's (channel, address) pairs in order of preference (the failover chain)."""
    who = Recipient(person_id, account_id)
    return _addresses(conn, [who])[who]


def _insert_ignoring_duplicates(conn: sa.Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Inserts the notifications whose keys are new, in one statement; {key: id} of those."""
    table = Notification.__table__  # type: ignore[attr-defined]
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        dialect_insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key, table.c.id)
    )
    return {key: new_id for key, new_id in conn.execute(stmt).all()}


@dataclass(frozen=True)
class Notice:
    """One event's message to some recipients (`notify_each_on` writes many at once)."""

    data: Mapping[str, Any]
    person_ids: Iterable[int] = ()
    account_ids: Iterable[int] = ()
    urgent: bool = False


def notify_each_on(
    conn: sa.Connection,
    kind: NotificationKind,
    *,
    key: str,
    notices: Iterable[Notice],
    now: datetime | None = None,
) -> list[Notification]:
    """Writes the notifications (and their first deliveries) on this connection's transaction,
    in a few statements however many recipients; those new this time (a key already written
    is skipped). Each recipient's key is `key` and who they are."""
    now = now_or(now)
    planned: list[tuple[Recipient, Notification]] = []
    for notice in notices:
        title, body = render(kind, notice.data)
        for r in _recipients(conn, notice.person_ids, notice.account_ids):
            row = Notification(
                key=f"{key}:{r.suffix}"[:160],
                kind=kind,
                person_id=r.person_id,
                account_id=r.account_id,
                title=title,
                body=body,
                data=dict(notice.data),
                urgent=notice.urgent,
                created_at=now,
            )
            planned.append((r, row))
    if not planned:
        return []
    ids = _insert_ignoring_duplicates(
        conn, [row.model_dump(exclude={"id", "read_at"}) for _, row in planned]
    )
    written = [(r, row) for r, row in planned if row.key in ids]
    chains = _addresses(conn, [r for r, _ in written]) if written else {}
    deliveries = []
    for r, row in written:
        row.id = ids[row.key]
        if chains[r]:
            channel, address = chains[r][0]
            deliveries.append(_delivery(row.id, CHANNELS[channel], address, now))
    if deliveries:
        conn.execute(sa.insert(NotificationDelivery), deliveries)
    return [row for _, row in written]


def notify_on(
    conn: sa.Connection,
    kind: NotificationKind,
    *,
    key: str,
    data: Mapping[str, Any],
    person_ids: Iterable[int] = (),
    account_ids: Iterable[int] = (),
    urgent: bool = False,
    now: datetime | None = None,
) -> list[Notification]:
    """`notify_each_on` for one message to its recipients."""
    notice = Notice(data, person_ids, account_ids, urgent)
    return notify_each_on(conn, kind, key=key, notices=[notice], now=now)


def _delivery(
    notification_id: int, channel: Channel, address: str, now: datetime
) -> dict[str, Any]:
    return {
        "notification_id": notification_id,
        "channel": channel,
        "address": address,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def add_delivery(
    conn: sa.Connection, notification_id: int, channel: Channel, address: str, now: datetime
) -> None:
    conn.execute(
        sa.insert(NotificationDelivery).values(_delivery(notification_id, channel, address, now))
    )


def published(notifications: Iterable[Notification]) -> dict[str, Any]:
    """What `api.graphql.writes` publishes once committed: whose inbox got what."""
    return {
        "kind": "notification",
        "items": [
            {"id": n.id, "person_id": n.person_id, "account_id": n.account_id}
            for n in notifications
        ],
    }


async def notify(
    session: AsyncSession,
    kind: NotificationKind,
    *,
    key: str,
    data: Mapping[str, Any],
    person_ids: Iterable[int] = (),
    account_ids: Iterable[int] = (),
    urgent: bool = False,
    now: datetime | None = None,
) -> list[Notification]:
    """`notify_on` in the session's transaction; the new ones are listed for publishing (the
    `myNotifications` subscription) after commit."""
    people, accounts = list(person_ids), list(account_ids)
    written = await session.run_sync(
        lambda s: notify_on(
            s.connection(),
            kind,
            key=key,
            data=data,
            person_ids=people,
            account_ids=accounts,
            urgent=urgent,
            now=now,
        )
    )
    if written:
        to_publish(session).append(published(written))
    return written


# ---------------------------------------------------------------- what needs say and who hears


def need_data_on(conn: sa.Connection, need_id: int) -> dict[str, Any]:
    """A need's template values: title, place, slot (a booked visit) or 1341 deadlines."""
    n = Need.__table__.c  # type: ignore[attr-defined]
    row = conn.execute(
        sa.select(
            n.id,
            n.title,
            n.address,
            n.kind,
            n.category,
            n.status,
            n.tier,
            n.arrive_by,
            n.resolve_by,
            n.community_id,
            col(Community.name).label("community"),
            col(Community.mode).label("mode"),
        )
        .join_from(Need, Community, n.community_id == col(Community.id))
        .where(n.id == need_id)
    ).one()
    scheduled = row.kind == NeedKind.SCHEDULED
    return {
        "need_id": row.id,
        "title": row.title,
        "place": place_text(row.community, row.address),
        "community_id": row.community_id,
        "slot": local_span(row.arrive_by, row.resolve_by) if scheduled else "",
        "arrive_by": local_time(row.arrive_by),
        "deadline": local_time(row.resolve_by),
        "status": row.status.label,
        "tier": row.tier.label,
        # An emergency, or any need of an area switched to emergency mode (平急转换): urgent.
        "emergency": row.category == NeedCategory.EMERGENCY or row.mode == AreaMode.EMERGENCY,
    }


async def need_data(session: AsyncSession, need_id: int) -> dict[str, Any]:
    return await session.run_sync(lambda s: need_data_on(s.connection(), need_id))


def assignees_on(conn: sa.Connection, need_ids: Iterable[int]) -> dict[int, list[int]]:
    """The people actively dispatched to each need, in person or through a team."""
    a = NeedAssignment.__table__.c  # type: ignore[attr-defined]
    ids = list(need_ids)
    direct = sa.select(a.need_id, a.person_id.label("person_id")).where(
        a.need_id.in_(ids), a.active.is_(True), a.person_id.is_not(None)
    )
    via_team = (
        sa.select(a.need_id, col(TeamMembership.person_id).label("person_id"))
        .join_from(NeedAssignment, TeamMembership, a.team_id == col(TeamMembership.team_id))
        .where(a.need_id.in_(ids), a.active.is_(True))
    )
    out: dict[int, list[int]] = {}
    for need_id, person_id in conn.execute(sa.union(direct, via_team)).all():
        out.setdefault(need_id, []).append(person_id)
    return {k: sorted(v) for k, v in out.items()}


async def assignees(session: AsyncSession, need_id: int) -> list[int]:
    found = await session.run_sync(lambda s: assignees_on(s.connection(), [need_id]))
    return found.get(need_id, [])


def _active_accounts(conn: sa.Connection, role: Role, where: sa.ColumnElement[bool]) -> list[int]:
    rows = conn.execute(
        sa.select(col(Account.id)).where(
            col(Account.role) == role, col(Account.is_active).is_(True), where
        )
    )
    return sorted(a for a in rows.scalars() if a is not None)


def coordinators_on(conn: sa.Connection, community_id: int) -> list[int]:
    """The active coordinator accounts of a community (the desk that answers for its needs)."""
    return _active_accounts(conn, Role.COORDINATOR, col(Account.community_id) == community_id)


async def coordinators(session: AsyncSession, community_id: int) -> list[int]:
    return await session.run_sync(lambda s: coordinators_on(s.connection(), community_id))


async def notify_need(
    session: AsyncSession,
    kind: NotificationKind,
    need_id: int,
    *,
    key: str,
    person_ids: Iterable[int] = (),
    account_ids: Iterable[int] = (),
    urgent: bool = False,
    extra: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> list[Notification]:
    """`notify` about one need, with its template values; an emergency is always urgent."""
    data = await need_data(session, need_id) | dict(extra or {})
    return await notify(
        session,
        kind,
        key=key,
        data=data,
        person_ids=person_ids,
        account_ids=account_ids,
        urgent=urgent or bool(data["emergency"]),
        now=now,
    )


# ---------------------------------------------------------------- enterprise requests


def request_data_on(conn: sa.Connection, request_id: int) -> dict[str, Any]:
    """An enterprise request's template values: title, enterprise, helper, deadline."""
    r = EnterpriseRequest.__table__.c  # type: ignore[attr-defined]
    row = conn.execute(
        sa.select(
            r.id,
            r.title,
            r.deadline,
            r.enterprise_id,
            r.urgency,
            col(Enterprise.name).label("enterprise"),
            col(Person.name).label("helper"),
        )
        .join_from(EnterpriseRequest, Enterprise, r.enterprise_id == col(Enterprise.id))
        .outerjoin(Person, r.helper_id == col(Person.id))
        .where(r.id == request_id)
    ).one()
    return {
        "request_id": row.id,
        "title": row.title,
        "enterprise": row.enterprise,
        "enterprise_id": row.enterprise_id,
        "helper": row.helper or "",
        "deadline": local_time(row.deadline),
        "urgency": row.urgency,
    }


def enterprise_accounts_on(conn: sa.Connection, enterprise_id: int) -> list[int]:
    return _active_accounts(conn, Role.ENTERPRISE, col(Account.enterprise_id) == enterprise_id)


async def notify_request_taken(
    session: AsyncSession,
    request_id: int,
    version: int,
    helper_id: int,
    *,
    tell_helper: bool,
    now: datetime | None = None,
) -> None:
    """A helper has the request (assigned, or claimed): the enterprise hears who; an assigned
    helper hears of the request (unless a matching commit tells them of all tasks at once)."""

    def write(conn: sa.Connection) -> list[Notification]:
        data = request_data_on(conn, request_id)
        urgent = data["urgency"] >= URGENT_FROM
        written = notify_on(
            conn,
            NotificationKind.REQUEST_TAKEN,
            key=f"request:{request_id}:v{version}:taken",
            data=data,
            account_ids=enterprise_accounts_on(conn, data["enterprise_id"]),
            now=now,
        )
        if tell_helper:
            written += notify_on(
                conn,
                NotificationKind.REQUEST_ASSIGNED,
                key=f"request:{request_id}:v{version}:assigned",
                data=data,
                person_ids=[helper_id],
                urgent=urgent,
                now=now,
            )
        return written

    written = await session.run_sync(lambda s: write(s.connection()))
    if written:
        to_publish(session).append(published(written))


def place_text(community: str, address: str | None) -> str:
    """The community, then the address, unless the address already names it."""
    if not address:
        return community
    return address if address.startswith(community) else f"{community}{address}"
