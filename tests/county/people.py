"""People (base): the four who act, and QT-01's staff.

- `volunteer` 王建国: party member of Quantang, part-time staff of QT-01 (exact home, phone
  and ID number: the privacy tests read them);
- `worker` 李网格: grid worker of Quantang, QT-01's leader (a dispatch "to the grid worker"
  reaches him);
- `helper` 赵小赣: enterprise helper who may carry two open requests;
- `rider` 陈骑手: team member registered in Hengxi.
"""

from __future__ import annotations

from sqlmodel import Session

from schema import models as m
from schema.enums import GridRole, PersonKind
from tests.county.core import A_LAT, A_LON, B_LAT, B_LON, County, add

REQUIRES = ("areas",)


def build(s: Session, c: County) -> None:
    qt, hx = c.quantang, c.hengxi
    people = {
        "volunteer": m.Person(
            name="王建国",
            kind=PersonKind.PARTY_MEMBER,
            is_party_member=True,
            phone="13812345678",
            id_number="360821199001011234",
            registered_community_id=qt.id,
            latitude=27.051234,
            longitude=114.921234,
        ),
        "worker": m.Person(
            name="李网格",
            kind=PersonKind.GRID_WORKER,
            registered_community_id=qt.id,
            phone="13900001111",
            latitude=A_LAT,
            longitude=A_LON,
        ),
        "helper": m.Person(
            name="赵小赣",
            kind=PersonKind.ENTERPRISE_HELPER,
            max_open_requests=2,
            latitude=A_LAT,
            longitude=A_LON,
        ),
        "rider": m.Person(
            name="陈骑手",
            kind=PersonKind.TEAM_MEMBER,
            registered_community_id=hx.id,
            latitude=B_LAT,
            longitude=B_LON,
        ),
    }
    c.rows |= {name: add(s, person) for name, person in people.items()}
    grid = c.grid1.id
    add(s, m.GridStaff(grid_id=grid, person_id=c.worker.id, role=GridRole.LEADER))
    add(s, m.GridStaff(grid_id=grid, person_id=c.volunteer.id, role=GridRole.PART_TIME))
