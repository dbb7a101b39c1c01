"""Who counts as staff, who coordinates, and where an account may act: the domain's role sets and
area rule, used by the services (`Actor`) and by the API's policy matrix and scope checks."""

from __future__ import annotations

from schema.enums import Role

STAFF_ROLES = frozenset({Role.GRID_WORKER, Role.COORDINATOR, Role.ADMIN})
COORDINATION_ROLES = frozenset({Role.COORDINATOR, Role.ADMIN})
# Who gives enterprise requests to helpers (分派): coordinators in their area, and the county
# business office (营商办) county-wide.
ENTERPRISE_ASSIGNING_ROLES = COORDINATION_ROLES | {Role.BUSINESS_OFFICE}


def scope_includes(role: Role, home_community_id: int | None, community_id: int | None) -> bool:
    """Administrators and county-level staff (no community of their own) act everywhere; an
    account scoped to a community acts inside it only."""
    if role is Role.ADMIN or home_community_id is None:
        return True
    return community_id == home_community_id
