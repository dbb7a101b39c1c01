"""Accounts (base): one for every kind of caller the tests act as, named by who they are
(`county.token("outsider")`). Every password is "secret-pass" (hashed once a session)."""

from __future__ import annotations

from sqlmodel import Session

from schema import models as m
from schema.enums import Role
from tests import factories as f
from tests.county.core import County, add

REQUIRES = ("areas", "people")


def build(s: Session, c: County) -> None:
    qt, hx = c.quantang.id, c.hengxi.id
    callers: list[tuple[str, Role, int | None, int | None, str]] = [
        # who, role, area (none: county-wide), person, display name
        ("resident", Role.RESIDENT, None, None, "李阿姨"),
        ("volunteer", Role.VOLUNTEER, None, c.volunteer.id, "王建国"),
        ("helper", Role.ENTERPRISE_HELPER, None, c.helper.id, "赵小赣"),
        ("grid_worker", Role.GRID_WORKER, qt, c.worker.id, "李网格"),
        ("grid_worker_hengxi", Role.GRID_WORKER, hx, c.worker.id, "李网格"),
        ("coordinator", Role.COORDINATOR, qt, None, "泉塘协调员"),
        ("outsider", Role.COORDINATOR, hx, None, "横溪协调员"),
        ("county_coordinator", Role.COORDINATOR, None, None, "县协调员"),
        ("business_office", Role.BUSINESS_OFFICE, None, None, "县营商办"),
        ("admin", Role.ADMIN, None, None, "管理员"),
    ]
    password_hash = f.password_hash("secret-pass")
    for who, role, community, person, name in callers:
        c.accounts[who] = add(
            s,
            m.Account(
                username=f"county.{who}",
                password_hash=password_hash,
                role=role,
                community_id=community,
                person_id=person,
                display_name=name,
            ),
        )
