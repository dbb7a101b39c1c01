"""Area scope: a coordinator or grid worker with a community acts only inside it."""

from __future__ import annotations

from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from schema.roles import scope_includes


def in_scope(info: Info, community_id: int | None) -> bool:
    account = info.context.account
    if account is None:
        return False
    return scope_includes(account.role, account.community_id, community_id)


def require_scope(info: Info, community_id: int | None) -> None:
    if not in_scope(info, community_id):
        raise CodedError("outside your area", ErrorCode.FORBIDDEN)


def is_self(info: Info, *, account_id: int | None = None, person_id: int | None = None) -> bool:
    """The caller is this account, or the person this account belongs to (owner checks:
    a resident's own need, a helper's assigned request, a volunteer's own sign-up)."""
    account = info.context.account
    if account is None:
        return False
    if account_id is not None and account.id == account_id:
        return True
    return person_id is not None and account.person_id == person_id
