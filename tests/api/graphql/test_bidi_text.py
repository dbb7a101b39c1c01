"""Text written through Luling cannot carry Unicode's invisible direction controls: a member
named "王\u202e..." showed a different name in every list. One rule (`schema.text_rules`)
refuses them in the domain's text (`clean_text`) and in every string a GraphQL request sends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from schema.models import Need
from schema.services.common import clean_text
from schema.services.errors import Invalid
from schema.text_rules import BIDI_CONTROLS
from tests.api.graphql.mutate import document, mutate, report_input
from tests.conftest import gql
from tests.county import County


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_every_direction_control_is_refused(control: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_text(f"王{control}建国", "name", max_length=32, required=True)
    assert [field for field, _ in refused.value.problems] == ["name"]
    assert "direction" in str(refused.value)


def test_plain_chinese_and_latin_text_passes() -> None:
    assert clean_text(" 王建国 (Wang) ", "name", max_length=32, required=True) == "王建国 (Wang)"


@pytest.mark.parametrize("where", ["variables", "literal"])
def test_a_spoofed_title_is_refused_and_nothing_is_written(
    client: TestClient, engine: sa.Engine, county: County, where: str
) -> None:
    spoofed = report_input(title="楼道灯坏了\u202e修已")
    if where == "variables":
        body = gql(
            client,
            document("reportNeed"),
            {"input": spoofed},
            token=county.token("resident"),
            expect_errors=True,
        )
    else:
        literal = 'mutation { reportNeed(input: {title: "灯\u2067坏", category: OTHER, '
        literal += "location: {latitude: 27.05, longitude: 114.9}}) { need { id } } }"
        body = gql(client, literal, token=county.token("resident"), expect_errors=True)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "text-direction" in error["message"]
    with Session(engine) as s:
        assert s.exec(select(Need)).all() == []


@pytest.mark.parametrize("control", ["\x1b", "\x08", "\x7f", "\x9b"])
def test_control_characters_are_refused_in_the_domain_and_at_the_door(
    client: TestClient, engine: sa.Engine, county: County, control: str
) -> None:
    """Found attacking from outside: a resident's title "\\x1b[2J..." was stored, repainted the
    terminal that printed the export and failed `luling export --format xlsx` for everyone."""
    with pytest.raises(Invalid) as refused:
        clean_text(f"路灯{control}坏了", "title", max_length=32, required=True)
    assert "control" in str(refused.value)
    body = gql(
        client,
        document("reportNeed"),
        {"input": report_input(title=f"路灯{control}[31m坏了")},
        token=county.token("resident"),
        expect_errors=True,
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "control" in error["message"]
    with Session(engine) as s:
        assert s.exec(select(Need)).all() == []


def test_tabs_and_line_breaks_stay_allowed() -> None:
    assert clean_text("第一行\n第二行\t完", "description", max_length=32, required=False) == (
        "第一行\n第二行\t完"
    )


def test_an_xlsx_export_survives_control_characters_stored_before(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from schema.services.tabular import write_table

    path = tmp_path / "needs.xlsx"
    assert write_table(path, ["标题"], [["路灯\x1b[31m坏了"]]) == 1
    (row,) = load_workbook(path).active.iter_rows(min_row=2, values_only=True)
    assert row == ("路灯\ufffd[31m坏了",)


@pytest.mark.parametrize("blank", ["\u200b\u200b", "\u3164", "\ufeff \u2060", "\u00ad"])
def test_a_required_text_of_only_invisible_characters_is_empty(
    client: TestClient, engine: sa.Engine, county: County, blank: str
) -> None:
    """Found attacking from outside: a title of two zero-width spaces (or the Hangul filler
    U+3164) passed the emptiness check and showed as a blank line in every list."""
    with pytest.raises(Invalid, match="must not be empty"):
        clean_text(blank, "name", max_length=32, required=True)
    refused = mutate(client, "reportNeed", report_input(title=blank), county.token("resident"))
    assert [e["field"] for e in refused["userErrors"]] == [["input", "title"]]
    with Session(engine) as s:
        assert s.exec(select(Need)).all() == []
    # Joiners inside visible text are fine (emoji sequences use them).
    assert (
        clean_text("志愿者👩\u200d🚒", "name", max_length=32, required=True) == "志愿者👩\u200d🚒"
    )
