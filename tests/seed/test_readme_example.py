"""The README's worked example, pasted as written, on a county seeded a week ago and on one
seeded today: the closed loop keeps its 1341 promises, and the scheduled visit is booked in its
window (times answered at +08:00)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from schema.base import LOCAL_ZONE, utcnow
from schema.db import make_engine
from schema.migrate import upgrade
from seed.load import load_reference
from tests.conftest import gql, make_settings
from tests.seed.conftest import fresh_seed_database

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"""
# Who does each step of the worked example (README: "as `demo-…`").
ACTORS = ("resident", "coordinator", "coordinator", "gridworker", "gridworker", "resident", None)


def _section(title: str) -> str:
    start = README.index(title)
    end = README.index("\n## ", start + 1)
    return README[start:end]


def _blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(graphql|json)\n(.*?)```", text, flags=re.S)


def _steps() -> list[tuple[str, dict[str, Any]]]:
    """(document, variables) of the worked example, in order."""
    blocks = _blocks(_section("## The closed loop"))
    out: list[tuple[str, dict[str, Any]]] = []
    for kind, text in blocks:
        if kind == "graphql":
            out.append((text, {}))
        else:
            out[-1] = (out[-1][0], json.loads(text))
    return out


@pytest.fixture(scope="module", params=[7, 0], ids=["seeded-a-week-ago", "seeded-today"])
def seeded_days_ago(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with fresh_seed_database(tmp_path_factory.mktemp("readme")) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            anchor = (utcnow() - timedelta(days=request.param)).replace(second=0, microsecond=0)
            load_reference(engine, reset=False, now=anchor)
        finally:
            engine.dispose()
        yield url


def _run(client: TestClient, key: str) -> None:
    tokens = {
        who: gql(client, LOGIN, {"u": f"demo-{who}", "p": "luling-demo"})["data"]["login"]["token"]
        for who in ("resident", "coordinator", "gridworker")
    }
    need_id = None
    answers = []
    for (document, variables), who in zip(_steps(), ACTORS, strict=True):
        text = json.dumps(variables).replace("NEED_ID", need_id or "")
        text = text.replace("c0ffee00-2024-demo-0001", key)
        if "query Need" in document:
            variables, who = {"id": need_id}, "coordinator"
        else:
            variables = json.loads(text)
        body = gql(client, document, variables, token=tokens[who or "coordinator"])
        assert "errors" not in body, body
        (answer,) = body["data"].values()
        answers.append(answer)
        if "userErrors" in answer:
            assert answer["userErrors"] == [], (document, answer)
        need_id = need_id or answer["need"]["id"]
    dispatched = answers[2]["need"]
    assert dispatched["arriveBy"].endswith("+08:00")
    arrive_by = datetime.fromisoformat(dispatched["arriveBy"])
    assert arrive_by - datetime.fromisoformat(dispatched["dispatchedAt"]) == timedelta(minutes=10)
    record = answers[-1]
    assert record["status"] == "CLOSED" and record["arrivedOnTime"] and not record["overdue"]

    # The scheduled visit, tomorrow, accepted and dispatched as in the worked example.
    clock = _section("## The county's clock")
    (report, report_vars) = [b for _, b in _blocks(clock)][:2]
    tomorrow = (utcnow().astimezone(LOCAL_ZONE) + timedelta(days=1)).date().isoformat()
    variables = json.loads(report_vars.replace("YYYY-MM-DD", tomorrow))
    need = gql(client, report, variables, token=tokens["resident"])["data"]["reportNeed"]
    assert need["userErrors"] == [] and need["need"]["kind"] == "SCHEDULED"
    visit = need["need"]["id"]
    for step, version in ((1, 1), (2, 2)):
        document, step_vars = _steps()[step]
        step_vars = json.loads(json.dumps(step_vars).replace("NEED_ID", visit))
        step_vars["input"]["expectedVersion"] = version
        answer = next(
            iter(gql(client, document, step_vars, token=tokens["coordinator"])["data"].values())
        )
        assert answer["userErrors"] == [], answer
    booked = answer["need"]
    assert booked["arriveBy"] == f"{tomorrow}T08:30:00+08:00"
    assert booked["resolveBy"] == f"{tomorrow}T10:30:00+08:00"


def test_worked_example(seeded_days_ago: str) -> None:
    with TestClient(create_app(make_settings(seeded_days_ago, clock_seconds=0))) as client:
        _run(client, "readme-example")
