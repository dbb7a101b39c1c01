"""Lazy references to the GraphQL object types, for use across type modules.

A type module names another module's type through these aliases, in annotations (Strawberry
resolves them when it builds the schema) and as values for the relay loaders
(`load_one(info, CommunityT, pk)`, `ToOne(CommunityT, "community_id")`), never by importing
that module: the type modules then import none of each other, and the import graph of
`api.graphql` has no cycle (`.importlinter`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

if TYPE_CHECKING:
    from api.graphql.activities.types import Activity, SignUp
    from api.graphql.areas.types import (
        Community,
        Compound,
        Consultation,
        Grid,
        GridStaffMember,
        Venue,
    )
    from api.graphql.enterprise.types import Enterprise, EnterpriseRequest
    from api.graphql.governance.types import (
        ConsultationParty,
        ConsultationSession,
        SentinelPost,
        SettledDispute,
    )
    from api.graphql.matching.types import Proposal
    from api.graphql.needs.types import Need, NeedEvent
    from api.graphql.people.types import Person, Skill, Team
    from api.graphql.units.types import PairedUnit, Resource

_ACTIVITIES = "api.graphql.activities.types"
_AREAS = "api.graphql.areas.types"
_ENTERPRISE = "api.graphql.enterprise.types"
_GOVERNANCE = "api.graphql.governance.types"
_MATCHING = "api.graphql.matching.types"
_NEEDS = "api.graphql.needs.types"
_PEOPLE = "api.graphql.people.types"
_UNITS = "api.graphql.units.types"

ActivityT = Annotated["Activity", strawberry.lazy(_ACTIVITIES)]
SignUpT = Annotated["SignUp", strawberry.lazy(_ACTIVITIES)]

CommunityT = Annotated["Community", strawberry.lazy(_AREAS)]
CompoundT = Annotated["Compound", strawberry.lazy(_AREAS)]
ConsultationT = Annotated["Consultation", strawberry.lazy(_AREAS)]
GridT = Annotated["Grid", strawberry.lazy(_AREAS)]
GridStaffMemberT = Annotated["GridStaffMember", strawberry.lazy(_AREAS)]
VenueT = Annotated["Venue", strawberry.lazy(_AREAS)]

EnterpriseT = Annotated["Enterprise", strawberry.lazy(_ENTERPRISE)]
EnterpriseRequestT = Annotated["EnterpriseRequest", strawberry.lazy(_ENTERPRISE)]

ConsultationPartyT = Annotated["ConsultationParty", strawberry.lazy(_GOVERNANCE)]
ConsultationSessionT = Annotated["ConsultationSession", strawberry.lazy(_GOVERNANCE)]
SentinelPostT = Annotated["SentinelPost", strawberry.lazy(_GOVERNANCE)]
SettledDisputeT = Annotated["SettledDispute", strawberry.lazy(_GOVERNANCE)]

ProposalT = Annotated["Proposal", strawberry.lazy(_MATCHING)]

NeedT = Annotated["Need", strawberry.lazy(_NEEDS)]
NeedEventT = Annotated["NeedEvent", strawberry.lazy(_NEEDS)]

PersonT = Annotated["Person", strawberry.lazy(_PEOPLE)]
SkillT = Annotated["Skill", strawberry.lazy(_PEOPLE)]
TeamT = Annotated["Team", strawberry.lazy(_PEOPLE)]

PairedUnitT = Annotated["PairedUnit", strawberry.lazy(_UNITS)]
ResourceT = Annotated["Resource", strawberry.lazy(_UNITS)]
