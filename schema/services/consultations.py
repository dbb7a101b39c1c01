"""赣事好商量·吉事广议: consultations on a topic with their parties, their sessions, the outcome,
the disputes they settle, and the needs an outcome turns into.

Who: coordinators and administrators, in the consultation's community. Every change takes the
consultation's row lock first (`lock_row`), so offices recording at once queue instead of
overwriting each other, and bumps its version; the outcome, which replaces text, also checks
the version the caller read. Sessions are recorded until the outcome is; needs are made from
an outcome once there is one, through the closed loop's own reporting (`report_need`: the 1341
rules, the placement, the duplicate check), each linked to the consultation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from schema.areas import Community
from schema.enums import NeedCategory, NeedSource
from schema.governance import (
    Consultation,
    ConsultationParty,
    ConsultationSession,
    SettledDispute,
)
from schema.needs import Need
from schema.people import Person
from schema.services.common import (
    KEY_MAX,
    TITLE_MAX,
    Actor,
    check_version,
    clean_text,
    get_current,
    lock_row,
    now_or,
    versioned_update,
)
from schema.services.errors import Forbidden, Invalid, NotFound, Problems
from schema.services.locations import place_problem
from schema.services.needs import LinkedOrigin, report_need
from schema.units import PairedUnit

PARTIES_MAX = 50
DISPUTES_MAX = 50
NEEDS_MAX = 20
OUTCOME_MAX = 5000
MINUTES_MAX = 20000
ATTENDEES_MAX = 100_000
# A consultation is dated within the county's records: not long ago, not far ahead.
HELD_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class Party:
    """A party to a consultation: a name (业主代表, 物业公司 …), its role, and optionally the
    person or paired unit it is."""

    name: str
    role: str = ""
    person_id: int | None = None
    unit_id: int | None = None


@dataclass(frozen=True)
class NeedFromOutcome:
    """One need an outcome turns into; where it is defaults to the community's centre."""

    title: str
    category: NeedCategory
    description: str = ""
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""
    urgency: int = 3


def _require(actor: Actor, community_id: int) -> None:
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators hold consultations")
    actor.require_scope(community_id)


def _text(p: Problems, value: str, field: str, max_length: int, *, required: bool) -> str:
    try:
        return clean_text(value, field, max_length=max_length, required=required)
    except Invalid as exc:
        p.items.extend(exc.problems)
        return ""


def _check_time(p: Problems, t: datetime, field: str, now: datetime) -> None:
    if not p.check(t.tzinfo is not None, field, "give the time with its offset"):
        return
    p.check(
        now - HELD_WINDOW <= t <= now + HELD_WINDOW,
        field,
        "the time must lie within a year of today",
    )


async def _exist(
    session: AsyncSession, model: Any, ids: Sequence[tuple[str, int]], what: str
) -> None:
    if not ids:
        return
    wanted = {i for _, i in ids}
    found = set(
        (await session.execute(select(model.id).where(col(model.id).in_(wanted)))).scalars()
    )
    for field, i in ids:
        if i not in found:
            raise NotFound(what, i, field=field)


async def _locked(session: AsyncSession, actor: Actor, consultation_id: int) -> Consultation:
    """The consultation, write-locked for the transaction, once role and scope are checked."""
    if not await lock_row(session, Consultation, consultation_id):
        raise NotFound("consultation", consultation_id, field="consultation_id")
    consultation = await get_current(
        session, Consultation, consultation_id, kind="consultation", field="consultation_id"
    )
    _require(actor, consultation.community_id)
    return consultation


async def create_consultation(
    *,
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    topic: str,
    held_at: datetime,
    parties: Sequence[Party] = (),
    now: datetime | None = None,
) -> Consultation:
    """A consultation on a topic in a community, with its parties (each named once)."""
    now = now_or(now)
    _require(actor, community_id)
    p = Problems()
    topic = _text(p, topic, "topic", TITLE_MAX, required=True)
    _check_time(p, held_at, "held_at", now)
    p.check(len(parties) <= PARTIES_MAX, "parties", f"at most {PARTIES_MAX} parties")
    names: set[str] = set()
    cleaned: list[Party] = []
    for i, party in enumerate(parties[:PARTIES_MAX]):
        name = _text(p, party.name, f"parties.{i}.name", 96, required=True)
        role = _text(p, party.role, f"parties.{i}.role", 32, required=False)
        p.check(name not in names, f"parties.{i}.name", "a party is named twice")
        names.add(name)
        cleaned.append(Party(name, role, party.person_id, party.unit_id))
    p.raise_if_any()
    if await session.get(Community, community_id) is None:
        raise NotFound("community", community_id, field="community_id")
    people = [(f"parties.{i}.person_id", x.person_id) for i, x in enumerate(cleaned) if x.person_id]
    units = [(f"parties.{i}.unit_id", x.unit_id) for i, x in enumerate(cleaned) if x.unit_id]
    await _exist(session, Person, people, "person")
    await _exist(session, PairedUnit, units, "paired unit")
    consultation = Consultation(
        community_id=community_id,
        topic=topic,
        held_at=held_at,
        created_by_account_id=actor.account_id,
    )
    session.add(consultation)
    await session.flush()
    assert consultation.id is not None
    session.add_all(
        ConsultationParty(consultation_id=consultation.id, **vars(party)) for party in cleaned
    )
    await session.flush()
    return consultation


