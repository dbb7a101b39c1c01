"""民声前哨点: sentinel posts (a shop, a gate, a square) with their keeper, and the suggestions
keepers pass into the closed loop as needs from their post.

Coordinators and administrators set posts up and change them, in the post's community. A
suggestion is passed on by the post's keeper (whatever their account's role: keepers are
shopkeepers and elders, not staff) or entered by staff of the post's area; it becomes a need
with source SENTINEL_POST linked to the post, through the closed loop's own reporting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import Community
from schema.enums import NeedCategory, NeedSource
from schema.governance import SentinelPost
from schema.needs import Need
from schema.people import Person
from schema.services.common import (
    Actor,
    check_version,
    clean_text,
    get_current,
    now_or,
    versioned_update,
)
from schema.services.errors import Forbidden, Invalid, NotFound, Problems
from schema.services.locations import place_problem
from schema.services.needs import LinkedOrigin, report_need

NAME_MAX = 96
ADDRESS_MAX = 200


def _require(actor: Actor, community_id: int) -> None:
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators set up sentinel posts")
    actor.require_scope(community_id)


async def _check_place(
    session: AsyncSession, p: Problems, latitude: float, longitude: float, community_id: int
) -> None:
    """A post lies in its community's county (`place_problem`)."""
    why = await place_problem(session, latitude, longitude, community_id=community_id)
    p.check(why is None, "location", why or "")


def _text(p: Problems, value: str, field: str, max_length: int, *, required: bool) -> str:
    try:
        return clean_text(value, field, max_length=max_length, required=required)
    except Invalid as exc:
        p.items.extend(exc.problems)
        return ""


async def _keeper(session: AsyncSession, person_id: int) -> None:
    if await session.get(Person, person_id) is None:
        raise NotFound("person", person_id, field="keeper_person_id")


def _name_taken(name: str) -> Invalid:
    return Invalid("name", f"the community already has a sentinel post named {name}")


async def _insert_or_update(session: AsyncSession, work: Any, name: str) -> SentinelPost:
    try:
        async with session.begin_nested():
            post: SentinelPost = await work()
            await session.flush()
            return post
    except IntegrityError:  # the name, taken at the same moment by another office
        raise _name_taken(name) from None


async def get_post(session: AsyncSession, post_id: int) -> SentinelPost:
    return await get_current(session, SentinelPost, post_id, kind="sentinel post", field="post_id")


async def create_sentinel_post(
    *,
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    name: str,
    keeper_person_id: int,
    latitude: float,
    longitude: float,
    address: str = "",
    now: datetime | None = None,
) -> SentinelPost:
    now = now_or(now)
    _require(actor, community_id)
    p = Problems()
    name = _text(p, name, "name", NAME_MAX, required=True)
    address = _text(p, address, "address", ADDRESS_MAX, required=False)
    await _check_place(session, p, latitude, longitude, community_id)
    p.raise_if_any()
    if await session.get(Community, community_id) is None:
        raise NotFound("community", community_id, field="community_id")
    await _keeper(session, keeper_person_id)
    taken = select(SentinelPost.id).where(
        col(SentinelPost.community_id) == community_id, col(SentinelPost.name) == name
    )
    if (await session.execute(taken)).first() is not None:
        raise _name_taken(name)
    post = SentinelPost(
        name=name,
        community_id=community_id,
        keeper_person_id=keeper_person_id,
        address=address,
        latitude=latitude,
        longitude=longitude,
        created_at=now,
    )

    async def insert() -> SentinelPost:
        session.add(post)
        return post

    return await _insert_or_update(session, insert, name)


async def update_sentinel_post(
    *,
    session: AsyncSession,
    actor: Actor,
    post_id: int,
    expected_version: int | None = None,
    name: str | None = None,
    keeper_person_id: int | None = None,
    address: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    is_active: bool | None = None,
) -> SentinelPost:
    """Changes what is given (None: unchanged): a new keeper, a new place, closing the post
    (`is_active = False`: no more suggestions from it)."""
    post = await get_post(session, post_id)
    _require(actor, post.community_id)
    version = check_version("sentinel post", post_id, post.version, expected_version)
    p = Problems()
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = _text(p, name, "name", NAME_MAX, required=True)
    if address is not None:
        values["address"] = _text(p, address, "address", ADDRESS_MAX, required=False)
    if latitude is not None or longitude is not None:
        if p.check(
            latitude is not None and longitude is not None, "location", "give both coordinates"
        ):
            await _check_place(session, p, latitude or 0.0, longitude or 0.0, post.community_id)
        values |= {"latitude": latitude, "longitude": longitude}
    p.raise_if_any()
    if keeper_person_id is not None:
        await _keeper(session, keeper_person_id)
        values["keeper_person_id"] = keeper_person_id
    if is_active is not None:
        values["is_active"] = is_active
    if not values:
        raise Invalid(None, "nothing to change")

    async def update() -> SentinelPost:
        return await versioned_update(
            session, SentinelPost, post_id, version, values, kind="sentinel post"
        )

    return await _insert_or_update(session, update, values.get("name", post.name))


async def submit_suggestion(
    *,
    session: AsyncSession,
    actor: Actor,
    post_id: int,
    title: str,
    category: NeedCategory,
    description: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    address: str = "",
    urgency: int = 3,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Need:
    """A keeper's suggestion (or one staff of the area enter for the post) as a need from the
    post: at the post's place unless another is given."""
    post = await get_post(session, post_id)
    is_keeper = actor.person_id is not None and actor.person_id == post.keeper_person_id
    if not is_keeper:
        if not actor.is_staff:
            raise Forbidden("only the post's keeper, or staff of its area, pass on its suggestions")
        actor.require_scope(post.community_id)
    if not post.is_active:
        raise Invalid("post_id", "the sentinel post is closed")
    if (latitude is None) != (longitude is None):
        raise Invalid("location", "give both coordinates, or neither for the post's place")
    if latitude is not None and longitude is not None:
        # A post listens for its own county: a place elsewhere is another county's to hear.
        why = await place_problem(session, latitude, longitude, community_id=post.community_id)
        if why is not None:
            raise Invalid("location", why)
    return await report_need(
        session=session,
        actor=actor,
        title=title,
        category=category,
        latitude=post.latitude if latitude is None else latitude,
        longitude=post.longitude if longitude is None else longitude,
        description=description,
        address=address or post.address,
        urgency=urgency,
        community_id=None if latitude is not None else post.community_id,
        idempotency_key=idempotency_key,
        origin=LinkedOrigin(NeedSource.SENTINEL_POST, sentinel_post_id=post_id),
        now=now,
    )
