"""民声前哨点 over HTTP: posts with their keeper, set up and changed in the coordinator's area;
a keeper's suggestion enters the closed loop as a need from the post (counted by countyStats'
sentinelSuggestions); roles, scope, bad input, two offices at once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from api.app import create_app
from api.graphql.relay import from_global_id
from schema.enums import NeedAction, NeedSource, NeedStatus, PersonKind, Role
from schema.models import Need, NeedEvent, SentinelPost
from tests import factories as f
from tests.api.graphql.admin_calls import at_once, call, document
from tests.api.graphql.mutate import error_codes, gid, ok
from tests.conftest import gql, make_settings
from tests.county import A_LAT, A_LON, B_LAT, B_LON, County

STATS = "{ countyStats { sentinelSuggestions } }"
POSTS = """query($c: [ID!]) { sentinelPosts(community: $c, first: 10) { nodes { name isActive
  keeper { id } suggestions { id title } } } }"""


class Keeper:
    """A shopkeeper in Quantang who keeps the post, with a resident's account of her own."""

    def __init__(self, engine: sa.Engine) -> None:
        self.person = f.person(engine, name="陈店主", latitude=A_LAT, longitude=A_LON)
        self.account = f.account(engine, Role.RESIDENT, person_id=self.person.id)
        self.token = f.token_for(self.account)
        self.gid = gid("Person", self.person.id)


@pytest.fixture
def keeper(engine: sa.Engine, county: County) -> Keeper:
    return Keeper(engine)


def _post(county: County, keeper: Keeper, **over: Any) -> dict[str, Any]:
    return {
        "communityId": gid("Community", county.quantang.id),
        "name": "便民超市前哨点",
        "keeperId": keeper.gid,
        "latitude": A_LAT,
        "longitude": A_LON,
        "address": "泉塘路12号",
    } | over


def _suggest(post_id: str, **over: Any) -> dict[str, Any]:
    return {"postId": post_id, "title": "路口积水", "category": "INFRASTRUCTURE"} | over


def test_a_keepers_suggestion_enters_the_loop_from_the_post(
    client: TestClient, county: County, keeper: Keeper, engine: sa.Engine
) -> None:
    coordinator = county.token("coordinator")
    before = gql(client, STATS, token=coordinator)["data"]["countyStats"]["sentinelSuggestions"]
    post = ok(call(client, "createSentinelPost", _post(county, keeper), coordinator))["post"]
    assert post["keeper"]["id"] == keeper.gid and post["isActive"] and post["version"] == 1
    need = ok(
        call(
            client,
            "submitSentinelSuggestion",
            _suggest(post["id"], idempotencyKey="s1"),
            keeper.token,
        )
    )["need"]
    assert need["source"] == "SENTINEL_POST" and need["status"] == "REPORTED"
    assert need["sentinelPost"] == {"id": post["id"], "name": "便民超市前哨点"}
    assert need["community"]["id"] == gid("Community", county.quantang.id)
    again = ok(
        call(
            client,
            "submitSentinelSuggestion",
            _suggest(post["id"], idempotencyKey="s1"),
            keeper.token,
        )
    )["need"]
    assert again["id"] == need["id"]
    # Staff of the area enter one brought to them, at another place.
    staff = ok(
        call(
            client,
            "submitSentinelSuggestion",
            _suggest(
                post["id"],
                title="垃圾桶满溢",
                category="ENVIRONMENT",
                latitude=A_LAT + 0.001,
                longitude=A_LON,
            ),
            county.token("grid_worker"),
        )
    )["need"]
    listed = gql(client, POSTS, {"c": [gid("Community", county.quantang.id)]}, token=coordinator)
    (node,) = listed["data"]["sentinelPosts"]["nodes"]
    assert {s["id"] for s in node["suggestions"]} == {need["id"], staff["id"]}
    by_id = gql(
        client,
        "query($id: ID!) { node(id: $id) { __typename id } }",
        {"id": post["id"]},
        token=coordinator,
    )["data"]["node"]
    assert by_id == {"__typename": "SentinelPost", "id": post["id"]}
    after = gql(client, STATS, token=coordinator)["data"]["countyStats"]["sentinelSuggestions"]
    assert after == before + 2
    with Session(engine) as s:
        row = s.get(Need, from_global_id(need["id"])[1])
        assert row is not None
        assert (row.source, row.status, row.sentinel_post_id) == (
            NeedSource.SENTINEL_POST,
            NeedStatus.REPORTED,
            from_global_id(post["id"])[1],
        )
        assert (row.latitude, row.longitude, row.address) == (A_LAT, A_LON, "泉塘路12号")
        assert row.reporter_account_id == keeper.account.id
        (event,) = s.exec(select(NeedEvent).where(NeedEvent.need_id == row.id)).all()
        assert event.action is NeedAction.REPORT


