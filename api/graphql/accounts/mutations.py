"""`login`, `changePassword`, and for administrators `createAccount`, `changeAccountRole`,
`deactivateAccount`, `reactivateAccount`: web-level checks (rate limits, tokens, the hashing
cap, telling open sockets) around the account services (`schema.services.accounts`)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.hashing import run_hash
from api.auth.permissions import can
from api.auth.ratelimit import LOGIN, LOGIN_ADDRESS, LOGIN_USERNAME, enforce_rate_limit
from api.auth.tokens import issue_token
from api.graphql.accounts.types import (
    AccountNode,
    AccountPayload,
    ChangeAccountRoleInput,
    CreateAccountInput,
    LoginPayload,
)
from api.graphql.context import Info
from api.graphql.errors import ErrorCode, UserError
from api.graphql.writes import broadcaster_of, opt_pk, pk, write
from api.ws.sessions import publish_account_change
from schema.accounts import Account
from schema.services import accounts as svc

WRONG_CREDENTIALS = "wrong username or password"


# Account mutations take plain arguments, or an input whose errors name its fields directly.
NO_PREFIX: tuple[str, ...] = ()


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(
        description="Log in: a bearer token for `Authorization: Bearer <token>`.",
        permission_classes=can("account.login"),
    )
    async def login(
        self,
        info: Info,
        username: Annotated[str, strawberry.argument(description="The account's username.")],
        password: Annotated[str, strawberry.argument(description="Its password.")],
    ) -> LoginPayload:
        context = info.context
        # Counted before the password hash, which is what an attacker makes us pay for.
        # Per username and client IP: guessing one account's password is slowed down; per
        # client IP whatever the username: one address cannot spray a password over every
        # account; per username whatever the address: nor can many addresses share the work.
        name = username.strip().lower()[:64]
        enforce_rate_limit(info, LOGIN, f"{name}|{context.client_ip}")
        enforce_rate_limit(info, LOGIN_ADDRESS, context.client_ip)
        enforce_rate_limit(info, LOGIN_USERNAME, name)
        async with context.db.session() as session:
            account = await svc.check_credentials(
                session=session, username=username, password=password, run_hash=run_hash
            )
        if account is None:
            error = UserError(
                field=["password"], message=WRONG_CREDENTIALS, code=ErrorCode.UNAUTHENTICATED
            )
            return LoginPayload(token=None, expires_at=None, account=None, user_errors=[error])
        async with context.db.transaction() as session:
            await svc.record_login(session=session, account_id=account.id)  # type: ignore[arg-type]  # a stored account has an id
        token, expires_at = issue_token(account, context.settings)
        return LoginPayload(
            token=token,
            expires_at=expires_at,
            account=AccountNode.from_row(account),
            user_errors=[],
            opened_account=account,
        )

    @strawberry.mutation(
        description="Change the caller's own password (the current one is required).",
        permission_classes=can("account.me"),
    )
    async def change_password(
        self,
        info: Info,
        current_password: Annotated[
            str, strawberry.argument(description="The password in use now.")
        ],
        new_password: Annotated[
            str, strawberry.argument(description="The new one, at least 10 characters.")
        ],
    ) -> AccountPayload:
        caller = info.context.account
        assert caller is not None and caller.id is not None  # Can("account.me")
        enforce_rate_limit(info, LOGIN, f"{caller.username.lower()}|{info.context.client_ip}")
        caller_id = caller.id

        async def work(session: AsyncSession) -> Account:
            return await svc.change_password(
                session=session,
                account_id=caller_id,
                current=current_password,
                new=new_password,
                run_hash=run_hash,
            )

        account, errors = await write(info, work, prefix=NO_PREFIX)
        if account is None:
            return AccountPayload(account=None, user_errors=errors)
        # Committed: the account's open sockets (in every API process) close with 4401.
        await publish_account_change(broadcaster_of(info), caller.id, "password")
        return AccountPayload(account=AccountNode.from_row(account), user_errors=[])

    @strawberry.mutation(
        description="Create an account (administrators).",
        permission_classes=can("account.manage"),
    )
    async def create_account(
        self,
        info: Info,
        input: Annotated[CreateAccountInput, strawberry.argument(description="The account.")],
    ) -> AccountPayload:

        async def work(session: AsyncSession) -> Account:
            return await svc.create_account(
                session=session,
                username=input.username,
                password=input.password,
                role=input.role,
                run_hash=run_hash,
                display_name=input.display_name,
                community_id=opt_pk(input.community_id, "Community", "community_id"),
                person_id=opt_pk(input.person_id, "Person", "person_id"),
                enterprise_id=opt_pk(input.enterprise_id, "Enterprise", "enterprise_id"),
                scope=input.scope,
            )

        account, errors = await write(info, work, prefix=NO_PREFIX)
        if account is None:
            return AccountPayload(account=None, user_errors=errors)
        return AccountPayload(account=AccountNode.from_row(account), user_errors=[])

    @strawberry.mutation(
        description="Give an account another role or area (administrators): the tokens it was "
        "issued before stop working and its open sockets close.",
        permission_classes=can("account.manage"),
    )
    async def change_account_role(
        self,
        info: Info,
        input: Annotated[
            ChangeAccountRoleInput, strawberry.argument(description="The account and its role.")
        ],
    ) -> AccountPayload:
        caller = info.context.account
        assert caller is not None  # Can("account.manage")

        async def work(session: AsyncSession) -> Account:
            return await svc.change_account_role(
                session=session,
                account_id=pk(input.id, "Account", "id"),
                role=input.role,
                community_id=opt_pk(input.community_id, "Community", "community_id"),
                scope=input.scope,
                actor_account_id=caller.id,
            )

        account, errors = await write(info, work, prefix=NO_PREFIX)
        if account is None:
            return AccountPayload(account=None, user_errors=errors)
        assert account.id is not None
        # Committed: the account's open sockets (in every API process) close with 4401.
        await publish_account_change(broadcaster_of(info), account.id, "role")
        return AccountPayload(account=AccountNode.from_row(account), user_errors=[])

    @strawberry.mutation(
        description="Deactivate an account: it can no longer log in, its tokens stop working.",
        permission_classes=can("account.manage"),
    )
    async def deactivate_account(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> AccountPayload:
        return await _set_active(info, id, active=False)

    @strawberry.mutation(
        description="Reactivate a deactivated account (administrators).",
        permission_classes=can("account.manage"),
    )
    async def reactivate_account(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> AccountPayload:
        return await _set_active(info, id, active=True)


async def _set_active(info: Info, id: strawberry.ID, *, active: bool) -> AccountPayload:
    caller = info.context.account
    assert caller is not None  # Can("account.manage")

    async def work(session: AsyncSession) -> Account:
        account_id = pk(id, "Account", "id")
        return await svc.set_account_active(
            session=session, account_id=account_id, active=active, actor_account_id=caller.id
        )

    account, errors = await write(info, work, prefix=NO_PREFIX)
    if account is None:
        return AccountPayload(account=None, user_errors=errors)
    # Committed: the account's open sockets (in every API process) re-check it; deactivated
    # ones close with 4403.
    change = "reactivated" if active else "deactivated"
    assert account.id is not None
    await publish_account_change(broadcaster_of(info), account.id, change)
    return AccountPayload(account=AccountNode.from_row(account), user_errors=[])
