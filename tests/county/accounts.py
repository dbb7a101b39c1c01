"""Accounts (base): one for every kind of caller the tests act as, by who they are.

| who                  | role              | area    | person    | display name |
|----------------------|-------------------|---------|-----------|--------------|
| `resident`           | resident          |         |           | 李阿姨       |
| `volunteer`          | volunteer         |         | volunteer | 王建国       |
| `helper`             | enterprise helper |         | helper    | 赵小赣       |
| `grid_worker`        | grid worker       | Quantang| worker    | 李网格       |
| `grid_worker_hengxi` | grid worker       | Hengxi  | worker    | 李网格       |
| `coordinator`        | coordinator       | Quantang|           | 泉塘协调员   |
| `outsider`           | coordinator       | Hengxi  |           | 横溪协调员   |
| `county_coordinator` | coordinator       | county  |           | 县协调员     |
| `admin`              | administrator     |         |           | 管理员       |

Every password is "secret-pass" (hashed once per session, see `tests.factories`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from schema import models as m
from schema.enums import Role
from tests import factories as f
from tests.county.core import County, add

REQUIRES = ("areas", "people")


def build(s: Session, c: County) -> None:
    qt, hx = c.quantang.id, c.hengxi.id
    worker = c.worker.id
    accounts: dict[str, dict[str, Any]] = {
        "resident": {"role": Role.RESIDENT, "display_name": "李阿姨"},
        "volunteer": {
            "role": Role.VOLUNTEER,
            "person_id": c.volunteer.id,
            "display_name": "王建国",
        },
        "helper": {
            "role": Role.ENTERPRISE_HELPER,
            "person_id": c.helper.id,
            "display_name": "赵小赣",
        },
        "grid_worker": {
            "role": Role.GRID_WORKER,
            "community_id": qt,
            "person_id": worker,
            "display_name": "李网格",
        },
        "grid_worker_hengxi": {
            "role": Role.GRID_WORKER,
            "community_id": hx,
            "person_id": worker,
            "display_name": "李网格",
        },
        "coordinator": {"role": Role.COORDINATOR, "community_id": qt, "display_name": "泉塘协调员"},
        "outsider": {"role": Role.COORDINATOR, "community_id": hx, "display_name": "横溪协调员"},
        "county_coordinator": {"role": Role.COORDINATOR, "display_name": "县协调员"},
        "admin": {"role": Role.ADMIN, "display_name": "管理员"},
    }
    password_hash = f.password_hash("secret-pass")
    for who, values in accounts.items():
        username = f"county.{who}"
        c.accounts[who] = add(
            s, m.Account(username=username, password_hash=password_hash, **values)
        )
