"""Which rows a reader may see: one rule per table, as SQL and as a per-row check.

Least privilege on the read side. A `Viewer` is the caller (role, account, person, area); a
`Rule` gives, for a viewer, the SQL condition of the rows they may see (`sql`) and a check on
one row already read (`check`, used where a row arrives without a query, e.g. a broadcast).
`check` decides from the row's own columns only; grants through other rows (a need someone is
dispatched to or signed up for) live in `sql`, so a row `check` refuses may still be visible:
ask `sql` for that one row before refusing (the API's `visible_row` does).

The API looks rules up by table (`RULES`) in its loaders and pages, so every path to a row —
root lists and their `totalCount`, `node`/`nodes`, nested relations, children pages — applies
the same rule without the field naming it.

- Needs, their events and assignments: administrators and county-level staff everywhere;
  grid workers and coordinators in their community; anyone the need they reported, were
  dispatched to (in person or with their team), offered to take (pending or accepted) or signed up
  for.
- People: those who serve (party members, helpers, grid workers …) to every reader with
  `person.read` (their names are public, 亮身份; phones stay masked); residents only to
  themselves, to administrators and county-level staff, and to staff of their community.
- Matching jobs, their proposals and unmatched items: administrators and county-level
  coordinators all; a scoped coordinator the jobs of their community.
- Enterprise requests and their events: administrators, county-level coordinators and the
  county business office (营商办); coordinators of the enterprise's community; the helper
  assigned, and every helper while it is open and nobody carries it (the claim pool, 抢单);
  the account that submitted it. An enterprise account sees its own enterprise's, no other.
- Offers (请缨): the volunteer themself; staff of the need's community; county-level staff and
  administrators.
- Sign-ups: the volunteer themself; staff of the activity's or need's community; county-level
  staff and administrators.
- In-service members (下沉报到), their reports and two-way evaluations (三亮三比·双述): the member
  themself; staff of the community they registered with; the people of their unit (结对共建
  employer: accounts of persons employed there), who take the scores into their own review;
  county-level staff and administrators.
Activities, areas, units, teams and enterprises are reference data: no row rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import SQLModel, col

from schema.activities import Activity, SignUp
from schema.enterprise import Enterprise, EnterpriseRequest, EnterpriseRequestEvent
from schema.enums import OfferStatus, PersonKind, Role, SignUpStatus
from schema.in_service import InServiceMember, MemberEvaluation, MemberReport
from schema.matching_jobs import MatchingJob, Proposal, UnmatchedItem
from schema.needs import Need, NeedAssignment, NeedEvent
from schema.offers import NeedOffer
from schema.people import Person, TeamMembership
from schema.roles import COORDINATION_ROLES, STAFF_ROLES
from schema.workflow import OPEN_ENTERPRISE_STATUSES

Row = Mapping[str, Any]


class AccountLike(Protocol):
    id: int | None
    role: Role
    person_id: int | None
    community_id: int | None
    enterprise_id: int | None


@dataclass(frozen=True)
class Viewer:
    """Who reads: None role for an anonymous caller."""

    role: Role | None
    account_id: int | None = None
    person_id: int | None = None
    community_id: int | None = None
    enterprise_id: int | None = None  # an enterprise account's own enterprise

    @classmethod
    def of(cls, account: AccountLike | None) -> Viewer:
        if account is None:
            return ANONYMOUS
        return cls(
            account.role,
            account.id,
            account.person_id,
            account.community_id,
            account.enterprise_id,
        )

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def county_wide_staff(self) -> bool:
        """Administrators, and staff without a community (created county-wide)."""
        return self.is_admin or (self.is_staff and self.community_id is None)

    @property
    def county_wide_coordination(self) -> bool:
        return self.is_admin or (self.role in COORDINATION_ROLES and self.community_id is None)

    def staff_of(self, community_id: int | None) -> bool:
        """Staff whose area covers `community_id` (county-level staff cover every one)."""
        if not self.is_staff:
            return False
        return self.county_wide_staff or (
            community_id is not None and community_id == self.community_id
        )

    def coordinates(self, community_id: int | None) -> bool:
        if self.role not in COORDINATION_ROLES:
            return False
        return self.county_wide_coordination or (
            community_id is not None and community_id == self.community_id
        )

    def is_person(self, person_id: int | None) -> bool:
        return person_id is not None and person_id == self.person_id

    def is_account(self, account_id: int | None) -> bool:
        return account_id is not None and account_id == self.account_id


ANONYMOUS = Viewer(None)
NOBODY: Any = sa.false()
EVERY: Any = sa.true()


@dataclass(frozen=True)
class Rule:
    """The rows of one table a viewer may see: in SQL, and decided from one row's columns."""

    table: str
    sql: Callable[[Viewer], Any]
    check: Callable[[Viewer, Row], bool]
    columns: tuple[str, ...]  # the columns `check` reads


