"""Many clients (each its own app instance, as API processes are) dispatch, arrive, resolve,
return and rate the same needs at once. Afterwards every need's event log replays legally
through schema.workflow, each successful mutation left exactly one event, every failure was a
CONFLICT or ILLEGAL_TRANSITION userError (never an error, never a lost or doubled write), and
the active assignments are those of each need's latest dispatch."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from api.app import create_app
from schema.enums import NeedAction, NeedStatus
from schema.models import NeedAssignment
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok, report_input
from tests.conftest import gql, make_settings
from tests.county import County
from tests.loop import assert_need_log_consistent, need_events, need_row

CLIENTS = 6
NEEDS = 3
ROUNDS = 10
STATE = "query($id: ID!) { need(id: $id) { status version } }"


def _spawn(n: int, target: Any) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads)


def test_dispatch_and_resolve_same_needs_at_once(
    client: TestClient, engine: sa.Engine, county: County, database_url: str
) -> None:
    people = [county.volunteer.id, county.worker.id, f.person(engine, name="赵党员").id]
    coordinator, resident = county.token("coordinator"), county.token("resident")
    need_ids = []
    for i in range(NEEDS):
        need = ok(
            mutate(
                client, "reportNeed", report_input(title=f"问题{i}", category="SAFETY"), resident
            )
        )["need"]
        ok(mutate(client, "acceptNeed", {"needId": need["id"]}, coordinator))
        need_ids.append(need["id"])

    # 1. Everyone dispatches the same need from the same version at once: exactly one wins.
    burst: list[dict[str, Any]] = [{}] * CLIENTS
    barrier = threading.Barrier(CLIENTS)

    def dispatch_once(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            burst[i] = mutate(
                c,
                "dispatchNeed",
                {
                    "needId": need_ids[0],
                    "expectedVersion": 2,
                    "toPersonIds": [gid("Person", people[i % len(people)])],
                },
                coordinator,
            )

    _spawn(CLIENTS, dispatch_once)
    outcomes = Counter("OK" if not p["userErrors"] else error_codes(p)[0] for p in burst)
    assert outcomes == {"OK": 1, "CONFLICT": CLIENTS - 1}
    assert need_row(engine, 1).version == 3 and len(need_events(engine, 1)) == 3

    # 2. Everyone walks random needs through the loop at once, reading then writing.
    results: list[list[tuple[str, bool, str]]] = [[] for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS)

    def walk(i: int) -> None:
        rng = random.Random(i)
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            for _ in range(ROUNDS):
                nid = rng.choice(need_ids)
                state = gql(c, STATE, {"id": nid}, token=coordinator)["data"]["need"]
                name, input, token = _next_step(rng, state["status"], people, coordinator, resident)
                if name is None:
                    continue
                with_version = rng.random() < 0.5
                if with_version:
                    input["expectedVersion"] = state["version"]
                payload = mutate(c, name, {"needId": nid} | input, token)
                outcome = "OK" if not payload["userErrors"] else error_codes(payload)[0]
                results[i].append((name, with_version, outcome))

    _spawn(CLIENTS, walk)
    flat = [r for rs in results for r in rs]
    assert {outcome for _, _, outcome in flat} <= {"OK", "CONFLICT", "ILLEGAL_TRANSITION"}
    # With the version it read, a caller is refused only because someone else got there first.
    assert all(outcome != "ILLEGAL_TRANSITION" for _, with_v, outcome in flat if with_v)

    successes = 1 + sum(1 for *_, outcome in flat if outcome == "OK")
    events = 0
    for need_id in range(1, NEEDS + 1):
        log = assert_need_log_consistent(engine, need_id)  # legal replay; version == events
        events += len(log) - 2  # beyond report and accept
        _check_assignments(engine, need_id, log)
    assert events == successes, (events, successes, Counter(o for *_, o in flat))


def _next_step(
    rng: random.Random, status: str, people: list[Any], coordinator: str, resident: str
) -> tuple[str | None, dict[str, Any], str]:
    dispatch = (
        "dispatchNeed",
        {"toPersonIds": [gid("Person", p) for p in rng.sample(people, rng.randint(1, 2))]},
        coordinator,
    )
    options: dict[str, list[tuple[str, dict[str, Any], str]]] = {
        "ACCEPTED": [dispatch],
        "DISPATCHED": [("arriveNeed", {}, coordinator)] * 3 + [dispatch],
        "ARRIVED": [("resolveNeed", {}, coordinator)] * 3
        + [dispatch, ("returnNeed", {"reason": "需要专业维修"}, coordinator)],
        "RESOLVED": [("rateNeed", {"satisfaction": rng.randint(3, 5)}, resident)],
    }
    choices = options.get(status)
    if not choices:
        return None, {}, coordinator
    name, input, token = rng.choice(choices)
    return name, dict(input), token


def _check_assignments(engine: sa.Engine, need_id: int, log: list[Any]) -> None:
    """Active assignments are exactly those of the latest dispatch (none after a return)."""
    handovers = [e for e in log if e.action in (NeedAction.DISPATCH, NeedAction.RETURN)]
    with Session(engine) as s:
        active = s.exec(
            select(NeedAssignment.person_id).where(
                col(NeedAssignment.need_id) == need_id, col(NeedAssignment.active).is_(True)
            )
        ).all()
    if not handovers or handovers[-1].action is NeedAction.RETURN:
        assert active == [], (need_id, active)
    else:
        assert sorted(active) == sorted(handovers[-1].data["person_ids"])
    if log[-1].to_status is NeedStatus.CLOSED:
        assert need_row(engine, need_id).satisfaction is not None


def test_report_same_key_at_once_creates_one_need(
    engine: sa.Engine, county: County, database_url: str
) -> None:
    resident = county.token("resident")
    replies: list[dict[str, Any]] = [{}] * CLIENTS
    barrier = threading.Barrier(CLIENTS)

    def report(i: int) -> None:
        with TestClient(create_app(make_settings(database_url))) as c:
            barrier.wait()
            replies[i] = mutate(
                c, "reportNeed", report_input(idempotencyKey="flaky-network-retry"), resident
            )

    _spawn(CLIENTS, report)
    assert {ok(r)["need"]["id"] for r in replies} == {gid("Need", 1)}
    assert len(assert_need_log_consistent(engine, 1)) == 1
    with Session(engine) as s:
        assert len(s.exec(select(NeedAssignment)).all()) == 0
        assert s.exec(select(sa.func.count()).select_from(sa.table("need"))).one() == 1
