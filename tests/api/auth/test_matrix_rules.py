"""The matrix's object rules, generated over every role (issue 10, finding 9): what POLICY lets a
role call, the service must then let it finish. Over HTTP, on the test county.

- Whoever reported a need rates it, whatever their role, so that every report can close; nobody
  rates another's report (a coordinator records only a caller without an account).
- Nobody deactivates or re-roles their own account.
- A person has at most one account.
- A coordinator or grid worker without a community is refused unless county scope is explicit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from api.auth.policy import allowed
from schema.enums import NeedStatus, Role
from schema.models import Need
from schema.roles import AREA_ROLES
from schema.services.needs.limits import SOURCES_BY_ROLE
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok, report_input
from tests.conftest import gql
from tests.county import County

CREATE = """mutation($input: CreateAccountInput!) { createAccount(input: $input) {
  account { username communityId } userErrors { field message code } } }"""
DEACTIVATE = "mutation($id: ID!) { deactivateAccount(id: $id) { userErrors { field code } } }"
ROLES = list(Role)


def resolve(engine: sa.Engine, need_id: str) -> None:
    from api.graphql.relay import decode_id

    with Session(engine) as s:
        need = s.get(Need, decode_id(need_id, "Need"))
        assert need is not None
        need.status, need.resolved_at = NeedStatus.RESOLVED, datetime.now(UTC)
        s.add(need)
        s.commit()


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_let_every_reporting_role_rate_its_own_report(
    client: TestClient, engine: sa.Engine, county: County, role: Role
) -> None:
    assert allowed("need.report", role) and allowed("need.rate", role)
    account = f.account(engine, role)
    token = f.token_for(account)
    source = min(SOURCES_BY_ROLE[role], key=lambda s: s.value)  # one this role may report from
    need = ok(mutate(client, "reportNeed", report_input(source=source.name), token))["need"]
    resolve(engine, need["id"])
    # Another caller of the same role may not rate it for the reporter.
    stranger = f.token_for(f.account(engine, role))
    refused = mutate(client, "rateNeed", {"needId": need["id"], "satisfaction": 5}, stranger)
    assert error_codes(refused) == ["FORBIDDEN"]
    rated = ok(mutate(client, "rateNeed", {"needId": need["id"], "satisfaction": 4}, token))
    assert rated["need"]["status"] == "CLOSED" and rated["need"]["satisfaction"] == 4


def test_let_area_coordinators_record_a_callers_rating(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    need = f.need(engine, county.quantang.id, status="resolved", reporter_account_id=None)
    nid = gid("Need", need.id)
    refused = mutate(
        client, "rateNeed", {"needId": nid, "satisfaction": 5}, county.token("outsider")
    )
    assert error_codes(refused) == ["FORBIDDEN"]  # another community's coordinator
    done = mutate(
        client, "rateNeed", {"needId": nid, "satisfaction": 5}, county.token("coordinator")
    )
    assert ok(done)["need"]["status"] == "CLOSED"


def test_refuse_deactivating_or_re_roling_oneself(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    me = county.account("admin")
    f.account(engine, Role.ADMIN)  # another administrator exists: the rule is about oneself
    out = gql(client, DEACTIVATE, {"id": gid("Account", me.id)}, token=county.token("admin"))
    assert out["data"]["deactivateAccount"]["userErrors"] == [
        {"field": ["id"], "code": "FORBIDDEN"}
    ]
    change = """mutation($input: ChangeAccountRoleInput!) { changeAccountRole(input: $input) {
      userErrors { field code } } }"""
    out = gql(
        client,
        change,
        {"input": {"id": gid("Account", me.id), "role": "RESIDENT"}},
        token=county.token("admin"),
    )
    assert out["data"]["changeAccountRole"]["userErrors"] == [
        {"field": ["id"], "code": "FORBIDDEN"}
    ]


def create(client: TestClient, county: County, **input: Any) -> dict[str, Any]:
    return create_account(client, county, **input)


def create_account(client: TestClient, county: County, **input: Any) -> dict[str, Any]:
    values = {"username": "new.account", "password": "long-enough-pw", "role": "RESIDENT"}
    body = gql(client, CREATE, {"input": values | input}, token=county.token("admin"))
    payload: dict[str, Any] = body["data"]["createAccount"]
    return payload


def test_refuse_a_second_account_for_a_person(client: TestClient, county: County) -> None:
    # The county's volunteer account belongs to this person already.
    refused = create(client, county, personId=gid("Person", county.volunteer.id))
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["personId"], "CONFLICT")]
    assert "already has an account" in refused["userErrors"][0]["message"]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_refuse_area_staff_without_area_unless_county_is_explicit(
    client: TestClient, county: County, engine: sa.Engine, role: Role
) -> None:
    # An enterprise account must name its enterprise; the area rule is the same for it.
    speaks_for = (
        {"enterpriseId": gid("Enterprise", f.enterprise(engine).id)}
        if role is Role.ENTERPRISE
        else {}
    )

    def create(client: TestClient, county: County, **input: Any) -> dict[str, Any]:
        return create_account(client, county, **speaks_for, **input)

    bare = create(client, county, role=role.name)
    if role in AREA_ROLES:
        assert [(e["field"], e["code"]) for e in bare["userErrors"]] == [
            (["communityId"], "BAD_USER_INPUT")
        ]
        assert "scope: COUNTY" in bare["userErrors"][0]["message"]
        county_wide = create(client, county, role=role.name, scope="COUNTY")
        assert county_wide["userErrors"] == [] and county_wide["account"]["communityId"] is None
    else:
        assert bare["userErrors"] == []
    both = create(
        client,
        county,
        username="both.ways",
        role=role.name,
        scope="COUNTY",
        communityId=gid("Community", county.quantang.id),
    )
    assert error_codes(both) == ["BAD_USER_INPUT"]
    scoped = create(
        client,
        county,
        username="scoped",
        role=role.name,
        communityId=gid("Community", county.quantang.id),
    )
    assert scoped["userErrors"] == []