def _any(conditions: list[Any]) -> Any:
    return sa.or_(*conditions) if conditions else NOBODY


# --- needs -------------------------------------------------------------------------------------


def dispatched_need_ids(person_id: int) -> Any:
    """Needs a person is actively dispatched to, in person or with a team they belong to."""
    a = NeedAssignment
    teams = sa.select(col(TeamMembership.team_id)).where(col(TeamMembership.person_id) == person_id)
    return sa.select(col(a.need_id)).where(
        col(a.active).is_(True),
        sa.or_(col(a.person_id) == person_id, col(a.team_id).in_(teams)),
    )


def need_sql(v: Viewer) -> Any:
    if v.role is None:
        return NOBODY
    if v.county_wide_staff:
        return EVERY
    n = Need
    conditions: list[Any] = []
    if v.is_staff:
        conditions.append(col(n.community_id) == v.community_id)
    if v.account_id is not None:
        conditions.append(col(n.reporter_account_id) == v.account_id)
    if v.person_id is not None:
        signed_up = sa.select(col(SignUp.need_id)).where(
            col(SignUp.person_id) == v.person_id,
            col(SignUp.need_id).is_not(None),
            col(SignUp.status) != SignUpStatus.CANCELLED,
        )
        offered = sa.select(col(NeedOffer.need_id)).where(
            col(NeedOffer.person_id) == v.person_id,
            col(NeedOffer.status).in_((OfferStatus.OFFERED, OfferStatus.ACCEPTED)),
        )
        conditions += [
            col(n.reporter_person_id) == v.person_id,
            col(n.id).in_(dispatched_need_ids(v.person_id)),
            col(n.id).in_(signed_up),
            col(n.id).in_(offered),
        ]
    return _any(conditions)


def need_check(v: Viewer, row: Row) -> bool:
    if v.role is None:
        return False
    return (
        v.staff_of(row["community_id"])
        or v.is_account(row["reporter_account_id"])
        or v.is_person(row["reporter_person_id"])
    )


def _of_visible_need(fk: Any) -> Callable[[Viewer], Any]:
    def sql(v: Viewer) -> Any:
        if v.county_wide_staff:
            return EVERY
        if v.role is None:
            return NOBODY
        return fk.in_(sa.select(col(Need.id)).where(need_sql(v)))

    return sql


# --- people ------------------------------------------------------------------------------------


def person_sql(v: Viewer) -> Any:
    if v.role is None:
        return NOBODY
    if v.county_wide_staff:
        return EVERY
    p = Person
    conditions: list[Any] = [col(p.kind) != PersonKind.RESIDENT]
    if v.person_id is not None:
        conditions.append(col(p.id) == v.person_id)
    if v.is_staff:
        conditions.append(col(p.registered_community_id) == v.community_id)
    return _any(conditions)


def person_check(v: Viewer, row: Row) -> bool:
    if v.role is None:
        return False
    return (
        row["kind"] is not PersonKind.RESIDENT
        or v.is_person(row["id"])
        or v.staff_of(row["registered_community_id"])
    )


# --- matching ----------------------------------------------------------------------------------


