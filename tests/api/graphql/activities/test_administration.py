"""Administering activities over HTTP ("1+6+12+N"): organisers at their levels; publish,
update, cancel, finish; roles and scope (a community's coordinator stays in their community);
bad input leaves everything as it was; offices racing (two cancels, capacity against sign-ups,
the last seat of a level); a cancellation reaches subscribers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from schema.base import utcnow
from schema.enums import ActivityStatus, Role, ServiceLevel, SignUpStatus
from schema.models import Activity, AuditLog, ServiceOrganiser, SignUp
from tests import factories as f
from tests.api.graphql.mutate import error_codes, gid, mutate, ok, race
from tests.api.graphql.needs.test_subscriptions import next_data, subscribe, wait_for_subscriber
from tests.conftest import gql
from tests.county import County

pytestmark = pytest.mark.county("units", "skills")

ACTIVITY = """id status version title capacity startsAt endsAt placesLeft signedUpCount
  cancelReason cancelledAt finishedAt latitude longitude venue { id } skills { code }
  organiser { name level } community { id }"""
PAYLOAD = f"activity {{ {ACTIVITY} }} userErrors {{ field message code }}"


def call(client: TestClient, name: str, input: dict[str, Any], token: str) -> dict[str, Any]:
    kind = name[0].upper() + name[1:]
    doc = f"mutation($input: {kind}Input!) {{ {name}(input: $input) {{ {PAYLOAD} }} }}"
    return gql(client, doc, {"input": input}, token=token)["data"][name]


def organiser(
    client: TestClient, token: str, name: str, level: str = "N", **extra: Any
) -> dict[str, Any]:
    doc = """mutation($input: CreateServiceOrganiserInput!) {
      createServiceOrganiser(input: $input) {
      organiser { id name level community { id } } userErrors { field message code } } }"""
    body = gql(client, doc, {"input": {"name": name, "level": level, **extra}}, token=token)
    return body["data"]["createServiceOrganiser"]


def when(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


@pytest.fixture
def centre(engine: sa.Engine) -> ServiceOrganiser:
    with Session(engine, expire_on_commit=False) as s:
        row = ServiceOrganiser(name="县志愿服务中心", level=ServiceLevel.CENTRE)
        s.add(row)
        s.commit()
        return row


def publish_input(county: County, centre: ServiceOrganiser, **over: Any) -> dict[str, Any]:
    return {
        "organiserId": gid("ServiceOrganiser", centre.id),
        "communityId": gid("Community", county.quantang.id),
        "title": "义善庐陵·敬老助餐",
        "description": "为独居老人送餐",
        "startsAt": when(24),
        "endsAt": when(27),
        "capacity": 3,
        "venueId": county.gid("Venue", "station"),
        "skillIds": [county.gid("Skill", "psych")],
    } | over


def _activities(engine: sa.Engine) -> list[Activity]:
    with Session(engine) as s:
        return list(s.exec(select(Activity).order_by(Activity.id)).all())


def test_publish_update_cancel_activity(
    client: TestClient, engine: sa.Engine, county: County, centre: ServiceOrganiser
) -> None:
    coordinator = county.token("coordinator")
    published = ok(call(client, "publishActivity", publish_input(county, centre), coordinator))
    act = published["activity"]
    assert act["status"] == "PLANNED" and act["version"] == 1 and act["placesLeft"] == 3
    assert act["organiser"] == {"name": "县志愿服务中心", "level": "CENTRE"}
    assert act["venue"]["id"] == county.gid("Venue", "station")
    assert act["skills"] == [{"code": "psych"}]
    ok(mutate(client, "signUp", {"activityId": act["id"]}, county.token("volunteer")))

    update = {"activityId": act["id"], "expectedVersion": 1, "capacity": 5, "title": "助餐"}
    update |= {"skillIds": [county.gid("Skill", "legal"), county.gid("Skill", "psych")]}
    updated = ok(call(client, "updateActivity", update, coordinator))["activity"]
    assert (updated["version"], updated["capacity"], updated["title"]) == (2, 5, "助餐")
    assert updated["placesLeft"] == 4
    assert [s["code"] for s in updated["skills"]] == ["legal", "psych"]

    cancel = {"activityId": act["id"], "reason": "暴雨预警", "expectedVersion": 2}
    cancelled = ok(call(client, "cancelActivity", cancel, coordinator))["activity"]
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelReason"] == "暴雨预警"
    assert cancelled["cancelledAt"] and cancelled["signedUpCount"] == 0
    # Sign-ups are closed, and a cancelled activity cannot be cancelled or finished again.
    again = mutate(client, "signUp", {"activityId": act["id"]}, county.token("volunteer"))
    assert error_codes(again) == ["ILLEGAL_TRANSITION"]
    assert error_codes(call(client, "cancelActivity", cancel, coordinator)) == [
        "ILLEGAL_TRANSITION"
    ]
    with Session(engine) as s:
        assert [u.status for u in s.exec(select(SignUp)).all()] == [SignUpStatus.CANCELLED]
        audited = s.exec(select(AuditLog.root_fields).order_by(AuditLog.id)).all()
    assert {",publishActivity,", ",updateActivity,", ",cancelActivity,"} <= set(audited)


def test_finish_activity_marks_no_shows(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    start = utcnow() - timedelta(hours=1)
    act = f.activity(
        engine, county.quantang.id, starts_at=start, ends_at=start + timedelta(hours=3)
    )
    ok(mutate(client, "signUp", {"activityId": gid("Activity", act.id)}, county.token("volunteer")))
    finished = call(
        client, "finishActivity", {"activityId": gid("Activity", act.id)}, county.token("admin")
    )
    assert ok(finished)["activity"]["status"] == "FINISHED"
    assert finished["activity"]["finishedAt"]
    with Session(engine) as s:
        assert s.exec(select(SignUp.status)).one() == SignUpStatus.NO_SHOW
    future = f.activity(engine, county.quantang.id, starts_at=utcnow() + timedelta(hours=2))
    early = call(
        client, "finishActivity", {"activityId": gid("Activity", future.id)}, county.token("admin")
    )
    assert error_codes(early) == ["ILLEGAL_TRANSITION"]


def test_refuse_activity_administration_outside_role_or_area(
    client: TestClient, engine: sa.Engine, county: County, centre: ServiceOrganiser
) -> None:
    # Hengxi's coordinator may not publish in Quantang, nor cancel Quantang's activity.
    outsider = county.token("outsider")
    assert error_codes(
        call(client, "publishActivity", publish_input(county, centre), outsider)
    ) == ["FORBIDDEN"]
    act = f.activity(engine, county.quantang.id, starts_at=utcnow() + timedelta(hours=2))
    aid = gid("Activity", act.id)
    for name, extra in (
        ("cancelActivity", {"reason": "x"}),
        ("updateActivity", {"capacity": 1}),
        ("finishActivity", {}),
    ):
        assert error_codes(call(client, name, {"activityId": aid, **extra}, outsider)) == [
            "FORBIDDEN"
        ]
    # Volunteers and grid workers are refused by the policy matrix before anything runs.
    for who in ("volunteer", "grid_worker", "resident"):
        body = gql(
            client,
            "mutation($input: CancelActivityInput!) { cancelActivity(input: $input) { "
            + PAYLOAD
            + " } }",
            {"input": {"activityId": aid, "reason": "x"}},
            token=county.token(who),
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # An organiser of one community does not organise in another.
    hx_org = ok(
        organiser(
            client,
            county.token("outsider"),
            "横溪村志愿服务站",
            communityId=gid("Community", county.hengxi.id),
        )
    )["organiser"]
    bad = publish_input(county, centre, organiserId=hx_org["id"])
    assert error_codes(call(client, "publishActivity", bad, county.token("admin"))) == [
        "BAD_USER_INPUT"
    ]
    # A community's coordinator adds N-level organisers of their own community only.
    assert error_codes(organiser(client, county.token("coordinator"), "县级队", "SIX")) == [
        "FORBIDDEN"
    ]
    (row,) = _activities(engine)
    assert (row.status, row.version) == (ActivityStatus.PLANNED, 1)


def test_refuse_bad_activity_input_and_change_nothing(
    client: TestClient, engine: sa.Engine, county: County, centre: ServiceOrganiser
) -> None:
    coordinator = county.token("coordinator")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"startsAt": when(5), "endsAt": when(4)}, "endsAt"),
        ({"startsAt": when(-5), "endsAt": when(4)}, "startsAt"),
        ({"startsAt": when(1), "endsAt": when(24 * 9)}, "endsAt"),
        ({"capacity": 0}, "capacity"),
        ({"title": "   "}, "title"),
        ({"venueId": county.gid("Venue", "hall")}, "venueId"),  # Hengxi's hall
        ({"venueId": None, "latitude": 40.0, "longitude": 116.4}, "latitude"),  # Beijing
        ({"venueId": None}, "venueId"),  # nowhere
        ({"skillIds": [gid("Skill", 999)]}, "skillIds"),
        ({"organiserId": gid("ServiceOrganiser", 999)}, "organiserId"),
    ]
    for over, field in cases:
        payload = call(
            client, "publishActivity", publish_input(county, centre, **over), coordinator
        )
        assert payload["activity"] is None, over
        assert payload["userErrors"][0]["field"][:2] == ["input", field], (over, payload)
    assert _activities(engine) == []

    act = ok(call(client, "publishActivity", publish_input(county, centre), coordinator))
    aid = act["activity"]["id"]
    for _i in range(2):
        volunteer = f.account(engine, Role.VOLUNTEER, person_id=f.person(engine).id)
        ok(mutate(client, "signUp", {"activityId": aid}, f.token_for(volunteer)))
    below = call(client, "updateActivity", {"activityId": aid, "capacity": 1}, coordinator)
    assert (
        error_codes(below) == ["BAD_USER_INPUT"]
        and "signed up" in below["userErrors"][0]["message"]
    )
    stale = call(client, "updateActivity", {"activityId": aid, "expectedVersion": 7}, coordinator)
    assert error_codes(stale) == ["CONFLICT"]
    backwards = {"activityId": aid, "endsAt": when(23)}  # before its start
    assert error_codes(call(client, "updateActivity", backwards, coordinator)) == ["BAD_USER_INPUT"]
    no_reason = call(client, "cancelActivity", {"activityId": aid, "reason": " "}, coordinator)
    assert error_codes(no_reason) == ["BAD_USER_INPUT"]
    (row,) = _activities(engine)
    assert (row.capacity, row.version, row.status) == (3, 1, ActivityStatus.PLANNED)


def test_fill_organiser_levels_up_to_their_seats(
    client: TestClient, county: County, centre: ServiceOrganiser
) -> None:
    admin = county.token("county_coordinator")
    assert error_codes(organiser(client, admin, "第二中心", "CENTRE")) == ["CAPACITY_REACHED"]
    for i in range(6):
        ok(organiser(client, admin, f"六-{i}", "SIX"))
    assert error_codes(organiser(client, admin, "六-7", "SIX")) == ["CAPACITY_REACHED"]
    assert error_codes(organiser(client, admin, "六-0", "TWELVE")) == ["CONFLICT"]  # its name
    qt = gid("Community", county.quantang.id)
    assert error_codes(organiser(client, admin, "十二", "TWELVE", communityId=qt)) == [
        "BAD_USER_INPUT"
    ]
    mine = ok(organiser(client, county.token("coordinator"), "泉塘志愿队", communityId=qt))
    assert mine["organiser"]["community"] == {"id": qt}
    listed = gql(
        client, "{ serviceOrganisers(first: 20, level: SIX) { totalCount nodes { level } } }"
    )["data"]["serviceOrganisers"]
    assert listed["totalCount"] == 6 and {n["level"] for n in listed["nodes"]} == {"SIX"}
    # Relations alone: the page must still read the keys they follow (attack3: INTERNAL).
    page = gql(
        client, "{ serviceOrganisers(first: 50) { nodes { community { id } team { id } } } }"
    )
    assert {"id": qt} in [n["community"] for n in page["data"]["serviceOrganisers"]["nodes"]]


def test_two_offices_cancel_at_once(engine: sa.Engine, database_url: str, county: County) -> None:
    act = f.activity(engine, county.quantang.id, starts_at=utcnow() + timedelta(hours=2))
    aid = gid("Activity", act.id)
    tokens = [county.token("coordinator"), county.token("county_coordinator")]
    results = race(
        database_url,
        [
            lambda c, t=t: call(c, "cancelActivity", {"activityId": aid, "reason": "两处同时"}, t)
            for t in tokens
        ],
    )
    codes = sorted("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert codes[1] == "OK" and codes[0] in ("CONFLICT", "ILLEGAL_TRANSITION")
    (row,) = _activities(engine)
    assert (row.status, row.version) == (ActivityStatus.CANCELLED, 2)


def test_capacity_cut_races_sign_ups(engine: sa.Engine, database_url: str, county: County) -> None:
    """A coordinator lowers the capacity while volunteers sign up: whatever the order, the
    places taken never exceed the capacity."""
    act = f.activity(
        engine, county.quantang.id, starts_at=utcnow() + timedelta(hours=2), capacity=6
    )
    aid = gid("Activity", act.id)
    tokens = [
        f.token_for(f.account(engine, Role.VOLUNTEER, person_id=f.person(engine).id))
        for _ in range(4)
    ]
    coordinator = county.token("coordinator")
    calls: list[Callable[[TestClient], dict[str, Any]]] = [
        lambda c, t=t: mutate(c, "signUp", {"activityId": aid}, t) for t in tokens
    ]
    calls.append(
        lambda c: call(c, "updateActivity", {"activityId": aid, "capacity": 2}, coordinator)
    )
    race(database_url, calls)
    with Session(engine) as s:
        capacity = s.exec(select(Activity.capacity)).one()
        taken = len(s.exec(select(SignUp).where(SignUp.status == SignUpStatus.SIGNED_UP)).all())
    assert taken <= capacity and capacity in (2, 6)


def test_two_offices_take_the_last_seat_of_a_level(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    tokens = [county.token("county_coordinator"), county.token("admin")]
    results = race(
        database_url,
        [lambda c, t=t, i=i: organiser(c, t, f"中心{i}", "CENTRE") for i, t in enumerate(tokens)],
    )
    codes = sorted("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert codes[1] == "OK" and codes[0] in ("CAPACITY_REACHED", "CONFLICT")
    with Session(engine) as s:
        assert len(s.exec(select(ServiceOrganiser)).all()) == 1


CHANGED = """subscription($id: ID!) { activityChanged(id: $id) {
  action notified activity { id status cancelReason } } }"""


def test_tell_subscribers_of_a_cancellation(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    act = f.activity(engine, county.quantang.id, starts_at=utcnow() + timedelta(hours=2))
    aid = gid("Activity", act.id)
    ok(mutate(client, "signUp", {"activityId": aid}, county.token("volunteer")))
    with subscribe(client, county.token("volunteer"), CHANGED, {"id": aid}) as ws:
        wait_for_subscriber(client, f"activity:{act.id}")
        ok(
            call(
                client,
                "cancelActivity",
                {"activityId": aid, "reason": "场地维修"},
                county.token("coordinator"),
            )
        )
        change = next_data(ws)["activityChanged"]
    assert change["action"] == "CANCEL" and change["notified"] == 1
    assert change["activity"] == {"id": aid, "status": "CANCELLED", "cancelReason": "场地维修"}


def test_too_early_or_too_late_says_why_in_words_an_office_reads(
    client: TestClient, engine: sa.Engine, county: County
) -> None:
    """Finishing before the start or cancelling after the end names what to do instead, not
    actions dressed up as statuses ("allowed from: cancel, update")."""
    admin = county.token("admin")
    future = f.activity(engine, county.quantang.id, starts_at=utcnow() + timedelta(hours=2))
    early = call(client, "finishActivity", {"activityId": gid("Activity", future.id)}, admin)
    assert error_codes(early) == ["ILLEGAL_TRANSITION"]
    message = early["userErrors"][0]["message"]
    assert "has not started" in message and "allowed from" not in message
    start = utcnow() - timedelta(hours=5)
    past = f.activity(
        engine, county.quantang.id, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    late = call(
        client, "cancelActivity", {"activityId": gid("Activity", past.id), "reason": "雨"}, admin
    )
    assert error_codes(late) == ["ILLEGAL_TRANSITION"]
    message = late["userErrors"][0]["message"]
    assert "has ended" in message and "finish" in message and "allowed from" not in message


def test_an_update_that_changes_nothing_is_refused_and_bumps_nothing(
    client: TestClient, engine: sa.Engine, county: County, centre: ServiceOrganiser
) -> None:
    """An empty update (or one of nulls) changed the version, so another office's next edit
    with the version it read was a CONFLICT, and told subscribers of a change that was none."""
    coordinator = county.token("coordinator")
    act = ok(call(client, "publishActivity", publish_input(county, centre), coordinator))
    act_id = act["activity"]["id"]
    for changes in ({}, {"title": None, "capacity": None}):
        empty = call(client, "updateActivity", {"activityId": act_id, **changes}, coordinator)
        assert error_codes(empty) == ["BAD_USER_INPUT"], changes
        assert "nothing to change" in empty["userErrors"][0]["message"]
    other_office = {"activityId": act_id, "expectedVersion": 1, "capacity": 20}
    assert ok(call(client, "updateActivity", other_office, county.token("admin")))
    with Session(engine) as s:
        assert s.exec(select(Activity.version)).one() == 2


def test_list_the_organisers_who_may_organise_in_a_community(
    client: TestClient, engine: sa.Engine, county: County, centre: ServiceOrganiser
) -> None:
    """The choices for publishing an activity in a community: its own organisers and the
    county-wide ones, never another community's (publishing under those is refused)."""
    qt = gid("Community", county.quantang.id)
    other = f.community(engine, name="城北社区")
    elsewhere = gid("Community", other.id)
    coordinator, county_office = county.token("coordinator"), county.token("county_coordinator")
    ok(organiser(client, coordinator, "泉塘新时代文明实践站", communityId=qt))
    ok(organiser(client, county_office, "城北新时代文明实践站", communityId=elsewhere))
    doc = "query($c: ID!) { serviceOrganisers(organisesIn: $c, first: 20) { nodes { name } } }"

    def names(community: str) -> list[str]:
        page = gql(client, doc, {"c": community}, token=coordinator)["data"]
        return sorted(n["name"] for n in page["serviceOrganisers"]["nodes"])

    assert names(qt) == ["县志愿服务中心", "泉塘新时代文明实践站"]
    assert names(elsewhere) == ["县志愿服务中心", "城北新时代文明实践站"]
    wrong = gql(client, doc, {"c": gid("Need", 1)}, token=coordinator, expect_errors=True)
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
