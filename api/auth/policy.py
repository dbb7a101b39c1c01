"""Who may do what: the one role × operation matrix the whole API consults.

Every mutation and every sensitive field names an operation here (`Can("need.dispatch")`).
A test walks the schema and fails when a mutation or sensitive field has no rule.
"""

from __future__ import annotations

from schema.enums import Role

R = Role
EVERYONE = frozenset(Role)
STAFF = frozenset({R.GRID_WORKER, R.COORDINATOR, R.ADMIN})
COORDINATION = frozenset({R.COORDINATOR, R.ADMIN})

# operation -> roles allowed. ANONYMOUS callers are allowed only where `PUBLIC` lists it.
POLICY: dict[str, frozenset[Role]] = {
    # accounts
    "account.me": EVERYONE,
    "audit.read": frozenset({R.ADMIN}),
    # personal data (phones, ID numbers, exact home locations)
    "person.read_private": STAFF,
}

# Operations anonymous callers may perform (public opportunities and stats).
PUBLIC: frozenset[str] = frozenset()


def allowed(operation: str, role: Role | None) -> bool:
    if operation not in POLICY:
        raise KeyError(f"no authorisation rule for operation '{operation}'")
    if role is None:
        return operation in PUBLIC
    return role in POLICY[operation]
