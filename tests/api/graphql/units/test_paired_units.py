"""结对共建 over HTTP: registering and changing paired units, twinning and parting them with
communities; roles, a community coordinator's scope, bad input, and two offices at once."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from schema.models import AuditLog, PairedUnit, Pairing
from tests.api.graphql.admin_calls import at_once, call
from tests.api.graphql.mutate import error_codes, gid, ok
from tests.conftest import gql
from tests.county import A_LAT, A_LON, County

pytestmark = pytest.mark.county("units")


def _new_unit(county: County, **over: object) -> dict[str, object]:
    return {
        "name": "县供电公司",
        "kind": "ENTERPRISE",
        "latitude": A_LAT,
        "longitude": A_LON,
        "address": "城南大道1号",
        "isStateOwned": True,
        "communityIds": [gid("Community", county.quantang.id)],
    } | over


def _pairings(engine: sa.Engine, unit_id: int) -> set[int]:
    with Session(engine) as s:
        rows = s.exec(select(Pairing.community_id).where(Pairing.unit_id == unit_id)).all()
        return set(rows)


def test_register_unit_twinned_with_own_community(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    unit = ok(call(client, "createPairedUnit", _new_unit(county), county.token("coordinator")))[
        "unit"
    ]
    assert unit["name"] == "县供电公司" and unit["kind"] == "ENTERPRISE" and unit["version"] == 1
    assert [c["id"] for c in unit["communities"]] == [gid("Community", county.quantang.id)]
    # The twinned community sees it among its units; the write was audited.
    listed = gql(
        client,
        "query($c: ID) { pairedUnits(twinnedWith: $c, first: 10) { nodes { name } } }",
        {"c": gid("Community", county.quantang.id)},
        token=county.token("coordinator"),
    )["data"]["pairedUnits"]["nodes"]
    assert "县供电公司" in {n["name"] for n in listed}
    with Session(engine) as s:
        audit = s.exec(
            select(AuditLog).where(col(AuditLog.root_fields).like("%,createPairedUnit,%"))
        ).one()
        assert audit.ok and audit.account_id == county.account("coordinator").id


def test_refuse_unit_registration_by_role_and_scope(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    for who in ("grid_worker", "volunteer", "resident"):
        body = gql(
            client,
            "mutation($i: CreatePairedUnitInput!) { createPairedUnit(input: $i) { unit { id } } }",
            {"i": _new_unit(county)},
            token=county.token(who),
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Hengxi's coordinator may not twin a unit with Quantang, nor register one nobody holds.
    outsider = county.token("outsider")
    payload = call(client, "createPairedUnit", _new_unit(county), outsider)
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert payload["userErrors"][0]["field"] == ["input", "communityIds"]
    both = [gid("Community", county.hengxi.id), gid("Community", county.quantang.id)]
    payload = call(client, "createPairedUnit", _new_unit(county, communityIds=both), outsider)
    assert error_codes(payload) == ["FORBIDDEN"]
    # A county coordinator registers one twinned with nobody yet.
    ok(call(client, "createPairedUnit", _new_unit(county, communityIds=[]), county.token("admin")))
    with Session(engine) as s:
        assert len(s.exec(select(PairedUnit).where(PairedUnit.name == "县供电公司")).all()) == 1


def test_refuse_bad_unit_input_and_change_nothing(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    token = county.token("county_coordinator")
    payload = call(
        client,
        "createPairedUnit",
        _new_unit(county, name="  ", latitude=40.0, address="x" * 201),
        token,
    )
    fields = {tuple(e["field"]) for e in payload["userErrors"]}
    assert fields == {("input", "name"), ("input", "location"), ("input", "address")}
    taken = call(client, "createPairedUnit", _new_unit(county, name="县委组织部"), token)
    assert (
        error_codes(taken) == ["BAD_USER_INPUT"]
        and "already exists" in taken["userErrors"][0]["message"]
    )
    unknown = call(
        client, "createPairedUnit", _new_unit(county, communityIds=["Q29tbXVuaXR5Ojk5OQ=="]), token
    )
    assert error_codes(unknown) in (["NOT_FOUND"], ["BAD_USER_INPUT"])
    with Session(engine) as s:
        assert len(s.exec(select(PairedUnit)).all()) == 2  # the county's two, nothing new


def test_update_unit_in_scope_with_version_check(client: TestClient, county: County) -> None:
    prop = gid("PairedUnit", county.rows["property"].id)
    coordinator = county.token("coordinator")
    updated = ok(
        call(
            client,
            "updatePairedUnit",
            {"unitId": prop, "expectedVersion": 1, "address": "泉塘路8号", "hasPartyOrg": False},
            coordinator,
        )
    )["unit"]
    assert updated["address"] == "泉塘路8号" and updated["version"] == 2
    assert updated["hasPartyOrg"] is False and updated["name"] == "红色物业公司"
    stale = call(
        client, "updatePairedUnit", {"unitId": prop, "expectedVersion": 1, "name": "x"}, coordinator
    )
    assert error_codes(stale) == ["CONFLICT"]
    # The property company is twinned with Quantang only: not Hengxi's to change.
    outsider = call(
        client, "updatePairedUnit", {"unitId": prop, "name": "y"}, county.token("outsider")
    )
    assert error_codes(outsider) == ["FORBIDDEN"]
    # The organisation department is twinned with both: neither community's coordinator changes
    # its record alone (found by attacking: one renamed a unit others share); the county does.
    gov = gid("PairedUnit", county.rows["gov"].id)
    for token in (county.token("outsider"), coordinator):
        shared = call(client, "updatePairedUnit", {"unitId": gov, "address": "县城"}, token)
        assert error_codes(shared) == ["FORBIDDEN"]
        assert "other communities" in shared["userErrors"][0]["message"]
    ok(
        call(
            client,
            "updatePairedUnit",
            {"unitId": gov, "address": "县城"},
            county.token("county_coordinator"),
        )
    )
    nothing = call(client, "updatePairedUnit", {"unitId": prop}, coordinator)
    assert error_codes(nothing) == ["BAD_USER_INPUT"]
    clash = call(client, "updatePairedUnit", {"unitId": prop, "name": "县委组织部"}, coordinator)
    assert error_codes(clash) == ["BAD_USER_INPUT"]


def test_pair_and_unpair_in_own_area_only(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    prop_id = county.rows["property"].id
    prop, hengxi = gid("PairedUnit", prop_id), gid("Community", county.hengxi.id)
    quantang = gid("Community", county.quantang.id)
    refused = call(
        client, "pairUnit", {"unitId": prop, "communityId": hengxi}, county.token("coordinator")
    )
    assert error_codes(refused) == ["FORBIDDEN"]
    # Hengxi's coordinator may not pull Quantang's unit into Hengxi (found by attacking: one
    # community's coordinator took over a unit twinned elsewhere, then renamed it): the county may.
    taken = call(
        client, "pairUnit", {"unitId": prop, "communityId": hengxi}, county.token("outsider")
    )
    assert error_codes(taken) == ["FORBIDDEN"]
    paired = ok(
        call(
            client,
            "pairUnit",
            {"unitId": prop, "communityId": hengxi},
            county.token("county_coordinator"),
        )
    )
    assert {c["id"] for c in paired["unit"]["communities"]} == {quantang, hengxi}
    again = call(client, "pairUnit", {"unitId": prop, "communityId": hengxi}, county.token("admin"))
    assert error_codes(again) == ["BAD_USER_INPUT"]
    assert _pairings(engine, prop_id) == {county.quantang.id, county.hengxi.id}
    # Parting: Quantang's coordinator parts it from Quantang, not from Hengxi.
    refused = call(
        client, "unpairUnit", {"unitId": prop, "communityId": hengxi}, county.token("coordinator")
    )
    assert error_codes(refused) == ["FORBIDDEN"]
    parted = ok(
        call(
            client,
            "unpairUnit",
            {"unitId": prop, "communityId": quantang},
            county.token("coordinator"),
        )
    )
    assert [c["id"] for c in parted["unit"]["communities"]] == [hengxi]
    # Shared with Hengxi only now: Quantang's coordinator no longer edits it; Hengxi's, its
    # sole twin, does.
    renamed = {"unitId": prop, "address": "横溪路1号"}
    assert error_codes(call(client, "updatePairedUnit", renamed, county.token("coordinator"))) == [
        "FORBIDDEN"
    ]
    assert ok(call(client, "updatePairedUnit", renamed, county.token("outsider")))
    missing = call(
        client, "unpairUnit", {"unitId": prop, "communityId": quantang}, county.token("admin")
    )
    assert error_codes(missing) == ["NOT_FOUND"]
    assert _pairings(engine, prop_id) == {county.hengxi.id}


def test_two_offices_register_the_same_unit_at_once(
    county: County, engine: sa.Engine, database_url: str
) -> None:
    tokens = [county.token("coordinator"), county.token("county_coordinator")] * 2
    results = at_once(
        database_url,
        [lambda c, t=t: call(c, "createPairedUnit", _new_unit(county), t) for t in tokens],
    )
    outcomes = Counter("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert outcomes["OK"] == 1, results
    assert set(outcomes) <= {"OK", "BAD_USER_INPUT", "CONFLICT"}
    with Session(engine) as s:
        (unit,) = s.exec(select(PairedUnit).where(PairedUnit.name == "县供电公司")).all()
        assert unit.id is not None
    assert _pairings(engine, unit.id) == {county.quantang.id}


def test_two_offices_twin_the_same_pair_at_once(
    county: County, engine: sa.Engine, database_url: str
) -> None:
    prop_id = county.rows["property"].id
    input = {
        "unitId": gid("PairedUnit", prop_id),
        "communityId": gid("Community", county.hengxi.id),
    }
    tokens = [county.token("admin"), county.token("county_coordinator"), county.token("admin")]
    results = at_once(database_url, [lambda c, t=t: call(c, "pairUnit", input, t) for t in tokens])
    outcomes = Counter("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert outcomes["OK"] == 1, results
    assert set(outcomes) <= {"OK", "BAD_USER_INPUT", "CONFLICT"}
    assert _pairings(engine, prop_id) == {county.quantang.id, county.hengxi.id}
