"""A page costs a fixed number of SQL statements, whatever its size (DataLoaders, joins)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from schema import models as m
from schema.enums import NeedAction, NeedCategory, NeedSource, NeedStatus, NeedTier, Role
from tests import factories as f
from tests.conftest import gql

PAGE = """query($first: Int!) { needs(first: $first) { totalCount
  edges { cursor node { id title status tier urgency overdue reportedAt
    community { id name township } grid { code name }
    skills { code name } events(last: 2) { action at } latestEvent { action toStatus } } } } }"""


@contextmanager
def counting(client: TestClient) -> Iterator[list[str]]:
    engine = client.app.state.db.engine.sync_engine
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def populate(engine: sa.Engine, n: int) -> None:
    now = datetime.now(UTC)
    with Session(engine) as s:
        skills = [m.Skill(code=f"s{i}", name=f"技能{i}") for i in range(3)]
        communities = [
            m.Community(
                name=f"社区{i}",
                kind="urban_community",
                township="敦厚镇",
                latitude=27.05,
                longitude=114.92,
            )
            for i in range(7)
        ]
        s.add_all(skills + communities)
        s.flush()
        grids = [
            m.Grid(
                code=f"G{i}",
                name=f"网格{i}",
                kind="urban",
                community_id=c.id,
                latitude=27.05,
                longitude=114.92,
            )
            for i, c in enumerate(communities)
        ]
        s.add_all(grids)
        s.flush()
        for i in range(n):
            c = communities[i % len(communities)]
            need = m.Need(
                title=f"诉求{i}",
                category=NeedCategory.OTHER,
                source=NeedSource.RESIDENT_APP,
                tier=NeedTier.ORDINARY,
                status=NeedStatus.ACCEPTED,
                community_id=c.id,
                grid_id=grids[i % len(grids)].id if i % 3 else None,
                latitude=27.05,
                longitude=114.92,
                reported_at=now - timedelta(minutes=i),
            )
            s.add(need)
            s.flush()
            s.add(m.NeedSkill(need_id=need.id, skill_id=skills[i % 3].id))
            for k, (action, to) in enumerate(
                [(NeedAction.REPORT, NeedStatus.REPORTED), (NeedAction.ACCEPT, NeedStatus.ACCEPTED)]
            ):
                s.add(
                    m.NeedEvent(
                        need_id=need.id,
                        action=action,
                        to_status=to,
                        at=need.reported_at + timedelta(minutes=k),
                    )
                )
        s.commit()


def test_count_same_statements_for_5_and_100_needs(client: TestClient, engine: sa.Engine) -> None:
    populate(engine, 120)
    token = f.token_for(f.account(engine, Role.COORDINATOR))
    gql(client, PAGE, {"first": 1}, token=token)  # warm up: connection pragmas, caches
    counts = {}
    for size in (5, 100):
        with counting(client) as seen:
            data = gql(client, PAGE, {"first": size}, token=token)["data"]["needs"]
        assert len(data["edges"]) == size and data["totalCount"] == 120
        node = data["edges"][0]["node"]
        assert node["community"]["name"] and node["skills"] and len(node["events"]) == 2
        assert node["latestEvent"]["action"] == "ACCEPT"
        counts[size] = len([s for s in seen if not s.lstrip().upper().startswith("PRAGMA")])
    assert counts[5] == counts[100]
    # account lookup, page (with community and grid joined), count, skills, events, latest event
    assert counts[100] <= 6, counts


def test_fetch_only_selected_columns(client: TestClient, engine: sa.Engine) -> None:
    populate(engine, 3)
    token = f.token_for(f.account(engine, Role.COORDINATOR))
    with counting(client) as seen:
        gql(client, "{ needs(first: 3) { nodes { title } } }", token=token)
    (page,) = [s for s in seen if "FROM need" in s]
    selected = page.split("FROM")[0]
    assert "need.title" in selected and "need.description" not in selected
    assert "media_urls" not in selected
