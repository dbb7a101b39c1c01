"""Service time only for real work (issue 10, finding 7), over HTTP: check-in on a need only for
someone dispatched to it; one check-in at a time per person, also when two arrive at once;
minutes capped at the need's planned work, its window and its resolution."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.relay import decode_id
from schema.base import utcnow
from schema.enums import SignUpStatus
from schema.models import Activity, Need, SignUp
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok
from tests.conftest import make_settings
from tests.county import County


def sign_up(client: TestClient, token: str, **input: Any) -> dict[str, Any]:
    return ok(mutate(client, "signUp", input, token))["signUp"]


def step(client: TestClient, name: str, token: str, sign_up_id: str) -> dict[str, Any]:
    return mutate(client, name, {"signUpId": sign_up_id}, token)


def open_need(engine: sa.Engine, county: County, **kw: Any) -> Need:
    return f.need(engine, county.quantang.id, status="dispatched", headcount=3, **kw)


def ongoing_activity(engine: sa.Engine, county: County) -> Activity:
    start = utcnow() - timedelta(minutes=30)
    return f.activity(
        engine, county.quantang.id, starts_at=start, ends_at=start + timedelta(hours=3)
    )


def backdate(engine: sa.Engine, model: type[Any], row_id: int, **values: Any) -> None:
    with Session(engine) as s:
        row = s.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        s.add(row)
        s.commit()


def test_refuse_check_in_on_need_without_dispatch(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    need, token = open_need(engine, county), county.token("volunteer")
    # Signing up on a need one is not dispatched to is refused (offer to take it instead) ...
    offered = mutate(client, "signUp", {"needId": gid("Need", need.id)}, token)
    assert error_codes(offered) == ["BAD_USER_INPUT"]
    # ... and a sign-up from before that rule does not let them check in either.
    with Session(engine) as s:
        row = SignUp(person_id=county.volunteer.id, need_id=need.id, status=SignUpStatus.SIGNED_UP)
        s.add(row)
        s.commit()
        su = {"id": gid("SignUp", row.id)}
    refused = step(client, "checkIn", token, su["id"])
    assert error_codes(refused) == ["FORBIDDEN"]
    assert "dispatched" in refused["userErrors"][0]["message"]
    # Nor may a coordinator check them in on a need they were not dispatched to.
    assert error_codes(step(client, "checkIn", county.token("coordinator"), su["id"])) == [
        "FORBIDDEN"
    ]
    f.assignment(engine, need.id, person_id=county.volunteer.id, active=False)  # ended
    assert error_codes(step(client, "checkIn", token, su["id"])) == ["FORBIDDEN"]
    f.assignment(engine, need.id, person_id=county.volunteer.id)
    assert ok(step(client, "checkIn", token, su["id"]))["signUp"]["status"] == "CHECKED_IN"


def test_let_team_members_check_in_where_their_team_was_dispatched(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    need, token = open_need(engine, county), county.token("volunteer")
    team = f.team(engine)
    f.team_member(engine, team.id, county.volunteer.id)
    f.assignment(engine, need.id, team_id=team.id)
    su = sign_up(client, token, needId=gid("Need", need.id))
    ok(step(client, "checkIn", token, su["id"]))


def test_check_in_once_at_a_time(client: TestClient, engine: sa.Engine, county: County) -> None:
    token = county.token("volunteer")
    act, need = ongoing_activity(engine, county), open_need(engine, county)
    f.assignment(engine, need.id, person_id=county.volunteer.id)
    on_activity = sign_up(client, token, activityId=gid("Activity", act.id))
    on_need = sign_up(client, token, needId=gid("Need", need.id))
    ok(step(client, "checkIn", token, on_activity["id"]))
    refused = step(client, "checkIn", token, on_need["id"])
    assert error_codes(refused) == ["CONFLICT"]
    assert "check out there first" in refused["userErrors"][0]["message"]
    ok(step(client, "checkOut", token, on_activity["id"]))
    ok(step(client, "checkIn", token, on_need["id"]))


def test_let_a_check_in_that_can_no_longer_count_not_block(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    token = county.token("volunteer")
    act, need = ongoing_activity(engine, county), open_need(engine, county)
    f.assignment(engine, need.id, person_id=county.volunteer.id)
    forgotten = sign_up(client, token, activityId=gid("Activity", act.id))
    ok(step(client, "checkIn", token, forgotten["id"]))
    # The activity ended without a check-out: its time stopped counting at its end.
    end = utcnow() - timedelta(minutes=5)
    backdate(engine, Activity, act.id, starts_at=end - timedelta(hours=2), ends_at=end)
    ok(step(client, "checkIn", token, sign_up(client, token, needId=gid("Need", need.id))["id"]))


def test_check_in_once_under_concurrent_requests(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    token = county.token("volunteer")
    activities = [ongoing_activity(engine, county) for _ in range(4)]
    with TestClient(create_app(make_settings(database_url))) as c:
        ids = [sign_up(c, token, activityId=gid("Activity", a.id))["id"] for a in activities]
    barrier, results = threading.Barrier(len(ids)), [{}] * len(ids)

    def run(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            results[i] = step(c, "checkIn", token, ids[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert codes == ["CONFLICT"] * 3 + ["OK"]
    with Session(engine) as s:
        checked_in = s.exec(sa.select(SignUp).where(SignUp.status == "checked_in")).all()
    assert len(checked_in) == 1


@pytest.mark.parametrize(
    ("need_values", "hours_ago", "minutes"),
    [
        ({"duration_minutes": 30}, 10, 60),  # twice the planned work
        ({"duration_minutes": 1440}, 30, 12 * 60),  # never more than 12 hours at once
        ({"duration_minutes": 240, "window_end": -7}, 8, 60),  # the window closed 7 h ago
        ({"duration_minutes": 240, "resolved_at": -7.5}, 8, 30),  # resolved 7.5 h ago
    ],
)
def test_cap_minutes_on_a_need(
    client: TestClient,
    engine: sa.Engine,
    county: County,
    need_values: dict[str, Any],
    hours_ago: float,
    minutes: int,
) -> None:
    token, now = county.token("volunteer"), utcnow()
    need = open_need(engine, county, duration_minutes=need_values["duration_minutes"])
    f.assignment(engine, need.id, person_id=county.volunteer.id)
    su = sign_up(client, token, needId=gid("Need", need.id))
    ok(step(client, "checkIn", token, su["id"]))
    times = {k: now + timedelta(hours=v) for k, v in need_values.items() if k != "duration_minutes"}
    backdate(engine, Need, need.id, **times)
    backdate(
        engine,
        SignUp,
        decode_id(su["id"], "SignUp"),
        checked_in_at=now - timedelta(hours=hours_ago),
    )
    out = ok(step(client, "checkOut", token, su["id"]))["signUp"]
    assert out["minutes"] == minutes


def test_refuse_check_in_outside_the_need_window(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    token, now = county.token("volunteer"), utcnow()
    need = open_need(
        engine, county, window_start=now + timedelta(hours=3), window_end=now + timedelta(hours=5)
    )
    f.assignment(engine, need.id, person_id=county.volunteer.id)
    su = sign_up(client, token, needId=gid("Need", need.id))
    assert error_codes(step(client, "checkIn", token, su["id"])) == ["BAD_USER_INPUT"]
    backdate(
        engine,
        Need,
        need.id,
        window_start=now - timedelta(hours=5),
        window_end=now - timedelta(hours=1),
    )
    assert error_codes(step(client, "checkIn", token, su["id"])) == ["BAD_USER_INPUT"]
