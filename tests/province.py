"""A small province for tests: N counties side by side (as `luling seed --counties` places them),
each with two communities, a few volunteers registered there and open needs that they can reach;
nobody can reach another county's needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from schema.base import county_name, county_offset
from schema.enums import NeedStatus
from tests import factories as f


@dataclass
class SmallCounty:
    name: str
    community_ids: list[int] = field(default_factory=list)
    need_ids: list[int] = field(default_factory=list)
    person_ids: list[int] = field(default_factory=list)


def small_province(engine: sa.Engine, counties: int = 3, *, first: int = 0) -> list[SmallCounty]:
    """Counties number `first` … `first + counties - 1` of the province layout."""
    out = []
    for k in range(first, first + counties):
        county = SmallCounty(county_name(k))
        dlat, dlon = county_offset(k)
        for j in range(2):
            lat, lon = f.LAT + dlat + 0.01 * j, f.LON + dlon
            home = f.community(
                engine, name=f"{county.name}测试社区{j}", county=county.name,
                latitude=lat, longitude=lon,
            )  # fmt: skip
            assert home.id is not None
            county.community_ids.append(home.id)
            for i in range(3):
                person = f.person(
                    engine, registered_community_id=home.id, weekly_capacity_minutes=600,
                    latitude=lat + 0.001 * i, longitude=lon,
                )  # fmt: skip
                assert person.id is not None
                county.person_ids.append(person.id)
            for i in range(2):
                need = f.need(
                    engine, home.id, status=NeedStatus.ACCEPTED,
                    latitude=lat, longitude=lon + 0.001 * i,
                )  # fmt: skip
                assert need.id is not None
                county.need_ids.append(need.id)
        out.append(county)
    return out
