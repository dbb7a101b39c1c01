"""What a reader sees of the personal fields of a row they may see: decided per (viewer, row).

The API masks what these say no to (`api/auth/privacy.py` has the masks); nothing here is ever
stored on a shared object, each call decides for one viewer and one row. The README's privacy
table is generated from these functions (`privacy_table`), so the table and the code agree.

- A person's name: those who serve show theirs to everyone (亮身份); a resident's only to
  themself, administrators and staff of their community (or, as a need's reporter, to those
  handling the need).
- Phones and exact home locations: the person themself, administrators, staff of their area.
- ID numbers: administrators only, through the API.
- Who serves a need (the people dispatched to it, `NeedAssignment.person`): whoever may see the
  need at all, its reporter included, since those who serve show their identity (亮身份); their
  phones stay under the person's own rule (`sees_person_contact`).
- A need's reporter name: the reporter, administrators, staff of the need's area and the people
  dispatched to it (those handling it). The reporter's phone: the same, while the need is open.
- A need's exact place (coordinates, address) and its own title: the reporter, administrators,
  staff of its area and the people dispatched to it; everyone else gets the point snapped to a
  ~200 m grid and a title made from its category (`public_need_title`).
- An evaluation's comment and the evaluator's name (双向评议): the member themself,
  administrators and staff of the member's community; the member's unit sees the scores only.
- An enterprise's contact (name, phone, and the name on the steps the contact took: submit,
  rate): the business desk (helpers, coordinators, administrators) of the enterprise's area.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from schema.enums import NeedCategory, PersonKind, Role
from schema.people import Person
from schema.visibility import Viewer

# ~200 m: 0.0018° of latitude is 200 m; 0.002° of longitude is 198 m at Ji'an's 27°N.
PUBLIC_LAT_STEP = 0.0018
PUBLIC_LON_STEP = 0.002


@dataclass(frozen=True)
class NeedFacts:
    """What the rules read of a need and of the viewer's relation to it."""

    community_id: int | None
    reporter_account_id: int | None
    reporter_person_id: int | None
    is_open: bool
    dispatched: bool  # the viewer is actively dispatched to it (in person or with a team)


@dataclass(frozen=True)
class PersonFacts:
    id: int | None
    kind: PersonKind | None
    registered_community_id: int | None


def _reporter(v: Viewer, need: NeedFacts) -> bool:
    return v.is_account(need.reporter_account_id) or v.is_person(need.reporter_person_id)


def handles_need(v: Viewer, need: NeedFacts) -> bool:
    """Staff of the need's area, or someone dispatched to it."""
    return v.staff_of(need.community_id) or (v.role is not None and need.dispatched)


def sees_reporter_name(v: Viewer, need: NeedFacts) -> bool:
    return v.is_admin or _reporter(v, need) or handles_need(v, need)


def sees_reporter_phone(v: Viewer, need: NeedFacts) -> bool:
    return v.is_admin or _reporter(v, need) or (handles_need(v, need) and need.is_open)


def sees_serving_people(v: Viewer, need: NeedFacts) -> bool:
    """The people sent to a need, by name: its reporter and those handling it (亮身份)."""
    return v.is_admin or _reporter(v, need) or handles_need(v, need)


def sees_every_need_place(v: Viewer) -> bool:
    """`sees_need_place` for every need, whatever its facts (a page needs not read them)."""
    return v.is_admin


def sees_need_place(v: Viewer, need: NeedFacts) -> bool:
    """The exact coordinates, address and the resident's own title."""
    return sees_every_need_place(v) or _reporter(v, need) or handles_need(v, need)


def sees_person_name(v: Viewer, person: PersonFacts) -> bool:
    if person.kind is not PersonKind.RESIDENT:
        return True  # those who serve show their identity (亮身份)
    return sees_person_contact(v, person)


def sees_person_contact(v: Viewer, person: PersonFacts) -> bool:
    """Phone and exact home location."""
    return v.is_admin or v.is_person(person.id) or v.staff_of(person.registered_community_id)


def sees_id_number(v: Viewer) -> bool:
    return v.is_admin


def sees_evaluation_comment(v: Viewer, member_person_id: int | None, community_id: int) -> bool:
    """Comments may name residents and colleagues: the member, their community's staff."""
    return v.is_admin or v.is_person(member_person_id) or v.staff_of(community_id)


