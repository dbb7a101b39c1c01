"""Who counts as staff, who coordinates, and where an account may act: the domain's role sets and
area rule, used by the services (`Actor`) and by the API's policy matrix and scope checks."""

from __future__ import annotations

from schema.enums import AccountScope, Role

STAFF_ROLES = frozenset({Role.GRID_WORKER, Role.COORDINATOR, Role.ADMIN})
COORDINATION_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN})
# Who gives enterprise requests to helpers (分派): coordinators in their area, and the county
# business office (营商办) county-wide.
ENTERPRISE_ASSIGNING_ROLES = COORDINATION_ROLES | {Role.BUSINESS_OFFICE}
# Roles that work in an area: without a community they act county-wide, so that must be asked
# for (`scope: COUNTY`, `--county`), never the silent result of a forgotten community.
AREA_ROLES = frozenset({Role.GRID_WORKER, Role.COORDINATOR})


def scope_problem(role: Role, community_id: int | None, scope: AccountScope | None) -> str | None:
    """Why this role, community and scope do not make an account's area, or None."""
    if scope is AccountScope.COUNTY and community_id is not None:
        return "a county-wide account has no community; drop one of the two"
    if scope is AccountScope.COMMUNITY and community_id is None:
        return "give the community the account is scoped to"
    if role in AREA_ROLES and community_id is None and scope is not AccountScope.COUNTY:
        return (
            f"a {role.value} needs a community, or an explicit county scope "
            "(scope: COUNTY, --county) to act county-wide"
        )
    return None


def scope_includes(role: Role, home_community_id: int | None, community_id: int | None) -> bool:
    """Administrators and county-level staff (no community of their own) act everywhere; an
    account scoped to a community acts inside it only."""
    if role is Role.ADMIN or home_community_id is None:
        return True
    return community_id == home_community_id
