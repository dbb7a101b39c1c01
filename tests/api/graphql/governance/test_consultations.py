"""赣事好商量·吉事广议 over HTTP: a consultation on a topic with its parties, its sessions, the
outcome, settled disputes (counted by countyStats) and needs made from the outcome through the
closed loop; roles, scope, bad input, and offices recording at once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from api.graphql.relay import from_global_id
from schema.enums import NeedAction, NeedSource, NeedStatus
from schema.models import (
    AuditLog,
    Consultation,
    ConsultationSession,
    Need,
    NeedEvent,
    SettledDispute,
)
from tests.api.graphql.admin_calls import at_once, call
from tests.api.graphql.mutate import error_codes, gid, ok
from tests.conftest import gql
from tests.county import NOW, County

pytestmark = pytest.mark.county("units", "needs")

STATS = "{ countyStats { consultations disputesSettled } }"
NEEDS_OF = """query($id: ID!) { node(id: $id) { ... on Consultation { needs { id source } } } }"""


def _open(county: County, **over: Any) -> dict[str, Any]:
    return {
        "communityId": gid("Community", county.quantang.id),
        "topic": "小区停车难协商会",
        "heldAt": (NOW + timedelta(days=1)).isoformat(),
        "parties": [
            {"name": "业主代表", "role": "申请方", "personId": gid("Person", county.volunteer.id)},
            {
                "name": "红色物业公司",
                "role": "被申请方",
                "unitId": county.gid("PairedUnit", "property"),
            },
            {"name": "泉塘社区", "role": "调解方"},
        ],
    } | over


def _stats(client: TestClient, token: str) -> dict[str, int]:
    figures: dict[str, int] = gql(client, STATS, token=token)["data"]["countyStats"]
    return figures


def _consultation(engine: sa.Engine, global_id: str) -> Consultation:
    with Session(engine) as s:
        row = s.get(Consultation, from_global_id(global_id)[1])
        assert row is not None
        return row


def test_hold_a_consultation_from_topic_to_needs(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    token = county.token("coordinator")
    before = _stats(client, token)
    c = ok(call(client, "createConsultation", _open(county), token))["consultation"]
    assert [p["name"] for p in c["parties"]] == ["业主代表", "红色物业公司", "泉塘社区"]
    assert c["parties"][0]["person"]["id"] == gid("Person", county.volunteer.id)
    assert c["parties"][1]["unit"]["id"] == county.gid("PairedUnit", "property")
    assert c["concludedAt"] is None and c["version"] == 1
    cid = c["id"]
    for days, attendees in ((1, 12), (8, 30)):
        c = ok(
            call(
                client,
                "recordConsultationSession",
                {
                    "consultationId": cid,
                    "heldAt": (NOW + timedelta(days=days)).isoformat(),
                    "attendees": attendees,
                    "place": "燕京府小区党群服务站",
                    "minutes": "各方陈述意见",
                },
                token,
            )
        )["consultation"]
    assert [s["attendees"] for s in c["sessions"]] == [12, 30] and c["participants"] == 30
    c = ok(
        call(
            client,
            "recordConsultationOutcome",
            {"consultationId": cid, "outcome": "划定临时停车位，物业负责管理"},
            token,
        )
    )["consultation"]
    assert c["concludedAt"] and c["outcome"] == "划定临时停车位，物业负责管理"
    c = ok(
        call(
            client,
            "settleDisputes",
            {"consultationId": cid, "summaries": ["车位占用纠纷", "物业收费纠纷"]},
            token,
        )
    )["consultation"]
    assert c["disputesSettled"] == 2 and len(c["settledDisputes"]) == 2
    after = _stats(client, token)
    assert after["consultations"] == before["consultations"] + 1
    assert after["disputesSettled"] == before["disputesSettled"] + 2
    # The outcome turns into needs, reported through the closed loop and linked to it.
    input = {
        "consultationId": cid,
        "idempotencyKey": "park-1",
        "needs": [
            {"title": "施划临时停车位", "category": "INFRASTRUCTURE"},
            {"title": "物业增设停车管理员", "category": "PROPERTY", "urgency": 4},
        ],
    }
    needs = ok(call(client, "createNeedsFromConsultation", input, token))["needs"]
    assert [n["title"] for n in needs] == ["施划临时停车位", "物业增设停车管理员"]
    assert {(n["source"], n["status"]) for n in needs} == {("CONSULTATION", "REPORTED")}
    assert {n["consultation"]["id"] for n in needs} == {cid}
    assert {n["community"]["id"] for n in needs} == {gid("Community", county.quantang.id)}
    again = ok(call(client, "createNeedsFromConsultation", input, token))["needs"]
    assert [n["id"] for n in again] == [n["id"] for n in needs]  # the same key: the same needs
    listed = gql(client, NEEDS_OF, {"id": cid}, token=token)["data"]["node"]["needs"]
    assert {n["id"] for n in listed} == {n["id"] for n in needs}
    with Session(engine) as s:
        ids = [from_global_id(n["id"])[1] for n in needs]
        rows = s.exec(select(Need).where(Need.id.in_(ids))).all()  # type: ignore[union-attr]
        assert {(r.source, r.status, r.consultation_id) for r in rows} == {
            (NeedSource.CONSULTATION, NeedStatus.REPORTED, from_global_id(cid)[1])
        }
        events = s.exec(select(NeedEvent).where(NeedEvent.need_id.in_(ids))).all()  # type: ignore[attr-defined]
        assert sorted(e.action for e in events) == [NeedAction.REPORT, NeedAction.REPORT]
    # Concluded: no more sessions.
    late = call(
        client,
        "recordConsultationSession",
        {"consultationId": cid, "heldAt": NOW.isoformat(), "attendees": 3},
        token,
    )
    assert (
        error_codes(late) == ["BAD_USER_INPUT"] and "concluded" in late["userErrors"][0]["message"]
    )


def test_settling_adds_to_disputes_recorded_as_a_number(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    with Session(engine) as s:
        (row,) = s.exec(select(Consultation)).all()  # the county's one, with 2 settled
        seeded = gid("Consultation", row.id)
    c = ok(
        call(
            client,
            "settleDisputes",
            {"consultationId": seeded, "summaries": ["邻里噪音"]},
            county.token("coordinator"),
        )
    )["consultation"]
    assert c["disputesSettled"] == 3 and [d["summary"] for d in c["settledDisputes"]] == [
        "邻里噪音"
    ]


def test_consultations_in_own_area_only(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    c = ok(call(client, "createConsultation", _open(county), county.token("coordinator")))[
        "consultation"
    ]
    outsider = county.token("outsider")
    assert error_codes(call(client, "createConsultation", _open(county), outsider)) == ["FORBIDDEN"]
    for name, input in (
        (
            "recordConsultationSession",
            {"consultationId": c["id"], "heldAt": NOW.isoformat(), "attendees": 5},
        ),
        ("recordConsultationOutcome", {"consultationId": c["id"], "outcome": "x"}),
        ("settleDisputes", {"consultationId": c["id"], "summaries": ["x"]}),
        (
            "createNeedsFromConsultation",
            {"consultationId": c["id"], "needs": [{"title": "x", "category": "OTHER"}]},
        ),
    ):
        assert error_codes(call(client, name, input, outsider)) == ["FORBIDDEN"], name
    for who in ("grid_worker", "volunteer", "resident"):
        body = gql(
            client,
            "mutation($i: SettleDisputesInput!) { settleDisputes(input: $i) { "
            "consultation { id } } }",
            {"i": {"consultationId": c["id"], "summaries": ["x"]}},
            token=county.token(who),
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    row = _consultation(engine, c["id"])
    assert (row.disputes_settled, row.outcome, row.version) == (0, "", 1)
    # Refusals are audited too, with what came of them.
    with Session(engine) as s:
        refused = s.exec(
            select(AuditLog).where(
                AuditLog.account_id == county.account("outsider").id,
                col(AuditLog.root_fields).like("%,settleDisputes,%"),
            )
        ).one()
        assert not refused.ok and refused.outcomes[0]["code"] == "FORBIDDEN"


def test_refuse_bad_consultation_input(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    token = county.token("coordinator")
    bad = call(
        client,
        "createConsultation",
        _open(
            county,
            topic=" ",
            heldAt=(NOW + timedelta(days=800)).isoformat(),
            parties=[{"name": "甲"}, {"name": "甲"}, {"name": ""}],
        ),
        token,
    )
    fields = {tuple(e["field"]) for e in bad["userErrors"]}
    assert fields == {
        ("input", "topic"),
        ("input", "heldAt"),
        ("input", "parties", "1", "name"),
        ("input", "parties", "2", "name"),
    }
    unknown = call(
        client,
        "createConsultation",
        _open(county, parties=[{"name": "x", "personId": gid("Person", 99999)}]),
        token,
    )
    assert error_codes(unknown) == ["NOT_FOUND"]
    with Session(engine) as s:
        assert len(s.exec(select(Consultation)).all()) == 1  # the county's own only
    c = ok(call(client, "createConsultation", _open(county, parties=[]), token))["consultation"]
    early = call(
        client,
        "createNeedsFromConsultation",
        {"consultationId": c["id"], "needs": [{"title": "x", "category": "OTHER"}]},
        token,
    )
    assert (
        error_codes(early) == ["BAD_USER_INPUT"] and "outcome" in early["userErrors"][0]["message"]
    )
    for name, input, field in (
        (
            "recordConsultationSession",
            {"consultationId": c["id"], "heldAt": NOW.isoformat(), "attendees": -1},
            "attendees",
        ),
        ("recordConsultationOutcome", {"consultationId": c["id"], "outcome": "  "}, "outcome"),
        ("settleDisputes", {"consultationId": c["id"], "summaries": []}, "summaries"),
    ):
        payload = call(client, name, input, token)
        assert payload["userErrors"][0]["field"] == ["input", field], name
    ok(
        call(
            client,
            "recordConsultationOutcome",
            {"consultationId": c["id"], "outcome": "同意"},
            token,
        )
    )
    bad_need = call(
        client,
        "createNeedsFromConsultation",
        {
            "consultationId": c["id"],
            "needs": [
                {"title": "好", "category": "OTHER"},
                {"title": "", "category": "OTHER", "latitude": 40.0, "longitude": 100.0},
            ],
        },
        token,
    )
    assert {tuple(e["field"]) for e in bad_need["userErrors"]} == {
        ("input", "needs", "1", "location")
    }
    blank = call(
        client,
        "createNeedsFromConsultation",
        {
            "consultationId": c["id"],
            "needs": [{"title": "好", "category": "OTHER"}, {"title": " ", "category": "OTHER"}],
        },
        token,
    )
    assert {tuple(e["field"]) for e in blank["userErrors"]} == {("input", "needs", "1", "title")}
    # Amending the outcome needs the version read.
    amend = call(
        client, "recordConsultationOutcome", {"consultationId": c["id"], "outcome": "改"}, token
    )
    assert error_codes(amend) == ["BAD_USER_INPUT"]
    with Session(engine) as s:
        assert (
            s.exec(select(Need).where(Need.consultation_id == from_global_id(c["id"])[1])).all()
            == []
        )
    assert _consultation(engine, c["id"]).outcome == "同意"


def test_offices_recording_at_once(
    client: TestClient, county: County, engine: sa.Engine, database_url: str
) -> None:
    token = county.token("coordinator")
    cid = ok(call(client, "createConsultation", _open(county), token))["consultation"]["id"]
    tokens = [token, county.token("county_coordinator"), county.token("admin")]
    # Sessions and settled disputes from three offices at once: all of them count.
    at_once(
        database_url,
        [
            lambda c, t=t, i=i: call(
                c,
                "recordConsultationSession",
                {"consultationId": cid, "heldAt": NOW.isoformat(), "attendees": 10 + i},
                t,
            )
            for i, t in enumerate(tokens)
        ],
    )
    settled = at_once(
        database_url,
        [
            lambda c, t=t: call(
                c, "settleDisputes", {"consultationId": cid, "summaries": ["甲", "乙"]}, t
            )
            for t in tokens
        ],
    )
    assert all(p["userErrors"] == [] for p in settled), settled
    row = _consultation(engine, cid)
    with Session(engine) as s:
        sessions = s.exec(
            select(ConsultationSession).where(ConsultationSession.consultation_id == row.id)
        ).all()
        disputes = s.exec(
            select(SettledDispute).where(SettledDispute.consultation_id == row.id)
        ).all()
    assert row.disputes_settled == 6 == len(disputes)
    assert len(sessions) in (1, 2, 3) and row.participants == max(x.attendees for x in sessions)
    # Two offices record the outcome from the same version: one wins, one is told.
    version = row.version
    outcomes = at_once(
        database_url,
        [
            lambda c, t=t, i=i: call(
                c,
                "recordConsultationOutcome",
                {"consultationId": cid, "outcome": f"方案{i}", "expectedVersion": version},
                t,
            )
            for i, t in enumerate(tokens[:2])
        ],
    )
    assert Counter("OK" if not p["userErrors"] else error_codes(p)[0] for p in outcomes) == {
        "OK": 1,
        "CONFLICT": 1,
    }
    # The same needs sent twice at once (a double click): made once.
    input = {
        "consultationId": cid,
        "idempotencyKey": "k1",
        "needs": [{"title": "修路", "category": "INFRASTRUCTURE"}],
    }
    made = at_once(
        database_url, [lambda c: call(c, "createNeedsFromConsultation", input, token)] * 2
    )
    ids = {n["id"] for p in made for n in p["needs"]}
    assert len(ids) == 1 or any(p["userErrors"] for p in made), made
    with Session(engine) as s:
        assert len(s.exec(select(Need).where(Need.consultation_id == row.id)).all()) == 1
