"""In-service party members over HTTP (在职党员下沉报到, 三亮三比·双述): register by hand, from the
shared registry or an existing person; report; two-way evaluation; who sees the scores (the
member, their community, their unit) and the comments (not the unit); roles and scope; bad input
changes nothing; two offices at once."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from schema.enums import PersonKind, Role
from schema.models import InServiceMember, MemberEvaluation, MemberReport, Person, RegistryRecord
from schema.registry_rules import id_number_check_char
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, ok, race
from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("units")

SELECTIONS = {
    "registerInServiceMember": "member { id post responsibility person { id name kind } "
    "community { id } unit { name } }",
    "submitMemberReport": "report { id period serviceMinutes member { id } }",
    "evaluateMember": "evaluation { id direction score comment byName }",
    "evaluateCommunity": "evaluation { id direction score comment byName }",
}


def call(client: TestClient, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    kind = name[0].upper() + name[1:]
    doc = (
        f"mutation($input: {kind}Input!) {{ {name}(input: $input) {{ {SELECTIONS[name]} "
        "userErrors { field message code } } }"
    )
    return gql(client, doc, {"input": input}, token=token)["data"][name]


def id_number(serial: str) -> str:
    first17 = f"36082119850101{serial}"
    return first17 + id_number_check_char(first17)


def by_hand(county: County, serial: str = "123", **over: Any) -> dict[str, Any]:
    return {
        "communityId": gid("Community", county.quantang.id),
        "unitId": county.gid("PairedUnit", "gov"),
        "post": "楼栋党小组联络员",
        "responsibility": "每月走访燕京府小区3栋独居老人",
        "name": "刘红",
        "idNumber": id_number(serial),
        "phone": "13911112222",
    } | over


MEMBERS = """{ inServiceMembers(first: 20) { totalCount nodes { id person { name }
  evaluations { direction score comment byName } reports { period } } } }"""


def test_register_report_and_evaluate_both_ways(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    coordinator = county.token("coordinator")
    hand = ok(call(client, "registerInServiceMember", by_hand(county), coordinator))["member"]
    assert hand["person"]["kind"] == "PARTY_MEMBER" and hand["unit"] == {"name": "县委组织部"}
    with Session(engine, expire_on_commit=False) as s:
        record = RegistryRecord(
            kind="person",
            natural_key=id_number("456"),
            name="周明",
            source="人口库",
            source_key="P-1",
            row_hash="x",
        )
        s.add(record)
        s.commit()
    from_registry = by_hand(county, name=None, idNumber=None, phone=None)
    from_registry["registryRecordId"] = gid("RegistryRecord", record.id)
    ok(call(client, "registerInServiceMember", from_registry, coordinator))
    existing = by_hand(county, name=None, idNumber=None, phone=None)
    existing["personId"] = county.gid("Person", "volunteer")
    member = ok(call(client, "registerInServiceMember", existing, coordinator))["member"]

    volunteer = county.token("volunteer")
    report = {"memberId": member["id"], "period": "2026-q4", "summary": "亮身份：走访12户"}
    assert (
        ok(call(client, "submitMemberReport", report, volunteer))["report"]["period"] == "2026-Q4"
    )
    rated = {"memberId": member["id"], "period": "2026-Q4", "score": 92, "comment": "走访扎实"}
    assert ok(call(client, "evaluateMember", rated, coordinator))["evaluation"]["score"] == 92
    back = {"period": "2026-Q4", "score": 88, "comment": "社区支持到位"}
    given = ok(call(client, "evaluateCommunity", back, volunteer))["evaluation"]
    assert (given["direction"], given["byName"]) == ("MEMBER_RATES_COMMUNITY", "王建国")

    # The member sees their own scores and comments (and, as the unit's, their colleagues').
    mine = gql(client, MEMBERS, token=volunteer)["data"]["inServiceMembers"]
    (own,) = [n for n in mine["nodes"] if n["person"]["name"] == "王建国"]
    assert sorted((e["score"], e["comment"]) for e in own["evaluations"]) == [
        (88, "社区支持到位"),
        (92, "走访扎实"),
    ]
    assert own["reports"] == [{"period": "2026-Q4"}]
    # Their unit's people see every member of the unit with the scores, not the comments.
    colleague = f.person(engine, employer_unit_id=county.rows["gov"].id)
    unit = f.token_for(f.account(engine, Role.VOLUNTEER, person_id=colleague.id))
    seen = gql(client, MEMBERS, token=unit)["data"]["inServiceMembers"]
    assert seen["totalCount"] == 3
    scores = [e for n in seen["nodes"] for e in n["evaluations"]]
    assert sorted(e["score"] for e in scores) == [88, 92]
    assert {e["comment"] for e in scores} == {None} and {e["byName"] for e in scores} == {None}
    # The community's staff see theirs; another community's and strangers see none.
    assert (
        gql(client, MEMBERS, token=county.token("grid_worker"))["data"]["inServiceMembers"][
            "totalCount"
        ]
        == 3
    )
    for who in ("outsider", "grid_worker_hengxi", "resident"):
        assert gql(client, MEMBERS, token=county.token(who))["data"]["inServiceMembers"] == {
            "totalCount": 0,
            "nodes": [],
        }, who
    with Session(engine) as s:
        person = s.get(Person, county.volunteer.id)
        assert person is not None and person.registered_community_id == county.quantang.id
        assert (
            s.exec(select(Person).where(Person.name == "周明")).one().kind
            is PersonKind.PARTY_MEMBER
        )


def test_refuse_member_administration_outside_role_or_area(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    outsider = county.token("outsider")  # Hengxi's coordinator
    assert error_codes(call(client, "registerInServiceMember", by_hand(county), outsider)) == [
        "FORBIDDEN"
    ]
    member = ok(
        call(client, "registerInServiceMember", by_hand(county), county.token("coordinator"))
    )["member"]
    report = {"memberId": member["id"], "period": "2026", "summary": "述实效"}
    # Someone else (a volunteer, not the member) may not report for the member.
    assert error_codes(call(client, "submitMemberReport", report, county.token("volunteer"))) == [
        "FORBIDDEN"
    ]
    ok(call(client, "submitMemberReport", report, county.token("coordinator")))  # on their behalf
    rated = {"memberId": member["id"], "period": "2026", "score": 80}
    assert error_codes(call(client, "evaluateMember", rated, outsider)) == ["FORBIDDEN"]
    # Only registered members rate their community.
    back = {"period": "2026", "score": 80}
    assert error_codes(call(client, "evaluateCommunity", back, county.token("volunteer"))) == [
        "FORBIDDEN"
    ]
    for who, name, input in (
        ("resident", "registerInServiceMember", by_hand(county, "777")),
        ("volunteer", "evaluateMember", rated),
        ("grid_worker", "registerInServiceMember", by_hand(county, "778")),
    ):
        kind = name[0].upper() + name[1:]
        body = gql(
            client,
            f"mutation($i: {kind}Input!) {{ {name}(input: $i) {{ userErrors {{ code }} }} }}",
            {"i": input},
            token=county.token(who),
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", who
    with Session(engine) as s:
        assert len(s.exec(select(InServiceMember)).all()) == 1
        assert s.exec(select(MemberEvaluation)).all() == []


def test_refuse_bad_member_input_and_change_nothing(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    coordinator = county.token("coordinator")
    bad_id = id_number("123")[:-1] + ("0" if id_number("123")[-1] != "0" else "1")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"idNumber": bad_id}, "BAD_USER_INPUT", "idNumber"),
        ({"phone": "12345"}, "BAD_USER_INPUT", "phone"),
        ({"post": "  "}, "BAD_USER_INPUT", "post"),
        ({"personId": county.gid("Person", "volunteer")}, "BAD_USER_INPUT", "personId"),
        ({"unitId": gid("PairedUnit", 999)}, "NOT_FOUND", "unitId"),
        (
            {"name": None, "idNumber": None, "registryRecordId": gid("RegistryRecord", 9)},
            "NOT_FOUND",
            "registryRecordId",
        ),
    ]
    for over, code, field in cases:
        payload = call(client, "registerInServiceMember", by_hand(county, **over), coordinator)
        assert error_codes(payload)[0] == code, over
        assert payload["userErrors"][0]["field"] == ["input", field], payload
    with Session(engine) as s:
        assert s.exec(select(InServiceMember)).all() == []
        assert s.exec(select(Person).where(Person.name == "刘红")).all() == []

    member = ok(call(client, "registerInServiceMember", by_hand(county), coordinator))["member"]
    again = call(client, "registerInServiceMember", by_hand(county), coordinator)
    assert error_codes(again) == ["CONFLICT"]
    early = {"memberId": member["id"], "period": "2026-Q4", "score": 90}
    assert error_codes(call(client, "evaluateMember", early, coordinator)) == ["BAD_USER_INPUT"]
    report = {"memberId": member["id"], "period": "2026-Q4", "summary": "述职"}
    for period in ("2026-13", "26", "2026-Q5"):
        bad = call(client, "submitMemberReport", report | {"period": period}, coordinator)
        assert error_codes(bad) == ["BAD_USER_INPUT"], period
    ok(call(client, "submitMemberReport", report, coordinator))
    assert error_codes(call(client, "submitMemberReport", report, coordinator)) == ["CONFLICT"]
    too_high = call(client, "evaluateMember", early | {"score": 101}, coordinator)
    assert error_codes(too_high) == ["BAD_USER_INPUT"]
    with Session(engine) as s:
        assert len(s.exec(select(InServiceMember)).all()) == 1
        assert len(s.exec(select(MemberReport)).all()) == 1
        assert s.exec(select(MemberEvaluation)).all() == []


def test_two_offices_register_the_same_person_at_once(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    tokens = [county.token("coordinator"), county.token("county_coordinator")]
    results = race(
        database_url,
        [lambda c, t=t: call(c, "registerInServiceMember", by_hand(county), t) for t in tokens],
    )
    codes = sorted("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert codes == ["CONFLICT", "OK"], results
    with Session(engine) as s:
        assert len(s.exec(select(InServiceMember)).all()) == 1
        assert len(s.exec(select(Person).where(Person.id_number == id_number("123"))).all()) == 1


def test_two_coordinators_evaluate_a_member_at_once(
    client: TestClient, engine: sa.Engine, database_url: str, county: County
) -> None:
    coordinator = county.token("coordinator")
    member = ok(call(client, "registerInServiceMember", by_hand(county), coordinator))["member"]
    report = {"memberId": member["id"], "period": "2026", "summary": "述职"}
    ok(call(client, "submitMemberReport", report, coordinator))
    tokens = [coordinator, county.token("county_coordinator")]
    rated = {"memberId": member["id"], "period": "2026", "score": 90}
    results = race(
        database_url, [lambda c, t=t: call(c, "evaluateMember", rated, t) for t in tokens]
    )
    codes = sorted("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert codes == ["CONFLICT", "OK"], results
    with Session(engine) as s:
        assert len(s.exec(select(MemberEvaluation)).all()) == 1
