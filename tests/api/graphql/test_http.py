"""GraphQL over HTTP: GET, content negotiation and status codes, limits, coded and masked
errors, and who may read what (roles, masked personal data)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from tests import factories as f
from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("enterprise", "activities")

GQL_RESPONSE = "application/graphql-response+json"


def post(client: TestClient, body: Any, accept: str | None = None, token: str | None = None) -> Any:
    headers = {"accept": accept} if accept else {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return client.post("/graphql", json=body, headers=headers)


def test_answer_query_over_get_with_variables(client: TestClient, county: County) -> None:
    r = client.get(
        "/graphql",
        params={
            "query": "query($f: CommunityFilter) { communities(filter: $f) { nodes { name } } }",
            "variables": '{"f": {"kind": "VILLAGE"}}',
        },
        headers={"authorization": f"Bearer {county.token('resident')}"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["data"]["communities"]["nodes"] == [{"name": "横溪村"}]


def test_refuse_mutation_over_get(client: TestClient) -> None:
    r = client.get(
        "/graphql", params={"query": 'mutation { login(username: "a", password: "b") { token } }'}
    )
    assert (
        r.status_code == 405 and r.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    )


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GQL_RESPONSE, GQL_RESPONSE),
        (f"{GQL_RESPONSE}, application/json;q=0.9", GQL_RESPONSE),
        (f"application/json, {GQL_RESPONSE};q=0.5", "application/json"),
    ],
)
def test_negotiate_response_media_type(client: TestClient, accept: str | None, media: str) -> None:
    r = post(client, {"query": "{ countyStats { pairedUnits } }"}, accept)
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ communities { nodes { name }", "GRAPHQL_PARSE_FAILED"),
        ("{ communities { nodes { nope } } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ community { name } }", "GRAPHQL_VALIDATION_FAILED"),  # missing required argument
    ],
)
def test_refuse_unparsable_or_invalid_document(client: TestClient, query: str, code: str) -> None:
    as_json = post(client, {"query": query})
    assert as_json.status_code == 200 and as_json.json()["data"] is None
    assert as_json.json()["errors"][0]["extensions"]["code"] == code
    as_gql = post(client, {"query": query}, GQL_RESPONSE)
    assert as_gql.status_code == 400 and as_gql.headers["content-type"].startswith(GQL_RESPONSE)
    body = as_gql.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == code


def test_refuse_variables_of_wrong_type(client: TestClient) -> None:
    query = "query($n: Int) { communities(first: $n) { totalCount } }"
    r = post(client, {"query": query, "variables": {"n": "ten"}}, GQL_RESPONSE)
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"NONSENSE", "BAD_REQUEST_BODY"),
        (b'{"query":', "BAD_REQUEST_BODY"),
        (b'{"qeury": "{ __typename }"}', "BAD_REQUEST_QUERY"),
        (b'{"query": "{ __typename }", "variables": [7]}', "BAD_REQUEST"),
    ],
)
def test_refuse_malformed_request(client: TestClient, body: bytes, code: str) -> None:
    for accept in (None, GQL_RESPONSE):
        headers = {"content-type": "application/json"} | ({"accept": accept} if accept else {})
        r = client.post("/graphql", content=body, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["extensions"]["code"] == code


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ countyStats { pairedUnits } }"},  # answered
        {"query": "{ communities(first: 101) { totalCount } }"},  # a field error
        {"query": "{ nope }"},  # fails validation
        {"query": "{ a: __typename } { b: __typename }"},  # two anonymous operations
        {"query": "query A { __typename }", "operationName": "B"},  # names none
        {"query": "query($n: Int!) { __typename }", "variables": {"n": "x"}},
        {"query": "{ me { username } }"},  # signed in below
    ],
)
def test_answer_well_formed_posts_alike_on_either_path(
    client: TestClient, engine: sa.Engine, body: dict[str, Any]
) -> None:
    # `application/json` takes the short path (api/graphql/http.py execute_post); a spelling it
    # does not know (no space before the charset) goes through Strawberry's view: same answers.
    token = f.signed_in_token(engine)
    for accept in (None, GQL_RESPONSE):
        answers = []
        for content_type in ("application/json", "application/json;charset=utf-8"):
            headers = {"content-type": content_type, "authorization": f"Bearer {token}"}
            if accept:
                headers["accept"] = accept
            r = client.post("/graphql", content=json.dumps(body), headers=headers)
            answer = r.json()
            answer.get("extensions", {}).get("cost", {}).pop("remaining", None)  # spent between
            answers.append((r.status_code, r.headers["content-type"], answer))
        assert answers[0] == answers[1], (accept, answers)


def test_refuse_bad_credentials_alike_on_either_path(client: TestClient) -> None:
    answers = []
    for content_type in ("application/json", "application/json;charset=utf-8"):
        headers = {"content-type": content_type, "authorization": "Bearer not-a-token"}
        r = client.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)
        answers.append((r.status_code, r.headers["www-authenticate"], r.json()))
    assert answers[0] == answers[1] and answers[0][0] == 401


def test_keep_field_errors_at_200(client: TestClient, engine: sa.Engine) -> None:
    query = {"query": "{ communities(first: 101) { totalCount } }"}
    r = post(client, query, GQL_RESPONSE, token=f.signed_in_token(engine))
    assert r.status_code == 200
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_refuse_too_deep_query(client: TestClient) -> None:
    deep = "{ communities { nodes " + "{ grids { community " * 7 + "{ name }" + " } }" * 7 + " } }"
    r = post(client, {"query": deep}, GQL_RESPONSE)
    assert r.status_code == 400
    assert [e["extensions"]["code"] for e in r.json()["errors"]] == ["QUERY_TOO_DEEP"]


def test_refuse_too_many_aliases(client: TestClient) -> None:
    wide = "{ " + " ".join(f"a{i}: skills {{ code }}" for i in range(31)) + " }"
    r = post(client, {"query": wide}, GQL_RESPONSE)
    assert r.status_code == 400
    assert [e["extensions"]["code"] for e in r.json()["errors"]] == ["TOO_MANY_ALIASES"]
    ok = "{ " + " ".join(f"a{i}: skills {{ code }}" for i in range(30)) + " }"
    assert post(client, {"query": ok}, GQL_RESPONSE).status_code == 200


def test_refuse_too_many_tokens(client: TestClient) -> None:
    big = "{ skills { " + " ".join(["id"] * 4100) + " } }"
    r = post(client, {"query": big}, GQL_RESPONSE)
    assert r.status_code == 400
    (error,) = r.json()["errors"]
    assert error["extensions"]["code"] == "TOO_MANY_TOKENS" and "4000 tokens" in error["message"]


def test_mask_internal_errors_with_a_code(
    client: TestClient, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = f.signed_in_token(engine)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no such table: secret_internal_detail")

    monkeypatch.setattr("api.graphql.relay.connection_fields.select_page", broken)
    for accept in (None, GQL_RESPONSE):
        r = post(
            client,
            {"query": "{ communities { totalCount } countyStats { pairedUnits } }"},
            accept,
            token=token,
        )
        body = r.json()
        (error,) = body["errors"]
        assert r.status_code == 200 and error["message"] == "Unexpected error."
        assert error["extensions"] == {"code": "INTERNAL"} and error["path"] == ["communities"]
        assert "secret_internal_detail" not in r.text
        assert body["data"] is None  # communities is non-null, so null propagates to data


@pytest.mark.parametrize(
    ("query", "variables_key"),
    [
        ("{ needs { totalCount } }", None),
        ("{ people { totalCount } }", None),
        ("{ enterpriseRequests { totalCount } }", None),
        ("{ matchingJobs { totalCount } }", None),
        ("query($id: ID!) { node(id: $id) { id } }", ("Need", "need_open")),
        ("query($id: ID!) { node(id: $id) { id } }", ("Person", "volunteer")),
    ],
)
def test_require_sign_in_for_protected_reads(
    client: TestClient, county: County, query: str, variables_key: tuple[str, str] | None
) -> None:
    variables = {"id": county.gid(*variables_key)} if variables_key else {}
    body = gql(client, query, variables, expect_errors=True)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_forbid_reads_outside_the_role(client: TestClient, county: County) -> None:
    resident = county.token("resident")
    assert "errors" not in gql(client, "{ needs { totalCount } }", token=resident)
    for query in (
        "{ enterpriseRequests { totalCount } }",
        "{ matchingJobs { totalCount } }",
        "{ people { totalCount } }",
    ):
        body = gql(client, query, token=resident, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# Reference data (issue 3): any signed-in caller reads it; anonymous callers do not.
REFERENCE_LISTS = [
    "communities",
    "grids",
    "compounds",
    "venues",
    "consultations",
    "pairedUnits",
    "resources",
    "teams",
    "enterprises",
]
# node(id:) of each reference type, with the county row it is tried on.
REFERENCE_NODES = {
    "Community": "quantang",
    "Grid": "grid1",
    "Compound": "compound",
    "Venue": "station",
    "Consultation": "consultation",
    "PairedUnit": "gov",
    "Resource": "van",
    "Team": "team1",
    "Enterprise": "enterprise",
}


def unauthenticated(body: dict[str, Any], field: str) -> bool:
    """The one error is UNAUTHENTICATED on `field`, and nothing of it is returned."""
    (error,) = body["errors"]
    return (
        error["path"] == [field]
        and error["extensions"]["code"] == "UNAUTHENTICATED"
        and (body["data"] or {}).get(field) is None
    )


@pytest.mark.parametrize("field", REFERENCE_LISTS)
def test_require_sign_in_for_reference_lists(
    client: TestClient, county: County, field: str
) -> None:
    query = f"{{ {field} {{ totalCount nodes {{ id }} }} }}"
    assert unauthenticated(gql(client, query, expect_errors=True), field)
    signed_in = gql(client, query, token=county.token("resident"))["data"][field]
    assert signed_in["totalCount"] >= 1 and len(signed_in["nodes"]) == signed_in["totalCount"]


def test_require_sign_in_for_one_community(client: TestClient, county: County) -> None:
    query = "query($id: ID!) { community(id: $id) { name } }"
    variables = {"id": county.gid("Community", "hengxi")}
    assert unauthenticated(gql(client, query, variables, expect_errors=True), "community")
    signed_in = gql(client, query, variables, token=county.token("resident"))
    assert signed_in["data"]["community"] == {"name": "横溪村"}


@pytest.mark.parametrize("type_name", sorted(REFERENCE_NODES))
def test_require_sign_in_for_reference_nodes(
    client: TestClient, county: County, type_name: str
) -> None:
    gid = county.gid(type_name, REFERENCE_NODES[type_name])
    one = "query($id: ID!) { node(id: $id) { __typename id } }"
    assert unauthenticated(gql(client, one, {"id": gid}, expect_errors=True), "node")
    many = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert unauthenticated(gql(client, many, {"ids": [gid]}, expect_errors=True), "nodes")
    signed_in = gql(client, one, {"id": gid}, token=county.token("resident"))
    assert signed_in["data"]["node"] == {"__typename": type_name, "id": gid}


def test_read_reference_data_when_signed_in(client: TestClient, county: County) -> None:
    query = """{ communities { nodes { name grids { code } pairedUnits { name } } } }"""
    nodes = gql(client, query, token=county.token("resident"))["data"]["communities"]["nodes"]
    by_name = {n["name"]: n for n in nodes}
    assert by_name["横溪村"] == {
        "name": "横溪村",
        "grids": [{"code": "HX-01"}],
        "pairedUnits": [{"name": "县委组织部"}],
    }
    node = gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Community { name } } }",
        {"id": county.gid("Community", "hengxi")},
        token=county.token("resident"),
    )
    assert node["data"]["node"] == {"name": "横溪村"}


def test_read_public_parts_anonymously(client: TestClient, county: County) -> None:
    query = """query($id: ID!) {
      countyStats { pairedUnits }
      volunteerOpportunities { totalCount }
      skills { code }
      activities { totalCount nodes { title } }
      activity(id: $id) { title }
    }"""
    data = gql(client, query, {"id": county.gid("Activity", "act_soon")})["data"]
    assert data["countyStats"] == {"pairedUnits": 2}
    assert data["volunteerOpportunities"]["totalCount"] == 3
    assert data["skills"] == [{"code": "electrician"}, {"code": "legal"}, {"code": "psych"}]
    assert data["activities"]["totalCount"] == 3 == len(data["activities"]["nodes"])
    assert data["activity"] == {"title": "义善庐陵·敬老助餐"}
    node = gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Activity { title } } }",
        {"id": county.gid("Activity", "act_soon")},
    )
    assert node["data"]["node"] == {"title": "义善庐陵·敬老助餐"}


def test_return_null_for_unknown_and_refuse_malformed_ids(
    client: TestClient, county: County
) -> None:
    token = county.token("resident")
    q = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    grid = county.gid("Grid", "grid1")
    body = gql(client, q, {"ids": [to_global_id("Community", 9999), grid]}, token=token)
    assert body["data"]["nodes"] == [None, {"id": grid}]
    bad = gql(client, q, {"ids": ["not-base64!"]}, token=token, expect_errors=True)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # An existing object's ID padded differently is not its ID: one spelling per object.
    canonical = county.gid("Community", "quantang")
    assert canonical.endswith("=") and not canonical.endswith("==")
    for repadded in (canonical.rstrip("="), canonical + "="):
        bad = gql(client, q, {"ids": [repadded]}, token=token, expect_errors=True)
        assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", repadded
        assert bad["data"] is None
    many = gql(client, q, {"ids": ["x"] * 101}, token=token, expect_errors=True)
    assert many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


PERSON = """query($id: ID!) { person(id: $id) { name phone idNumber latitude longitude } }"""
NEED = """query($id: ID!) { need(id: $id) { reporterName reporterPhone } }"""


def test_mask_personal_data_unless_allowed(client: TestClient, county: County) -> None:
    pid = county.gid("Person", "volunteer")
    full = gql(client, PERSON, {"id": pid}, token=county.token("county_coordinator"))["data"][
        "person"
    ]
    assert full == {
        "name": "王建国",
        "phone": "13812345678",
        "idNumber": "3608**********1234",  # ID numbers: administrators only
        "latitude": 27.051234,
        "longitude": 114.921234,
    }
    own = gql(client, PERSON, {"id": pid}, token=county.token("volunteer"))["data"]["person"]
    assert own["phone"] == "13812345678"  # their own record
    other = gql(
        client, PERSON, {"id": county.gid("Person", "worker")}, token=county.token("volunteer")
    )
    masked = other["data"]["person"]
    assert masked["phone"] == "139****1111" and masked["latitude"] == 27.05
    helper = gql(client, PERSON, {"id": pid}, token=county.token("helper"))
    assert helper["data"]["person"]["idNumber"] == "3608**********1234"
    assert helper["data"]["person"]["longitude"] == 114.92
    # A grid worker scoped to another village sees the member's data masked.
    scoped = gql(client, PERSON, {"id": pid}, token=county.token("grid_worker_hengxi"))
    assert scoped["data"]["person"]["phone"] == "138****5678"
    nid = county.gid("Need", "need_open")
    need = gql(client, NEED, {"id": nid}, token=county.token("resident"))["data"]["need"]
    assert need is None  # another resident's need is not theirs to see
    need = gql(client, NEED, {"id": nid}, token=county.token("county_coordinator"))["data"]["need"]
    assert need == {"reporterName": "张三", "reporterPhone": "13700000000"}


def test_hide_reference_lists_under_public_objects_from_anonymous(
    client: TestClient, county: County
) -> None:
    query = "{ activities { nodes { community { name grids { code } pairedUnits { name } } } } }"
    body = post(client, {"query": query}).json()
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"UNAUTHENTICATED"}
    signed_in = post(client, {"query": query}, token=county.token("resident")).json()
    assert "errors" not in signed_in
    assert any(n["community"]["grids"] for n in signed_in["data"]["activities"]["nodes"])