def job_sql(v: Viewer) -> Any:
    if v.county_wide_coordination:
        return EVERY
    if v.role not in COORDINATION_ROLES:
        return NOBODY
    return col(MatchingJob.scope_community_id) == v.community_id


def job_check(v: Viewer, row: Row) -> bool:
    # A county-wide job (no scope) is for county-level coordination only.
    return v.coordinates(row["scope_community_id"]) or v.county_wide_coordination


def _of_visible_job(fk: Any) -> Callable[[Viewer], Any]:
    def sql(v: Viewer) -> Any:
        if v.county_wide_coordination:
            return EVERY
        if v.role not in COORDINATION_ROLES:
            return NOBODY
        return fk.in_(sa.select(col(MatchingJob.id)).where(job_sql(v)))

    return sql


# --- enterprise requests -----------------------------------------------------------------------


def _sees_every_request(v: Viewer) -> bool:
    """County-level coordination and the county business office (营商办)."""
    return v.county_wide_coordination or v.role is Role.BUSINESS_OFFICE


def request_sql(v: Viewer) -> Any:
    if v.role is None:
        return NOBODY
    if _sees_every_request(v):
        return EVERY
    r = EnterpriseRequest
    if v.role is Role.ENTERPRISE:
        # An enterprise account speaks for its own enterprise and sees nobody else's requests.
        return NOBODY if v.enterprise_id is None else col(r.enterprise_id) == v.enterprise_id
    conditions: list[Any] = []
    if v.person_id is not None:
        conditions.append(col(r.helper_id) == v.person_id)
    if v.account_id is not None:
        conditions.append(col(r.submitted_by_account_id) == v.account_id)
    if v.role is Role.ENTERPRISE_HELPER:
        # The claim pool (抢单): open requests nobody carries yet, county-wide.
        conditions.append(
            sa.and_(col(r.helper_id).is_(None), col(r.status).in_(list(OPEN_ENTERPRISE_STATUSES)))
        )
    if v.role in COORDINATION_ROLES:
        in_area = sa.select(col(Enterprise.id)).where(
            col(Enterprise.community_id) == v.community_id
        )
        conditions.append(col(r.enterprise_id).in_(in_area))
    return _any(conditions)


def request_check(v: Viewer, row: Row) -> bool:
    if v.role is None:
        return False
    if v.role is Role.ENTERPRISE:
        return v.enterprise_id is not None and row["enterprise_id"] == v.enterprise_id
    in_pool = row["helper_id"] is None and row["status"] in OPEN_ENTERPRISE_STATUSES
    return (
        _sees_every_request(v)
        or v.is_person(row["helper_id"])
        or v.is_account(row["submitted_by_account_id"])
        or (v.role is Role.ENTERPRISE_HELPER and in_pool)
    )


def _request_event_sql(v: Viewer) -> Any:
    if _sees_every_request(v):
        return EVERY
    if v.role is None:
        return NOBODY
    visible = sa.select(col(EnterpriseRequest.id)).where(request_sql(v))
    return col(EnterpriseRequestEvent.request_id).in_(visible)


# --- sign-ups ----------------------------------------------------------------------------------


def sign_up_sql(v: Viewer) -> Any:
    if v.role is None:
        return NOBODY
    if v.county_wide_staff:
        return EVERY
    s = SignUp
    conditions: list[Any] = []
    if v.person_id is not None:
        conditions.append(col(s.person_id) == v.person_id)
    if v.is_staff:
        area_activities = sa.select(col(Activity.id)).where(
            col(Activity.community_id) == v.community_id
        )
        area_needs = sa.select(col(Need.id)).where(col(Need.community_id) == v.community_id)
        conditions += [col(s.activity_id).in_(area_activities), col(s.need_id).in_(area_needs)]
    return _any(conditions)


def sign_up_check(v: Viewer, row: Row) -> bool:
    return v.county_wide_staff or v.is_person(row["person_id"])


# --- in-service members ----------------------------------------------------------------------


