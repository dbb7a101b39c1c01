"""The test county: one small county every test that needs one starts from, built by area.

The base, which the `county` fixture (tests/conftest.py) always builds:
- `areas`: 泉塘社区 (Quantang, urban, grids QT-01 and QT-02) and 横溪村 (Hengxi, a village
  5.6 km away, grid HX-01);
- `people`: the four who act (volunteer, grid worker, enterprise helper, rider);
- `accounts`: one per kind of caller, by who they are (`county.token("coordinator")`).

Parts a module adds with `pytestmark = pytest.mark.county("needs", ...)` (each brings the parts
it relies on): `units`, `skills`, `teams`, `needs`, `enterprise`, `activities`, `matching`.
Every row a test refers to has a name: `county.rows["need_open"]`, `county.gid("Need",
"need_open")`. A test that needs more rows adds them with `tests.factories`.

One transaction inserts it all, so the database holds only what the test asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import sqlalchemy as sa
from sqlmodel import Session

from tests.county import (
    accounts,
    activities,
    areas,
    enterprise,
    matching,
    needs,
    people,
    skills,
    teams,
    units,
)
from tests.county.core import A_LAT, A_LON, B_LAT, B_LON, NOW, County

__all__ = [
    "A_LAT",
    "A_LON",
    "BASE",
    "B_LAT",
    "B_LON",
    "EVERY_PART",
    "NOW",
    "PARTS",
    "County",
    "build",
]

# In the order they are built: each part only refers to parts before it.
_MODULES: dict[str, ModuleType] = {
    "areas": areas,
    "people": people,
    "accounts": accounts,
    "units": units,
    "skills": skills,
    "teams": teams,
    "needs": needs,
    "enterprise": enterprise,
    "activities": activities,
    "matching": matching,
}
PARTS: dict[str, Callable[[Session, County], None]] = {
    name: module.build for name, module in _MODULES.items()
}
BASE = ("areas", "people", "accounts")
EVERY_PART = tuple(name for name in PARTS if name not in BASE)


def _with_requirements(names: tuple[str, ...]) -> set[str]:
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in _MODULES:
            raise ValueError(f"no county part {name!r}; the parts: {', '.join(_MODULES)}")
        if name not in wanted:
            wanted.add(name)
            todo.extend(_MODULES[name].REQUIRES)
    return wanted


def build(engine: sa.Engine, *parts: str) -> County:
    """Insert the base county and the named `parts` (with the parts they rely on)."""
    wanted = _with_requirements(BASE + parts)
    county = County(engine)
    with Session(engine, expire_on_commit=False) as session:
        for name, build_part in PARTS.items():
            if name in wanted:
                build_part(session, county)
        session.commit()
    return county
