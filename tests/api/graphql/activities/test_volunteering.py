"""Volunteering over HTTP: sign up, cancel, check in, check out (service minutes) for activities
and needs; capacity (also under concurrent sign-ups), illegal steps, bad input."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from api.app import create_app
from schema.base import utcnow
from schema.enums import Role, SignUpStatus
from schema.models import Activity, SignUp
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok
from tests.conftest import make_settings
from tests.county import County


@pytest.fixture
def activity(engine: sa.Engine, county: County) -> Activity:
    start = utcnow() - timedelta(hours=2)
    return f.activity(
        engine, county.quantang.id, starts_at=start, ends_at=start + timedelta(hours=4), capacity=2
    )


def sign_up(client: TestClient, token: str, **input: Any) -> dict[str, Any]:
    return mutate(client, "signUp", input, token)


def step(client: TestClient, name: str, token: str, sign_up_id: str) -> dict[str, Any]:
    return mutate(client, name, {"signUpId": sign_up_id}, token)


def _sign_ups(engine: sa.Engine) -> list[SignUp]:
    with Session(engine) as s:
        return list(s.exec(select(SignUp).order_by(SignUp.id)).all())


def test_serve_activity_and_log_minutes(
    client: TestClient, engine: sa.Engine, county: County, activity: Activity
) -> None:
    token = county.token("volunteer")
    aid = gid("Activity", activity.id)
    first = ok(sign_up(client, token, activityId=aid))["signUp"]
    assert first["status"] == "SIGNED_UP"
    assert ok(sign_up(client, token, activityId=aid))["signUp"]["id"] == first["id"]
    checked_in = ok(step(client, "checkIn", token, first["id"]))["signUp"]
    assert checked_in["status"] == "CHECKED_IN" and checked_in["checkedInAt"]
    with Session(engine) as s:  # as if they had checked in 45 minutes ago
        row = s.exec(select(SignUp)).one()
        row.checked_in_at = utcnow() - timedelta(minutes=45)
        s.add(row)
        s.commit()
    out = ok(step(client, "checkOut", token, first["id"]))["signUp"]
    assert out["status"] == "CHECKED_OUT" and out["minutes"] in (44, 45)
    assert len(_sign_ups(engine)) == 1


def test_cap_minutes_at_activity_end(
    client: TestClient, engine: sa.Engine, county: County, activity: Activity
) -> None:
    token = county.token("coordinator")  # staff of the area may act for a volunteer
    su = ok(
        sign_up(
            client,
            token,
            activityId=gid("Activity", activity.id),
            personId=gid("Person", county.volunteer.id),
        )
    )["signUp"]
    start = utcnow() - timedelta(hours=3)
    with Session(engine) as s:  # it ran for an hour, three hours ago; they forgot to check out
        act = s.get(Activity, activity.id)
        row = s.exec(select(SignUp)).one()
        assert act is not None
        act.starts_at, act.ends_at = start, start + timedelta(hours=1)
        row.status, row.checked_in_at = SignUpStatus.CHECKED_IN, start - timedelta(minutes=30)
        s.add_all([act, row])
        s.commit()
    assert ok(step(client, "checkOut", token, su["id"]))["signUp"]["minutes"] == 60


def test_enforce_activity_capacity(
    client: TestClient, engine: sa.Engine, county: County, activity: Activity
) -> None:
    aid = gid("Activity", activity.id)
    people = [f.person(engine) for _ in range(3)]
    tokens = [f.token_for(f.account(engine, Role.VOLUNTEER, person_id=p.id)) for p in people]
    first = ok(sign_up(client, tokens[0], activityId=aid))["signUp"]
    ok(sign_up(client, tokens[1], activityId=aid))
    full = sign_up(client, tokens[2], activityId=aid)
    assert error_codes(full) == ["CAPACITY_REACHED"] and full["signUp"] is None
    assert ok(step(client, "cancelSignUp", tokens[0], first["id"]))["signUp"]["status"] == (
        "CANCELLED"
    )
    ok(sign_up(client, tokens[2], activityId=aid))
    again = sign_up(client, tokens[0], activityId=aid)  # the cancelled place is taken now
    assert error_codes(again) == ["CAPACITY_REACHED"]
    assert [s.status for s in _sign_ups(engine)] == [
        SignUpStatus.CANCELLED,
        SignUpStatus.SIGNED_UP,
        SignUpStatus.SIGNED_UP,
    ]


def test_sign_up_again_after_cancelling(
    client: TestClient, engine: sa.Engine, county: County, activity: Activity
) -> None:
    token, aid = county.token("volunteer"), gid("Activity", activity.id)
    su = ok(sign_up(client, token, activityId=aid))["signUp"]
    ok(step(client, "cancelSignUp", token, su["id"]))
    back = ok(sign_up(client, token, activityId=aid))["signUp"]
    assert back["id"] == su["id"] and back["status"] == "SIGNED_UP"


def test_fill_last_places_under_concurrent_sign_ups(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    start = utcnow() - timedelta(minutes=10)
    act = f.activity(
        engine, county.quantang.id, starts_at=start, ends_at=start + timedelta(hours=2), capacity=3
    )
    tokens = [
        f.token_for(f.account(engine, Role.VOLUNTEER, person_id=f.person(engine).id))
        for _ in range(8)
    ]
    barrier, results = threading.Barrier(len(tokens)), [None] * len(tokens)

    def run(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            results[i] = sign_up(c, tokens[i], activityId=gid("Activity", act.id))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert codes == ["CAPACITY_REACHED"] * 5 + ["OK"] * 3
    assert len(_sign_ups(engine)) == 3


def test_sign_up_on_a_need_only_to_log_time_there(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    need = f.need(engine, county.quantang.id, status="dispatched", headcount=1)
    nid = gid("Need", need.id)
    # Not dispatched: a sign-up is no way to serve a need; the error says what is (offerNeed).
    refused = sign_up(client, county.token("volunteer"), needId=nid)
    assert error_codes(refused) == ["BAD_USER_INPUT"]
    assert "offerNeed" in refused["userErrors"][0]["message"]
    f.assignment(engine, need.id, person_id=county.volunteer.id)  # a coordinator dispatched them
    su = ok(sign_up(client, county.token("volunteer"), needId=nid))["signUp"]
    ok(step(client, "checkIn", county.token("volunteer"), su["id"]))
    other = f.token_for(f.account(engine, Role.VOLUNTEER, person_id=f.person(engine).id))
    closed = f.need(engine, county.quantang.id, status="closed")
    refused = sign_up(client, other, needId=gid("Need", closed.id))
    assert error_codes(refused) == ["ILLEGAL_TRANSITION"]


@pytest.mark.parametrize(
    ("status", "name"),
    [
        ("signed_up", "checkOut"),
        ("cancelled", "checkIn"),
        ("cancelled", "cancelSignUp"),
        ("checked_in", "cancelSignUp"),
        ("checked_in", "checkIn"),
        ("checked_out", "checkOut"),
        ("checked_out", "checkIn"),
    ],
)
def test_refuse_illegal_sign_up_step(
    client: TestClient,
    engine: sa.Engine,
    county: County,
    activity: Activity,
    status: str,
    name: str,
) -> None:
    checked_in = utcnow() - timedelta(minutes=5) if status != "signed_up" else None
    with Session(engine, expire_on_commit=False) as s:
        row = SignUp(
            person_id=county.volunteer.id or 0,
            activity_id=activity.id,
            status=status,
            checked_in_at=checked_in if status in ("checked_in", "checked_out") else None,
        )
        s.add(row)
        s.commit()
    before = _sign_ups(engine)[0].model_dump()
    payload = step(client, name, county.token("volunteer"), gid("SignUp", row.id))
    assert error_codes(payload) == ["ILLEGAL_TRANSITION"], payload
    assert _sign_ups(engine)[0].model_dump() == before


@pytest.mark.parametrize("status", ["finished", "cancelled"])
def test_refuse_sign_up_for_closed_activity(
    client: TestClient, engine: sa.Engine, county: County, status: str
) -> None:
    closed = f.activity(engine, county.quantang.id, status=status)
    payload = sign_up(client, county.token("volunteer"), activityId=gid("Activity", closed.id))
    assert error_codes(payload) == ["ILLEGAL_TRANSITION"] and _sign_ups(engine) == []


def test_refuse_check_in_long_before_start(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    later = f.activity(
        engine,
        county.quantang.id,
        starts_at=utcnow() + timedelta(hours=3),
        ends_at=utcnow() + timedelta(hours=5),
    )
    token = county.token("volunteer")
    su = ok(sign_up(client, token, activityId=gid("Activity", later.id)))["signUp"]
    early = step(client, "checkIn", token, su["id"])
    assert error_codes(early) == ["BAD_USER_INPUT"] and early["userErrors"][0]["field"] == [
        "input",
        "signUpId",
    ]


@pytest.mark.parametrize(
    ("input", "field", "code"),
    [
        ({}, ["input", "activityId"], "BAD_USER_INPUT"),
        ({"activityId": "ACT", "needId": "NEED"}, ["input", "activityId"], "BAD_USER_INPUT"),
        ({"activityId": gid("Activity", 999)}, ["input", "activityId"], "NOT_FOUND"),
        ({"activityId": "@@"}, ["input", "activityId"], "BAD_USER_INPUT"),
        ({"needId": gid("Activity", 1)}, ["input", "needId"], "BAD_USER_INPUT"),
    ],
    ids=["neither", "both", "unknown", "malformed", "wrong-type"],
)
def test_refuse_bad_sign_up(
    client: TestClient,
    engine: sa.Engine,
    county: County,
    activity: Activity,
    input: dict[str, Any],
    field: list[str],
    code: str,
) -> None:
    need = f.need(engine, county.quantang.id)
    replace = {"ACT": gid("Activity", activity.id), "NEED": gid("Need", need.id)}
    input = {k: replace.get(v, v) for k, v in input.items()}
    payload = sign_up(client, county.token("volunteer"), **input)
    assert error_codes(payload) == [code] and payload["userErrors"][0]["field"] == field
    assert _sign_ups(engine) == []


def test_forbid_changing_someone_elses_sign_up(
    client: TestClient, engine: sa.Engine, county: County, activity: Activity
) -> None:
    su = ok(sign_up(client, county.token("volunteer"), activityId=gid("Activity", activity.id)))
    stranger = f.token_for(f.account(engine, Role.VOLUNTEER, person_id=f.person(engine).id))
    assert error_codes(step(client, "checkIn", stranger, su["signUp"]["id"])) == ["FORBIDDEN"]
    outsider = step(client, "checkIn", county.token("outsider"), su["signUp"]["id"])
    assert error_codes(outsider) == ["FORBIDDEN"]
    nobody = f.token_for(f.account(engine, Role.VOLUNTEER))  # no person behind the account
    alone = sign_up(client, nobody, activityId=gid("Activity", activity.id))
    assert error_codes(alone) == ["FORBIDDEN"]
    assert [s.status for s in _sign_ups(engine)] == [SignUpStatus.SIGNED_UP]