def test_only_the_keeper_or_area_staff_pass_suggestions_on(
    client: TestClient, county: County, keeper: Keeper, engine: sa.Engine
) -> None:
    post = ok(
        call(client, "createSentinelPost", _post(county, keeper), county.token("coordinator"))
    )["post"]
    for who in ("resident", "volunteer", "outsider", "grid_worker_hengxi"):
        payload = call(client, "submitSentinelSuggestion", _suggest(post["id"]), county.token(who))
        assert error_codes(payload) == ["FORBIDDEN"], who
    # A closed post takes no more suggestions, even from its keeper.
    ok(
        call(
            client,
            "updateSentinelPost",
            {"postId": post["id"], "isActive": False},
            county.token("coordinator"),
        )
    )
    closed = call(client, "submitSentinelSuggestion", _suggest(post["id"]), keeper.token)
    assert (
        error_codes(closed) == ["BAD_USER_INPUT"] and "closed" in closed["userErrors"][0]["message"]
    )
    with Session(engine) as s:
        assert s.exec(select(Need).where(Need.sentinel_post_id.is_not(None))).all() == []  # type: ignore[union-attr]


def test_posts_in_own_area_only(
    client: TestClient, county: County, keeper: Keeper, engine: sa.Engine
) -> None:
    outsider = county.token("outsider")
    assert error_codes(call(client, "createSentinelPost", _post(county, keeper), outsider)) == [
        "FORBIDDEN"
    ]
    post = ok(
        call(client, "createSentinelPost", _post(county, keeper), county.token("coordinator"))
    )["post"]
    assert error_codes(
        call(client, "updateSentinelPost", {"postId": post["id"], "name": "x"}, outsider)
    ) == ["FORBIDDEN"]
    for who in ("grid_worker", "volunteer"):
        body = gql(
            client,
            "mutation($i: CreateSentinelPostInput!) { createSentinelPost(input: $i) { "
            "post { id } } }",
            {"i": _post(county, keeper, name="别处")},
            token=county.token(who),
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Hengxi's own post is Hengxi's to set up.
    ok(
        call(
            client,
            "createSentinelPost",
            _post(
                county,
                keeper,
                communityId=gid("Community", county.hengxi.id),
                latitude=B_LAT,
                longitude=B_LON,
            ),
            outsider,
        )
    )
    with Session(engine) as s:
        assert len(s.exec(select(SentinelPost)).all()) == 2


def test_change_keeper_and_refuse_bad_input(
    client: TestClient, county: County, keeper: Keeper, engine: sa.Engine
) -> None:
    token = county.token("coordinator")
    bad = call(client, "createSentinelPost", _post(county, keeper, name="", latitude=50.0), token)
    assert {tuple(e["field"]) for e in bad["userErrors"]} == {
        ("input", "name"),
        ("input", "location"),
    }
    nobody = call(
        client, "createSentinelPost", _post(county, keeper, keeperId=gid("Person", 99999)), token
    )
    assert error_codes(nobody) == ["NOT_FOUND"]
    post = ok(call(client, "createSentinelPost", _post(county, keeper), token))["post"]
    twice = call(client, "createSentinelPost", _post(county, keeper), token)
    assert error_codes(twice) == ["BAD_USER_INPUT"] and twice["userErrors"][0]["field"] == [
        "input",
        "name",
    ]
    new_keeper = gid("Person", county.volunteer.id)
    changed = ok(
        call(
            client,
            "updateSentinelPost",
            {"postId": post["id"], "expectedVersion": 1, "keeperId": new_keeper},
            token,
        )
    )["post"]
    assert changed["keeper"]["id"] == new_keeper and changed["version"] == 2
    stale = call(
        client,
        "updateSentinelPost",
        {"postId": post["id"], "expectedVersion": 1, "name": "新"},
        token,
    )
    assert error_codes(stale) == ["CONFLICT"]
    half = call(client, "updateSentinelPost", {"postId": post["id"], "latitude": A_LAT}, token)
    assert error_codes(half) == ["BAD_USER_INPUT"]
    # The former keeper passes nothing on any more; a bad suggestion is refused whole.
    former = call(client, "submitSentinelSuggestion", _suggest(post["id"]), keeper.token)
    assert error_codes(former) == ["FORBIDDEN"]
    volunteer = county.token("volunteer")  # the new keeper's account
    blank = call(
        client, "submitSentinelSuggestion", _suggest(post["id"], title=" ", urgency=9), volunteer
    )
    assert {tuple(e["field"]) for e in blank["userErrors"]} == {
        ("input", "title"),
        ("input", "urgency"),
    }
    ok(call(client, "submitSentinelSuggestion", _suggest(post["id"]), volunteer))
    with Session(engine) as s:
        assert (
            len(
                s.exec(
                    select(Need).where(Need.sentinel_post_id == from_global_id(post["id"])[1])
                ).all()
            )
            == 1
        )


def test_two_offices_set_up_the_same_post_at_once(
    county: County, keeper: Keeper, engine: sa.Engine, database_url: str
) -> None:
    tokens = [
        county.token("coordinator"),
        county.token("county_coordinator"),
        county.token("admin"),
    ]
    results = at_once(
        database_url,
        [lambda c, t=t: call(c, "createSentinelPost", _post(county, keeper), t) for t in tokens],
    )
    outcomes = Counter("OK" if not r["userErrors"] else error_codes(r)[0] for r in results)
    assert outcomes["OK"] == 1 and set(outcomes) <= {"OK", "BAD_USER_INPUT", "CONFLICT"}, results
    with Session(engine) as s:
        assert len(s.exec(select(SentinelPost)).all()) == 1


def test_limit_a_keepers_suggestions_like_reports(
    county: County, keeper: Keeper, engine: sa.Engine, database_url: str
) -> None:
    with TestClient(create_app(make_settings(database_url, report_rate_limit=2))) as c:
        post = ok(call(c, "createSentinelPost", _post(county, keeper), county.token("coordinator")))
        post_id = post["post"]["id"]
        for i in range(2):
            ok(
                call(
                    c, "submitSentinelSuggestion", _suggest(post_id, title=f"建议{i}"), keeper.token
                )
            )
        body = gql(
            c,
            document("submitSentinelSuggestion"),
            {"input": _suggest(post_id)},
            token=keeper.token,
            expect_errors=True,
        )
        assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    with Session(engine) as s:
        assert len(s.exec(select(Need).where(Need.sentinel_post_id.is_not(None))).all()) == 2  # type: ignore[union-attr]


def test_a_caller_who_may_not_see_the_keeper_reads_the_post_without_them(
    client: TestClient, county: County, engine: sa.Engine
) -> None:
    """Volunteers and helpers read posts (a place on the map) but not residents: a resident
    keeper is null for them, not an internal error that loses the whole list."""
    shopkeeper = f.person(
        engine,
        name="刘阿婆",
        kind=PersonKind.RESIDENT,
        is_party_member=False,
        registered_community_id=county.quantang.id,
    )
    keeper_id = gid("Person", shopkeeper.id)
    post = _post(county, Keeper(engine), keeperId=keeper_id)
    ok(call(client, "createSentinelPost", post, county.token("coordinator")))
    for who in ("volunteer", "helper"):
        body = gql(client, POSTS, {"c": None}, token=county.token(who))
        (post,) = body["data"]["sentinelPosts"]["nodes"]
        assert post["name"] == "便民超市前哨点" and post["keeper"] is None, who
    body = gql(client, POSTS, {"c": None}, token=county.token("coordinator"))
    assert body["data"]["sentinelPosts"]["nodes"][0]["keeper"] == {"id": keeper_id}
