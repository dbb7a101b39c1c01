"""Who may do what: the one role × operation matrix the whole API consults.

Every mutation and every sensitive field names an operation here (`Can("need.dispatch")`).
A test walks the schema and fails when a mutation or sensitive field has no rule.

The matrix decides by ROLE only. What depends on the object (a scoped coordinator's area, a
resident's own report, a helper's assigned request) is checked in the resolver with
`api.auth.scope` (`require_scope`, `in_scope`, `is_self`) and `api.auth.privacy`
(`schema.disclosure`) once the object is loaded.
"""

from __future__ import annotations

from schema.enums import Role
from schema.roles import COORDINATION_ROLES, STAFF_ROLES

R = Role
EVERYONE = frozenset(Role)
# Who is staff and who coordinates is a domain rule the services apply too: one definition.
STAFF = STAFF_ROLES
COORDINATION = COORDINATION_ROLES
ENTERPRISE_DESK = frozenset({R.ENTERPRISE_HELPER, R.COORDINATOR, R.BUSINESS_OFFICE, R.ADMIN})
VOLUNTEERING = frozenset({R.VOLUNTEER, R.COORDINATOR, R.ADMIN})
ADMIN_ONLY = frozenset({R.ADMIN})

# operation -> roles allowed. ANONYMOUS callers are allowed only where `PUBLIC` lists it.
# Administrators are in every row (a test checks it).
POLICY: dict[str, frozenset[Role]] = {
    # --- accounts ------------------------------------------------------------------------
    "account.login": EVERYONE,  # and anonymous (PUBLIC)
    "account.me": EVERYONE,
    "account.manage": ADMIN_ONLY,  # create, deactivate and list accounts
    "audit.read": ADMIN_ONLY,
    # --- notifications: each caller's own inbox; deliveries and dead letters carry addresses
    "notification.read_own": EVERYONE,
    "notification.admin": ADMIN_ONLY,
    # --- public figures ------------------------------------------------------------------
    "stats.read": EVERYONE,
    "opportunity.read": EVERYONE,  # public volunteer opportunities
    # Areas, units, teams, enterprises: any signed-in caller (anonymous: stats and
    # opportunities only).
    "reference.read": EVERYONE,
    # --- needs: the closed loop (report → accept → dispatch → arrive → resolve → rate) -----
    # Residents report; so do riders (volunteers: "mobile probes"), grid workers on patrol,
    # coordinators entering hotline tickets and helpers. The resolver records the reporter.
    "need.report": EVERYONE,
    "need.accept": STAFF,  # grid workers in their community, coordinators in their area
    "need.dispatch": COORDINATION,
    # Also the volunteers and team members a need was dispatched to: the resolver lets
    # non-staff act only on needs they are actively dispatched to (closed-loop engineer).
    "need.arrive": STAFF | {R.VOLUNTEER},
    "need.resolve": STAFF | {R.VOLUNTEER},
    # Whoever reported a need rates it, whatever their role (helpers and grid workers report
    # too, and an unrated need never closes); coordinators of its area record hotline callers'
    # ratings (回访). The service checks which.
    "need.rate": EVERYONE,
    "need.escalate": COORDINATION,
    "need.return": COORDINATION,
    "need.merge": COORDINATION,
    # 请缨: volunteers offer to take a need (and withdraw); accepting dispatches (need.dispatch).
    "need.offer": frozenset({R.VOLUNTEER, R.ADMIN}),
    # Any signed-in caller reads needs; personal data (reporter phone, exact location) only
    # with need.read_private or as the reporter (`schema.disclosure`).
    "need.read": EVERYONE,
    "need.read_private": STAFF,
    # Subscribing to a community's board of need events (needEvents); scope-checked.
    "need.watch": STAFF,
    # --- enterprise requests (营商气象站), handled by helpers (小赣事) --------------------
    # An enterprise account submits for its own enterprise; the desk enters requests brought
    # to the weather station in person.
    "enterprise.submit": ENTERPRISE_DESK | {R.ENTERPRISE},
    # Coordinators in their area; the county business office (营商办) county-wide.
    "enterprise.assign": frozenset({R.COORDINATOR, R.BUSINESS_OFFICE, R.ADMIN}),
    # 抢单: a helper takes an unassigned request within their limit (service: helpers only).
    "enterprise.claim": frozenset({R.ENTERPRISE_HELPER, R.ADMIN}),
    "enterprise.note": ENTERPRISE_DESK,  # helpers only on requests assigned to them
    "enterprise.resolve": ENTERPRISE_DESK,
    # Only the enterprise rates (the service checks it is the request's own enterprise); the
    # desk is let through so that helpers and staff learn why they may not (a userError).
    "enterprise.rate": ENTERPRISE_DESK | {R.ENTERPRISE},
    # Which requests each reads is the row rule (`schema.visibility`): an enterprise account
    # its own enterprise's, a helper those it carries and the claim pool, and so on.
    "enterprise.read": ENTERPRISE_DESK | {R.ENTERPRISE},
    # --- the shared registry (一表同享) ----------------------------------------------------
    # Staff look people and houses up; helpers look enterprises up. Personal data is masked by
    # the people rules (person.read_private in the record's community).
    "registry.read": STAFF | {R.ENTERPRISE_HELPER},
    # --- volunteering ----------------------------------------------------------------------
    "volunteer.sign_up": VOLUNTEERING,  # coordinators may sign a member up on their behalf
    "volunteer.cancel_sign_up": VOLUNTEERING,
    "volunteer.check_in": VOLUNTEERING,
    "volunteer.check_out": VOLUNTEERING,
    # --- administration (issue 15): activities, teams, in-service members -----------------
    # Coordinators in their area, county-level coordinators county-wide (the service checks).
    "activity.manage": COORDINATION,  # organisers; publish, update, cancel, finish activities
    "team.manage": COORDINATION,  # teams and members; form commando teams (党员突击队)
    # A person's own mobilisations; staff of the person's area theirs (the resolver checks).
    "team.watch_mobilisation": EVERYONE,
    "member.register": COORDINATION,  # 下沉报到
    # 双述: the member themself, or a coordinator of their community on their behalf.
    "member.report": VOLUNTEERING,
    "member.evaluate": COORDINATION,  # the community rates the member
    "member.evaluate_community": VOLUNTEERING,  # the member rates the community
    # Reports and scores: row rule `schema.visibility` (the member, their unit, their area).
    "member.read": EVERYONE,
    # --- areas and matching ----------------------------------------------------------------
    "area.set_mode": COORDINATION,  # normal ↔ emergency (平急转换)
    "matching.start": COORDINATION,
    "matching.cancel": COORDINATION,
    "matching.decide": COORDINATION,  # accept / reject / pin proposals
    "matching.commit": COORDINATION,
    "matching.read": COORDINATION,
    # --- administration: paired units and resources, consultations, sentinel posts ----------
    # Coordinators in their area (the services check the community), administrators anywhere.
    "unit.manage": COORDINATION,  # 结对共建, 资源联用
    "consultation.manage": COORDINATION,  # 赣事好商量·吉事广议
    "sentinel.manage": COORDINATION,  # 民声前哨点: posts and their keepers
    # A keeper passes on a suggestion from their post (the service checks they keep it); staff
    # of the post's area enter one brought to them.
    "sentinel.suggest": EVERYONE,
    # --- people ----------------------------------------------------------------------------
    "person.read": frozenset(
        {R.VOLUNTEER, R.GRID_WORKER, R.COORDINATOR, R.ENTERPRISE_HELPER, R.BUSINESS_OFFICE}
    )
    | ADMIN_ONLY,
    # personal data (phones, ID numbers, exact home locations); owners see their own
    "person.read_private": STAFF,
}

# Operations anonymous callers may perform (public opportunities and stats, and logging in).
PUBLIC: frozenset[str] = frozenset({"account.login", "stats.read", "opportunity.read"})


def allowed(operation: str, role: Role | None) -> bool:
    if operation not in POLICY:
        raise KeyError(f"no authorisation rule for operation '{operation}'")
    if role is None:
        return operation in PUBLIC
    return role in POLICY[operation]


def roles_allowed(operation: str) -> frozenset[Role]:
    """The roles that may perform `operation` (KeyError when it has no rule)."""
    return POLICY[operation]
