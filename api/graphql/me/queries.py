"""The root field `me`."""

from __future__ import annotations

import strawberry

from api.auth.permissions import can
from api.graphql.accounts.types import AccountNode
from api.graphql.context import Info
from api.graphql.me.types import Me
from api.graphql.relay import load_one


@strawberry.type
class MeQuery:
    @strawberry.field(
        description="The caller: their account (its fields as before), their person and their "
        "own work: needs reported, assignments, sign-ups, enterprise requests, service hours.",
        permission_classes=can("account.me"),
    )
    async def me(self, info: Info) -> Me:
        account = info.context.account
        assert account is not None  # Can("account.me") refuses anonymous callers
        # Read fresh: the caller's row may come from the token check's cache (seconds old).
        fresh = await load_one(info, AccountNode, account.id)
        return Me.of(fresh if fresh is not None else AccountNode.from_row(account))
