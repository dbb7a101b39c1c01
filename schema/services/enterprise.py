"""The business weather station's loop (营商气象站): submit → assign a helper (小赣事), or a helper
claims it (抢单) → notes → resolve → rate. Same rules as needs: version-checked updates and an
event per change.

Who does what: an enterprise account submits and rates its own enterprise's requests; a helper
claims unassigned requests within their open-request limit and works the ones assigned to them;
coordinators assign in their area, the business office (营商办) county-wide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from schema.enterprise import Enterprise, EnterpriseRequest, EnterpriseRequestEvent
from schema.enums import (
    EnterpriseAction,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    PersonKind,
    Role,
)
from schema.people import Person
from schema.roles import ENTERPRISE_ASSIGNING_ROLES
from schema.services.common import (
    DESCRIPTION_MAX,
    KEY_MAX,
    NOTE_MAX,
    TITLE_MAX,
    Actor,
    Loop,
    body_hash,
    by_idempotency_key,
    check_rating,
    clean_text,
    get_current,
    insert_once,
    lock_row,
    now_or,
    record_event,
    step,
)
from schema.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    LimitReached,
    NotFound,
    Problems,
)
from schema.services.notify import notify_request_taken
from schema.sla import enterprise_deadline
from schema.workflow import OPEN_ENTERPRISE_STATUSES, next_enterprise_status


async def get_request(
    session: AsyncSession, request_id: int, *, field: str = "request_id"
) -> EnterpriseRequest:
    return await get_current(
        session, EnterpriseRequest, request_id, kind="enterprise request", field=field
    )


async def _community_of(session: AsyncSession, request: EnterpriseRequest) -> int | None:
    enterprise = await session.get(Enterprise, request.enterprise_id)
    return enterprise.community_id if enterprise else None


def _about(request: EnterpriseRequest) -> dict[str, Any]:
    return {"kind": "enterprise_request", "request_id": request.id}


_REQUESTS = Loop(
    kind="enterprise request",
    table=EnterpriseRequest,
    event_table=EnterpriseRequestEvent,
    row_key="request_id",
    next_status=next_enterprise_status,
    message_about=_about,
)


async def _by_key(
    session: AsyncSession, key: str, actor: Actor, digest: str
) -> EnterpriseRequest | None:
    return await by_idempotency_key(
        session, EnterpriseRequest, key, actor=actor, owner="submitted_by_account_id", digest=digest
    )


async def submit_enterprise_request(
    *,
    session: AsyncSession,
    actor: Actor,
    enterprise_id: int | None,
    kind: EnterpriseRequestKind,
    title: str,
    description: str = "",
    urgency: int = 3,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> EnterpriseRequest:
    """A new request from an enterprise; its deadline follows from its kind. An enterprise
    account submits for its own enterprise (`enterprise_id` may then be omitted)."""
    now = now_or(now)
    enterprise_id = _submitting_for(actor, enterprise_id)
    title, description = title.strip(), description.strip()
    digest = body_hash(
        enterprise_id=enterprise_id,
        kind=kind.value,
        title=title,
        description=description,
        urgency=urgency,
    )
    if idempotency_key is not None and 0 < len(idempotency_key) <= KEY_MAX:
        existing = await _by_key(session, idempotency_key, actor, digest)
        if existing is not None:
            return existing
    p = Problems()
    p.check(bool(title), "title", "title must not be empty")
    p.check(len(title) <= TITLE_MAX, "title", f"title is longer than {TITLE_MAX} characters")
    p.check(
        len(description) <= DESCRIPTION_MAX,
        "description",
        f"description is longer than {DESCRIPTION_MAX} characters",
    )
    p.check(1 <= urgency <= 5, "urgency", "urgency must be between 1 and 5")
    if idempotency_key is not None:
        p.check(
            0 < len(idempotency_key) <= KEY_MAX,
            "idempotency_key",
            f"idempotency key must have 1 to {KEY_MAX} characters",
        )
    p.raise_if_any()
    if await session.get(Enterprise, enterprise_id) is None:
        raise NotFound("enterprise", enterprise_id, field="enterprise_id")
    request = EnterpriseRequest(
        enterprise_id=enterprise_id,
        kind=kind,
        title=title,
        description=description,
        status=EnterpriseRequestStatus.SUBMITTED,
        urgency=urgency,
        submitted_by_account_id=actor.account_id,
        idempotency_key=idempotency_key,
        idempotency_hash=digest if idempotency_key is not None else None,
        submitted_at=now,
        deadline=enterprise_deadline(kind, now),
        updated_at=now,
    )
    request, inserted = await insert_once(
        session, request, idempotency_key, lambda key: _by_key(session, key, actor, digest)
    )
    if not inserted:
        return request
    record_event(session, _REQUESTS, request, EnterpriseAction.SUBMIT, None, actor, now)
    await session.flush()
    return request


def _submitting_for(actor: Actor, enterprise_id: int | None) -> int:
    """The enterprise a submission is for: an enterprise account's own, else the one named."""
    if actor.role is Role.ENTERPRISE:
        if actor.enterprise_id is None:
            raise Forbidden("this enterprise account is not linked to an enterprise")
        if enterprise_id is not None and enterprise_id != actor.enterprise_id:
            raise Forbidden(
                "an enterprise account submits requests for its own enterprise only",
                field="enterprise_id",
            )
        return actor.enterprise_id
    if enterprise_id is None:
        raise Invalid("enterprise_id", "name the enterprise the request is for")
    return enterprise_id


