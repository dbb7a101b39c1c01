"""Where a place may lie in a province (`schema.services.locations.place_problem`): inside one
of the database's counties, and in its community's county. A need reported, an activity
published, a unit and a sentinel post created in county 2 are accepted; a point between two
counties' boxes, in the box of a county the database does not hold, or in another county than
its community's, is refused with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from schema.base import COUNTY_LAT, COUNTY_LON, county_name, utcnow
from schema.enums import NeedCategory, Role, ServiceLevel, UnitKind
from schema.geo import county_box, grid_county
from schema.models import Activity, Need, PairedUnit, ServiceOrganiser
from schema.services import activity_admin, sentinel, units
from schema.services.errors import Invalid
from schema.services.needs import report_need
from tests import factories as f
from tests.loop import actor, run
from tests.province import SmallCounty, small_province

# County 2's box starts 1.5° east of the reference county's; between them lies a 0.6° gap.
BETWEEN = (27.0, COUNTY_LON[1] + 0.3)


@pytest.fixture
def two(engine: sa.Engine) -> list[SmallCounty]:
    return small_province(engine, 2)


def _point(county: int) -> tuple[float, float]:
    (south, north), (west, east) = county_box(county)
    return (south + north) / 2, (west + east) / 2


def _count(engine: sa.Engine, model: type) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_grid_county_names_the_box_a_point_is_in() -> None:
    assert grid_county(27.0, 114.9) == county_name(0)
    assert grid_county(*_point(1)) == county_name(1)
    assert grid_county(*_point(57)) == county_name(57)
    assert grid_county(*BETWEEN) is None  # the gap between two boxes
    assert grid_county(COUNTY_LAT[0], COUNTY_LON[0]) == county_name(0)  # the edges are inside
    assert grid_county(COUNTY_LAT[0] - 0.01, COUNTY_LON[0]) is None  # off the grid
    assert grid_county(float("nan"), 114.9) is None
    for k in range(100):  # every box's corners and centre, however the division rounds
        (south, north), (west, east) = county_box(k)
        for lat in (south, north, (south + north) / 2):
            for lon in (west, east, (west + east) / 2):
                assert grid_county(lat, lon) == county_name(k), (k, lat, lon)


def test_report_a_need_in_the_second_county(
    database_url: str, engine: sa.Engine, two: list[SmallCounty]
) -> None:
    resident = actor(f.account(engine, Role.RESIDENT))
    lat, lon = _point(1)

    def report(**kw: object) -> Need:
        values = {"title": "楼道灯坏了", "category": NeedCategory.OTHER}
        return run(database_url, report_need, actor=resident, **(values | kw))

    need = report(latitude=lat, longitude=lon)  # located: county 2's nearest grid or community
    assert need.community_id in two[1].community_ids
    named = report(latitude=lat, longitude=lon, community_id=two[1].community_ids[0])
    assert named.community_id == two[1].community_ids[0]
    before = _count(engine, Need)
    with pytest.raises(Invalid) as between:
        report(latitude=BETWEEN[0], longitude=BETWEEN[1])
    assert between.value.problems[0][0] == "location"
    with pytest.raises(Invalid) as absent:  # county 3's box: no such county in this database
        report(latitude=_point(2)[0], longitude=_point(2)[1])
    assert "outside the province's counties" in absent.value.problems[0][1]
    with pytest.raises(Invalid) as elsewhere:  # in county 2, but said to be county 1's
        report(latitude=lat, longitude=lon, community_id=two[0].community_ids[0])
    assert elsewhere.value.problems == [
        ("location", f"the place is in {county_name(1)}, not in {county_name(0)}, "
                     "the community's county")
    ]  # fmt: skip
    assert _count(engine, Need) == before


def test_publish_an_activity_in_the_second_county(
    database_url: str, engine: sa.Engine, two: list[SmallCounty]
) -> None:
    admin = actor(f.account(engine, Role.ADMIN))
    with Session(engine, expire_on_commit=False) as s:
        centre = ServiceOrganiser(name="县志愿服务中心", level=ServiceLevel.CENTRE)
        s.add(centre)
        s.commit()
    start = utcnow() + timedelta(days=1)

    def publish(community_id: int, lat: float, lon: float) -> Activity:
        return run(
            database_url, activity_admin.publish_activity, actor=admin, organiser_id=centre.id,
            community_id=community_id, title="敬老助餐", starts_at=start,
            ends_at=start + timedelta(hours=2), capacity=3, latitude=lat, longitude=lon,
        )  # fmt: skip

    lat, lon = _point(1)
    row = publish(two[1].community_ids[0], lat, lon)
    assert (row.latitude, row.longitude) == (lat, lon)
    for community_id, place in ((two[1].community_ids[0], BETWEEN), (two[0].community_ids[0],
                                                                      (lat, lon))):  # fmt: skip
        with pytest.raises(Invalid) as refused:
            publish(community_id, *place)
        assert refused.value.problems[0][0] == "latitude"
    assert _count(engine, Activity) == 1
    moved = run(
        database_url, activity_admin.update_activity, actor=admin, activity_id=row.id,
        expected_version=row.version,
        changes=activity_admin.ActivityChanges(latitude=lat + 0.01, longitude=lon),
    )  # fmt: skip
    assert moved.latitude == lat + 0.01


def test_create_a_unit_and_a_post_in_the_second_county(
    database_url: str, engine: sa.Engine, two: list[SmallCounty]
) -> None:
    admin = actor(f.account(engine, Role.ADMIN))
    lat, lon = _point(1)
    unit = run(
        database_url, units.create_paired_unit, actor=admin, name="县二医院",
        kind=UnitKind.INSTITUTION, latitude=lat, longitude=lon,
        community_ids=[two[1].community_ids[0]],
    )  # fmt: skip
    assert unit.id is not None
    with pytest.raises(Invalid) as refused:
        run(
            database_url, units.create_paired_unit, actor=admin, name="县间医院",
            kind=UnitKind.INSTITUTION, latitude=BETWEEN[0], longitude=BETWEEN[1],
        )  # fmt: skip
    assert refused.value.problems == [("location", "the place is outside the province's counties")]
    with Session(engine) as s:
        names = s.exec(select(PairedUnit.name).order_by(col(PairedUnit.id))).all()
    assert names == ["县二医院"]
    keeper = two[1].person_ids[0]
    post = run(
        database_url, sentinel.create_sentinel_post, actor=admin,
        community_id=two[1].community_ids[0], name="县二哨点", keeper_person_id=keeper,
        latitude=lat, longitude=lon,
    )  # fmt: skip
    assert post.id is not None
    with pytest.raises(Invalid):
        run(
            database_url, sentinel.create_sentinel_post, actor=admin,
            community_id=two[0].community_ids[0], name="越界哨点", keeper_person_id=keeper,
            latitude=lat, longitude=lon,
        )  # fmt: skip


def test_a_posts_suggestion_stays_in_the_posts_county(
    database_url: str, engine: sa.Engine, two: list[SmallCounty]
) -> None:
    # attack3: a county-1 post's suggestion placed in county 2 became county 2's need.
    admin = actor(f.account(engine, Role.ADMIN))
    keeper = two[0].person_ids[0]
    lat, lon = _point(0)
    post = run(
        database_url, sentinel.create_sentinel_post, actor=admin,
        community_id=two[0].community_ids[0], name="县一哨点", keeper_person_id=keeper,
        latitude=lat, longitude=lon,
    )  # fmt: skip
    needs = _count(engine, Need)
    with pytest.raises(Invalid) as refused:
        run(
            database_url, sentinel.submit_suggestion, actor=admin, post_id=post.id,
            title="路灯坏了", category=NeedCategory.INFRASTRUCTURE,
            latitude=_point(1)[0], longitude=_point(1)[1],
        )  # fmt: skip
    assert refused.value.problems[0][0] == "location"
    assert _count(engine, Need) == needs
    near = run(
        database_url, sentinel.submit_suggestion, actor=admin, post_id=post.id,
        title="路灯坏了", category=NeedCategory.INFRASTRUCTURE, latitude=lat, longitude=lon + 0.01,
    )  # fmt: skip
    assert near.id is not None
