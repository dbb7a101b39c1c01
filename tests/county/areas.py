"""Areas (base): Quantang, an urban community with two grids, and Hengxi, a village with one."""

from __future__ import annotations

from sqlmodel import Session

from schema import models as m
from schema.enums import AreaKind, GridKind
from tests.county.core import A_LAT, A_LON, B_LAT, B_LON, County, add

REQUIRES: tuple[str, ...] = ()


def build(s: Session, c: County) -> None:
    qt = add(
        s,
        m.Community(
            name="泉塘社区",
            kind=AreaKind.URBAN_COMMUNITY,
            township="敦厚镇",
            latitude=A_LAT,
            longitude=A_LON,
            population=12000,
        ),
    )
    hx = add(
        s,
        m.Community(
            name="横溪村",
            kind=AreaKind.VILLAGE,
            township="永和镇",
            latitude=B_LAT,
            longitude=B_LON,
            population=2100,
        ),
    )
    c.rows |= {"quantang": qt, "hengxi": hx}
    # QT-01 is the grid nearest to Quantang's centre (reports there land in it); QT-02 lies
    # south-west, away from Hengxi, so the nearest grid to any place is never a tie.
    grids = {
        "grid1": m.Grid(
            code="QT-01",
            name="泉塘一网格",
            kind=GridKind.URBAN,
            community_id=qt.id,
            latitude=27.051,
            longitude=114.921,
        ),
        "grid2": m.Grid(
            code="QT-02",
            name="泉塘二网格",
            kind=GridKind.URBAN,
            community_id=qt.id,
            latitude=27.04,
            longitude=114.91,
        ),
        "grid3": m.Grid(
            code="HX-01",
            name="横溪网格",
            kind=GridKind.RURAL,
            community_id=hx.id,
            latitude=B_LAT,
            longitude=B_LON,
        ),
    }
    c.rows |= {name: add(s, grid) for name, grid in grids.items()}
