"""Shared pieces of the closed-loop API tests: a small county, its accounts and tokens, and the
mutation documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from api.graphql.relay import to_global_id
from schema.enums import GridRole, PersonKind, Role
from schema.models import Account, Community, Grid, Person
from tests import factories as f
from tests.conftest import gql

NEED = """id status version tier category source title description address mediaUrls
  urgency arriveBy resolveBy dispatchedAt arrivedAt resolvedAt closedAt satisfaction
  ratingComment overdue arrivedOnTime resolvedOnTime duplicateOf { id } mergedInto { id }
  community { id name } grid { id code }"""
REQUEST = """id status version helper { id } deadline resolvedAt closedAt satisfaction
  ratingComment"""
SIGN_UP = "id status checkedInAt checkedOutAt minutes"

INPUT_TYPES = {
    "reportNeed": "ReportNeedInput",
    "acceptNeed": "AcceptNeedInput",
    "dispatchNeed": "DispatchNeedInput",
    "arriveNeed": "NeedStepInput",
    "resolveNeed": "NeedStepInput",
    "rateNeed": "RateNeedInput",
    "escalateNeed": "NeedReasonInput",
    "returnNeed": "NeedReasonInput",
    "mergeNeeds": "MergeNeedsInput",
    "submitEnterpriseRequest": "SubmitEnterpriseRequestInput",
    "assignEnterpriseHelper": "AssignEnterpriseHelperInput",
    "addEnterpriseRequestNote": "AddEnterpriseRequestNoteInput",
    "resolveEnterpriseRequest": "ResolveEnterpriseRequestInput",
    "rateEnterpriseRequest": "RateEnterpriseRequestInput",
    "signUp": "SignUpInput",
    "cancelSignUp": "SignUpStepInput",
    "checkIn": "SignUpStepInput",
    "checkOut": "SignUpStepInput",
    "setAreaMode": "SetAreaModeInput",
}
OBJECT = {name: "need" for name in INPUT_TYPES if "Need" in name}
OBJECT |= {name: "enterpriseRequest" for name in INPUT_TYPES if "Enterprise" in name}
OBJECT |= {"signUp": "signUp", "cancelSignUp": "signUp", "checkIn": "signUp"}
OBJECT |= {"checkOut": "signUp", "setAreaMode": "community"}
SELECTION = {"need": NEED, "enterpriseRequest": REQUEST, "signUp": SIGN_UP}
SELECTION |= {"community": "id mode modeChangedAt"}


def document(name: str) -> str:
    obj = OBJECT[name]
    extra = " merged { id status mergedInto { id } }" if name == "mergeNeeds" else ""
    return (
        f"mutation($input: {INPUT_TYPES[name]}!) {{ {name}(input: $input) {{ "
        f"{obj} {{ {SELECTION[obj]} }}{extra} userErrors {{ field message code }} }} }}"
    )


def mutate(
    client: TestClient, name: str, input: dict[str, Any], token: str | None
) -> dict[str, Any]:
    """The mutation's payload (fails on top-level errors)."""
    return gql(client, document(name), {"input": input}, token=token)["data"][name]  # type: ignore[no-any-return]


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def gid(type_name: str, pk: int | None) -> str:
    assert pk is not None
    return to_global_id(type_name, pk)


IN_COUNTY = {"latitude": 27.0505, "longitude": 114.9205}


def report_input(**kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "楼道灯坏了",
        "category": "INFRASTRUCTURE",
        "location": IN_COUNTY,
        "description": "三单元二楼楼道灯不亮，晚上很黑",
        "mediaUrls": ["https://img.example.cn/luling/1.jpg"],
    }
    return values | kw


@dataclass
class County:
    """One community with a grid and its worker, a second community, and the people who act."""

    home: Community
    other: Community
    grid: Grid
    worker: Person
    volunteer: Person
    helper: Person
    resident: Account
    coordinator: Account
    outsider: Account
    gridworker: Account
    volunteer_account: Account
    helper_account: Account
    admin: Account

    def token(self, who: str) -> str:
        return f.token_for(getattr(self, who))


def make_county(engine: sa.Engine) -> County:
    home = f.community(engine, name="泉塘社区", latitude=27.05, longitude=114.92)
    other = f.community(engine, name="横溪村", kind="village", latitude=27.2, longitude=115.1)
    grid = f.grid(engine, home.id, latitude=27.051, longitude=114.921)
    f.grid(engine, other.id, latitude=27.2, longitude=115.1)
    worker = f.person(engine, name="刘网格", kind=PersonKind.GRID_WORKER)
    f.grid_staff(engine, grid.id, worker.id, GridRole.FULL_TIME)
    volunteer = f.person(engine, name="王志愿", registered_community_id=home.id)
    helper = f.person(engine, name="陈小赣", kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=2)
    return County(
        home=home,
        other=other,
        grid=grid,
        worker=worker,
        volunteer=volunteer,
        helper=helper,
        resident=f.account(engine, Role.RESIDENT, display_name="李阿姨"),
        coordinator=f.account(
            engine, Role.COORDINATOR, community_id=home.id, display_name="泉塘协调员"
        ),
        outsider=f.account(engine, Role.COORDINATOR, community_id=other.id),
        gridworker=f.account(
            engine,
            Role.GRID_WORKER,
            community_id=home.id,
            person_id=worker.id,
            display_name="刘网格",
        ),
        volunteer_account=f.account(
            engine, Role.VOLUNTEER, person_id=volunteer.id, display_name="王志愿"
        ),
        helper_account=f.account(
            engine, Role.ENTERPRISE_HELPER, person_id=helper.id, display_name="陈小赣"
        ),
        admin=f.account(engine, Role.ADMIN, display_name="管理员"),
    )
