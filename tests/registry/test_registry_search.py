"""`registrySearch`: who may search, what they see masked, and links to people and enterprises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from schema.enums import PersonKind, Role
from schema.registry import RegistryKind
from schema.services.registry_import import import_registry
from seed.identity import credit_code
from seed.registry_gen import person_id_number
from tests import factories as f
from tests.conftest import gql

SEARCH = """
query ($query: String, $kind: RegistryKind, $community: ID, $first: Int) {
  registrySearch(query: $query, kind: $kind, community: $community, first: $first) {
    edges { node {
      kind naturalKey name phone address latitude source sourceKey
      community { name }
      resident { name kind }
      enterprise { name }
    } }
    pageInfo { hasNextPage }
  }
}
"""

PEOPLE = (
    "来源系统,来源编号,姓名,身份证号,联系电话,住址,社区,纬度,经度\n"
    "公安人口库,P1,王小明,{id1},13811112222,吉安县城南路1号,甲社区,27.04567,114.91234\n"
    "公安人口库,P2,王大明,{id2},13833334444,吉安县城北路2号,乙社区,27.1,115.0\n"
)
ENTERPRISES = (
    "来源系统,来源编号,统一社会信用代码,企业名称,联系电话,地址,社区,纬度,经度\n"
    "市场监管企业库,E1,{code},吉安县红旗米业有限公司,13855556666,吉安县工业园1号,甲社区,27.0,115.0\n"
)


def _load(engine: sa.Engine, tmp_path: Path) -> dict[str, Any]:
    a = f.community(engine, name="甲社区")
    b = f.community(engine, name="乙社区")
    ids = person_id_number(101), person_id_number(202)
    code = credit_code(4242)
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE.format(id1=ids[0], id2=ids[1]), encoding="utf-8")
    firms = tmp_path / "firms.csv"
    firms.write_text(ENTERPRISES.format(code=code), encoding="utf-8")
    for kind, path in ((RegistryKind.PERSON, people), (RegistryKind.ENTERPRISE, firms)):
        result = import_registry(engine, kind, path, tmp_path / "refused.csv")
        assert result.refused == 0 and result.inserted >= 1
    resident = f.person(engine, name="王小明", kind=PersonKind.RESIDENT, id_number=ids[0])
    firm = f.enterprise(engine, name="红旗米业", credit_code=code)
    return {"a": a, "b": b, "ids": ids, "code": code, "resident": resident, "firm": firm}


def _search(client: TestClient, token: str | None, **variables: Any) -> dict[str, Any]:
    return gql(client, SEARCH, variables, token=token, expect_errors=True)


def _nodes(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["registrySearch"]["edges"]]


def test_county_staff_search_by_key_and_name_and_see_everything(
    engine: sa.Engine, client: TestClient, tmp_path: Path
) -> None:
    d = _load(engine, tmp_path)
    token = f.signed_in_token(engine, Role.COORDINATOR)
    (by_key,) = _nodes(_search(client, token, query=d["ids"][0]))
    assert by_key["name"] == "王小明" and by_key["phone"] == "13811112222"
    # ID numbers: administrators only, as for people (schema.disclosure.sees_id_number)
    assert by_key["naturalKey"] != d["ids"][0] and "*" in by_key["naturalKey"]
    assert by_key["latitude"] == 27.04567
    assert by_key["community"] == {"name": "甲社区"} and by_key["kind"] == "PERSON"
    assert by_key["resident"] == {"name": "王小明", "kind": "RESIDENT"}
    assert by_key["enterprise"] is None
    by_name = _nodes(_search(client, token, query="王", kind="PERSON"))
    assert [n["name"] for n in by_name] == ["王大明", "王小明"]
    (firm,) = _nodes(_search(client, token, kind="ENTERPRISE"))
    assert firm["naturalKey"] == d["code"] and firm["enterprise"] == {"name": "红旗米业"}
    in_b = _nodes(_search(client, token, community=to_global_id("Community", d["b"].id)))
    assert [n["name"] for n in in_b] == ["王大明"]
    admin = f.signed_in_token(engine, Role.ADMIN)
    (as_admin,) = _nodes(_search(client, admin, query=d["ids"][0]))
    assert as_admin["naturalKey"] == d["ids"][0]


def test_scoped_staff_see_personal_data_only_in_their_community(
    engine: sa.Engine, client: TestClient, tmp_path: Path
) -> None:
    d = _load(engine, tmp_path)
    token = f.signed_in_token(engine, Role.GRID_WORKER, community_id=d["a"].id)
    nodes = {n["sourceKey"]: n for n in _nodes(_search(client, token, kind="PERSON"))}
    assert nodes["P1"]["name"] == "王小明" and nodes["P1"]["phone"] == "13811112222"
    other = nodes["P2"]
    assert other["name"] == "王**" and other["phone"] == "138****4444"
    assert other["naturalKey"].startswith("3608") and "*" in other["naturalKey"]
    assert other["address"] is None and other["latitude"] == 27.1


def test_helpers_see_enterprises_in_full_and_people_masked(
    engine: sa.Engine, client: TestClient, tmp_path: Path
) -> None:
    d = _load(engine, tmp_path)
    token = f.signed_in_token(engine, Role.ENTERPRISE_HELPER)
    (firm,) = _nodes(_search(client, token, query=d["code"]))
    assert firm["name"] == "吉安县红旗米业有限公司" and firm["naturalKey"] == d["code"]
    assert firm["phone"] == "138****6666"  # a contact's phone is personal
    (person,) = _nodes(_search(client, token, query=d["ids"][0]))
    assert person["name"] == "王**" and person["latitude"] == 27.05
    assert person["address"] is None


def test_residents_volunteers_and_anonymous_callers_are_refused(
    engine: sa.Engine, client: TestClient, tmp_path: Path
) -> None:
    _load(engine, tmp_path)
    for token in (
        None,
        f.signed_in_token(engine, Role.RESIDENT),
        f.signed_in_token(engine, Role.VOLUNTEER),
    ):
        body = _search(client, token, query="王")
        assert body.get("data") is None or body["data"]["registrySearch"] is None
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes <= {"FORBIDDEN", "UNAUTHENTICATED"}, body


def test_search_is_a_connection_paged_by_name(
    engine: sa.Engine, client: TestClient, tmp_path: Path
) -> None:
    _load(engine, tmp_path)
    token = f.signed_in_token(engine, Role.ADMIN)
    body = _search(client, token, first=2)
    assert len(_nodes(body)) == 2 and body["data"]["registrySearch"]["pageInfo"]["hasNextPage"]
    assert _nodes(_search(client, token, query="李")) == []


def test_records_are_nodes_guarded_like_the_search(
    engine: sa.Engine, client: TestClient, tmp_path: Path
) -> None:
    _load(engine, tmp_path)
    with engine.connect() as conn:
        # By its key: the import's MERGE on PostgreSQL gives no order of ids (min(id) was P2 once).
        pk = conn.execute(
            sa.text("SELECT id FROM registry_record WHERE source_key = 'P1'")
        ).scalar_one()
    query = "query ($id: ID!) { node(id: $id) { ... on RegistryRecord { sourceKey } } }"
    gid = {"id": to_global_id("RegistryRecord", pk)}
    admin = f.signed_in_token(engine, Role.ADMIN)
    assert gql(client, query, gid, token=admin)["data"]["node"] == {"sourceKey": "P1"}
    resident = f.signed_in_token(engine, Role.RESIDENT)
    refused = gql(client, query, gid, token=resident, expect_errors=True)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
