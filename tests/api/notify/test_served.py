"""Within seconds of a coordinator committing a matching job through the API, each committed
person has one notification in their inbox and one SMS at the provider: `luling serve`'s app
runs the dispatcher beside the clock. The CLI lists, retries and dispatches."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from schema import models as m
from schema.enums import ProposalKind, ProposalStatus
from schema.notifications import DeliveryStatus, NotificationKind
from tests.api.graphql.mutate import gid
from tests.conftest import gql, make_settings
from tests.county import County
from tests.notify_servers import provider_server
from tests.schema.services.test_notify import deliveries, notifications

pytestmark = pytest.mark.county("matching")

COMMIT = """mutation($id: ID!) { commitMatchingJob(jobId: $id) { job { status }
  userErrors { message } } }"""


def test_committing_a_job_reaches_each_person_by_sms_within_seconds(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    job = county.rows["job"]
    with Session(engine) as s:  # the helper too, so that two people are committed
        helper = s.exec(select(m.Proposal).where(col(m.Proposal.kind) == ProposalKind.HELPER)).one()
        helper.status = ProposalStatus.ACCEPTED
        s.commit()
    with provider_server() as (url, provider):
        settings = make_settings(
            database_url,
            sms_api_url=url,
            sms_api_key="test-key",
            notify_dispatch_seconds=0.2,
            notify_quiet_start="00:00",
            notify_quiet_end="00:00",
        )
        with TestClient(create_app(settings)) as client:
            started = time.monotonic()
            answer = gql(
                client,
                COMMIT,
                {"id": gid("MatchingJob", job.id)},
                token=county.token("coordinator"),
            )
            assert answer["data"]["commitMatchingJob"]["userErrors"] == []
            while not provider.accepted and time.monotonic() - started < 15:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
    people = [n for n in notifications(engine) if n.person_id is not None]
    assert sorted(n.person_id for n in people) == sorted([county.volunteer.id, county.helper.id])
    assert {n.kind for n in people} == {NotificationKind.MATCH_COMMITTED}
    sms = [r["body"] for r in provider.requests]
    assert [b["to"] for b in sms] == ["13812345678"]  # the helper has no phone: inbox only
    assert elapsed < 5, elapsed
    assert {d.status for d in deliveries(engine)} == {DeliveryStatus.SENT}


def remind(engine: sa.Engine, county: County, title: str) -> None:
    """A slot reminder for the volunteer, about a need of this title."""
    from schema.services.notify import notify_on

    with engine.begin() as conn:
        notify_on(
            conn,
            NotificationKind.SLOT_REMINDER,
            key="k",
            data={"title": title, "place": "泉塘", "slot": "9:00"},
            person_ids=[county.volunteer.id],
        )


def test_the_cli_lists_retries_and_dispatches(
    engine: sa.Engine, database_url: str, county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    remind(engine, county, "上门理发")
    runner, db = CliRunner(), ["--database-url", database_url]
    listed = runner.invoke(cli, ["notifications", "list", *db])
    assert listed.exit_code == 0 and "13812345678" in listed.output and "上门" in listed.output
    with provider_server() as (url, provider):
        provider.invalid.add("13812345678")
        for name, value in {
            "LULING_SMS_API_URL": url,
            "LULING_SMS_API_KEY": "test-key",
            "LULING_NOTIFY_QUIET_START": "00:00",
            "LULING_NOTIFY_QUIET_END": "00:00",
        }.items():
            monkeypatch.setenv(name, value)
        from api.settings import get_settings

        get_settings.cache_clear()
        try:
            once = runner.invoke(cli, ["notifications", "dispatch", *db])
            assert once.exit_code == 0 and "dead 1" in once.output, once.output
            dead = runner.invoke(cli, ["notifications", "list", "--status", "dead", *db])
            assert "1 dead delivery" in dead.output, dead.output
            provider.invalid.clear()
            again = runner.invoke(cli, ["notifications", "retry", "--all", *db])
            assert again.exit_code == 0 and "1 dead letter" in again.output
            sent = runner.invoke(cli, ["notifications", "dispatch", *db])
            assert "sent 1" in sent.output, sent.output
        finally:
            get_settings.cache_clear()
    assert len(provider.accepted) == 1


def test_the_cli_lists_titles_and_errors_as_written_not_as_markup(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    """A need's title is a resident's free text: "[/]" in it once made `notifications list`
    crash (Rich read it as markup), and "[red]…" would have been drawn, not shown."""
    remind(engine, county, "[/]灯[red]坏")
    listed = CliRunner().invoke(
        cli, ["notifications", "list", "--database-url", database_url], env={"COLUMNS": "200"}
    )
    assert listed.exit_code == 0, listed.output
    assert "[/]灯[red]坏" in listed.output
