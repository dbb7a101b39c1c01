"""Personal data: the masking helpers, the disclosure rules, and what responses really contain."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.auth.privacy import (
    coarse_coordinate,
    coarse_location,
    mask_id_number,
    mask_name,
    mask_phone,
)
from api.graphql.relay import to_global_id
from schema.disclosure import (
    NeedFacts,
    PersonFacts,
    sees_id_number,
    sees_person_contact,
    sees_reporter_name,
    sees_reporter_phone,
)
from schema.enums import NeedStatus, PersonKind, Role
from schema.visibility import Viewer
from tests import factories as f
from tests.api.graphql.mutate import mutate, ok, report_input
from tests.conftest import gql
from tests.county import County

# Two residents' details, unlike anyone's in the test county.
PHONE_A, PHONE_B = "13811112222", "13987654321"
ID_B = "360821198505051234"


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "+86*******5678"
    assert mask_phone("12345") == "***45"
    assert mask_phone("1") == "*"
    assert mask_phone(None) is None


def test_mask_id_number() -> None:
    assert mask_id_number("360821199001011234") == "3608**********1234"
    assert mask_id_number("36082119900101123X") == "3608**********123X"
    assert mask_id_number("short") == "*****"
    assert mask_id_number(None) is None


def test_mask_name() -> None:
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李"
    assert mask_name("") == ""


def test_round_location_to_about_a_kilometre() -> None:
    assert coarse_location(27.04567, 114.91234) == (27.05, 114.91)
    assert coarse_coordinate(27.04567) == 27.05
    assert coarse_coordinate(None) is None
    assert abs(coarse_coordinate(27.0449) - 27.0449) <= 0.005


def _viewer(role: Role | None, **account: Any) -> Viewer:
    return Viewer(role, account.get("id", 7), account.get("person_id"), account.get("community_id"))


def _need(community_id: int | None = 1, *, open_: bool = True, **kw: Any) -> NeedFacts:
    facts = {"reporter_account_id": 99, "reporter_person_id": 99, "dispatched": False} | kw
    return NeedFacts(community_id=community_id, is_open=open_, **facts)


def test_decide_who_sees_personal_data() -> None:
    resident = PersonFacts(3, PersonKind.RESIDENT, 1)
    assert not sees_person_contact(_viewer(None), resident)
    assert sees_person_contact(_viewer(Role.ADMIN, community_id=2), resident)
    assert sees_person_contact(_viewer(Role.VOLUNTEER, person_id=3), resident)
    assert sees_person_contact(_viewer(Role.GRID_WORKER, community_id=1), resident)
    assert not sees_person_contact(_viewer(Role.GRID_WORKER, community_id=2), resident)
    assert sees_person_contact(_viewer(Role.COORDINATOR), resident)  # county-level
    assert not sees_person_contact(_viewer(Role.VOLUNTEER), resident)
    assert not sees_person_contact(_viewer(Role.ENTERPRISE_HELPER), resident)
    # ID numbers: administrators only, not even the person or county-level staff
    assert sees_id_number(_viewer(Role.ADMIN))
    assert not sees_id_number(_viewer(Role.COORDINATOR))
    assert not sees_id_number(_viewer(Role.RESIDENT, person_id=3))


def test_show_reporter_phone_to_the_handler_only_while_open() -> None:
    dispatched = _viewer(Role.VOLUNTEER, person_id=5)
    assert sees_reporter_phone(dispatched, _need(dispatched=True))
    assert not sees_reporter_phone(dispatched, _need(dispatched=True, open_=False))
    assert sees_reporter_name(dispatched, _need(dispatched=True, open_=False))
    assert not sees_reporter_name(dispatched, _need())
    worker = _viewer(Role.GRID_WORKER, community_id=1)
    assert sees_reporter_phone(worker, _need(1)) and not sees_reporter_phone(worker, _need(2))
    assert not sees_reporter_phone(worker, _need(1, open_=False))
    reporter = _viewer(Role.RESIDENT, id=99)
    assert sees_reporter_phone(reporter, _need(2, open_=False))


# --- over HTTP: a resident's responses never carry another resident's personal data ------------

NEED_FIELDS = "id title reporterName reporterPhone reporter { name phone idNumber }"


@pytest.fixture
def world(engine: sa.Engine, county: County) -> dict[str, Any]:
    """Two residents of Quantang (on top of the county), each with an account and a report."""
    c = county.quantang
    pa = f.person(engine, name="王小明", phone=PHONE_A, kind="resident", is_party_member=False)
    pb = f.person(
        engine, name="李大红", phone=PHONE_B, id_number=ID_B, kind="resident", is_party_member=False
    )
    a = f.account(engine, Role.RESIDENT, person_id=pa.id)
    b = f.account(engine, Role.RESIDENT, person_id=pb.id)
    common = {"status": NeedStatus.REPORTED}
    need_a = f.need(
        engine,
        c.id,
        reporter_account_id=a.id,
        reporter_person_id=pa.id,
        reporter_name="王小明",
        reporter_phone=PHONE_A,
        **common,
    )
    need_b = f.need(
        engine,
        c.id,
        reporter_account_id=b.id,
        reporter_person_id=pb.id,
        reporter_name="李大红",
        reporter_phone=PHONE_B,
        **common,
    )
    return {"c": c, "a": a, "b": b, "need_a": need_a, "need_b": need_b}


def _queries(world: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    need_b = to_global_id("Need", world["need_b"].id)
    community = to_global_id("Community", world["c"].id)
    return [
        (f"{{ needs(first: 50) {{ nodes {{ {NEED_FIELDS} }} }} }}", {}),
        (f"query($id: ID!) {{ need(id: $id) {{ {NEED_FIELDS} }} }}", {"id": need_b}),
        (
            f"query($id: ID!) {{ node(id: $id) {{ ... on Need {{ {NEED_FIELDS} }} }} }}",
            {"id": need_b},
        ),
        (
            "query($id: ID!) { community(id: $id) { openNeeds(first: 50) { nodes { "
            + NEED_FIELDS
            + " } } } }",
            {"id": community},
        ),
        ("{ people(first: 50) { nodes { name phone idNumber } } }", {}),
        ("{ me { username displayName } }", {}),
        ("{ countyStats { partyMembers } }", {}),
    ]


def test_hide_other_residents_personal_data(client: TestClient, world: dict[str, Any]) -> None:
    token = f.token_for(world["a"])
    texts = []
    for query, variables in _queries(world):
        r = client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        texts.append(r.text)
    everything = "\n".join(texts)
    assert PHONE_B not in everything and ID_B not in everything and "李大红" not in everything
    # Another resident's report is not theirs to see at all (least privilege: issue 10).
    assert to_global_id("Need", world["need_b"].id) not in everything
    assert PHONE_A in everything  # the resident sees their own report in full


def test_show_reporter_phone_to_staff_in_area_only(
    client: TestClient, county: County, world: dict[str, Any]
) -> None:
    q = "query($id: ID!) { need(id: $id) { reporterPhone } }"
    variables = {"id": to_global_id("Need", world["need_b"].id)}

    def need(who: str) -> Any:
        return gql(client, q, variables, token=county.token(who))["data"]["need"]

    assert need("grid_worker") == need("county_coordinator") == {"reporterPhone": PHONE_B}
    assert need("outsider") is None  # another community's need is not theirs to see


def test_mask_reporter_name_in_need_events(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    need = ok(mutate(client, "reportNeed", report_input(), county.token("resident")))["need"]
    ok(mutate(client, "acceptNeed", {"needId": need["id"]}, county.token("coordinator")))
    neighbour = f.account(engine, Role.RESIDENT, display_name="赵邻居")
    q = "query($id: ID!) { need(id: $id) { events { action actorName } } }"

    def names(token: str) -> list[tuple[str, str]] | None:
        found = gql(client, q, {"id": need["id"]}, token=token)["data"]["need"]
        return None if found is None else [(e["action"], e["actorName"]) for e in found["events"]]

    # A volunteer who offered to take the need sees it, but not who reported it.
    offer = "mutation($id: ID!) { offerNeed(input: { needId: $id }) { userErrors { code } } }"
    ok(gql(client, offer, {"id": need["id"]}, token=county.token("volunteer"))["data"]["offerNeed"])
    assert names(county.token("volunteer")) == [("REPORT", "李**"), ("ACCEPT", "泉塘协调员")]
    assert names(county.token("resident")) == [("REPORT", "李阿姨"), ("ACCEPT", "泉塘协调员")]
    assert names(county.token("coordinator"))[0] == ("REPORT", "李阿姨")
    assert names(f.token_for(neighbour)) is None and names(county.token("outsider")) is None


def test_hide_reporter_person_from_callers_who_see_the_name_masked(
    client: TestClient, county: County, world: dict[str, Any]
) -> None:
    q = "query($id: ID!) { need(id: $id) { reporterName reporter { name } } }"
    variables = {"id": to_global_id("Need", world["need_b"].id)}

    def seen(who: str) -> dict[str, Any]:
        return gql(client, q, variables, token=county.token(who))["data"]["need"]

    assert seen("volunteer") is None  # not theirs to see at all
    assert seen("grid_worker") == {"reporterName": "李大红", "reporter": {"name": "李大红"}}


def test_mask_enterprise_contact_for_residents(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    f.enterprise(
        engine, community_id=county.quantang.id, contact_name="周经理", contact_phone=PHONE_B
    )
    q = "{ enterprises(first: 5) { nodes { contactName contactPhone } } }"

    def contacts(who: str) -> list[dict[str, Any]]:
        return gql(client, q, token=county.token(who))["data"]["enterprises"]["nodes"]

    assert contacts("resident") == [{"contactName": "周**", "contactPhone": mask_phone(PHONE_B)}]
    assert contacts("helper") == [{"contactName": "周经理", "contactPhone": PHONE_B}]


def test_mask_residents_names_in_people_lists(
    client: TestClient, county: County, world: dict[str, Any]
) -> None:
    q = "{ people(first: 50, filter: {kind: [RESIDENT, PARTY_MEMBER]}) { nodes { name kind } } }"

    def names(who: str) -> set[str]:
        nodes = gql(client, q, token=county.token(who))["data"]["people"]["nodes"]
        return {n["name"] for n in nodes}

    # The volunteer, a party member, serves: their name shows; residents are not theirs to see.
    assert names("volunteer") == {"王建国"}
    assert names("admin") == {"王小明", "李大红", "王建国"}
