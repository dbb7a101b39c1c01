"""Accounts: who logs in, with which password and role; the last administrator stays active.

Shared by the GraphQL mutations and `luling user`. Keyword-only, async (an `AsyncSession` in a
transaction the caller owns); expected failures raise the services' `DomainError` family, which
the API turns into `userErrors` and the CLI into an error message.

argon2 is slow and memory-hard on purpose, so how a hash runs is the caller's business, not a
rule: every function that hashes takes `run_hash(fn, *args)`. The API passes its process-wide
cap (`api.auth.hashing.run_hash`), the CLI a plain worker thread (`asyncio.to_thread`). Required,
not defaulted: a web path that forgot the cap would fail loudly instead of running uncapped.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from schema.accounts import Account
from schema.areas import Community
from schema.enterprise import Enterprise
from schema.enums import AccountScope, OfferStatus, Role
from schema.offers import NeedOffer
from schema.passwords import MAX_LENGTH, hash_password, password_problem, verify_password
from schema.people import Person
from schema.roles import scope_problem
from schema.services.common import now_or
from schema.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MAX_DISPLAY_NAME = 64
# Verified against when the username is unknown, so a wrong username costs as long as a wrong
# password and timing does not tell which usernames exist.
_DUMMY_HASH = hash_password("luling-no-such-account-placeholder")


class HashRunner(Protocol):
    """Runs a password hash or verification `fn(*args)` off the event loop."""

    def __call__(self, fn: Callable[..., Any], /, *args: Any) -> Awaitable[Any]: ...


def check_password_rules(password: str, username: str, *, field: str = "password") -> None:
    """The password policy (`schema.passwords`), as an Invalid on `field`."""
    problem = password_problem(password, username)
    if problem is not None:
        raise Invalid(field, f"the password {problem}")


async def get_account(session: AsyncSession, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id, field="id")
    return account


async def create_account(
    *,
    session: AsyncSession,
    username: str,
    password: str,
    role: Role,
    run_hash: HashRunner,
    display_name: str = "",
    community_id: int | None = None,
    person_id: int | None = None,
    scope: AccountScope | None = None,
    enterprise_id: int | None = None,
) -> Account:
    """Insert an active account with an argon2 hash of `password` (never stored in clear).

    A coordinator or grid worker needs a community, or `scope=COUNTY` said explicitly; a person
    has at most one account (it is who the privacy rules see as that person). An enterprise
    account (role enterprise) names the enterprise it speaks for."""
    username = username.strip()
    if not USERNAME.match(username):
        raise Invalid(
            "username",
            "3–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    check_password_rules(password, username)
    if len(display_name) > MAX_DISPLAY_NAME:
        raise Invalid("display_name", f"at most {MAX_DISPLAY_NAME} characters")
    taken = await session.execute(select(Account.id).where(col(Account.username) == username))
    if taken.first() is not None:
        raise Conflict("already taken", field="username")
    await _check_area(session, role, community_id, scope)
    if person_id is not None:
        if await session.get(Person, person_id) is None:
            raise NotFound("person", person_id, field="person_id")
        linked = await session.execute(
            select(Account.username).where(col(Account.person_id) == person_id)
        )
        if linked.first() is not None:
            raise Conflict("this person already has an account", field="person_id")
    if (role is Role.ENTERPRISE) != (enterprise_id is not None):
        raise Invalid("enterprise_id", "an enterprise account, and only one, names its enterprise")
    if enterprise_id is not None and await session.get(Enterprise, enterprise_id) is None:
        raise NotFound("enterprise", enterprise_id, field="enterprise_id")
    account = Account(
        username=username,
        password_hash=await run_hash(hash_password, password),
        role=role,
        display_name=display_name.strip(),
        community_id=community_id,
        person_id=person_id,
        enterprise_id=enterprise_id,
    )
    session.add(account)
    await session.flush()
    return account


async def _check_area(
    session: AsyncSession, role: Role, community_id: int | None, scope: AccountScope | None
) -> None:
    problem = scope_problem(role, community_id, scope)
    if problem is not None:
        raise Invalid("community_id", problem)
    if community_id is not None and await session.get(Community, community_id) is None:
        raise NotFound("community", community_id, field="community_id")


async def _require_another_admin(session: AsyncSession, account: Account, doing: str) -> None:
    """The last active administrator cannot lose the role or be deactivated."""
    if account.role is not Role.ADMIN or not account.is_active:
        return
    others = await session.execute(
        select(func.count())
        .select_from(Account)
        .where(
            col(Account.role) == Role.ADMIN,
            col(Account.is_active).is_(True),
            col(Account.id) != account.id,
        )
    )
    if not others.scalar():
        raise Conflict(f"the last active administrator cannot be {doing}", field="id")


async def set_account_active(
    *, session: AsyncSession, account_id: int, active: bool, actor_account_id: int | None = None
) -> Account:
    """Deactivate (or reactivate) an account. Its tokens stop working at once (every request
    reads the account row and compares its token version), and stay revoked when it is
    reactivated. Nobody deactivates their own account (`actor_account_id`: who asks), and the
    last active administrator cannot be deactivated."""
    account = await get_account(session, account_id)
    if not active and actor_account_id == account_id:
        raise Forbidden("you cannot deactivate your own account", field="id")
    if not active:
        await _require_another_admin(session, account, "deactivated")
    if account.is_active != active:
        account.token_version += 1  # a reactivated account's old tokens stay revoked
    account.is_active = active
    session.add(account)
    if not active and account.person_id is not None:
        # Its person could not arrive or resolve through it: offers still pending are withdrawn
        # rather than accepted into a dispatch nobody can act on.
        await session.execute(
            sa.update(NeedOffer)
            .where(
                col(NeedOffer.person_id) == account.person_id,
                col(NeedOffer.status) == OfferStatus.OFFERED,
            )
            .values(status=OfferStatus.WITHDRAWN, decided_at=now_or(None))
            .execution_options(synchronize_session=False)
        )
    await session.flush()
    return account


async def account_named(session: AsyncSession, username: str) -> Account:
    """The account with this username; NotFound otherwise."""
    found = await session.execute(select(Account).where(col(Account.username) == username))
    account = found.scalars().first()
    if account is None:
        raise NotFound("account", username, field="username")
    return account


async def check_credentials(
    *, session: AsyncSession, username: str, password: str, run_hash: HashRunner
) -> Account | None:
    """The active account these credentials open, else None (same cost either way)."""
    if len(password) > MAX_LENGTH or len(username) > 64:
        return None
    row = await session.execute(select(Account).where(col(Account.username) == username.strip()))
    account = row.scalars().first()
    password_hash = account.password_hash if account is not None else _DUMMY_HASH
    ok = await run_hash(verify_password, password_hash, password)
    if not ok or account is None or not account.is_active:
        return None
    return account


async def record_login(
    *, session: AsyncSession, account_id: int, now: datetime | None = None
) -> None:
    account = await session.get(Account, account_id)
    if account is not None:
        account.last_login_at = now_or(now)
        session.add(account)


async def change_password(
    *, session: AsyncSession, account_id: int, current: str, new: str, run_hash: HashRunner
) -> Account:
    """Replace an account's password after checking the current one."""
    account = await get_account(session, account_id)
    if not await run_hash(verify_password, account.password_hash, current):
        raise Unauthenticated("wrong password", field="current_password")
    check_password_rules(new, account.username, field="new_password")
    if new == current:
        raise Invalid("new_password", "must differ from the current one")
    account.password_hash = await run_hash(hash_password, new)
    account.token_version += 1  # every token issued before is revoked
    session.add(account)
    await session.flush()
    return account


async def change_account_role(
    *,
    session: AsyncSession,
    account_id: int,
    role: Role,
    community_id: int | None = None,
    scope: AccountScope | None = None,
    actor_account_id: int | None = None,
) -> Account:
    """Give an account another role or area (the same rule for its area as at creation).

    Its tokens issued before are revoked when anything changed: they carried the old rights.
    Nobody changes their own role, and the last active administrator keeps the role; enterprise
    accounts keep theirs."""
    account = await get_account(session, account_id)
    if actor_account_id == account_id:
        raise Forbidden("you cannot change your own role or area", field="id")
    await _check_area(session, role, community_id, scope)
    if (role is Role.ENTERPRISE) != (account.enterprise_id is not None):
        # An enterprise account speaks for its enterprise only: it is neither made from nor
        # turned into a personal account.
        raise Invalid("role", "an enterprise account stays one; create another account instead")
    if role is not Role.ADMIN:
        await _require_another_admin(session, account, "given another role")
    if (account.role, account.community_id) != (role, community_id):
        account.role, account.community_id = role, community_id
        account.token_version += 1
        session.add(account)
        await session.flush()
    return account
