"""平急转换 over HTTP: a coordinator switches their area to emergency mode and back; outside it,
or for an unknown area, they cannot."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session
from starlette.testclient import TestClient

from schema.enums import AreaMode
from schema.models import Community
from tests.api.graphql.mutate import error_codes, gid, mutate, ok
from tests.county import County
from tests.loop import audit_rows


def _mode(engine: sa.Engine, community_id: int | None) -> AreaMode:
    with Session(engine) as s:
        row = s.get(Community, community_id)
        assert row is not None
        return row.mode


def test_switch_area_to_emergency_and_back(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    cid, token = gid("Community", county.quantang.id), county.token("coordinator")
    on = ok(
        mutate(
            client,
            "setAreaMode",
            {"communityId": cid, "mode": "EMERGENCY", "reason": "暴雨"},
            token,
        )
    )
    assert on["community"]["mode"] == "EMERGENCY" and on["community"]["modeChangedAt"]
    twice = mutate(client, "setAreaMode", {"communityId": cid, "mode": "EMERGENCY"}, token)
    assert error_codes(twice) == ["ILLEGAL_TRANSITION"]
    off = ok(mutate(client, "setAreaMode", {"communityId": cid, "mode": "NORMAL"}, token))
    assert (
        off["community"]["mode"] == "NORMAL"
        and _mode(engine, county.quantang.id) is AreaMode.NORMAL
    )
    audit = audit_rows(engine)  # one row per request, the refused one too
    assert [(a.operation, a.ok, a.error_code) for a in audit] == [
        ("setAreaMode", True, None),
        ("setAreaMode", False, "ILLEGAL_TRANSITION"),
        ("setAreaMode", True, None),
    ]
    assert audit[0].variables["input"]["reason"] == "暴雨"


def test_refuse_area_mode_outside_area_or_unknown(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    cid = gid("Community", county.quantang.id)
    outside = mutate(
        client, "setAreaMode", {"communityId": cid, "mode": "EMERGENCY"}, county.token("outsider")
    )
    assert error_codes(outside) == ["FORBIDDEN"]
    unknown = mutate(
        client,
        "setAreaMode",
        {"communityId": gid("Community", 99), "mode": "EMERGENCY"},
        county.token("admin"),
    )
    assert error_codes(unknown) == ["NOT_FOUND"]
    assert _mode(engine, county.quantang.id) is AreaMode.NORMAL
