"""`need(id:)` with its events: on PostgreSQL one statement (the events folded into the need's
own, api/graphql/relay/folds.py), on SQLite the need then its events; either way the same
answer as the loader path of a page, with both executors, and the same privacy: a caller sees
the events of the needs they may see only, with the reporter's name masked as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.relay import to_global_id
from api.graphql.relay.folds import json_reader
from schema import models as m
from schema.enums import NeedAction, NeedStatus, Role
from tests import factories as f
from tests.api.graphql.test_statements import counting
from tests.conftest import gql, make_settings

EVENT = "id action fromStatus toStatus note data at actorName"
FIELDS = f"""id title events {{ {EVENT} }} latestEvent {{ id action at }}
  recent: events(last: 2) {{ id at }} community {{ name }}"""
ONE = f"query($id: ID!) {{ need(id: $id) {{ {FIELDS} }} }}"
PAGE = f"{{ needs(first: 10) {{ nodes {{ {FIELDS} }} }} }}"
STEPS = [
    (NeedAction.REPORT, None, NeedStatus.REPORTED, "李大红", "", {}),
    (NeedAction.ACCEPT, NeedStatus.REPORTED, NeedStatus.ACCEPTED, "协调员", "好的", {"a": [1, 2]}),
    (NeedAction.DISPATCH, NeedStatus.ACCEPTED, NeedStatus.DISPATCHED, "协调员", '派 "三组"', {}),
    (NeedAction.ARRIVE, NeedStatus.DISPATCHED, NeedStatus.ARRIVED, "王五", "", {"late": False}),
]


def _world(engine: sa.Engine) -> dict[str, Any]:
    community = f.community(engine)
    resident = f.account(engine, Role.RESIDENT, display_name="李大红")
    other = f.account(engine, Role.RESIDENT, display_name="赵邻居")
    mine = f.need(engine, community.id, reporter_account_id=resident.id, reporter_name="李大红")
    theirs = f.need(engine, community.id, reporter_account_id=other.id, reporter_name="赵邻居")
    start = datetime(2026, 11, 30, 8, 0, 0, 123456, tzinfo=UTC)
    with Session(engine) as s:
        for need in (mine, theirs):
            for k, (action, before, after, actor, note, data) in enumerate(STEPS):
                s.add(
                    m.NeedEvent(
                        need_id=need.id,
                        action=action,
                        from_status=before,
                        to_status=after,
                        actor_name=actor,
                        note=note,
                        data=data,
                        at=start + timedelta(minutes=k, microseconds=k),
                    )
                )
        s.commit()
    return {
        "admin": f.token_for(f.account(engine, Role.ADMIN)),
        "resident": f.token_for(resident),
        "mine": to_global_id("Need", mine.id),
        "theirs": to_global_id("Need", theirs.id),
    }


def _statements(seen: list[str]) -> int:
    return len([s for s in seen if not s.lstrip().upper().startswith("PRAGMA")])


def test_need_with_events_is_one_statement_on_postgresql_and_answers_as_a_page(
    cached_client: TestClient, engine: sa.Engine
) -> None:
    client = cached_client
    world = _world(engine)
    admin = world["admin"]
    # `actorName` of a reporter's step reads the need's facts (by key): not in this count.
    plain = ONE.replace(" actorName", "")
    gql(client, plain, {"id": world["mine"]}, token=admin)  # warm: the token check, plans
    with counting(client) as seen:
        gql(client, plain, {"id": world["mine"]}, token=admin)
    # PostgreSQL: the need, its community and its events in one statement; SQLite: the need,
    # then one statement per events loader (all, the latest, the latest two).
    assert _statements(seen) == (1 if engine.dialect.name == "postgresql" else 4), seen
    need = gql(client, ONE, {"id": world["mine"]}, token=admin)["data"]["need"]
    pages = gql(client, PAGE, token=admin)["data"]["needs"]["nodes"]
    (from_page,) = [n for n in pages if n["id"] == world["mine"]]
    assert need == from_page  # the loader path: same values (enums, times, JSON, text)
    assert [e["action"] for e in need["events"]] == [s[0].name for s in STEPS]
    assert need["events"][1]["data"] == {"a": [1, 2]} and need["events"][0]["fromStatus"] is None
    assert need["events"][1]["at"] == "2026-11-30T16:01:00.123457+08:00"  # county time
    assert need["latestEvent"]["action"] == "ARRIVE"
    assert [e["id"] for e in need["recent"]] == [e["id"] for e in need["events"][-2:]]


def test_events_of_a_need_follow_its_privacy(client: TestClient, engine: sa.Engine) -> None:
    world = _world(engine)
    query = "query($id: ID!) { need(id: $id) { events { action actorName } } }"

    def events(token: str, need: str) -> list[tuple[str, str]] | None:
        found = gql(client, query, {"id": need}, token=token)["data"]["need"]
        return None if found is None else [(e["action"], e["actorName"]) for e in found["events"]]

    named = [("REPORT", "李大红"), ("ACCEPT", "协调员"), ("DISPATCH", "协调员"), ("ARRIVE", "王五")]
    assert events(world["resident"], world["mine"]) == named  # their own report, in full
    assert events(world["resident"], world["theirs"]) is None  # a neighbour's: not at all
    assert events(world["admin"], world["theirs"]) == named  # administrators: every need


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RESIDENT])
def test_both_executors_answer_the_same(engine: sa.Engine, database_url: str, role: Role) -> None:
    world = _world(engine)
    token = world["admin" if role is Role.ADMIN else "resident"]
    answers = {}
    for executor in ("fast", "strawberry"):
        with TestClient(create_app(make_settings(database_url, executor=executor))) as client:
            answers[executor] = [
                gql(client, ONE, {"id": world[n]}, token=token)["data"] for n in ("mine", "theirs")
            ]
    assert answers["fast"] == answers["strawberry"]
    assert answers["fast"][0]["need"]["events"]
    assert (answers["fast"][1]["need"] is None) is (role is Role.RESIDENT)


def test_a_column_type_without_a_json_rule_is_refused() -> None:
    column = sa.Column("amount", sa.Numeric(10, 2))
    with pytest.raises(TypeError, match="no JSON reading rule"):
        json_reader(column, sa.create_engine("sqlite://").dialect)
