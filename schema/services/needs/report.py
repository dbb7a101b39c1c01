"""Reporting a need (接诉): validation, placement, duplicate check and the idempotency key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from schema.enums import NeedAction, NeedCategory, NeedKind, NeedSource, NeedStatus, NeedTier
from schema.needs import Need
from schema.services.common import (
    Actor,
    body_hash,
    by_idempotency_key,
    insert_once,
    now_or,
    record_event,
)
from schema.services.errors import Invalid, Problems
from schema.services.locations import place_problem
from schema.services.needs.limits import (
    _MEDIA_URL,
    _PHONE,
    ADDRESS_MAX,
    DEFAULT_DURATION_MINUTES,
    DESCRIPTION_MAX,
    DURATION_RANGE,
    KEY_MAX,
    MEDIA_MAX,
    MEDIA_URL_MAX,
    SOURCES_BY_ROLE,
    TITLE_MAX,
)
from schema.services.needs.location import _locate, find_duplicate, route_property_matter
from schema.services.needs.shared import _NEEDS
from schema.sla import default_need_kind
from schema.text_rules import is_blank, written_text_problem

# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class LinkedOrigin:
    """A need filed by another service for what it came out of: a consultation's outcome or a
    sentinel post's suggestion. That service has checked who may file it (a post's keeper need
    not be staff), so the source follows from the link rather than from the reporter's role."""

    source: NeedSource
    consultation_id: int | None = None
    sentinel_post_id: int | None = None


def _validate_report(
    *,
    actor: Actor,
    title: str,
    description: str,
    source: NeedSource,
    latitude: float,
    longitude: float,
    media_urls: Sequence[str],
    address: str,
    urgency: int,
    idempotency_key: str | None,
    reporter_phone: str | None,
    source_checked: bool = False,
) -> Problems:
    p = Problems()
    text = title.strip()
    p.check(not is_blank(text), "title", "title must not be empty")
    p.check(len(text) <= TITLE_MAX, "title", f"title is longer than {TITLE_MAX} characters")
    p.check(
        len(description) <= DESCRIPTION_MAX,
        "description",
        f"description is longer than {DESCRIPTION_MAX} characters",
    )
    p.check(len(address) <= ADDRESS_MAX, "address", f"address is longer than {ADDRESS_MAX}")
    for field, value in (("title", text), ("description", description), ("address", address)):
        problem = written_text_problem(value)
        p.check(problem is None, field, f"{field} {problem}")
    if p.check(len(media_urls) <= MEDIA_MAX, "media_urls", f"at most {MEDIA_MAX} media links"):
        for i, url in enumerate(media_urls):
            p.check(
                len(url) <= MEDIA_URL_MAX and bool(_MEDIA_URL.match(url)),
                f"media_urls.{i}",
                f"not an http(s) link of at most {MEDIA_URL_MAX} characters",
            )
    p.check(1 <= urgency <= 5, "urgency", "urgency must be between 1 and 5")
    if idempotency_key is not None:
        p.check(
            0 < len(idempotency_key) <= KEY_MAX,
            "idempotency_key",
            f"idempotency key must have 1 to {KEY_MAX} characters",
        )
    if reporter_phone:
        p.check(bool(_PHONE.match(reporter_phone)), "reporter_phone", "not a phone number")
    if not source_checked and source not in SOURCES_BY_ROLE.get(actor.role, frozenset()):
        p.add("source", f"your role may not report needs from source '{source.value}'")
    return p


def _check_timing(
    p: Problems,
    kind: NeedKind,
    window: tuple[datetime, datetime] | None,
    duration_minutes: int | None,
    now: datetime,
) -> int:
    """The visit's length (default 60 minutes), after checking it fits the window."""
    duration = DEFAULT_DURATION_MINUTES if duration_minutes is None else duration_minutes
    p.check(
        DURATION_RANGE[0] <= duration <= DURATION_RANGE[1],
        "duration_minutes",
        f"a visit lasts {DURATION_RANGE[0]} to {DURATION_RANGE[1]} minutes",
    )
    if window is None:
        p.check(kind is NeedKind.RESPONSE, "window", "a scheduled service needs a service window")
        return duration
    start, end = window
    if not p.check(
        start.tzinfo is not None and end.tzinfo is not None,
        "window",
        "give the window's times with their offset",
    ):
        return duration
    if p.check(end > start, "window", "the window must end after it starts"):
        p.check(end - start >= timedelta(minutes=duration), "window", "the visit does not fit")
        p.check(end > now, "window", "the window has already passed")
    return duration


async def _by_key(session: AsyncSession, key: str, actor: Actor, digest: str) -> Need | None:
    return await by_idempotency_key(
        session, Need, key, actor=actor, owner="reporter_account_id", digest=digest
    )