async def open_request_count(session: AsyncSession, helper_id: int) -> int:
    stmt = select(func.count()).where(
        col(EnterpriseRequest.helper_id) == helper_id,
        col(EnterpriseRequest.status).in_(list(OPEN_ENTERPRISE_STATUSES)),
    )
    return int((await session.execute(stmt)).scalar_one())


async def assign_enterprise_helper(
    *,
    session: AsyncSession,
    request_id: int,
    helper_id: int,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
    notify_helper: bool = True,
) -> EnterpriseRequest:
    """分派: an enterprise helper (小赣事) below their open-request limit takes the request. The
    helper is told (unless the caller tells them itself: a matching commit), the enterprise too."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    request = await get_request(session, request_id)
    if actor.role not in ENTERPRISE_ASSIGNING_ROLES:
        raise Forbidden(
            "only coordinators (in their area), the business office (营商办) and administrators "
            "assign helpers; a helper claims an unassigned request instead"
        )
    if not actor.in_scope(await _community_of(session, request)):
        raise Forbidden(
            "the enterprise is outside your area; the business office (营商办) assigns "
            "requests county-wide"
        )
    if request.helper_id == helper_id and request.status in OPEN_ENTERPRISE_STATUSES:
        raise Invalid("helper_id", "the request is already assigned to this helper")
    await _take_on(session, helper_id, field="helper_id", carries="the helper already carries")
    assigned = await step(
        session,
        _REQUESTS,
        request,
        action=EnterpriseAction.ASSIGN,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={"helper_id": helper_id, "assigned_at": now},
        note=note,
        data={"helper_id": helper_id, "from_helper_id": request.helper_id},
    )
    await notify_request_taken(
        session, request_id, assigned.version, helper_id, tell_helper=notify_helper, now=now
    )
    return assigned


async def _take_on(session: AsyncSession, helper_id: int, *, field: str, carries: str) -> Person:
    """The helper, checked to be one and below their open-request limit.

    Locks the helper's row first, so that two assignments or claims at once cannot both slip
    under the limit."""
    helper = await session.get(Person, helper_id)
    if helper is None:
        raise NotFound("person", helper_id, field=field)
    if helper.kind is not PersonKind.ENTERPRISE_HELPER:
        raise Invalid(field, "this person is not an enterprise helper (小赣事)")
    await lock_row(session, Person, helper_id)
    carrying = await open_request_count(session, helper_id)
    if carrying >= helper.max_open_requests:
        raise LimitReached(
            field,
            f"{carries} {carrying} open request{'' if carrying == 1 else 's'} "
            f"(limit {helper.max_open_requests}); resolve one first",
        )
    return helper


async def claim_enterprise_request(
    *,
    session: AsyncSession,
    request_id: int,
    actor: Actor,
    expected_version: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> EnterpriseRequest:
    """抢单: a helper takes an unassigned request for themself, within their open-request limit.

    Two helpers claiming the same request at once: the version-checked update lets one win; the
    other gets a Conflict naming what happened."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    if actor.role is not Role.ENTERPRISE_HELPER or actor.person_id is None:
        raise Forbidden(
            "only enterprise helpers (小赣事) claim requests; coordinators and the business "
            "office (营商办) assign them"
        )
    request = await get_request(session, request_id)
    if request.helper_id == actor.person_id and request.status in OPEN_ENTERPRISE_STATUSES:
        raise Invalid("request_id", "you already carry this request")
    if request.helper_id is not None or request.status is not EnterpriseRequestStatus.SUBMITTED:
        raise Conflict(
            "another helper already took this request; pick another unassigned one",
            field="request_id",
        )
    await _take_on(session, actor.person_id, field="request_id", carries="you already carry")
    try:
        claimed = await step(
            session,
            _REQUESTS,
            request,
            action=EnterpriseAction.CLAIM,
            expected_version=expected_version,
            actor=actor,
            now=now,
            values={"helper_id": actor.person_id, "assigned_at": now},
            note=note,
            data={"helper_id": actor.person_id},
        )
    except Conflict as lost:
        if expected_version is not None and expected_version != request.version:
            raise
        raise Conflict(
            "another helper claimed this request at the same moment; pick another one",
            field="request_id",
        ) from lost
    # The enterprise hears who took it; the helper took it themself and needs no notice.
    await notify_request_taken(
        session, request_id, claimed.version, actor.person_id, tell_helper=False, now=now
    )
    return claimed


