"""Personal data through the API: the masks, and the caller's facts the rules of
`schema.disclosure` read (who the caller is, whether they are dispatched to a need).

Which fields a caller sees in full is decided per (caller, row) by `schema.disclosure`; field
resolvers ask it and mask the rest here, e.g. `Need.reporterPhone`:

    facts = await need_facts(info, self.__dict__)
    return raw if sees_reporter_phone(viewer(info), facts) else mask_phone(raw)

Nothing decided is stored on a shared object (a loader's cached row): an object reached
through a grant (a need's reporter) is a copy carrying that grant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Any, overload

from sqlmodel import col

from api.graphql.context import Context, Info
from api.graphql.relay.loaders import context_loader, loader
from schema import models as m
from schema.disclosure import PUBLIC_LAT_STEP, PUBLIC_LON_STEP, NeedFacts, snap
from schema.visibility import Viewer, dispatched_need_ids
from schema.workflow import OPEN_NEED_STATUSES

# 0.01° is 1.1 km north–south and about 1.0 km east–west at Ji'an's latitude (27°N).
COARSE_DEGREES = 0.01


def mask_phone(phone: str | None) -> str | None:
    """'13812345678' -> '138****5678'; short numbers keep only their last two digits."""
    if phone is None:
        return None
    digits = phone.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_id_number(id_number: str | None) -> str | None:
    """'360821199001011234' -> '3608**********1234' (birth date and sequence hidden)."""
    if id_number is None:
        return None
    value = id_number.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def mask_name(name: str | None) -> str | None:
    """'张三丰' -> '张**': the family name only."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


@overload
def coarse_coordinate(value: float) -> float: ...
@overload
def coarse_coordinate(value: float | None) -> float | None: ...
def coarse_coordinate(value: float | None) -> float | None:
    """A latitude or longitude rounded to ~1 km (two decimals)."""
    if value is None:
        return None
    return round(round(value / COARSE_DEGREES) * COARSE_DEGREES, 2)


def coarse_location(latitude: float, longitude: float) -> tuple[float, float]:
    """A point rounded to a ~1 km grid: near enough for a map, not enough to find a door."""
    return (round(latitude, 2), round(longitude, 2))


def viewer(info: Info) -> Viewer:
    return info.context.viewer


def snap_point(latitude: float, longitude: float) -> tuple[float, float]:
    """A point snapped to the ~200 m public grid (`schema.disclosure`)."""
    return snap(latitude, PUBLIC_LAT_STEP), snap(longitude, PUBLIC_LON_STEP)


async def _dispatched_batch(ctx: Context, keys: list[int]) -> list[bool]:
    person_id = ctx.account.person_id if ctx.account is not None else None
    if person_id is None:
        return [False for _ in keys]
    stmt = dispatched_need_ids(person_id).where(col(m.NeedAssignment.need_id).in_(keys))
    found = {r[0] for r in (await ctx.db.select(stmt)).rows}
    return [k in found for k in keys]


async def dispatched_to(info: Info, need_id: int) -> bool:
    """The caller is actively dispatched to this need (batched per request)."""
    account = info.context.account
    if account is None or account.person_id is None:
        return False
    return bool(await loader(info, "need.dispatched", _dispatched_batch).load(need_id))


async def share_dispatched(
    info: Info,
    need_id: int,
    version: int,
    share: Callable[[Hashable, Callable[[], Awaitable[list[bool]]]], Awaitable[list[bool]]],
) -> None:
    """Subscriptions: read whether the caller is dispatched to a need once per version and
    reader for every socket of that reader (`api.ws.shared`), and prime the request's loader."""
    account = info.context.account
    if account is None or account.person_id is None:
        return
    ctx = info.context
    key = ("need.dispatched", need_id, version, account.person_id)
    found = await share(key, lambda: _dispatched_batch(ctx, [need_id]))
    loader(info, "need.dispatched", _dispatched_batch).prime(need_id, found[0])


# The need's columns the disclosure rules read.
NEED_FACT_COLUMNS = ("community_id", "reporter_account_id", "reporter_person_id", "status")


def need_facts_now(ctx: Context, need: Mapping[str, Any]) -> NeedFacts | None:
    """`need_facts` when it needs no query (administrators, staff of the need's area), else
    None: the caller's tie to the need (dispatched or not) must then be read."""
    v = ctx.viewer
    community_id = need["community_id"]
    if not (v.is_admin or v.staff_of(community_id)):
        return None
    return NeedFacts(
        community_id=community_id,
        reporter_account_id=need["reporter_account_id"],
        reporter_person_id=need["reporter_person_id"],
        is_open=need["status"] in OPEN_NEED_STATUSES,
        dispatched=False,
    )


async def need_facts(info: Info, need_id: int, need: Mapping[str, Any]) -> NeedFacts:
    """What `schema.disclosure` reads of a need (`NEED_FACT_COLUMNS`) and of the caller's
    tie to it."""
    return await need_facts_in(info.context, need_id, need)


async def need_facts_in(ctx: Context, need_id: int, need: Mapping[str, Any]) -> NeedFacts:
    """`need_facts` for code holding the request context rather than `info`."""
    v = ctx.viewer
    facts = NeedFacts(
        community_id=need["community_id"],
        reporter_account_id=need["reporter_account_id"],
        reporter_person_id=need["reporter_person_id"],
        is_open=need["status"] in OPEN_NEED_STATUSES,
        dispatched=False,
    )
    if v.is_admin or v.staff_of(facts.community_id):
        return facts  # staff of the area handle it anyway: no query
    account = ctx.account
    if account is not None and account.person_id is not None:
        dispatched = context_loader(ctx, "need.dispatched", _dispatched_batch)
        if await dispatched.load(need_id):
            return NeedFacts(**{**facts.__dict__, "dispatched": True})
    return facts