def member_sql(v: Viewer) -> Any:
    if v.role is None:
        return NOBODY
    if v.county_wide_staff:
        return EVERY
    s = InServiceMember
    conditions: list[Any] = []
    if v.person_id is not None:
        my_unit = sa.select(col(Person.employer_unit_id)).where(col(Person.id) == v.person_id)
        conditions += [col(s.person_id) == v.person_id, col(s.unit_id).in_(my_unit)]
    if v.is_staff:
        conditions.append(col(s.community_id) == v.community_id)
    return _any(conditions)


def member_check(v: Viewer, row: Row) -> bool:
    # The unit's grant reads the viewer's person row: `sql` decides that one.
    return v.is_person(row["person_id"]) or v.staff_of(row["community_id"])


def _of_visible_member(fk: Any) -> Callable[[Viewer], Any]:
    def sql(v: Viewer) -> Any:
        if v.county_wide_staff:
            return EVERY
        if v.role is None:
            return NOBODY
        return fk.in_(sa.select(col(InServiceMember.id)).where(member_sql(v)))

    return sql


# --- offers ------------------------------------------------------------------------------------


def offer_sql(v: Viewer) -> Any:
    if v.role is None:
        return NOBODY
    if v.county_wide_staff:
        return EVERY
    o = NeedOffer
    conditions: list[Any] = []
    if v.person_id is not None:
        conditions.append(col(o.person_id) == v.person_id)
    if v.is_staff:
        area_needs = sa.select(col(Need.id)).where(col(Need.community_id) == v.community_id)
        conditions.append(col(o.need_id).in_(area_needs))
    return _any(conditions)


def offer_check(v: Viewer, row: Row) -> bool:
    return v.county_wide_staff or v.is_person(row["person_id"])


def _through_parent(v: Viewer, row: Row) -> bool:
    """Row-local check of tables whose grant goes through a parent row: county-level readers
    see them all; anyone else is decided by `sql`."""
    return v.county_wide_staff or v.county_wide_coordination


RULES: dict[type[SQLModel], Rule] = {
    Need: Rule(
        "need", need_sql, need_check, ("community_id", "reporter_account_id", "reporter_person_id")
    ),
    NeedEvent: Rule("need_event", _of_visible_need(col(NeedEvent.need_id)), _through_parent, ()),
    NeedAssignment: Rule(
        "need_assignment", _of_visible_need(col(NeedAssignment.need_id)), _through_parent, ()
    ),
    Person: Rule("person", person_sql, person_check, ("id", "kind", "registered_community_id")),
    MatchingJob: Rule("matching_job", job_sql, job_check, ("scope_community_id",)),
    Proposal: Rule("proposal", _of_visible_job(col(Proposal.job_id)), _through_parent, ()),
    UnmatchedItem: Rule(
        "unmatched_item", _of_visible_job(col(UnmatchedItem.job_id)), _through_parent, ()
    ),
    EnterpriseRequest: Rule(
        "enterprise_request",
        request_sql,
        request_check,
        ("enterprise_id", "helper_id", "status", "submitted_by_account_id"),
    ),
    EnterpriseRequestEvent: Rule(
        "enterprise_request_event", _request_event_sql, _through_parent, ()
    ),
    SignUp: Rule("sign_up", sign_up_sql, sign_up_check, ("person_id",)),
    InServiceMember: Rule(
        "in_service_member", member_sql, member_check, ("person_id", "community_id")
    ),
    MemberReport: Rule(
        "member_report", _of_visible_member(col(MemberReport.member_id)), _through_parent, ()
    ),
    MemberEvaluation: Rule(
        "member_evaluation",
        _of_visible_member(col(MemberEvaluation.member_id)),
        _through_parent,
        (),
    ),
    NeedOffer: Rule("need_offer", offer_sql, offer_check, ("person_id",)),
}


def rule_for(model: type[SQLModel]) -> Rule | None:
    """The row rule of a table (None: reference data every reader of the type sees)."""
    return RULES.get(model)


def visible_sql(model: type[SQLModel], viewer: Viewer) -> Any | None:
    """The SQL condition of the rows of `model` the viewer may see (None: no rule)."""
    rule = RULES.get(model)
    return None if rule is None else rule.sql(viewer)