def _is_helper(request: EnterpriseRequest, actor: Actor) -> bool:
    return actor.person_id is not None and request.helper_id == actor.person_id


async def _require_helper_or_coordinator(
    session: AsyncSession, request: EnterpriseRequest, actor: Actor
) -> None:
    if _is_helper(request, actor):
        return
    if actor.role in ENTERPRISE_ASSIGNING_ROLES and actor.in_scope(
        await _community_of(session, request)
    ):
        return
    raise Forbidden(
        "only the assigned helper, a coordinator of the area or the business office may do this"
    )


async def add_enterprise_request_note(
    *,
    session: AsyncSession,
    request_id: int,
    note: str,
    actor: Actor,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> EnterpriseRequest:
    """办理记录: the helper's first note puts the request in progress; a coordinator's note is
    recorded without moving it."""
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=True)
    request = await get_request(session, request_id)
    await _require_helper_or_coordinator(session, request, actor)
    return await step(
        session,
        _REQUESTS,
        request,
        action=EnterpriseAction.NOTE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        note=note,
        keep_status=not _is_helper(request, actor),
    )


async def resolve_enterprise_request(
    *,
    session: AsyncSession,
    request_id: int,
    actor: Actor,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> EnterpriseRequest:
    now = now_or(now)
    note = clean_text(note, "note", max_length=NOTE_MAX, required=False)
    request = await get_request(session, request_id)
    await _require_helper_or_coordinator(session, request, actor)
    return await step(
        session,
        _REQUESTS,
        request,
        action=EnterpriseAction.RESOLVE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={"resolved_at": now},
        note=note,
        data={"on_time": now <= request.deadline},
    )


async def rate_enterprise_request(
    *,
    session: AsyncSession,
    request_id: int,
    actor: Actor,
    satisfaction: int,
    comment: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> EnterpriseRequest:
    """The enterprise's rating (1–5) closes the request. The 营商气象站 is where enterprises
    speak: only the enterprise's own account rates, never the helper who did the work nor the
    staff who assigned it."""
    now = now_or(now)
    comment = check_rating(satisfaction, comment)
    request = await get_request(session, request_id)
    if actor.role is not Role.ENTERPRISE or actor.enterprise_id != request.enterprise_id:
        raise Forbidden(
            "only the enterprise that brought this request rates it, through its enterprise "
            "account; helpers, coordinators and the business office cannot"
        )
    return await step(
        session,
        _REQUESTS,
        request,
        action=EnterpriseAction.RATE,
        expected_version=expected_version,
        actor=actor,
        now=now,
        values={"satisfaction": satisfaction, "rating_comment": comment, "closed_at": now},
        note=comment,
        data={"satisfaction": satisfaction},
    )


__all__ = [
    "add_enterprise_request_note",
    "assign_enterprise_helper",
    "claim_enterprise_request",
    "get_request",
    "open_request_count",
    "rate_enterprise_request",
    "resolve_enterprise_request",
    "submit_enterprise_request",
]
