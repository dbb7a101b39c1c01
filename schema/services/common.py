"""What every service shares: the actor, version-checked updates, row locks, idempotent inserts,
the steps of the closed loops and their recorded events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from schema.accounts import Account
from schema.base import utcnow
from schema.enums import Role
from schema.roles import COORDINATION_ROLES, STAFF_ROLES, scope_includes
from schema.services.errors import Conflict, Forbidden, Invalid, NotFound
from schema.text_rules import is_blank, written_text_problem

# Lengths of the free texts every closed loop takes (needs and enterprise requests alike).
TITLE_MAX = 200
DESCRIPTION_MAX = 5000
NOTE_MAX = 1000
KEY_MAX = 64  # idempotency keys

M = TypeVar("M", bound=SQLModel)
R = TypeVar("R", bound=SQLModel)

# Key in `AsyncSession.info` under which services list what they changed, so the caller can
# publish it once the transaction has committed (never before: a rolled-back change is no news).
PUBLISH_KEY = "luling.published"


@dataclass(frozen=True)
class Actor:
    """Who acts: the account (id, name, role, area) and the person it belongs to, if any.

    Where it may act is `schema.roles.scope_includes`: administrators and county-level staff (no
    community) everywhere, everyone else in their own community only.
    """

    account_id: int | None
    name: str
    role: Role
    person_id: int | None = None
    community_id: int | None = None
    enterprise_id: int | None = None  # the enterprise an enterprise account speaks for

    @classmethod
    def of(cls, account: Account) -> Actor:
        return cls(
            account_id=account.id,
            name=(account.display_name or account.username)[:64],
            role=account.role,
            person_id=account.person_id,
            community_id=account.community_id,
            enterprise_id=account.enterprise_id,
        )

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_coordination(self) -> bool:
        return self.role in COORDINATION_ROLES

    def in_scope(self, community_id: int | None) -> bool:
        return scope_includes(self.role, self.community_id, community_id)

    def require_scope(self, community_id: int | None) -> None:
        if not self.in_scope(community_id):
            raise Forbidden("outside your area")


def now_or(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def check_version(kind: str, row_id: int, current: int, expected: int | None) -> int:
    """The version to update from: the caller's, which must still be the current one."""
    if expected is None:
        return current
    if expected != current:
        raise Conflict(
            f"the {kind} changed since you read it "
            f"(you read version {expected}, it is now {current}); reload and retry",
            field="expected_version",
        )
    return expected


async def versioned_update(
    session: AsyncSession,
    model: type[M],
    row_id: int,
    version: int,
    values: dict[str, Any],
    *,
    kind: str,
) -> M:
    """`UPDATE … SET …, version = version + 1 WHERE id = :id AND version = :v RETURNING *`.

    No row means someone else changed it first: Conflict, and the caller's transaction rolls
    back. The returned object is the session's, refreshed with the new values.
    """
    table_id, table_version = col(model.id), col(model.version)  # type: ignore[attr-defined]  # M: a versioned table
    stmt = (
        sa.update(model)
        .where(table_id == row_id, table_version == version)
        .values(**values, version=table_version + 1)
        .returning(model)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    row = (await session.execute(stmt)).scalars().one_or_none()
    if row is None:
        raise Conflict(
            f"the {kind} was changed by someone else at the same time; reload and retry",
            field="expected_version",
        )
    return row


async def get_current(
    session: AsyncSession, model: type[R], row_id: int, *, kind: str, field: str
) -> R:
    """The row as the database has it now (refreshing the session's copy); NotFound otherwise."""
    table_id = col(model.id)  # type: ignore[attr-defined]  # every table has an id; SQLModel has not
    stmt = select(model).where(table_id == row_id).execution_options(populate_existing=True)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound(kind, row_id, field=field)
    return row


def body_hash(**fields: Any) -> str:
    """SHA-256 of a write's normalized input (stripped texts, enum values, ids), so that a
    reused idempotency key can tell the same request from another."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def by_idempotency_key(
    session: AsyncSession, model: type[R], key: str, *, actor: Actor, owner: str, digest: str
) -> R | None:
    """The row the actor stored earlier under this idempotency key, if any. Keys are each
    actor's own (the `owner` column holds the account): another's key is simply a new key, and
    nothing tells whether it exists. The same key with another body (`digest`, `body_hash`) is
    a Conflict: answering with the first row would silently drop the second request."""
    key_column = col(model.idempotency_key)  # type: ignore[attr-defined]  # tables with idempotency
    owner_column = col(getattr(model, owner))
    stmt = select(model).where(key_column == key, owner_column == actor.account_id)
    row = (await session.execute(stmt)).scalar_one_or_none()
    stored = None if row is None else getattr(row, "idempotency_hash", None)
    if stored is not None and stored != digest:
        raise Conflict(
            "this idempotency key was already used for a different request: resend the same "
            "request, or use a new key for a new one",
            field="idempotency_key",
        )
    return row


async def insert_once(
    session: AsyncSession,
    row: R,
    key: str | None,
    stored_under: Callable[[str], Awaitable[R | None]],
) -> tuple[R, bool]:
    """Inserts the row in a savepoint: (row, True). When a concurrent insert with the same
    idempotency key won, (the row it stored, False): the race costs only this insert."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        stored = None if key is None else await stored_under(key)
        if stored is None:
            raise
        return stored, False
    return row, True


async def lock_row(session: AsyncSession, model: type[SQLModel], row_id: int) -> bool:
    """Takes the write lock on one row for the rest of the transaction (False: no such row).

    A no-op UPDATE works on both databases: PostgreSQL locks the row, SQLite takes the database's
    write lock; either way, check-then-insert rules (capacity, load limits) cannot race.
    """
    table_id = col(model.id)  # type: ignore[attr-defined]  # every table has an id; SQLModel has not
    result = await session.execute(
        sa.update(model)
        .where(table_id == row_id)
        .values(id=table_id)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], result).rowcount)  # an UPDATE's result is a cursor


