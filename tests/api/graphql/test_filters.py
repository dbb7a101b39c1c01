"""Filtering arguments: needs, people, paired units, enterprise requests, resources, activities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("enterprise", "activities")


def titles(client: TestClient, county: County, filter: dict[str, Any]) -> list[str]:
    query = """query($f: NeedFilter) { needs(filter: $f, first: 100,
      orderBy: {field: REPORTED_AT, direction: ASC}) { totalCount nodes { title } } }"""
    data = gql(client, query, {"f": filter}, token=county.token("county_coordinator"))["data"][
        "needs"
    ]
    assert data["totalCount"] == len(data["nodes"])
    return sorted(n["title"] for n in data["nodes"])


def test_filter_needs(client: TestClient, county: County) -> None:
    t = lambda **kw: titles(client, county, kw)  # noqa: E731
    assert t() == sorted(["路灯不亮", "水管爆裂", "山体滑坡隐患", "邻里纠纷", "垃圾清运"])
    assert t(status=["CLOSED"]) == ["垃圾清运", "邻里纠纷"]
    assert t(open=True) == ["山体滑坡隐患", "水管爆裂", "路灯不亮"]
    assert t(open=False) == ["垃圾清运", "邻里纠纷"]
    assert t(tier=["COMPLEX", "MAJOR"]) == ["山体滑坡隐患", "水管爆裂"]
    assert t(category=["DISPUTE"]) == ["邻里纠纷"]
    assert t(source=["HOTLINE_12345"]) == ["垃圾清运", "邻里纠纷"]
    assert t(source=["GRID_PATROL"], tier=["MAJOR"]) == ["山体滑坡隐患"]
    assert t(community=[county.gid("Community", "hengxi")]) == ["垃圾清运", "山体滑坡隐患"]
    assert t(grid=[county.gid("Grid", "grid1"), county.gid("Grid", "grid2")]) == [
        "水管爆裂",
        "路灯不亮",
    ]
    assert t(overdue=True) == ["水管爆裂"]
    assert "水管爆裂" not in t(overdue=False) and len(t(overdue=False)) == 4
    now = datetime.now(UTC)
    assert t(reportedAfter=(now - timedelta(days=2, hours=1)).isoformat()) == [
        "山体滑坡隐患",
        "水管爆裂",
    ]
    assert t(reportedBefore=(now - timedelta(days=5)).isoformat()) == ["垃圾清运", "邻里纠纷"]


def test_refuse_id_of_wrong_type_in_filter(client: TestClient, county: County) -> None:
    body = gql(
        client,
        "query($f: NeedFilter) { needs(filter: $f) { totalCount } }",
        {"f": {"community": [county.gid("Grid", "grid1")]}},
        token=county.token("county_coordinator"),
        expect_errors=True,
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "expected Community" in body["errors"][0]["message"]


def people(client: TestClient, county: County, filter: dict[str, Any]) -> list[str]:
    query = """query($f: PersonFilter) { people(filter: $f) { nodes { name } } }"""
    data = gql(client, query, {"f": filter}, token=county.token("county_coordinator"))
    return sorted(p["name"] for p in data["data"]["people"]["nodes"])


def test_filter_people(client: TestClient, county: County) -> None:
    p = lambda **kw: people(client, county, kw)  # noqa: E731
    assert len(p()) == 4
    assert p(kind=["PARTY_MEMBER"]) == ["王建国"]
    assert p(kind=["GRID_WORKER", "ENTERPRISE_HELPER"]) == ["李网格", "赵小赣"]
    assert p(registeredCommunity=[county.gid("Community", "quantang")]) == ["李网格", "王建国"]
    assert p(skills=["electrician"]) == ["王建国"]
    assert p(skills=["electrician", "legal"]) == []
    assert p(skills=["legal"]) == ["陈骑手"]
    assert p(team=county.gid("Team", "team1")) == ["王建国", "陈骑手"]
    assert p(nameContains="网格") == ["李网格"]
    assert p(isCommando=True) == []


def test_filter_paired_units_and_resources(client: TestClient, county: County) -> None:
    token = county.token("resident")  # reference data: any signed-in caller
    q = """query($kind: [UnitKind!], $tw: ID) { pairedUnits(kind: $kind, twinnedWith: $tw) {
      nodes { name } } }"""
    run = lambda **v: sorted(  # noqa: E731
        u["name"] for u in gql(client, q, v, token=token)["data"]["pairedUnits"]["nodes"]
    )
    assert run() == ["县委组织部", "红色物业公司"]
    assert run(kind=["PROPERTY_COMPANY"]) == ["红色物业公司"]
    assert run(tw=county.gid("Community", "hengxi")) == ["县委组织部"]
    assert run(tw=county.gid("Community", "quantang"), kind=["GOVERNMENT"]) == ["县委组织部"]
    r = """query($a: Boolean, $u: ID) { resources(available: $a, unit: $u) { nodes { name } } }"""
    names = lambda **v: [  # noqa: E731
        x["name"] for x in gql(client, r, v, token=token)["data"]["resources"]["nodes"]
    ]
    assert names(a=True) == ["服务车"] and names(a=False) == ["会议室"]
    assert names(u=county.gid("PairedUnit", "gov")) == ["服务车"]


def requests(client: TestClient, county: County, filter: dict[str, Any], **kw: Any) -> list[str]:
    query = """query($f: EnterpriseRequestFilter, $o: EnterpriseRequestOrder) {
      enterpriseRequests(filter: $f, orderBy: $o) { nodes { title } } }"""
    data = gql(client, query, {"f": filter, **kw}, token=county.token("county_coordinator"))
    return [r["title"] for r in data["data"]["enterpriseRequests"]["nodes"]]


def test_filter_enterprise_requests(client: TestClient, county: County) -> None:
    r = lambda **kw: sorted(requests(client, county, kw))  # noqa: E731
    assert len(r()) == 3
    assert r(status=["SUBMITTED"]) == ["政策咨询"]
    assert r(open=True) == ["政策咨询", "贷款申请"]
    assert r(kind=["FINANCING", "UTILITIES"]) == ["用电增容", "贷款申请"]
    assert r(helper=county.gid("Person", "helper")) == ["用电增容", "贷款申请"]
    assert r(overdue=True) == ["贷款申请"]
    assert r(overdue=False) == ["政策咨询", "用电增容"]
    assert r(enterprise=county.gid("Enterprise", "enterprise")) == r()
    by_deadline = requests(client, county, {}, o={"field": "DEADLINE", "direction": "ASC"})
    assert by_deadline == ["用电增容", "贷款申请", "政策咨询"]


def test_filter_areas_and_activities(client: TestClient, county: County) -> None:
    token = county.token("resident")  # reference data: any signed-in caller
    q = """query($f: CommunityFilter) { communities(filter: $f) { nodes { name } } }"""
    names = lambda f: [  # noqa: E731
        c["name"] for c in gql(client, q, {"f": f}, token=token)["data"]["communities"]["nodes"]
    ]
    assert names({"kind": "VILLAGE"}) == ["横溪村"]
    assert names({"township": "敦厚镇"}) == ["泉塘社区"]
    assert names({"nameContains": "泉塘"}) == ["泉塘社区"]
    assert names({"mode": "EMERGENCY"}) == []
    rural = gql(client, "{ grids(kind: RURAL) { nodes { code } } }", token=token)["data"]
    assert rural["grids"]["nodes"] == [{"code": "HX-01"}]
    # Activities stay public: read anonymously.
    a = """query($s: [ActivityStatus!], $after: DateTime) {
      activities(status: $s, startsAfter: $after) { nodes { title } } }"""
    got = gql(client, a, {"s": ["PLANNED"]})["data"]["activities"]["nodes"]
    assert [x["title"] for x in got] == ["义善庐陵·敬老助餐", "横溪村法律讲座"]
    later = (datetime.now(UTC) + timedelta(days=1, hours=12)).isoformat()
    got = gql(client, a, {"after": later})["data"]["activities"]["nodes"]
    assert [x["title"] for x in got] == ["横溪村法律讲座"]
