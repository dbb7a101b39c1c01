"""Running a service mutation: the actor, global IDs in input, one transaction, userErrors, and
publishing what changed once the transaction has committed.

    need, errors = await write(info, lambda s: dispatch_need(session=s, actor=actor_of(info), …))
    need, errors = await write_on(info, arrive_need, "need_id", input.need_id, "Need", note=…)

Expected failures (`schema.services.errors`, `IllegalTransition`, a lost race the database
reports as a deadlock or a busy lock) roll the transaction back and come back as `userErrors`
with the input field's path (`["input", "toPersonIds"]`); nothing is changed or published.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.utils.str_converters import to_camel_case

from api.broadcast import (
    Broadcaster,
    activity_channel,
    community_needs_channel,
    inbox_messages,
    mobilisation_channel,
    need_channel,
)
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode, UserError
from api.graphql.relay import decode_id
from api.logs import log
from schema.services.common import Actor, to_publish
from schema.services.errors import Conflict, DomainError, Invalid
from schema.workflow import IllegalTransition

T = TypeVar("T")

# SQLSTATEs of a transaction that lost a race: serialization failure, deadlock, lock timeout.
_RACE_SQLSTATES = {"40001", "40P01", "55P03"}


def actor_of(info: Info) -> Actor:
    """The caller as the services see it (their area rule is `schema.roles.scope_includes`, as
    `api.auth.scope.in_scope`'s)."""
    account = info.context.account
    if account is None:  # `Can` refuses anonymous callers first; this guards misuse
        raise CodedError("authentication required", ErrorCode.UNAUTHENTICATED)
    return Actor.of(account)


def pk(global_id: str, type_name: str, field: str) -> int:
    """The primary key of a global ID of `type_name`; Invalid(field) otherwise."""
    try:
        return decode_id(global_id, type_name)
    except CodedError as exc:
        raise Invalid(field, exc.message) from None


def opt_pk(global_id: str | None, type_name: str, field: str) -> int | None:
    return None if global_id is None else pk(global_id, type_name, field)


def pks(global_ids: Iterable[str] | None, type_name: str, field: str) -> list[int]:
    return [pk(g, type_name, f"{field}.{i}") for i, g in enumerate(global_ids or ())]


def field_path(field: str | None, prefix: tuple[str, ...] = ("input",)) -> list[str]:
    """`media_urls.1` → `["input", "mediaUrls", "1"]` (the GraphQL input's names)."""
    if not field:
        return list(prefix)
    return [*prefix, *(to_camel_case(part) for part in field.split("."))]


def user_errors(exc: Exception, prefix: tuple[str, ...] = ("input",)) -> list[UserError]:
    if isinstance(exc, IllegalTransition):
        return [UserError(field=None, message=str(exc), code=ErrorCode.ILLEGAL_TRANSITION)]
    if isinstance(exc, DomainError):
        code = ErrorCode[exc.code]
        return [
            UserError(field=field_path(f, prefix), message=m, code=code) for f, m in exc.problems
        ]
    raise exc


def _lost_race(exc: DBAPIError) -> bool:
    """A deadlock or serialization failure (PostgreSQL), or a write lock not obtained in time
    (SQLite's busy timeout): the other transaction won; the caller may retry."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RACE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


async def write(
    info: Info,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    prefix: tuple[str, ...] = ("input",),
) -> tuple[T | None, list[UserError]]:
    """Runs `work(session)` in one transaction; (result, []) or (None, userErrors)."""
    try:
        async with info.context.db.transaction() as session:
            result = await work(session)
            published = list(to_publish(session))
    except (DomainError, IllegalTransition) as exc:
        return None, user_errors(exc, prefix)
    except DBAPIError as exc:
        if not _lost_race(exc):
            raise
        log.info("write lost a race", error=str(exc.orig))
        conflict = Conflict("someone else changed this at the same moment; reload and retry")
        return None, user_errors(conflict, prefix)
    await publish(info, published)
    return result, []


async def write_on(
    info: Info,
    service: Callable[..., Awaitable[T]],
    id_arg: str,
    global_id: str,
    type_name: str,
    /,
    **arguments: Any,
) -> tuple[T | None, list[UserError]]:
    """`write` for a step on one row named by its global ID, done by the caller:

        await write_on(info, svc.arrive_need, "need_id", input.need_id, "Need", note=input.note)

    runs `svc.arrive_need(session=…, need_id=<its key>, actor=<the caller>, note=…)`. The ID is
    decoded inside the transaction, so a wrong one comes back as a userError on `id_arg`.
    """

    async def work(session: AsyncSession) -> T:
        row_id = pk(global_id, type_name, id_arg)
        return await service(session=session, actor=actor_of(info), **{id_arg: row_id}, **arguments)

    return await write(info, work)


def broadcaster_of(info: Info) -> Broadcaster:
    return info.context.request.app.state.broadcaster


def messages_for(published: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(channel, message) pairs for what the services changed (JSON-ready, ids only)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for item in published:
        if item["kind"] == "need":
            message = {
                "needId": item["need_id"],
                "communityId": item["community_id"],
                "eventId": item["event"].id,
                "action": item["action"],
                "toStatus": item["to_status"],
                "version": item["version"],
            }
            out.append((need_channel(item["need_id"]), message))
            out.append((community_needs_channel(item["community_id"]), message))
        elif item["kind"] == "notification":
            out.extend(inbox_messages(item["items"]))
        elif item["kind"] == "activity":
            message = {
                "activityId": item["activity_id"],
                "action": item["action"],
                "version": item["version"],
                "notified": len(item.get("person_ids", ())),
            }
            out.append((activity_channel(item["activity_id"]), message))
        elif item["kind"] == "mobilisation":
            for person_id in item["person_ids"]:
                message = {"teamId": item["team_id"], "action": item["action"]}
                out.append((mobilisation_channel(person_id), message))
    return out


async def publish(info: Info, published: list[dict[str, Any]]) -> None:
    messages = messages_for(published)
    if messages:
        await broadcaster_of(info).publish_many(messages)
