"""Account services shared by the GraphQL mutations and the `luling user` command.

Keyword-only, async (an `AsyncSession` in a transaction the caller owns); expected failures
raise `AccountProblem(field, message, code)`, which the GraphQL layer turns into `userErrors`
and the CLI into an error message. Password hashes run under the process's cap
(`api.auth.hashing`): when it is saturated they raise `PasswordHashBusy` (RATE_LIMITED).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from api.auth.hashing import run_hash
from api.graphql.errors import ErrorCode
from schema.accounts import Account
from schema.enums import Role
from schema.models import Community, Person
from schema.passwords import hash_password, verify_password

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MIN_PASSWORD, MAX_PASSWORD = 10, 256
# Verified against when the username is unknown, so a wrong username costs as long as a wrong
# password and timing does not tell which usernames exist.
_DUMMY_HASH = hash_password("luling-no-such-account-placeholder")


@dataclass
class AccountProblem(Exception):
    field: str
    message: str
    code: ErrorCode

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def check_password_rules(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountProblem(field, f"at least {MIN_PASSWORD} characters", ErrorCode.BAD_USER_INPUT)
    if len(password) > MAX_PASSWORD:
        raise AccountProblem(field, f"at most {MAX_PASSWORD} characters", ErrorCode.BAD_USER_INPUT)


async def create_account(
    *,
    session: AsyncSession,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    community_id: int | None = None,
    person_id: int | None = None,
) -> Account:
    """Insert an active account with an argon2 hash of `password` (never stored in clear)."""
    username = username.strip()
    if not USERNAME.match(username):
        raise AccountProblem(
            "username",
            "3–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
            ErrorCode.BAD_USER_INPUT,
        )
    check_password_rules(password)
    if len(display_name) > 64:
        raise AccountProblem("displayName", "at most 64 characters", ErrorCode.BAD_USER_INPUT)
    taken = await session.execute(select(Account.id).where(col(Account.username) == username))
    if taken.first() is not None:
        raise AccountProblem("username", "already taken", ErrorCode.CONFLICT)
    if community_id is not None and await session.get(Community, community_id) is None:
        raise AccountProblem("communityId", "no such community", ErrorCode.NOT_FOUND)
    if person_id is not None and await session.get(Person, person_id) is None:
        raise AccountProblem("personId", "no such person", ErrorCode.NOT_FOUND)
    account = Account(
        username=username,
        password_hash=await run_hash(hash_password, password),
        role=role,
        display_name=display_name.strip(),
        community_id=community_id,
        person_id=person_id,
    )
    session.add(account)
    await session.flush()
    return account


async def set_account_active(*, session: AsyncSession, account_id: int, active: bool) -> Account:
    """Deactivate (or reactivate) an account. Its tokens stop working at once: every request
    reads the account row. The last active administrator cannot be deactivated."""
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountProblem("id", "no such account", ErrorCode.NOT_FOUND)
    if not active and account.role is Role.ADMIN and account.is_active:
        others = await session.execute(
            select(func.count())
            .select_from(Account)
            .where(
                col(Account.role) == Role.ADMIN,
                col(Account.is_active).is_(True),
                col(Account.id) != account_id,
            )
        )
        if not others.scalar():
            raise AccountProblem(
                "id", "the last active administrator cannot be deactivated", ErrorCode.CONFLICT
            )
    account.is_active = active
    session.add(account)
    await session.flush()
    return account


async def check_credentials(
    *, session: AsyncSession, username: str, password: str
) -> Account | None:
    """The active account these credentials open, else None (same cost either way)."""
    if len(password) > MAX_PASSWORD or len(username) > 64:
        return None
    row = await session.execute(select(Account).where(col(Account.username) == username.strip()))
    account = row.scalars().first()
    password_hash = account.password_hash if account is not None else _DUMMY_HASH
    ok = await run_hash(verify_password, password_hash, password)
    if not ok or account is None or not account.is_active:
        return None
    return account


async def record_login(*, session: AsyncSession, account_id: int) -> None:
    account = await session.get(Account, account_id)
    if account is not None:
        account.last_login_at = datetime.now(UTC)
        session.add(account)


async def change_password(
    *, session: AsyncSession, account_id: int, current: str, new: str
) -> Account:
    """Replace an account's password after checking the current one."""
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountProblem("id", "no such account", ErrorCode.NOT_FOUND)
    if not await run_hash(verify_password, account.password_hash, current):
        raise AccountProblem("currentPassword", "wrong password", ErrorCode.UNAUTHENTICATED)
    check_password_rules(new, field="newPassword")
    if new == current:
        raise AccountProblem(
            "newPassword", "must differ from the current one", ErrorCode.BAD_USER_INPUT
        )
    account.password_hash = await run_hash(hash_password, new)
    session.add(account)
    await session.flush()
    return account
