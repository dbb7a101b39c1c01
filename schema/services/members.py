"""In-service party members (在职党员下沉报到) and 三亮三比·双定双述.

- 下沉报到: a coordinator of the community where the member lives registers them, from a
  shared-registry record (一表同享), an existing person, or by hand (name, ID number checked by
  GB 11643, phone), with their unit (结对共建 employer) and duties (双定: post and
  responsibility). A person registers once; the ID number is the natural key, so two offices
  registering the same person at once get one registration (the other: CONFLICT, nothing kept).
- 双述: the member (or a coordinator of their community on their behalf) reports once a period;
  the report carries the service minutes logged so far (比作为).
- 双向评议: the community's coordinator scores the member (0–100) once a period, after the
  member has reported; the member scores their community once a period.
Who reads them: `schema.visibility` (the member, their community's staff, their unit's people,
county-level staff); comments and evaluators' names: `schema.disclosure`.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from schema.activities import SignUp
from schema.areas import Community
from schema.enums import EvaluationDirection, PersonKind
from schema.in_service import (
    COMMENT_MAX,
    PERIOD_PATTERN,
    POST_MAX,
    REPORT_MAX,
    RESPONSIBILITY_MAX,
    InServiceMember,
    MemberEvaluation,
    MemberReport,
)
from schema.people import Person
from schema.registry import RegistryKind, RegistryRecord
from schema.registry_rules import id_number_problem, phone_problem
from schema.services.common import Actor, clean_text, now_or
from schema.services.errors import Conflict, Forbidden, Invalid, NotFound, Problems
from schema.units import PairedUnit

NAME_MAX = 32
_PERIOD = re.compile(PERIOD_PATTERN)


async def _insert(session: AsyncSession, row: SQLModel, message: str, field: str) -> None:
    """Inserts in a savepoint; a unique key taken meanwhile (another office) is a Conflict."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise Conflict(message, field=field) from None


async def _person_for(
    session: AsyncSession,
    *,
    community: Community,
    person_id: int | None,
    registry_record_id: int | None,
    name: str | None,
    id_number: str | None,
    phone: str | None,
) -> tuple[Person, int | None]:
    """The person to register (found or created) and the registry record it came from."""
    sources = [person_id is not None, registry_record_id is not None, bool(name or id_number)]
    if sum(sources) != 1:
        raise Invalid(
            "person_id", "give one of: a person, a registry record, or name and ID number"
        )
    if person_id is not None:
        person = await session.get(Person, person_id)
        if person is None:
            raise NotFound("person", person_id, field="person_id")
        return person, None
    if registry_record_id is not None:
        record = await session.get(RegistryRecord, registry_record_id)
        if record is None or record.kind != RegistryKind.PERSON.value:
            raise NotFound("registry person", registry_record_id, field="registry_record_id")
        name, id_number, phone = record.name, record.natural_key, record.phone
        place = (record.latitude, record.longitude)
    else:
        problems = Problems()
        name = clean_text(name, "name", max_length=NAME_MAX, required=True)
        id_number = (id_number or "").strip().upper()
        problems.check(bool(id_number), "id_number", "the ID number is required")
        bad_id = id_number_problem(id_number) if id_number else None
        if bad_id:
            problems.add("id_number", bad_id)
        phone = (phone or "").strip() or None
        bad_phone = phone_problem(phone) if phone else None
        if bad_phone:
            problems.add("phone", bad_phone)
        problems.raise_if_any()
        place = (None, None)
    existing = (
        (await session.execute(select(Person).where(col(Person.id_number) == id_number)))
        .scalars()
        .first()
    )
    if existing is not None:
        return existing, registry_record_id
    latitude, longitude = place
    if latitude is None or longitude is None:  # no home point given: the community's
        latitude, longitude = community.latitude, community.longitude
    person = Person(
        name=name[:NAME_MAX],
        kind=PersonKind.PARTY_MEMBER,
        is_party_member=True,
        phone=phone,
        id_number=id_number,
        latitude=latitude,
        longitude=longitude,
    )
    session.add(person)
    await session.flush()
    return person, registry_record_id


