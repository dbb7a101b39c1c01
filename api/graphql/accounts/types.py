"""GraphQL types of accounts and the audit log. No password hash is ever exposed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import strawberry

from api.graphql.enums import AccountScope, Role
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.relay import Node, RowType, register_node, to_global_id
from schema import models as m

# Columns an Account object may carry: everything but the password hash.
ACCOUNT_COLUMNS = (
    "id",
    "username",
    "display_name",
    "role",
    "person_id",
    "community_id",
    "enterprise_id",
    "is_active",
    "created_at",
    "last_login_at",
)


@strawberry.type(name="Account", description="A login with a role (and, for staff, an area).")
class AccountNode(RowType, Node):
    __model__ = m.Account
    __node_name__ = "Account"

    username: str = strawberry.field(description="The name used to log in.")
    display_name: str = strawberry.field(description="The name shown to people.")
    role: Role = strawberry.field(description="What the account may do.")
    is_active: bool = strawberry.field(description="False once deactivated: it cannot log in.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    last_login_at: datetime | None = strawberry.field(
        description="The last successful login (UTC)."
    )
    community_id: strawberry.Private[int | None]
    person_id: strawberry.Private[int | None]
    enterprise_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Any) -> Self:
        obj = super().from_row(row)
        obj.__dict__.pop("password_hash", None)  # never kept on a GraphQL object
        return obj

    @strawberry.field(
        name="communityId",
        description="The community a coordinator or grid worker is scoped to; null: the county.",
    )
    def community_global_id(self) -> strawberry.ID | None:
        cid = self.community_id
        return None if cid is None else strawberry.ID(to_global_id("Community", cid))

    @strawberry.field(
        name="personId",
        description="The person (party member, grid worker, helper …) this account belongs to.",
    )
    def person_global_id(self) -> strawberry.ID | None:
        pid = self.person_id
        return None if pid is None else strawberry.ID(to_global_id("Person", pid))

    @strawberry.field(
        name="enterpriseId",
        description="The enterprise an enterprise account speaks for (营商气象站).",
    )
    def enterprise_global_id(self) -> strawberry.ID | None:
        eid = self.enterprise_id
        return None if eid is None else strawberry.ID(to_global_id("Enterprise", eid))


@strawberry.type(description="One mutation as it was called: who, what, when, from where.")
class AuditLogEntry(RowType, Node):
    __model__ = m.AuditLog
    __node_name__ = "AuditLogEntry"

    username: str = strawberry.field(description="The caller's username at the time.")
    operation: str = strawberry.field(
        description="The operation's name, or its root fields joined by ',' when it has none."
    )
    client_ip: str = strawberry.field(description="Where the call came from.")
    ok: bool = strawberry.field(description="Whether every root field succeeded.")
    error_code: str | None = strawberry.field(
        description="Why it failed: the first failing field's error or userErrors code."
    )
    count: int = strawberry.field(
        description="How many requests the row stands for: refused anonymous requests are "
        "tallied per address and code, one row a minute."
    )
    outcomes: strawberry.Private[list[dict[str, Any]]]
    at: datetime = strawberry.field(description="When it was called.")
    account_id: strawberry.Private[int | None]
    variables: strawberry.Private[dict[str, Any]]

    @strawberry.field(
        name="accountId",
        description="The calling account (or the account a login opened); null: anonymous.",
    )
    def account_global_id(self) -> strawberry.ID | None:
        aid = self.account_id
        return None if aid is None else strawberry.ID(to_global_id("Account", aid))

    @strawberry.field(
        description="Each root field: `field`, its response `key`, `ok` and the `code` it "
        "failed with (NOT_RUN: it never ran)."
    )
    def fields(self) -> strawberry.scalars.JSON:
        return strawberry.scalars.JSON(self.outcomes)

    @strawberry.field(
        description="Its arguments (per response key when it has several root fields), with "
        "passwords, tokens and secrets redacted, cut to 4 KB."
    )
    def arguments(self) -> strawberry.scalars.JSON:
        return strawberry.scalars.JSON(self.variables)


register_node(AccountNode, "account.manage", own_account=True)
register_node(AuditLogEntry, "audit.read")


@strawberry.type(description="The result of logging in.")
class LoginPayload:
    token: str | None = strawberry.field(
        description="The bearer token: send `Authorization: Bearer <token>`."
    )
    expires_at: datetime | None = strawberry.field(description="When the token stops working.")
    account: AccountNode | None = strawberry.field(description="The account logged in.")
    user_errors: list[UserError] = strawberry.field(
        description="Why logging in failed.", extensions=[MaxItems(100)]
    )
    # The account opened, for the audit log (api/auth/audit.py); never shown.
    opened_account: strawberry.Private[m.Account | None] = None


@strawberry.type(description="The result of creating or changing an account.")
class AccountPayload:
    account: AccountNode | None = strawberry.field(description="The account, when it worked.")
    user_errors: list[UserError] = strawberry.field(
        description="Why it did not.", extensions=[MaxItems(100)]
    )


@strawberry.input(description="A new account.")
class CreateAccountInput:
    username: str = strawberry.field(description="3–64 of a-z 0-9 . _ - (the login name).")
    password: str = strawberry.field(
        description="At least 10 characters; not a common or breached password, not containing "
        "the username, not one character repeated or a sequence."
    )
    role: Role = strawberry.field(description="What the account may do.")
    display_name: str = strawberry.field(default="", description="The name shown to people.")
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="Scope a coordinator or grid worker to this community."
    )
    scope: AccountScope | None = strawberry.field(
        default=None,
        description="COUNTY: a county-wide coordinator or grid worker (without communityId); "
        "one of the two is required for those roles.",
    )
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="The person this account belongs to (one account each)."
    )
    enterprise_id: strawberry.ID | None = strawberry.field(
        default=None, description="The enterprise an ENTERPRISE account speaks for (required)."
    )


@strawberry.input(description="An account's new role and area.")
class ChangeAccountRoleInput:
    id: strawberry.ID = strawberry.field(description="The account.")
    role: Role = strawberry.field(description="Its new role.")
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="Scope a coordinator or grid worker to this community."
    )
    scope: AccountScope | None = strawberry.field(
        default=None,
        description="COUNTY: county-wide (without communityId); a coordinator or grid worker "
        "needs one of the two.",
    )