async def report_need(
    *,
    session: AsyncSession,
    actor: Actor,
    title: str,
    category: NeedCategory,
    latitude: float,
    longitude: float,
    description: str = "",
    source: NeedSource = NeedSource.RESIDENT_APP,
    media_urls: Sequence[str] = (),
    address: str = "",
    urgency: int = 3,
    community_id: int | None = None,
    grid_id: int | None = None,
    compound_id: int | None = None,
    idempotency_key: str | None = None,
    reporter_phone: str | None = None,
    kind: NeedKind | None = None,
    window: tuple[datetime, datetime] | None = None,
    duration_minutes: int | None = None,
    origin: LinkedOrigin | None = None,
    now: datetime | None = None,
) -> Need:
    """吹哨: a new need, or the one already reported with the same idempotency key.

    A service window (a visit wanted between two times) makes it a scheduled service unless
    `kind` or its source and category say otherwise (sla.default_need_kind); a scheduled need
    must have a window with room for its visit, still to come.

    Its community and grid come from the location (the nearest grid) when not given, and so
    does its compound (the one the point is inside); a property matter inside a compound is
    routed to the compound's property company (`property_unit_id`). A nearby open need of the
    same category reported within the window is flagged as `duplicate_of_id`.
    """
    now = now_or(now)
    description, address = description.strip(), address.strip()
    source = origin.source if origin is not None else source
    links = {
        "consultation_id": origin.consultation_id if origin else None,
        "sentinel_post_id": origin.sentinel_post_id if origin else None,
    }
    # Linked reports hash their links too; plain ones hash as they always did (stored keys).
    digest = body_hash(
        **({k: v for k, v in links.items() if v is not None}),
        title=title.strip(),
        category=category.value,
        latitude=latitude,
        longitude=longitude,
        description=description,
        source=source.value,
        media_urls=list(media_urls),
        address=address,
        urgency=urgency,
        community_id=community_id,
        grid_id=grid_id,
        compound_id=compound_id,
        reporter_phone=reporter_phone or None,
        kind=kind.value if kind else None,
        window=[t.isoformat() for t in window] if window else None,
        duration_minutes=duration_minutes,
    )
    if idempotency_key is not None and 0 < len(idempotency_key) <= KEY_MAX:
        existing = await _by_key(session, idempotency_key, actor, digest)
        if existing is not None:
            return existing
    problems = _validate_report(
        actor=actor,
        title=title,
        description=description,
        source=source,
        latitude=latitude,
        longitude=longitude,
        media_urls=media_urls,
        address=address,
        urgency=urgency,
        idempotency_key=idempotency_key,
        reporter_phone=reporter_phone,
        source_checked=origin is not None,
    )
    # The place lies in one of the province's counties, and in the community's county when
    # the caller names one; else in that of the community it is put in, once located.
    where = await place_problem(session, latitude, longitude, community_id=community_id)
    problems.check(where is None, "location", where or "")
    kind = kind or default_need_kind(source, category, has_window=window is not None)
    duration = _check_timing(problems, kind, window, duration_minutes, now)
    problems.raise_if_any()
    community, grid, compound_id = await _locate(
        session, latitude, longitude, community_id, grid_id, compound_id
    )
    if community_id is None:
        where = await place_problem(session, latitude, longitude, community_id=community)
        if where is not None:
            raise Invalid("location", where)
    routed = await route_property_matter(session, category, compound_id)
    duplicate = await find_duplicate(
        session, category=category, lat=latitude, lon=longitude, now=now
    )
    need = Need(
        title=title.strip(),
        description=description,
        category=category,
        source=source,
        tier=NeedTier.ORDINARY,
        status=NeedStatus.REPORTED,
        urgency=urgency,
        community_id=community,
        grid_id=grid,
        compound_id=compound_id,
        property_unit_id=routed[0].id if routed else None,
        reporter_account_id=actor.account_id,
        reporter_person_id=actor.person_id,
        reporter_name=actor.name[:32],
        reporter_phone=reporter_phone or None,
        latitude=latitude,
        longitude=longitude,
        address=address,
        media_urls=list(media_urls),
        idempotency_key=idempotency_key,
        idempotency_hash=digest if idempotency_key is not None else None,
        duplicate_of_id=duplicate.id if duplicate else None,
        kind=kind,
        consultation_id=links["consultation_id"],
        sentinel_post_id=links["sentinel_post_id"],
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        duration_minutes=duration,
        reported_at=now,
        updated_at=now,
    )
    need, inserted = await insert_once(
        session, need, idempotency_key, lambda key: _by_key(session, key, actor, digest)
    )
    if not inserted:
        return need
    notes: list[str] = []
    data: dict[str, Any] = {}
    if duplicate:
        notes.append(f"疑似重复: #{duplicate.id}")
        data["duplicate_of_id"] = duplicate.id
    if routed:
        notes.append(f"转物业: {routed[0].name}")
        data |= {"property_unit_id": routed[0].id, "routing": routed[1]}
    note = "; ".join(notes)
    record_event(session, _NEEDS, need, NeedAction.REPORT, None, actor, now, note, data)
    await session.flush()
    return need
