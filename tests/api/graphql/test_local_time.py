"""The county runs on Asia/Shanghai: times are answered with +08:00, a time given without an
offset is read as local, any offset is accepted, and "today" is the local day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from starlette.testclient import TestClient

from schema.base import LOCAL_ZONE, local_midnight, utcnow
from schema.enums import Role
from tests import factories as f
from tests.conftest import gql

NEEDS = """query($after: DateTime) { needs(first: 10, filter: {reportedAfter: $after}) {
  nodes { title reportedAt } } }"""


def test_times_are_local_and_any_offset_is_read(client: TestClient, engine: sa.Engine) -> None:
    home = f.community(engine)
    midnight = local_midnight(utcnow())
    f.need(engine, home.id, title="今天", reported_at=midnight + timedelta(minutes=1))
    f.need(engine, home.id, title="昨天", reported_at=midnight - timedelta(minutes=1))
    token = f.signed_in_token(engine, Role.ADMIN)  # sees every need (least privilege)
    local = midnight.astimezone(LOCAL_ZONE)
    for after in (
        local.replace(tzinfo=None).isoformat(),  # no offset: local time
        local.isoformat(),  # +08:00
        midnight.isoformat(),  # +00:00
    ):
        nodes = gql(client, NEEDS, {"after": after}, token=token)["data"]["needs"]["nodes"]
        assert [n["title"] for n in nodes] == ["今天"], after
        (node,) = nodes
        assert node["reportedAt"].endswith("+08:00")
        assert datetime.fromisoformat(node["reportedAt"]) == midnight + timedelta(minutes=1)
    stats = gql(client, "{ countyStats { needsReportedToday } }")["data"]["countyStats"]
    assert stats["needsReportedToday"] == 1


def test_local_midnight_is_the_county_day() -> None:
    late = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on 12-01 in Ji'an
    assert local_midnight(late) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
