"""The domain's enums exposed to GraphQL, once, with each value's Chinese label as description.

Import the enums from here (or from `schema.enums`, they are the same classes): registering is
done once at import time so that every feature module shares one GraphQL enum per domain enum.
"""

from __future__ import annotations

import strawberry

from schema.base import LabelledEnum
from schema.enums import (
    AccountScope,
    ActivityStatus,
    AreaKind,
    AreaMode,
    EnterpriseAction,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    EvaluationDirection,
    GridKind,
    GridRole,
    JobStatus,
    NeedAction,
    NeedCategory,
    NeedKind,
    NeedSource,
    NeedStatus,
    NeedTier,
    OfferDecline,
    OfferStatus,
    PersonKind,
    ProposalKind,
    ProposalStatus,
    ResourceKind,
    Role,
    ServiceLevel,
    SignUpStatus,
    TeamKind,
    TravelMode,
    UnitKind,
    VenueKind,
)

_DESCRIPTIONS: dict[type[LabelledEnum], str] = {
    AreaKind: "Kind of area: urban community (城市社区) or village (村).",
    AreaMode: "Normal or emergency mode of an area (平急转换).",
    GridKind: "Urban or rural grid (网格).",
    GridRole: "A grid worker's role (网格长/专职/兼职网格员).",
    VenueKind: "Kind of venue: service station, village venue, elder-care site, centre.",
    UnitKind: "Kind of paired unit (结对共建单位).",
    ResourceKind: "Kind of resource a unit or venue lends.",
    PersonKind: "What a person is to the county's governance.",
    TravelMode: "How a person travels to serve.",
    TeamKind: "Kind of volunteer team.",
    NeedSource: "Where a need came from (吹哨, 12345, 前哨点 …).",
    NeedCategory: "What a need is about.",
    NeedTier: 'The "1341" response tier of a need.',
    NeedKind: "How a need's deadlines run: the 1341 clock from dispatch (response) or a slot "
    "booked inside its service window (scheduled).",
    NeedStatus: "Where a need is in the closed loop (闭环).",
    NeedAction: "A step of the closed loop.",
    EnterpriseRequestKind: "What an enterprise request is about.",
    EnterpriseRequestStatus: "Where an enterprise request is in its loop.",
    EnterpriseAction: "A step of an enterprise request's loop.",
    ActivityStatus: "Status of a volunteer activity.",
    ServiceLevel: 'A level of the "1+6+12+N" volunteer service system (志愿服务体系).',
    EvaluationDirection: "Who rates whom in the two-way evaluation (双向评议).",
    SignUpStatus: "Status of a sign-up.",
    OfferStatus: "Status of an offer to take a need (请缨).",
    OfferDecline: "Why an offer was declined: only its coordinator's word is final.",
    JobStatus: "Status of a matching job.",
    ProposalStatus: "Status of a matching proposal.",
    ProposalKind: "What a proposal assigns: a volunteer, a resource or a helper.",
    Role: "An account's role.",
    AccountScope: "Where a coordinator or grid worker acts: one community or the county.",
}


def register_enum(enum_cls: type[LabelledEnum], description: str) -> None:
    """Expose a domain enum (a feature module's own) once, labels as value descriptions."""
    if hasattr(enum_cls, "__strawberry_definition__"):
        return
    strawberry.enum(enum_cls, description=description)
    labels = {m.value: m.label for m in enum_cls}
    for value in enum_cls.__strawberry_definition__.values:  # type: ignore[attr-defined]  # set by @strawberry.enum at runtime
        value.description = labels[value.value]


for _cls, _description in _DESCRIPTIONS.items():
    register_enum(_cls, _description)

__all__ = [
    "AccountScope",
    "ActivityStatus",
    "AreaKind",
    "AreaMode",
    "EnterpriseAction",
    "EnterpriseRequestKind",
    "EnterpriseRequestStatus",
    "EvaluationDirection",
    "GridKind",
    "GridRole",
    "JobStatus",
    "NeedAction",
    "NeedCategory",
    "NeedSource",
    "NeedStatus",
    "NeedTier",
    "OfferDecline",
    "OfferStatus",
    "PersonKind",
    "ProposalKind",
    "ProposalStatus",
    "ResourceKind",
    "Role",
    "ServiceLevel",
    "SignUpStatus",
    "TeamKind",
    "TravelMode",
    "UnitKind",
    "VenueKind",
]
