"""The business weather station (营商气象站): enterprises, their requests and request history."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from sqlmodel import col
from strawberry.scalars import JSON

from api.auth.permissions import can
from api.auth.privacy import mask_name, mask_phone, viewer
from api.graphql.context import Info
from api.graphql.enums import EnterpriseAction, EnterpriseRequestKind, EnterpriseRequestStatus
from api.graphql.lists import MaxItems
from api.graphql.relay import Node, RowType, ToOne, frozen, load_children, load_one, register_node
from api.graphql.type_refs import CommunityT, PersonT
from schema import models as m
from schema.disclosure import sees_enterprise_contact
from schema.sla import enterprise_overdue
from schema.workflow import ENTERPRISE_TRANSITIONS


@strawberry.type(description="An enterprise served by the business weather station.")
class Enterprise(RowType, Node):
    __model__ = m.Enterprise
    __node_name__ = "Enterprise"
    __needs__ = frozen(
        {
            "community": ("community_id",),
            "contact_phone": ("contact_phone", "community_id"),
            "contact_name": ("contact_name", "community_id"),
        }
    )

    name: str = strawberry.field(description="Registered name.")
    credit_code: str = strawberry.field(
        description="Unified social credit code (统一社会信用代码)."
    )
    industry: str = strawberry.field(description="Industry.")
    latitude: float = strawberry.field(description="Latitude.")
    longitude: float = strawberry.field(description="Longitude.")
    community_id: strawberry.Private[int | None]

    def _private(self, info: Info) -> bool:
        return sees_enterprise_contact(viewer(info), self.community_id, self.pk)

    @strawberry.field(description="Contact person; masked (张**) unless you may see it.")
    def contact_name(self, info: Info) -> str:
        raw: str = self.__dict__["contact_name"]
        return raw if self._private(info) else (mask_name(raw) or "")

    @strawberry.field(description="Contact phone; masked unless you may see it.")
    def contact_phone(self, info: Info) -> str | None:
        raw: str | None = self.__dict__["contact_phone"]
        return raw if self._private(info) else mask_phone(raw)

    @strawberry.field(description="The community it is in, if known.")
    async def community(self, info: Info) -> CommunityT | None:
        return await load_one(info, CommunityT, self.community_id)

    @strawberry.field(
        description="Its requests you may see, latest first (an enterprise account: its own "
        "enterprise's only).",
        permission_classes=can("enterprise.read"),
        extensions=[MaxItems(200)],
    )
    async def requests(self, info: Info) -> list[EnterpriseRequest]:
        return await load_children(
            info,
            EnterpriseRequest,
            "enterprise_id",
            self.pk,
            order_by=[col(m.EnterpriseRequest.submitted_at).desc()],
        )


class _RequestAttributes:
    """Relations and derived values read as plain attributes (see relay.ToOne)."""

    enterprise = ToOne(Enterprise, "enterprise_id")

    @property
    def overdue(self) -> bool:
        d = self.__dict__
        return enterprise_overdue(status=d["status"], deadline=d["deadline"], now=datetime.now(UTC))

    @property
    def resolved_on_time(self) -> bool | None:
        d = self.__dict__
        return None if d["resolved_at"] is None else d["resolved_at"] <= d["deadline"]

    @property
    def allowed_actions(self) -> list[EnterpriseAction]:
        status = self.__dict__["status"]
        return [a for a, (sources, _) in ENTERPRISE_TRANSITIONS.items() if status in sources]


@strawberry.type(
    description="An enterprise's request (营商气象站诉求), carried to resolution by a helper "
    "(小赣事)."
)
class EnterpriseRequest(RowType, _RequestAttributes, Node):
    __model__ = m.EnterpriseRequest
    __node_name__ = "EnterpriseRequest"
    __joins__ = frozen({"enterprise": (Enterprise, "enterprise_id")})
    __needs__ = frozen(
        {
            "enterprise": ("enterprise_id",),
            "helper": ("helper_id",),
            "overdue": ("status", "deadline"),
            "allowed_actions": ("status",),
            "resolved_on_time": ("deadline", "resolved_at"),
        }
    )

    kind: EnterpriseRequestKind = strawberry.field(description="What it is about.")
    title: str = strawberry.field(description="Short title.")
    description: str = strawberry.field(description="What the enterprise asked.")
    status: EnterpriseRequestStatus = strawberry.field(description="Where it is in its loop.")
    urgency: int = strawberry.field(description="Urgency, 1 (low) to 5 (highest).")
    submitted_at: datetime = strawberry.field(description="When it was submitted.")
    assigned_at: datetime | None = strawberry.field(
        description="When a helper was (last) assigned (UTC)."
    )
    deadline: datetime = strawberry.field(
        description="When it must be resolved: submission + the kind's working time (UTC)."
    )
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    closed_at: datetime | None = strawberry.field(description="When it was closed.")
    satisfaction: int | None = strawberry.field(
        description="The enterprise's rating, 1 to 5 (4 and 5 count as satisfied)."
    )
    rating_comment: str = strawberry.field(description="The enterprise's comment.")
    version: int = strawberry.field(
        description="Optimistic-lock version; mutations pass it back to refuse stale writes."
    )
    updated_at: datetime = strawberry.field(description="Last change.")
    enterprise_id: strawberry.Private[int]
    helper_id: strawberry.Private[int | None]

    enterprise: Enterprise = strawberry.field(description="The enterprise.")

    @strawberry.field(description="The assigned helper (小赣事), if any.")
    async def helper(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self.helper_id)

    overdue: bool = strawberry.field(description="Past its deadline while still open.")
    resolved_on_time: bool | None = strawberry.field(
        description="Resolved by its deadline (null: not yet resolved)."
    )
    allowed_actions: list[EnterpriseAction] = strawberry.field(
        description="Actions its status allows next."
    )

    @strawberry.field(description="Its history, oldest first.", extensions=[MaxItems(200)])
    async def events(self, info: Info) -> list[EnterpriseRequestEvent]:
        e = m.EnterpriseRequestEvent
        return await load_children(
            info, EnterpriseRequestEvent, "request_id", self.pk, order_by=[e.at, e.id]
        )


# Steps the enterprise's contact takes themself: their events carry the contact's name.
_CONTACT_ACTIONS = frozenset({EnterpriseAction.SUBMIT, EnterpriseAction.RATE})


@strawberry.type(description="One step of an enterprise request's life.")
class EnterpriseRequestEvent(RowType, Node):
    __model__ = m.EnterpriseRequestEvent
    __node_name__ = "EnterpriseRequestEvent"
    __needs__ = frozen({"actor_name": ("actor_name", "action", "request_id")})

    action: EnterpriseAction = strawberry.field(description="What was done.")
    from_status: EnterpriseRequestStatus | None = strawberry.field(
        description="Status before the step."
    )
    to_status: EnterpriseRequestStatus = strawberry.field(description="Status after the step.")
    note: str = strawberry.field(description="What was done or said.")
    data: JSON = strawberry.field(description="Details of the step.")
    at: datetime = strawberry.field(description="When.")
    request_id: strawberry.Private[int]

    @strawberry.field(
        description="Who did it; the enterprise contact's own steps (submit, rate) show the "
        "name masked (张**) like `Enterprise.contactName`, unless you may see the contact."
    )
    async def actor_name(self, info: Info) -> str:
        raw: str = self.__dict__["actor_name"]
        if self.__dict__["action"] not in _CONTACT_ACTIONS:
            return raw
        request = await load_one(info, EnterpriseRequest, self.request_id)
        if request is None:
            return mask_name(raw) or ""
        enterprise = await load_one(info, Enterprise, request.enterprise_id)
        if enterprise is not None and enterprise._private(info):
            return raw
        return mask_name(raw) or ""

    @strawberry.field(description="The request.")
    async def request(self, info: Info) -> EnterpriseRequest:
        return await load_one(info, EnterpriseRequest, self.request_id)


register_node(Enterprise, "reference.read")
register_node(EnterpriseRequest, "enterprise.read")
register_node(EnterpriseRequestEvent, "enterprise.read")