async def record_session(
    *,
    session: AsyncSession,
    actor: Actor,
    consultation_id: int,
    held_at: datetime,
    attendees: int,
    place: str = "",
    minutes: str = "",
    now: datetime | None = None,
) -> Consultation:
    """A sitting: who came (the consultation counts the most at any one), where, the minutes.
    Refused once the outcome is recorded."""
    now = now_or(now)
    consultation = await _locked(session, actor, consultation_id)
    p = Problems()
    _check_time(p, held_at, "held_at", now)
    p.check(0 <= attendees <= ATTENDEES_MAX, "attendees", "attendees must be 0 or more")
    place = _text(p, place, "place", 200, required=False)
    minutes = _text(p, minutes, "minutes", MINUTES_MAX, required=False)
    p.raise_if_any()
    if consultation.concluded_at is not None:
        raise Invalid("consultation_id", "the outcome is recorded: the consultation is concluded")
    session.add(
        ConsultationSession(
            consultation_id=consultation_id,
            held_at=held_at,
            place=place,
            attendees=attendees,
            minutes=minutes,
            recorded_by_account_id=actor.account_id,
            recorded_at=now,
        )
    )
    values = {
        "participants": max(consultation.participants, attendees),
        "held_at": min(consultation.held_at, held_at),
    }
    return await versioned_update(
        session, Consultation, consultation_id, consultation.version, values, kind="consultation"
    )


async def record_outcome(
    *,
    session: AsyncSession,
    actor: Actor,
    consultation_id: int,
    outcome: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Consultation:
    """协商成果: what was agreed; concludes the consultation (a later call amends the text, and
    must name the version it read)."""
    now = now_or(now)
    consultation = await _locked(session, actor, consultation_id)
    version = check_version("consultation", consultation_id, consultation.version, expected_version)
    text = clean_text(outcome, "outcome", max_length=OUTCOME_MAX, required=True)
    values: dict[str, Any] = {"outcome": text}
    if consultation.concluded_at is None:
        values["concluded_at"] = now
    elif expected_version is None:
        raise Invalid(
            "expected_version",
            "the outcome is already recorded: pass the version you read to amend it",
        )
    return await versioned_update(
        session, Consultation, consultation_id, version, values, kind="consultation"
    )


async def settle_disputes(
    *,
    session: AsyncSession,
    actor: Actor,
    consultation_id: int,
    summaries: Sequence[str],
    now: datetime | None = None,
) -> Consultation:
    """化解矛盾: records each dispute the consultation settled; the county's figure counts them
    (`disputes_settled`, added in SQL, so offices settling at once both count)."""
    now = now_or(now)
    consultation = await _locked(session, actor, consultation_id)
    p = Problems()
    p.check(0 < len(summaries) <= DISPUTES_MAX, "summaries", f"1 to {DISPUTES_MAX} disputes")
    texts = [
        _text(p, s, f"summaries.{i}", 500, required=True)
        for i, s in enumerate(summaries[:DISPUTES_MAX])
    ]
    p.raise_if_any()
    session.add_all(
        SettledDispute(
            consultation_id=consultation_id,
            summary=text,
            settled_at=now,
            settled_by_account_id=actor.account_id,
        )
        for text in texts
    )
    values = {"disputes_settled": col(Consultation.disputes_settled) + len(texts)}
    return await versioned_update(
        session, Consultation, consultation_id, consultation.version, values, kind="consultation"
    )


async def needs_from_outcome(
    *,
    session: AsyncSession,
    actor: Actor,
    consultation_id: int,
    needs: Sequence[NeedFromOutcome],
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> list[Need]:
    """Turns a recorded outcome into needs (source: consultation), each linked to it and
    reported through the closed loop. With an idempotency key, sending the same list again
    answers with the needs made the first time."""
    now = now_or(now)
    consultation = await _locked(session, actor, consultation_id)
    p = Problems()
    p.check(0 < len(needs) <= NEEDS_MAX, "needs", f"1 to {NEEDS_MAX} needs")
    if idempotency_key is not None:
        p.check(
            0 < len(idempotency_key) <= KEY_MAX - 3,
            "idempotency_key",
            f"idempotency key must have 1 to {KEY_MAX - 3} characters",
        )
    for i, n in enumerate(needs):
        if n.latitude is not None or n.longitude is not None:
            why = await place_problem(
                session, n.latitude, n.longitude, community_id=consultation.community_id
            )
            p.check(why is None, f"needs.{i}.location", why or "")
    p.raise_if_any()
    if consultation.concluded_at is None:
        raise Invalid("consultation_id", "record the outcome first: needs come out of an outcome")
    community = await session.get(Community, consultation.community_id)
    assert community is not None  # a foreign key
    origin = LinkedOrigin(NeedSource.CONSULTATION, consultation_id=consultation_id)
    made: list[Need] = []
    for i, n in enumerate(needs):
        try:
            need = await report_need(
                session=session,
                actor=actor,
                title=n.title,
                category=n.category,
                latitude=community.latitude if n.latitude is None else n.latitude,
                longitude=community.longitude if n.longitude is None else n.longitude,
                description=n.description or consultation.topic,
                address=n.address,
                urgency=n.urgency,
                community_id=consultation.community_id,
                idempotency_key=None if idempotency_key is None else f"{idempotency_key}#{i}",
                origin=origin,
                now=now,
            )
        except Invalid as exc:  # name the need at fault: needs.2.title
            named: list[tuple[str | None, str]] = [
                (f"needs.{i}" + (f".{f}" if f else ""), m) for f, m in exc.problems
            ]
            raise Invalid(problems=named) from None
        made.append(need)
    # Bumped so that readers of the consultation see it changed; needs list it as theirs.
    await session.execute(
        sa.update(Consultation)
        .where(col(Consultation.id) == consultation_id)
        .values(version=col(Consultation.version) + 1)
    )
    return made
