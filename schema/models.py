"""Imports every table so that `SQLModel.metadata` is complete (Alembic and create_all need it)."""

from sqlmodel import SQLModel

from schema.accounts import Account, AuditLog
from schema.activities import Activity, ActivitySkill, ServiceOrganiser, SignUp
from schema.areas import Community, Compound, Grid, GridStaff, Venue
from schema.enterprise import Enterprise, EnterpriseRequest, EnterpriseRequestEvent
from schema.governance import (
    Consultation,
    ConsultationParty,
    ConsultationSession,
    SentinelPost,
    SettledDispute,
)
from schema.in_service import InServiceMember, MemberEvaluation, MemberReport
from schema.matching_jobs import MatchingJob, Proposal, UnmatchedItem
from schema.needs import Need, NeedAssignment, NeedEvent, NeedResource, NeedSkill
from schema.notifications import (
    Notification,
    NotificationAttempt,
    NotificationDelivery,
    NotificationPreference,
)
from schema.offers import NeedOffer
from schema.people import (
    Availability,
    HelperExpertise,
    Person,
    PersonSkill,
    Skill,
    Team,
    TeamMembership,
)
from schema.registry import RegistryRecord
from schema.units import PairedUnit, Pairing, Resource

metadata = SQLModel.metadata

__all__ = [
    "Account",
    "Activity",
    "ActivitySkill",
    "AuditLog",
    "Availability",
    "Community",
    "Compound",
    "Consultation",
    "ConsultationParty",
    "ConsultationSession",
    "Enterprise",
    "EnterpriseRequest",
    "EnterpriseRequestEvent",
    "Grid",
    "GridStaff",
    "HelperExpertise",
    "InServiceMember",
    "MatchingJob",
    "MemberEvaluation",
    "MemberReport",
    "Need",
    "NeedAssignment",
    "NeedEvent",
    "NeedOffer",
    "NeedResource",
    "NeedSkill",
    "Notification",
    "NotificationAttempt",
    "NotificationDelivery",
    "NotificationPreference",
    "PairedUnit",
    "Pairing",
    "Person",
    "PersonSkill",
    "Proposal",
    "RegistryRecord",
    "Resource",
    "SentinelPost",
    "ServiceOrganiser",
    "SettledDispute",
    "SignUp",
    "Skill",
    "Team",
    "TeamMembership",
    "UnmatchedItem",
    "Venue",
    "metadata",
]