async def register_member(
    *,
    session: AsyncSession,
    actor: Actor,
    community_id: int,
    unit_id: int,
    post: str,
    responsibility: str,
    person_id: int | None = None,
    registry_record_id: int | None = None,
    name: str | None = None,
    id_number: str | None = None,
    phone: str | None = None,
    now: datetime | None = None,
) -> InServiceMember:
    """下沉报到: registers a member with the community where they live."""
    now = now_or(now)
    if not actor.is_coordination:
        raise Forbidden("only coordinators and administrators register in-service members")
    post = clean_text(post, "post", max_length=POST_MAX, required=True)
    responsibility = clean_text(
        responsibility, "responsibility", max_length=RESPONSIBILITY_MAX, required=True
    )
    community = await session.get(Community, community_id)
    if community is None:
        raise NotFound("community", community_id, field="community_id")
    actor.require_scope(community_id)
    if await session.get(PairedUnit, unit_id) is None:
        raise NotFound("paired unit", unit_id, field="unit_id")
    person, record_id = await _person_for(
        session,
        community=community,
        person_id=person_id,
        registry_record_id=registry_record_id,
        name=name,
        id_number=id_number,
        phone=phone,
    )
    assert person.id is not None
    registered = (
        await session.execute(
            select(InServiceMember).where(col(InServiceMember.person_id) == person.id)
        )
    ).scalar_one_or_none()
    if registered is not None:
        raise Conflict("this member is registered already", field="person_id")
    await session.execute(
        sa.update(Person)
        .where(col(Person.id) == person.id)
        .values(
            registered_community_id=community_id,
            employer_unit_id=unit_id,
            is_party_member=True,
            kind=PersonKind.PARTY_MEMBER if person.kind is PersonKind.RESIDENT else person.kind,
        )
        .execution_options(synchronize_session=False)
    )
    member = InServiceMember(
        person_id=person.id,
        community_id=community_id,
        unit_id=unit_id,
        id_number=person.id_number,
        post=post,
        responsibility=responsibility,
        registry_record_id=record_id,
        registered_by_account_id=actor.account_id,
        registered_at=now,
    )
    await _insert(session, member, "this member was registered at the same moment", "person_id")
    return member


def _check_period(period: str) -> str:
    period = period.strip().upper()
    if not _PERIOD.match(period):
        raise Invalid(
            "period", "a period is a year, half, quarter or month: 2026, 2026-H2, 2026-Q4, 2026-11"
        )
    return period


async def _member(session: AsyncSession, member_id: int) -> InServiceMember:
    member = await session.get(InServiceMember, member_id)
    if member is None:
        raise NotFound("in-service member", member_id, field="member_id")
    return member


async def submit_report(
    *,
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    period: str,
    summary: str,
    now: datetime | None = None,
) -> MemberReport:
    """双述: the member's report for a period (once)."""
    now = now_or(now)
    period = _check_period(period)
    summary = clean_text(summary, "summary", max_length=REPORT_MAX, required=True)
    member = await _member(session, member_id)
    own = actor.person_id is not None and actor.person_id == member.person_id
    if not own and not (actor.is_coordination and actor.in_scope(member.community_id)):
        raise Forbidden("only the member, or a coordinator of their community, reports")
    minutes = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(col(SignUp.minutes)), 0)).where(
            col(SignUp.person_id) == member.person_id
        )
    )
    report = MemberReport(
        member_id=member_id,
        period=period,
        summary=summary,
        service_minutes=int(minutes or 0),
        submitted_by_account_id=actor.account_id,
        submitted_at=now,
    )
    await _insert(session, report, f"the report for {period} was submitted already", "period")
    return report


def _check_score(score: int, comment: str | None) -> str:
    if not 0 <= score <= 100:
        raise Invalid("score", "a score is 0 to 100")
    return clean_text(comment, "comment", max_length=COMMENT_MAX, required=False)


async def evaluate_member(
    *,
    session: AsyncSession,
    actor: Actor,
    member_id: int,
    period: str,
    score: int,
    comment: str = "",
    now: datetime | None = None,
) -> MemberEvaluation:
    """社区评党员: the community's score for the member's period, once they have reported."""
    now = now_or(now)
    period = _check_period(period)
    comment = _check_score(score, comment)
    member = await _member(session, member_id)
    if not actor.is_coordination:
        raise Forbidden("the member's community evaluates them")
    actor.require_scope(member.community_id)
    reported = await session.scalar(
        sa.select(sa.func.count()).where(
            col(MemberReport.member_id) == member_id, col(MemberReport.period) == period
        )
    )
    if not reported:
        raise Invalid("period", f"the member has not reported for {period} yet (双述 first)")
    return await _evaluation(
        session,
        member,
        period,
        EvaluationDirection.COMMUNITY_RATES_MEMBER,
        score,
        comment,
        actor,
        now,
    )


async def evaluate_community(
    *,
    session: AsyncSession,
    actor: Actor,
    period: str,
    score: int,
    comment: str = "",
    now: datetime | None = None,
) -> MemberEvaluation:
    """党员评社区: a member's score for the community they registered with."""
    now = now_or(now)
    period = _check_period(period)
    comment = _check_score(score, comment)
    member = None
    if actor.person_id is not None:
        member = (
            await session.execute(
                select(InServiceMember).where(col(InServiceMember.person_id) == actor.person_id)
            )
        ).scalar_one_or_none()
    if member is None:
        raise Forbidden("only registered in-service members evaluate their community")
    return await _evaluation(
        session,
        member,
        period,
        EvaluationDirection.MEMBER_RATES_COMMUNITY,
        score,
        comment,
        actor,
        now,
    )


async def _evaluation(
    session: AsyncSession,
    member: InServiceMember,
    period: str,
    direction: EvaluationDirection,
    score: int,
    comment: str,
    actor: Actor,
    now: datetime,
) -> MemberEvaluation:
    assert member.id is not None
    row = MemberEvaluation(
        member_id=member.id,
        community_id=member.community_id,
        period=period,
        direction=direction,
        score=score,
        comment=comment,
        by_account_id=actor.account_id,
        by_name=actor.name,
        at=now,
    )
    await _insert(session, row, f"the evaluation for {period} was given already", "period")
    return row