ENTERPRISE_DESK = frozenset(
    {Role.ENTERPRISE_HELPER, Role.COORDINATOR, Role.BUSINESS_OFFICE, Role.ADMIN}
)


def sees_enterprise_contact(v: Viewer, community_id: int | None, enterprise_id: int | None) -> bool:
    """The business desk (helpers, coordinators) of the enterprise's area; county-level desk
    accounts (no community, the business office) everywhere; an enterprise account its own."""
    if v.role is Role.ENTERPRISE:
        return enterprise_id is not None and enterprise_id == v.enterprise_id
    if v.role not in ENTERPRISE_DESK:
        return False
    return v.is_admin or v.community_id is None or community_id == v.community_id


def may_search_names(v: Viewer, kinds: Collection[PersonKind] | None) -> bool:
    """A name filter confirms names: only for callers who see the names it could match in
    full: staff (residents of their area; those who serve everywhere), or anyone when the
    filter is limited to kinds that serve (names public)."""
    return v.is_staff or (bool(kinds) and PersonKind.RESIDENT not in (kinds or ()))


def name_shown_sql(v: Viewer) -> Any:
    """SQL: the person's name is shown to `v` in full (`sees_person_name` as a condition)."""
    p = Person
    if v.is_admin or v.county_wide_staff:
        return sa.true()
    conditions: list[Any] = [col(p.kind) != PersonKind.RESIDENT]
    if v.person_id is not None:
        conditions.append(col(p.id) == v.person_id)
    if v.is_staff:
        conditions.append(col(p.registered_community_id) == v.community_id)
    return sa.or_(*conditions)


def public_need_title(category: NeedCategory) -> str:
    """A title that says what kind of help is wanted and nothing about who wants it."""
    return f"{category.label}求助"


def snap(value: float, step: float) -> float:
    """A coordinate snapped to a grid of `step` degrees (six decimals, no float noise)."""
    return round(round(value / step) * step, 6)


# --- the privacy table ----------------------------------------------------------------------

HOME, OTHER = 1, 2  # the caller's community, another one
ME_ACCOUNT, ME_PERSON, SOMEONE = 10, 20, 30
MY_ENTERPRISE, OTHER_ENTERPRISE = 40, 50

# Callers of the table: (column, viewer). Scoped staff work in HOME.
CALLERS: list[tuple[str, Viewer]] = [
    ("anonymous", Viewer(None)),
    ("resident", Viewer(Role.RESIDENT, ME_ACCOUNT, ME_PERSON)),
    ("volunteer", Viewer(Role.VOLUNTEER, ME_ACCOUNT, ME_PERSON)),
    ("enterprise helper", Viewer(Role.ENTERPRISE_HELPER, ME_ACCOUNT, ME_PERSON)),
    ("grid worker", Viewer(Role.GRID_WORKER, ME_ACCOUNT, ME_PERSON, HOME)),
    ("coordinator", Viewer(Role.COORDINATOR, ME_ACCOUNT, ME_PERSON, HOME)),
    ("county coordinator", Viewer(Role.COORDINATOR, ME_ACCOUNT, ME_PERSON)),
    ("business office", Viewer(Role.BUSINESS_OFFICE, ME_ACCOUNT, ME_PERSON)),
    ("enterprise", Viewer(Role.ENTERPRISE, ME_ACCOUNT, None, None, MY_ENTERPRISE)),
    ("admin", Viewer(Role.ADMIN, ME_ACCOUNT, ME_PERSON)),
]

# Situations a row can be in, relative to the caller, and how a cell names them.
_NEED_CASES: list[tuple[str, Callable[[bool], NeedFacts]]] = [
    ("own", lambda o: NeedFacts(OTHER, ME_ACCOUNT, ME_PERSON, o, False)),
    ("area", lambda o: NeedFacts(HOME, SOMEONE, SOMEONE, o, False)),
    ("dispatched", lambda o: NeedFacts(OTHER, SOMEONE, SOMEONE, o, True)),
    ("other area", lambda o: NeedFacts(OTHER, SOMEONE, SOMEONE, o, False)),
]
_RESIDENT_CASES = [
    ("own", PersonFacts(ME_PERSON, PersonKind.RESIDENT, OTHER)),
    ("area", PersonFacts(SOMEONE, PersonKind.RESIDENT, HOME)),
    ("other area", PersonFacts(SOMEONE, PersonKind.RESIDENT, OTHER)),
]
_SERVING_CASES = [
    ("own", PersonFacts(ME_PERSON, PersonKind.PARTY_MEMBER, OTHER)),
    ("area", PersonFacts(SOMEONE, PersonKind.PARTY_MEMBER, HOME)),
    ("other area", PersonFacts(SOMEONE, PersonKind.PARTY_MEMBER, OTHER)),
]


