"""`login`, and for administrators `createAccount`, `deactivateAccount`, `reactivateAccount`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.auth.accounts import (
    AccountProblem,
    change_password,
    check_credentials,
    create_account,
    record_login,
    set_account_active,
)
from api.auth.permissions import Can
from api.auth.ratelimit import LOGIN, LOGIN_ADDRESS, LOGIN_USERNAME, enforce_rate_limit
from api.auth.tokens import issue_token
from api.graphql.accounts.types import (
    AccountNode,
    AccountPayload,
    CreateAccountInput,
    LoginPayload,
)
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode, UserError
from api.graphql.relay import decode_id
from api.graphql.writes import broadcaster_of
from api.ws.sessions import publish_account_change

WRONG_CREDENTIALS = "wrong username or password"


def _problem(problem: AccountProblem) -> UserError:
    return UserError(field=[problem.field], message=problem.message, code=problem.code)


def _pk(value: str | None, type_name: str, field: str) -> int | None:
    if value is None:
        return None
    try:
        return decode_id(value, type_name)
    except CodedError as exc:
        raise AccountProblem(field, exc.message, ErrorCode.BAD_USER_INPUT) from exc


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(
        description="Log in: a bearer token for `Authorization: Bearer <token>`.",
        permission_classes=[Can("account.login")],
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
            account = await check_credentials(session=session, username=username, password=password)
        if account is None:
            error = UserError(
                field=["password"], message=WRONG_CREDENTIALS, code=ErrorCode.UNAUTHENTICATED
            )
            return LoginPayload(token=None, expires_at=None, account=None, user_errors=[error])
        async with context.db.transaction() as session:
            await record_login(session=session, account_id=account.id)  # type: ignore[arg-type]
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
        permission_classes=[Can("account.me")],
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
        try:
            async with info.context.db.transaction() as session:
                account = await change_password(
                    session=session,
                    account_id=caller.id,
                    current=current_password,
                    new=new_password,
                )
        except AccountProblem as problem:
            return AccountPayload(account=None, user_errors=[_problem(problem)])
        # Committed: the account's open sockets (in every API process) close with 4401.
        await publish_account_change(broadcaster_of(info), caller.id, "password")
        return AccountPayload(account=AccountNode.from_row(account), user_errors=[])

    @strawberry.mutation(
        description="Create an account (administrators).",
        permission_classes=[Can("account.manage")],
    )
    async def create_account(
        self,
        info: Info,
        input: Annotated[CreateAccountInput, strawberry.argument(description="The account.")],
    ) -> AccountPayload:
        try:
            async with info.context.db.transaction() as session:
                account = await create_account(
                    session=session,
                    username=input.username,
                    password=input.password,
                    role=input.role,
                    display_name=input.display_name,
                    community_id=_pk(input.community_id, "Community", "communityId"),
                    person_id=_pk(input.person_id, "Person", "personId"),
                )
        except AccountProblem as problem:
            return AccountPayload(account=None, user_errors=[_problem(problem)])
        return AccountPayload(account=AccountNode.from_row(account), user_errors=[])

    @strawberry.mutation(
        description="Deactivate an account: it can no longer log in, its tokens stop working.",
        permission_classes=[Can("account.manage")],
    )
    async def deactivate_account(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> AccountPayload:
        return await _set_active(info, id, active=False)

    @strawberry.mutation(
        description="Reactivate a deactivated account (administrators).",
        permission_classes=[Can("account.manage")],
    )
    async def reactivate_account(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> AccountPayload:
        return await _set_active(info, id, active=True)


async def _set_active(info: Info, id: strawberry.ID, *, active: bool) -> AccountPayload:
    try:
        pk = _pk(id, "Account", "id")
        assert pk is not None
        async with info.context.db.transaction() as session:
            account = await set_account_active(session=session, account_id=pk, active=active)
    except AccountProblem as problem:
        return AccountPayload(account=None, user_errors=[_problem(problem)])
    # Committed: the account's open sockets (in every API process) re-check it; deactivated
    # ones close with 4403.
    change = "reactivated" if active else "deactivated"
    await publish_account_change(broadcaster_of(info), pk, change)
    return AccountPayload(account=AccountNode.from_row(account), user_errors=[])
