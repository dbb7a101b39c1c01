"""12345 hotline tickets (12345热线工单) into needs, through the same `report_need` the API uses.

Each ticket becomes a need with source `hotline_12345` and the idempotency key `12345:<ticket
number>`, so importing the same export twice (or two overlapping exports) creates each need once.
A refused ticket (missing fields, a point outside the county, an unknown category …) goes to the
report with its reason; the others are written in one transaction, each in its own savepoint.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import Community
from schema.enums import NeedCategory, NeedSource
from schema.needs import Need
from schema.registry_rules import decimal
from schema.services.common import Actor, now_or
from schema.services.errors import DomainError
from schema.services.needs.report import report_need

# China Standard Time (no daylight saving): exports carry the county's wall-clock time.
COUNTY_TIME = timezone(timedelta(hours=8), "CST")
TICKET_PREFIX = "12345:"
_TICKET = re.compile(r"^[0-9A-Za-z-]{4,40}$")

HEADER_ALIASES = {
    "工单编号": "ticket_no",
    "受理时间": "received_at",
    "标题": "title",
    "诉求内容": "description",
    "诉求类别": "category",
    "联系电话": "phone",
    "地址": "address",
    "社区": "community",
    "纬度": "latitude",
    "经度": "longitude",
    "紧急程度": "urgency",
}
REQUIRED = ("ticket_no", "received_at", "title", "category", "latitude", "longitude")
# Urgency as the hotline file writes it: ASCII digits only (int() also takes "３" and "3_0").
_WHOLE = re.compile(r"[0-9]{1,2}", re.ASCII)

_CATEGORIES = {c.value: c for c in NeedCategory} | {c.label: c for c in NeedCategory}


def canonical_header(header: str) -> str:
    name = header.strip().lstrip("\ufeff")
    return HEADER_ALIASES.get(name, name.lower())


def ticket_key(ticket_no: str) -> str:
    """The need's idempotency key for a ticket."""
    return TICKET_PREFIX + ticket_no


@dataclass(frozen=True)
class Ticket:
    ticket_no: str
    received_at: datetime
    title: str
    description: str
    category: NeedCategory
    phone: str | None
    address: str
    community: str | None
    latitude: float
    longitude: float
    urgency: int


def parse_received_at(text: str) -> datetime | None:
    """'2026-11-02 09:15[:00]' or ISO 8601; county time unless the text gives a zone."""
    try:
        value = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=COUNTY_TIME)
    return value.astimezone(UTC)


# A ticket cannot have been received after the import runs; a few minutes allow for the clock
# of the hotline's system being a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=10)


def parse_ticket(row: Mapping[str, str], now: datetime | None = None) -> Ticket | str:
    """The ticket in a row, or why it is refused (every problem, `; `-joined)."""
    now = now_or(now)
    get = {k: (v or "").strip() for k, v in row.items()}
    problems = [f"{c} is required" for c in REQUIRED if not get.get(c)]
    ticket_no = get.get("ticket_no", "")
    if ticket_no and not _TICKET.match(ticket_no):
        problems.append("ticket number must be 4 to 40 letters, digits or '-'")
    received = parse_received_at(get["received_at"]) if get.get("received_at") else None
    if get.get("received_at") and received is None:
        problems.append("received_at must be a date and time like 2026-11-02 09:15")
    elif received is not None and received > now + CLOCK_SKEW:
        # A typo (2062 for 2026) would file a need "reported" years ahead: its 1341 clock and
        # every period report would be wrong.
        problems.append("received_at is in the future")
    category = _CATEGORIES.get(get.get("category", ""))
    if get.get("category") and category is None:
        problems.append(f"unknown category '{get['category']}'")
    given_lat, given_lon = decimal(get.get("latitude") or ""), decimal(get.get("longitude") or "")
    lat = math.nan if given_lat is None else given_lat
    lon = math.nan if given_lon is None else given_lon
    if (get.get("latitude") and given_lat is None) or (get.get("longitude") and given_lon is None):
        problems.append("latitude and longitude must be numbers")
    given_urgency = get.get("urgency") or "3"
    urgency = int(given_urgency) if _WHOLE.fullmatch(given_urgency.strip()) else 0
    if not 1 <= urgency <= 5:
        problems.append("urgency must be a whole number from 1 to 5")
    if problems or received is None or category is None:
        return "; ".join(problems)
    return Ticket(
        ticket_no=ticket_no,
        received_at=received,
        title=get["title"],
        description=get.get("description", ""),
        category=category,
        phone=get.get("phone") or None,
        address=get.get("address", ""),
        community=get.get("community") or None,
        latitude=lat,
        longitude=lon,
        urgency=urgency,
    )


@dataclass
class HotlineResult:
    read: int = 0
    created: int = 0
    already: int = 0  # tickets imported before: their needs are left as they are
    refused: list[tuple[int, str]] | None = None


async def import_tickets(
    session: AsyncSession,
    actor: Actor,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    now: datetime | None = None,
) -> HotlineResult:
    """Creates a need per new ticket; returns counts and the refused (line, reason) pairs."""
    now = now_or(now)
    communities = {
        name: cid
        for cid, name in (await session.execute(select(Community.id, Community.name))).all()
    }
    result = HotlineResult(refused=[])
    assert result.refused is not None
    for line, row in rows:
        result.read += 1
        ticket = parse_ticket(row, now)
        if isinstance(ticket, str):
            result.refused.append((line, ticket))
            continue
        community_id = None
        if ticket.community is not None:
            community_id = communities.get(ticket.community)
            if community_id is None:
                result.refused.append((line, f"unknown community '{ticket.community}'"))
                continue
        key = ticket_key(ticket.ticket_no)
        seen = await session.execute(select(col(Need.id)).where(col(Need.idempotency_key) == key))
        if seen.first() is not None:
            result.already += 1
            continue
        try:
            async with session.begin_nested():
                await report_need(
                    session=session,
                    actor=actor,
                    title=ticket.title,
                    category=ticket.category,
                    latitude=ticket.latitude,
                    longitude=ticket.longitude,
                    description=ticket.description,
                    source=NeedSource.HOTLINE_12345,
                    address=ticket.address,
                    urgency=ticket.urgency,
                    community_id=community_id,
                    idempotency_key=key,
                    reporter_phone=ticket.phone,
                    now=ticket.received_at,
                )
        except DomainError as exc:
            reason = "; ".join(f"{f}: {m}" if f else m for f, m in exc.problems)
            result.refused.append((line, reason))
            continue
        result.created += 1
    return result