def _cell(shown: list[str], every: list[str]) -> str:
    if not shown:
        return "masked"
    if shown == every:
        return "full"
    return " · ".join(shown)


def _need_cell(v: Viewer, rule: Callable[[Viewer, NeedFacts], bool]) -> str:
    names = [name for name, _ in _NEED_CASES]
    shown_open = [n for n, make in _NEED_CASES if rule(v, make(True))]
    shown_closed = [n for n, make in _NEED_CASES if rule(v, make(False))]
    cell = _cell(shown_open, names)
    if shown_closed != shown_open:
        cell += f" (closed: {_cell(shown_closed, names)})"
    return cell


def _person_cell(
    v: Viewer, rule: Callable[[Viewer, PersonFacts], bool], cases: list[tuple[str, PersonFacts]]
) -> str:
    names = [name for name, _ in cases]
    return _cell([n for n, p in cases if rule(v, p)], names)


# An enterprise account's own enterprise lies in another community than the desk's HOME.
_ENTERPRISE_CASES = [
    ("own", OTHER, MY_ENTERPRISE),
    ("area", HOME, OTHER_ENTERPRISE),
    ("other area", OTHER, OTHER_ENTERPRISE),
]


# A member registered in another community than the caller's HOME (own), in HOME, elsewhere.
_MEMBER_CASES = [("own", ME_PERSON, OTHER), ("area", SOMEONE, HOME), ("other area", SOMEONE, OTHER)]


def _evaluation_cell(v: Viewer) -> str:
    names = [name for name, _, _ in _MEMBER_CASES]
    return _cell([n for n, p, c in _MEMBER_CASES if sees_evaluation_comment(v, p, c)], names)


def _enterprise_cell(v: Viewer) -> str:
    names = [name for name, _, _ in _ENTERPRISE_CASES]
    return _cell(
        [n for n, c, e in _ENTERPRISE_CASES if sees_enterprise_contact(v, c, e)],
        names,
    )


FIELDS: list[tuple[str, Callable[[Viewer], str]]] = [
    ("`Person.name` (resident)", lambda v: _person_cell(v, sees_person_name, _RESIDENT_CASES)),
    (
        "`Person.name` (serving member)",
        lambda v: _person_cell(v, sees_person_name, _SERVING_CASES),
    ),
    (
        "`Person.phone`, home `latitude`/`longitude`",
        lambda v: _person_cell(v, sees_person_contact, _RESIDENT_CASES),
    ),
    ("`Person.idNumber`", lambda v: "full" if sees_id_number(v) else "masked"),
    ("`Need.reporterName`, `Need.reporter`", lambda v: _need_cell(v, sees_reporter_name)),
    ("`Need.reporterPhone`", lambda v: _need_cell(v, sees_reporter_phone)),
    (
        "`NeedAssignment.person` (who serves it: name; phone as `Person.phone`)",
        lambda v: _need_cell(v, sees_serving_people),
    ),
    (
        "`Need.latitude`/`longitude`/`address`/`title`/`description`/`mediaUrls`, "
        "opportunity place and title",
        lambda v: _need_cell(v, sees_need_place),
    ),
    (
        "`Enterprise.contactName`/`contactPhone`, request event `actorName`",
        _enterprise_cell,
    ),
    ("`MemberEvaluation.comment`/`byName`", _evaluation_cell),
]


def privacy_table() -> str:
    """The README's privacy table, in Markdown: what each caller sees of each personal field."""
    header = "| field | " + " | ".join(name for name, _ in CALLERS) + " |"
    rule = "| --- |" + " --- |" * len(CALLERS)
    lines = [header, rule]
    for label, cell in FIELDS:
        lines.append(f"| {label} | " + " | ".join(cell(v) for _, v in CALLERS) + " |")
    return "\n".join(lines) + "\n"
