"""Root fields for enterprises and their requests (营商气象站)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enterprise.types import Enterprise, EnterpriseRequest
from api.graphql.enums import EnterpriseRequestKind, EnterpriseRequestStatus
from api.graphql.relay import (
    OrderDirection,
    Ordering,
    PageQuery,
    RowsPage,
    SortKey,
    connection_field,
    decode_id,
    load_one,
    ordering,
)
from schema import models as m
from schema.sla import enterprise_overdue_clause
from schema.workflow import OPEN_ENTERPRISE_STATUSES

R = m.EnterpriseRequest


@strawberry.enum(description="What to sort enterprise requests by (then by ID).")
class EnterpriseRequestOrderField(enum.Enum):
    _value_: str  # for mypy: @strawberry.enum unwraps each enum_value to its str
    SUBMITTED_AT = strawberry.enum_value("SUBMITTED_AT", description="Submission time.")
    DEADLINE = strawberry.enum_value("DEADLINE", description="Deadline.")
    URGENCY = strawberry.enum_value("URGENCY", description="Urgency, then deadline.")


_SORT_KEYS: dict[EnterpriseRequestOrderField, tuple[SortKey, ...]] = {
    EnterpriseRequestOrderField.SUBMITTED_AT: (SortKey(R.submitted_at, "dt"),),
    EnterpriseRequestOrderField.DEADLINE: (SortKey(R.deadline, "dt"),),
    EnterpriseRequestOrderField.URGENCY: (SortKey(R.urgency, "int"), SortKey(R.deadline, "dt")),
}


@strawberry.input(description="How to sort enterprise requests.")
class EnterpriseRequestOrder:
    field: EnterpriseRequestOrderField = strawberry.field(
        default=EnterpriseRequestOrderField.SUBMITTED_AT, description="What to sort by."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Which way."
    )


@strawberry.input(description="Which enterprise requests to list: every condition must hold.")
class EnterpriseRequestFilter:
    status: list[EnterpriseRequestStatus] | None = strawberry.field(
        default=None, description="In these statuses."
    )
    open: bool | None = strawberry.field(
        default=None, description="Still open (submitted, assigned, in progress), or not."
    )
    kind: list[EnterpriseRequestKind] | None = strawberry.field(
        default=None, description="Of these kinds."
    )
    helper: strawberry.ID | None = strawberry.field(
        default=None, description="Assigned to this helper (Person ID)."
    )
    assigned: bool | None = strawberry.field(
        default=None,
        description="Carried by a helper (true), or by nobody yet (false: with `open: true`, "
        "the requests a helper may claim).",
    )
    enterprise: strawberry.ID | None = strawberry.field(
        default=None, description="From this enterprise (ID)."
    )
    overdue: bool | None = strawberry.field(
        default=None, description="Past the deadline while open (true), or not (false)."
    )


def request_conditions(f: EnterpriseRequestFilter | None) -> list[Any]:
    if f is None:
        return []
    where: list[Any] = []
    is_open = col(R.status).in_(OPEN_ENTERPRISE_STATUSES)
    if f.status:
        where.append(col(R.status).in_(f.status))
    if f.open is not None:
        where.append(is_open if f.open else ~is_open)
    if f.kind:
        where.append(col(R.kind).in_(f.kind))
    if f.helper is not None:
        where.append(R.helper_id == decode_id(f.helper, "Person"))
    if f.assigned is not None:
        where.append(col(R.helper_id).is_not(None) if f.assigned else col(R.helper_id).is_(None))
    if f.enterprise is not None:
        where.append(R.enterprise_id == decode_id(f.enterprise, "Enterprise"))
    if f.overdue is not None:
        late = enterprise_overdue_clause(datetime.now(UTC))
        where.append(late if f.overdue else ~late)
    return where


@strawberry.type
class EnterpriseQuery:
    @connection_field(
        EnterpriseRequest,
        description="Enterprise requests (营商气象站诉求), newest first by default; an "
        "enterprise account lists its own enterprise's requests.",
        permission_classes=can("enterprise.read"),
    )
    async def enterprise_requests(
        self,
        info: Info,
        filter: Annotated[
            EnterpriseRequestFilter | None, strawberry.argument(description="Which ones.")
        ] = None,
        order_by: Annotated[
            EnterpriseRequestOrder | None, strawberry.argument(description="Sort order.")
        ] = None,
    ) -> PageQuery:
        order = order_by or EnterpriseRequestOrder()
        return RowsPage(
            EnterpriseRequest,
            ordering(order.field.value, _SORT_KEYS[order.field], R.id, order.direction),
            request_conditions(filter),
        )

    @strawberry.field(
        description="One enterprise request by ID.",
        permission_classes=can("enterprise.read"),
    )
    async def enterprise_request(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> EnterpriseRequest | None:
        # The row rule (`schema.visibility`): an enterprise follows its own requests only.
        return await load_one(info, EnterpriseRequest, decode_id(id, "EnterpriseRequest"))

    @connection_field(
        Enterprise,
        description="Enterprises served by the weather station, by name.",
        permission_classes=can("reference.read"),
    )
    async def enterprises(
        self,
        name_contains: Annotated[
            str | None, strawberry.argument(description="Name contains this text.")
        ] = None,
    ) -> PageQuery:
        e = m.Enterprise
        where = [col(e.name).contains(name_contains, autoescape=True)] if name_contains else []
        return RowsPage(Enterprise, Ordering("NAME", (SortKey(e.name, "str"),), e.id), where)