def to_publish(session: AsyncSession) -> list[dict[str, Any]]:
    """The messages this session's services want published after commit."""
    messages: list[dict[str, Any]] = session.info.setdefault(PUBLISH_KEY, [])
    return messages


@dataclass(frozen=True)
class Loop(Generic[R]):
    """What `step` and `record_event` need to know about one closed loop (needs, enterprise
    requests): its table and event table, the event's column naming the row (`row_key`), its
    state machine (`next_status(status, action)`, raising IllegalTransition) and what a published
    message says about the row (`message_about`: its kind and ids).
    """

    kind: str
    table: type[R]
    event_table: type[SQLModel]
    row_key: str
    next_status: Callable[[Any, Any], Any]
    message_about: Callable[[R], dict[str, Any]]


def record_event(
    session: AsyncSession,
    loop: Loop[R],
    row: R,
    action: Any,
    from_status: Any,
    actor: Actor,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> SQLModel:
    """Adds the row's event (from `from_status` to its status now) and lists it for publishing."""
    row_id, status = row.id, row.status  # type: ignore[attr-defined]  # R: a loop table
    assert row_id is not None
    event = loop.event_table(
        **{loop.row_key: row_id},
        action=action,
        from_status=from_status,
        to_status=status,
        actor_account_id=actor.account_id,
        actor_name=actor.name,
        note=note,
        data=data or {},
        at=now,
    )
    session.add(event)
    to_publish(session).append(
        {
            **loop.message_about(row),
            "event": event,
            "action": action.value,
            "to_status": status.value,
            "version": row.version,  # type: ignore[attr-defined]  # R: a loop table
        }
    )
    return event


async def step(
    session: AsyncSession,
    loop: Loop[R],
    row: R,
    *,
    action: Any,
    expected_version: int | None,
    actor: Actor,
    now: datetime,
    values: dict[str, Any] | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    keep_status: bool = False,
) -> R:
    """One step of a loop: check the version and the transition, update the row with the version
    check (`values` too; the status as well unless `keep_status`), record the event."""
    row_id, current, before = row.id, row.version, row.status  # type: ignore[attr-defined]  # R: loop table
    assert row_id is not None
    version = check_version(loop.kind, row_id, current, expected_version)
    target = loop.next_status(before, action)
    changes = {"updated_at": now} | ({} if keep_status else {"status": target}) | (values or {})
    updated = await versioned_update(session, loop.table, row_id, version, changes, kind=loop.kind)
    record_event(session, loop, updated, action, before, actor, now, note, data)
    await session.flush()
    return updated


def clean_text(
    value: str | None,
    field_name: str,
    *,
    max_length: int,
    required: bool,
    label: str | None = None,
) -> str:
    """Stripped text within its limit; Invalid when required and empty or when too long."""
    text = (value or "").strip()
    what = label or field_name.replace("_", " ")
    problem = written_text_problem(text)
    if problem is not None:  # also refused for every API input (api.inputs.text_problem)
        raise Invalid(field_name, f"{what} {problem}")
    if required and is_blank(text):
        raise Invalid(field_name, f"{what} must not be empty")
    if len(text) > max_length:
        raise Invalid(field_name, f"{what} is longer than {max_length} characters")
    return text


def check_rating(satisfaction: int, comment: str | None) -> str:
    if not 1 <= satisfaction <= 5:
        raise Invalid("satisfaction", "satisfaction must be between 1 and 5")
    return clean_text(comment, "comment", max_length=500, required=False)
