"""Personal data: who may see it in full, and how it looks to everybody else.

Phones, ID numbers and exact home locations are shown in full only to
- administrators,
- the owner themself (the resident who reported a need, the person an account belongs to),
- the person handling it (the grid worker or helper assigned, `handler_person_id`),
- an enterprise account for its own enterprise (`owner_enterprise_id`), and for no other,
- staff whose role may (`person.read_private` / `need.read_private`) and whose area covers it
  (a scoped coordinator or grid worker only in their community; county-level staff everywhere).
Everybody else gets the masked form. Field resolvers call, e.g.:

    phone = need.reporter_phone if can_see_personal(
        info, owner_account_id=need.reporter_account_id, community_id=need.community_id,
        operation="need.read_private") else mask_phone(need.reporter_phone)
"""

from __future__ import annotations

from api.auth.policy import allowed
from api.auth.scope import in_scope, is_self
from api.graphql.context import Info
from schema.enums import Role

# 0.01° is 1.1 km north–south and about 1.0 km east–west at Ji'an's latitude (27°N).
COARSE_DEGREES = 0.01


def mask_phone(phone: str | None) -> str | None:
    """'13812345678' -> '138****5678'; short numbers keep only their last two digits."""
    if phone is None:
        return None
    digits = phone.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_id_number(id_number: str | None) -> str | None:
    """'360821199001011234' -> '3608**********1234' (birth date and sequence hidden)."""
    if id_number is None:
        return None
    value = id_number.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def mask_name(name: str | None) -> str | None:
    """'张三丰' -> '张**': the family name only."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def coarse_coordinate(value: float | None) -> float | None:
    """A latitude or longitude rounded to ~1 km (two decimals)."""
    if value is None:
        return None
    return round(round(value / COARSE_DEGREES) * COARSE_DEGREES, 2)


def coarse_location(latitude: float, longitude: float) -> tuple[float, float]:
    """A point rounded to a ~1 km grid: near enough for a map, not enough to find a door."""
    return (round(latitude, 2), round(longitude, 2))


def can_see_personal(
    info: Info,
    *,
    owner_account_id: int | None = None,
    community_id: int | None = None,
    owner_person_id: int | None = None,
    handler_person_id: int | None = None,
    owner_enterprise_id: int | None = None,
    operation: str = "person.read_private",
) -> bool:
    """Whether the caller may see this object's personal data unmasked (see module doc)."""
    account = info.context.account
    if account is None:
        return False
    if account.role is Role.ADMIN:
        return True
    if is_self(info, account_id=owner_account_id, person_id=owner_person_id):
        return True
    if is_self(info, person_id=handler_person_id):
        return True
    if account.role is Role.ENTERPRISE:
        # An enterprise account sees its own enterprise's contact data, nobody else's.
        return owner_enterprise_id is not None and account.enterprise_id == owner_enterprise_id
    return allowed(operation, account.role) and in_scope(info, community_id)
