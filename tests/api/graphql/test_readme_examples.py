"""Every GraphQL example in the README validates against today's schema and passes the query
limits a server applies by default, so a pasted example never meets a validation error or a
cost refusal (the worked examples' data are exercised by the workflow tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from api.graphql.cost import QueryRefused
from api.graphql.limits import cost_model, limits_from
from api.graphql.schema import build_schema
from api.settings import Settings

README = Path(__file__).resolve().parents[3] / "README.md"
BLOCK = re.compile(r"```graphql\n(.*?)```", re.S)


def _examples() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_the_readme_has_examples() -> None:
    assert len(_examples()) >= 10


@pytest.fixture(scope="module")
def schema_and_model():  # type: ignore[no-untyped-def]
    settings = Settings(DATABASE_URL="sqlite://", log_json=False)
    schema = build_schema(settings)
    return schema, cost_model(schema), limits_from(settings)


@pytest.mark.parametrize(("line", "example"), _examples(), ids=lambda v: str(v)[:20])
def test_readme_example_is_valid_and_affordable(schema_and_model, line: int, example: str) -> None:  # type: ignore[no-untyped-def]
    schema, model, limits = schema_and_model
    document = parse(example)
    errors = validate(schema._schema, document)
    assert not errors, f"README line {line}: {[e.message for e in errors]}"
    try:
        model.analyse(document, None, {}, limits)
    except QueryRefused as refused:  # pragma: no cover - the failure message is the point
        pytest.fail(f"README line {line} is refused by the default limits: {refused}")
