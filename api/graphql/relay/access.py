"""Which types `node(id:)` may fetch, and the access checks resolvers share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.auth.policy import allowed
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.relay.ids import from_global_id
from api.graphql.relay.loaders import one_future
from api.graphql.relay.rows import RowType
from api.inputs import excerpt


@dataclass(frozen=True)
class NodeSpec:
    type_cls: type[RowType]
    operation: str | None  # policy operation required to read it; None: public
    own_account: bool = False  # an account: its owner may read it without `operation`


NODE_TYPES: dict[str, NodeSpec] = {}


def register_node(
    type_cls: type[RowType], operation: str | None = None, *, own_account: bool = False
) -> None:
    """Make `type_cls` fetchable by `node(id:)`; `operation` guards reads (None: public);
    `own_account`: the rows are accounts, and each caller may refetch their own (`me.id`)."""
    name = type_cls.__node_name__
    assert name is not None, f"{type_cls.__name__} is not a Node"
    NODE_TYPES[name] = NodeSpec(type_cls, operation, own_account)


def require(info: Info, operation: str) -> None:
    """Raise a coded UNAUTHENTICATED/FORBIDDEN error unless the caller may perform `operation`."""
    account = info.context.account
    role = account.role if account is not None else None
    if allowed(operation, role):
        return
    if account is None:
        raise CodedError("authentication required", ErrorCode.UNAUTHENTICATED)
    raise CodedError(f"not allowed: {operation}", ErrorCode.FORBIDDEN)


def may(info: Info, operation: str) -> bool:
    account = info.context.account
    return allowed(operation, account.role if account is not None else None)


async def resolve_nodes(info: Info, global_ids: Sequence[str]) -> list[Any]:
    """Objects for global IDs, in order (None for unknown); checks each type's operation."""
    parsed = [from_global_id(g) for g in global_ids]
    for global_id, (type_name, _) in zip(global_ids, parsed, strict=True):
        if type_name not in NODE_TYPES:  # "Query:1", "Foo:1": the API never handed it out
            raise CodedError(f"malformed ID '{excerpt(global_id)}'", ErrorCode.BAD_USER_INPUT)
    caller = info.context.account
    for type_name, pk in parsed:
        spec = NODE_TYPES.get(type_name)
        if spec is None or spec.operation is None:
            continue
        if spec.own_account and caller is not None and caller.id == pk:
            continue  # a client refetching `me` by its ID
        require(info, spec.operation)
    pending = [
        one_future(info, NODE_TYPES[t].type_cls, pk) if t in NODE_TYPES else None
        for t, pk in parsed
    ]  # every load is queued before the first await, so each type costs one query
    return [None if p is None else await p for p in pending]
