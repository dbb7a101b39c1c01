"""A report inside a compound is linked to it, and a property matter there is routed to a
property company (物业公司): the compound's red-property company, or the state-owned fallback
(兜底) for a compound without one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from schema import models as m
from schema.enums import UnitKind
from tests.api.graphql.mutate import ok, report_input
from tests.conftest import gql
from tests.county import A_LAT, A_LON, County
from tests.factories import _add

pytestmark = pytest.mark.county("units")

REPORT = """mutation($input: ReportNeedInput!) { reportNeed(input: $input) {
  need { id community { name } compound { name isRedProperty } propertyCompany { name }
         events { note data } }
  userErrors { field message code }
} }"""
QUEUE = """query($unit: ID!) {
  needs(first: 10, filter: {propertyCompany: [$unit]}) { totalCount nodes { title } }
}"""


def report(client: TestClient, county: County, lat: float, lon: float, **kw: str) -> dict:
    values = report_input(location={"latitude": lat, "longitude": lon}, **kw)
    body = gql(client, REPORT, {"input": values}, token=county.token("resident"))
    return ok(body["data"]["reportNeed"])["need"]


def test_route_property_matter_to_the_compounds_red_property(
    client: TestClient, county: County
) -> None:
    # 燕京府小区's coordinates (the test county puts it at Quantang's centre), 50 m off.
    need = report(client, county, A_LAT + 0.0004, A_LON, title="电梯停运", category="PROPERTY")
    assert need["compound"] == {"name": "燕京府小区", "isRedProperty": True}
    assert need["propertyCompany"] == {"name": "红色物业公司"}
    assert need["events"][0]["data"]["routing"] == "red_property"
    assert "转物业: 红色物业公司" in need["events"][0]["note"]
    queue = gql(
        client, QUEUE, {"unit": county.gid("PairedUnit", "property")}, token=county.token("admin")
    )
    assert queue["data"]["needs"]["nodes"] == [{"title": "电梯停运"}]


def test_link_other_matters_to_the_compound_only(client: TestClient, county: County) -> None:
    need = report(client, county, A_LAT, A_LON, title="楼下有人吵架", category="DISPUTE")
    assert need["compound"]["name"] == "燕京府小区" and need["propertyCompany"] is None


def test_route_compound_without_company_to_state_owned_fallback(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    lat, lon = A_LAT + 0.01, A_LON + 0.01  # about 1.4 km from 燕京府小区
    _add(
        engine,
        m.Compound(name="老城小区", community_id=county.quantang.id, latitude=lat, longitude=lon),
    )
    _add(
        engine,
        m.PairedUnit(
            name="私营物业公司", kind=UnitKind.PROPERTY_COMPANY, latitude=lat, longitude=lon
        ),
    )
    need = report(client, county, lat, lon, title="下水道堵塞", category="PROPERTY")
    assert need["compound"] == {"name": "老城小区", "isRedProperty": False}
    assert need["propertyCompany"] == {"name": "红色物业公司"}  # the state-owned one
    assert need["events"][0]["data"]["routing"] == "state_owned_fallback"


def test_leave_report_outside_every_compound_unlinked(client: TestClient, county: County) -> None:
    need = report(client, county, A_LAT + 0.005, A_LON, title="路灯坏了", category="PROPERTY")
    assert need["compound"] is None and need["propertyCompany"] is None
