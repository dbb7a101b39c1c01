"""The business weather station's loop (营商气象站): submit a request, assign a helper (小赣事)
or claim it as one (抢单), record notes, resolve, rate. Each answers
`{ enterpriseRequest, userErrors }`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enterprise.types import EnterpriseRequest
from api.graphql.enums import EnterpriseRequestKind
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.writes import actor_of, pk, write, write_on
from schema.models import EnterpriseRequest as RequestRow
from schema.services import enterprise as svc

REQUEST_ID = "The enterprise request's ID."
EXPECTED_VERSION = (
    "The `version` you read; when it is no longer current the mutation changes nothing and "
    "answers CONFLICT. Omit it to act on whatever version is current."
)


@strawberry.input(description="A request an enterprise brings to the business weather station.")
class SubmitEnterpriseRequestInput:
    enterprise_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The enterprise; an enterprise account may omit it (its own enterprise).",
    )
    kind: EnterpriseRequestKind = strawberry.field(
        description="What it is about; sets the deadline."
    )
    title: str = strawberry.field(description="Short title, 1–200 characters.")
    description: str = strawberry.field(default="", description="Details, up to 5000 chars.")
    urgency: int = strawberry.field(default=3, description="Urgency, 1 (low) to 5 (highest).")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="A key the client makes up (1–64 characters): submitting again with it "
        "returns the first request.",
    )


@strawberry.input(description="分派: give the request to an enterprise helper (小赣事).")
class AssignEnterpriseHelperInput:
    request_id: strawberry.ID = strawberry.field(description=REQUEST_ID)
    helper_id: strawberry.ID = strawberry.field(
        description="The helper (a person of kind ENTERPRISE_HELPER below their load limit)."
    )
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    note: str = strawberry.field(default="", description="A note for the log.")


@strawberry.input(description="抢单: take an unassigned request yourself (enterprise helpers).")
class ClaimEnterpriseRequestInput:
    request_id: strawberry.ID = strawberry.field(description=REQUEST_ID)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    note: str = strawberry.field(default="", description="A note for the log.")


@strawberry.input(description="办理记录: what was done; the helper's first note starts the work.")
class AddEnterpriseRequestNoteInput:
    request_id: strawberry.ID = strawberry.field(description=REQUEST_ID)
    note: str = strawberry.field(description="The note (required), up to 1000 characters.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)


@strawberry.input(description="办结: the request is resolved.")
class ResolveEnterpriseRequestInput:
    request_id: strawberry.ID = strawberry.field(description=REQUEST_ID)
    note: str = strawberry.field(default="", description="How it was resolved.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)


@strawberry.input(description="评价: the enterprise's rating of the result; closes the request.")
class RateEnterpriseRequestInput:
    request_id: strawberry.ID = strawberry.field(description=REQUEST_ID)
    satisfaction: int = strawberry.field(description="1 (very dissatisfied) to 5 (very satisfied).")
    comment: str = strawberry.field(default="", description="A comment, up to 500 characters.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)


@strawberry.type(description="The enterprise request a mutation changed, or why it did not.")
class EnterpriseRequestPayload:
    enterprise_request: EnterpriseRequest | None = strawberry.field(
        description="The request as it is now; null on error."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).",
        extensions=[MaxItems(100)],
    )


def _payload(row: RequestRow | None, errors: list[UserError]) -> EnterpriseRequestPayload:
    obj = EnterpriseRequest.from_row(row) if row is not None else None
    return EnterpriseRequestPayload(enterprise_request=obj, user_errors=errors)


def _request_pk(value: strawberry.ID) -> int:
    return pk(value, "EnterpriseRequest", "request_id")


class _RequestStep(Protocol):
    request_id: strawberry.ID
    expected_version: int | None


async def _on_request(
    info: Info,
    service: Callable[..., Awaitable[RequestRow]],
    input: _RequestStep,
    **arguments: Any,
) -> EnterpriseRequestPayload:
    """A step by the caller on the enterprise request `input` names, from the version it read."""
    step = await write_on(
        info,
        service,
        "request_id",
        input.request_id,
        "EnterpriseRequest",
        expected_version=input.expected_version,
        **arguments,
    )
    return _payload(*step)


Input = strawberry.argument(description="The mutation's input.")


@strawberry.type
class EnterpriseMutation:
    @strawberry.mutation(
        description="Submit an enterprise request; its deadline follows from its kind.",
        permission_classes=can("enterprise.submit"),
    )
    async def submit_enterprise_request(
        self, info: Info, input: Annotated[SubmitEnterpriseRequestInput, Input]
    ) -> EnterpriseRequestPayload:
        async def work(session: AsyncSession) -> RequestRow:
            return await svc.submit_enterprise_request(
                session=session,
                actor=actor_of(info),
                enterprise_id=None
                if input.enterprise_id is None
                else pk(input.enterprise_id, "Enterprise", "enterprise_id"),
                kind=input.kind,
                title=input.title,
                description=input.description,
                urgency=input.urgency,
                idempotency_key=input.idempotency_key,
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="分派: assign (or reassign) an enterprise helper (小赣事): coordinators in "
        "their area, the business office (营商办) county-wide; refused with CAPACITY_REACHED "
        "when the helper carries as many open requests as they may.",
        permission_classes=can("enterprise.assign"),
    )
    async def assign_enterprise_helper(
        self, info: Info, input: Annotated[AssignEnterpriseHelperInput, Input]
    ) -> EnterpriseRequestPayload:
        async def work(session: AsyncSession) -> RequestRow:
            return await svc.assign_enterprise_helper(
                session=session,
                request_id=_request_pk(input.request_id),
                helper_id=pk(input.helper_id, "Person", "helper_id"),
                expected_version=input.expected_version,
                actor=actor_of(info),
                note=input.note,
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="抢单: an enterprise helper (小赣事) takes an unassigned request for "
        "themself. Refused with CAPACITY_REACHED at their open-request limit, and with CONFLICT "
        "when another helper took it first (two at once: one wins).",
        permission_classes=can("enterprise.claim"),
    )
    async def claim_enterprise_request(
        self, info: Info, input: Annotated[ClaimEnterpriseRequestInput, Input]
    ) -> EnterpriseRequestPayload:
        return await _on_request(info, svc.claim_enterprise_request, input, note=input.note)

    @strawberry.mutation(
        description="办理记录: the assigned helper (or a coordinator) records progress.",
        permission_classes=can("enterprise.note"),
    )
    async def add_enterprise_request_note(
        self, info: Info, input: Annotated[AddEnterpriseRequestNoteInput, Input]
    ) -> EnterpriseRequestPayload:
        return await _on_request(info, svc.add_enterprise_request_note, input, note=input.note)

    @strawberry.mutation(
        description="办结: the assigned helper (or a coordinator) resolves the request.",
        permission_classes=can("enterprise.resolve"),
    )
    async def resolve_enterprise_request(
        self, info: Info, input: Annotated[ResolveEnterpriseRequestInput, Input]
    ) -> EnterpriseRequestPayload:
        return await _on_request(info, svc.resolve_enterprise_request, input, note=input.note)

    @strawberry.mutation(
        description="评价: the enterprise rates the result (1–5) through its own account; the "
        "request is closed. Helpers and staff are refused (FORBIDDEN userError).",
        permission_classes=can("enterprise.rate"),
    )
    async def rate_enterprise_request(
        self, info: Info, input: Annotated[RateEnterpriseRequestInput, Input]
    ) -> EnterpriseRequestPayload:
        return await _on_request(
            info,
            svc.rate_enterprise_request,
            input,
            satisfaction=input.satisfaction,
            comment=input.comment,
        )
