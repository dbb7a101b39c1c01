"""The mutation documents of the closed-loop API tests, and helpers to send them and read the
payloads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.relay import to_global_id
from tests.conftest import gql, make_settings

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
    "claimEnterpriseRequest": "ClaimEnterpriseRequestInput",
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
    return gql(client, document(name), {"input": input}, token=token)["data"][name]


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


def race(database_url: str, calls: list[Callable[[TestClient], dict[str, Any]]]) -> list[Any]:
    """Runs each call at the same moment from its own app instance (as two offices would),
    and returns what each got back."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            results[i] = calls[i](c)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
