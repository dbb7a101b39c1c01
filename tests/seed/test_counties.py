"""A province (`luling seed --counties N`): N counties in one database, each with its own areas,
people, units, resources and backlog, none overlapping another, each with the reference county's
figures, the same rows for the same --now."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from schema.base import COUNTY_LAT, COUNTY_LON, county_name, county_offset
from schema.db import make_engine
from schema.migrate import upgrade
from schema.services.matching.counties import MAX_REACH_KM, Box, plan_parts
from schema.workflow import OPEN_NEED_STATUSES
from seed.figures import REFERENCE, REFERENCE_NOW
from seed.load import load_reference
from seed.reference import Tables, iter_reference
from tests.seed.conftest import fresh_seed_database

PINNED_HASH = "argon2-placeholder"
COUNTIES = 2
OPEN = {s.value for s in OPEN_NEED_STATUSES}
OPEN_ENTERPRISE = {"submitted", "assigned", "in_progress"}


@pytest.fixture(scope="module")
def province() -> list[Tables]:
    """Two counties, generated once for the module."""
    return list(iter_reference(counties=COUNTIES, password_hash=PINNED_HASH))


def figures(t: Tables) -> dict[str, Any]:
    """The reference figures a county's own rows give."""
    kinds = Counter(c["kind"] for c in t["community"])
    grids = Counter(g["kind"] for g in t["grid"])
    people = Counter(p["kind"] for p in t["person"])
    open_needs = [n for n in t["need"] if n["status"] in OPEN]
    tiers = Counter(n["tier"] for n in open_needs)
    return {
        "townships": len({c["township"] for c in t["community"]}),
        "urban_communities": kinds["urban_community"],
        "villages": kinds["village"],
        "urban_grids": grids["urban"],
        "rural_grids": grids["rural"],
        "compounds": len(t["compound"]),
        "paired_units": len(t["paired_unit"]),
        "party_members": people["party_member"],
        "enterprise_helpers": people["enterprise_helper"],
        "enterprise_requests": len(t["enterprise_request"]),
        "open_enterprise_requests": sum(
            r["status"] in OPEN_ENTERPRISE for r in t["enterprise_request"]
        ),
        "open_needs": len(open_needs),
        "open_needs_ordinary": tiers["ordinary"],
        "open_needs_complex": tiers["complex"],
        "open_needs_major": tiers["major"],
    }


def box_of(t: Tables) -> Box:
    points = [
        (r["latitude"], r["longitude"])
        for rows in t.values()
        for r in rows
        if r.get("latitude") is not None
    ]
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    return Box(min(lats), max(lats), min(lons), max(lons))


def test_each_county_has_the_reference_county_figures(province: list[Tables]) -> None:
    expected = {k: v for k, v in REFERENCE.as_dict().items() if k in figures(province[0])}
    for k, county in enumerate(province):
        assert figures(county) == expected, county_name(k)


def test_counties_have_their_own_areas_far_apart(province: list[Tables]) -> None:
    names = [{c["name"] for c in county["community"]} for county in province]
    assert not names[0] & names[1]
    codes = [{g["code"] for g in county["grid"]} for county in province]
    assert not codes[0] & codes[1]
    for k, county in enumerate(province):
        assert {c["county"] for c in county["community"]} == {county_name(k)}
        dlat, dlon = county_offset(k)
        home = Box(COUNTY_LAT[0] + dlat, COUNTY_LAT[1] + dlat, COUNTY_LON[0] + dlon,
                   COUNTY_LON[1] + dlon)  # fmt: skip
        found = box_of(county)
        assert home.union(found) == home, (county_name(k), found)  # every point in its box
    # Nobody of one county is within any need's reach of the other's.
    assert box_of(province[0]).distance_km(box_of(province[1])) > MAX_REACH_KM


def test_counties_have_their_own_people_and_backlog(province: list[Tables]) -> None:
    for table in ("person", "need", "enterprise_request", "resource", "paired_unit"):
        ids = [{r["id"] for r in county[table]} for county in province]
        assert ids[0] and ids[1] and not ids[0] & ids[1], table
    for county in province:
        communities = {c["id"] for c in county["community"]}
        assert all(n["community_id"] in communities for n in county["need"])
        people = [p for p in county["person"] if p["registered_community_id"] is not None]
        assert all(p["registered_community_id"] in communities for p in people)


def test_second_county_is_the_scale_copy_moved_and_named(province: list[Tables]) -> None:
    """Built on the --scale path: county 2 is scale copy 2, moved to its place."""
    dlat, dlon = county_offset(1)
    first = province[1]["community"][0]
    assert first["name"] == "泉塘社区-2" and first["county"] == "吉安县-2"
    assert COUNTY_LAT[0] <= first["latitude"] - dlat <= COUNTY_LAT[1]
    assert COUNTY_LON[0] <= first["longitude"] - dlon <= COUNTY_LON[1]


def test_load_a_province_the_same_for_the_same_now(province: list[Tables], tmp_path: Path) -> None:
    with fresh_seed_database(tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            counts = load_reference(engine, reset=False, counties=COUNTIES, now=REFERENCE_NOW)
            assert counts["need"] == sum(len(c["need"]) for c in province)
            with engine.connect() as conn:
                stored = conn.execute(
                    sa.text("SELECT name, county, latitude, longitude FROM community ORDER BY id")
                ).all()
                per_county = dict(
                    conn.execute(
                        sa.text(
                            "SELECT c.county, count(*) FROM need n "
                            "JOIN community c ON c.id = n.community_id "
                            "WHERE n.status IN :open GROUP BY c.county"
                        ).bindparams(sa.bindparam("open", expanding=True)),
                        {"open": sorted(OPEN)},
                    ).all()
                )
                parts = plan_parts(conn, [county_name(k) for k in range(COUNTIES)])
        finally:
            engine.dispose()
    generated = [
        (c["name"], c["county"], c["latitude"], c["longitude"])
        for county in province
        for c in county["community"]
    ]
    assert [tuple(r) for r in stored] == generated  # the same rows, generated again
    assert per_county == {county_name(k): REFERENCE.open_needs for k in range(COUNTIES)}
    assert parts == [(county_name(k),) for k in range(COUNTIES)]  # matched apart
