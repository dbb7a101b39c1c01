"""The API benchmark's catalogue: the GraphQL queries it times, each query's floor (the same page
fetched by one hand-written SQL query and encoded to the same JSON shape), and `Case`, which
pairs them. `bench/api.py` runs them in process and over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

OPEN = ("reported", "accepted", "dispatched", "arrived")

NEEDS_PAGE = """query NeedsPage($first: Int!) { needs(first: $first) { nodes {
  id title status tier category source urgency reportedAt resolveBy overdue address headcount
  community { id name township } } } }"""

OVERDUE_PAGE = """query Overdue { needs(first: 20, filter: {overdue: true},
  orderBy: {field: RESOLVE_BY, direction: ASC}) { totalCount nodes {
  id title tier status resolveBy grid { code } community { name } } } }"""

OPPORTUNITIES = """query Near($lat: Float!, $lon: Float!) { volunteerOpportunities(
  near: {latitude: $lat, longitude: $lon, radiusKm: 5}, first: 20) { nodes {
  id kind title distanceKm placesLeft urgency deadline } } }"""

COMMUNITIES = """query Communities { communities(first: 50) { nodes {
  id name kind township population } } }"""

COUNTY_STATS = """query Stats { countyStats { pairedUnits partyMembers urbanGrids ruralGrids
  serviceStations enterpriseHelpers volunteerTeams enterpriseRequests } }"""

NEED_DETAIL = """query Need($id: ID!) { need(id: $id) { id title status tier overdue
  events { action toStatus at } skills { code name } community { name } } }"""


def gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC).isoformat()


def naive_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# ------------------------------------------------------------------------------------------
# Floors: one hand-written SQL query per page, encoded to the same JSON shape


FLOOR_NEEDS = sa.text(
    """SELECT n.id, n.title, n.status, n.tier, n.category, n.source, n.urgency, n.reported_at,
       n.resolve_by, n.arrive_by, n.arrived_at, n.address, n.headcount,
       c.id AS cid, c.name AS cname, c.township
    FROM need n JOIN community c ON c.id = n.community_id
    ORDER BY n.reported_at DESC, n.id DESC LIMIT 20"""
)


def _overdue(r: Any, now: datetime) -> bool:
    if r.status not in OPEN:
        return False
    resolve_by = _naive(r.resolve_by)
    arrive_by = _naive(r.arrive_by)
    if resolve_by is not None and now > resolve_by:
        return True
    return r.arrived_at is None and arrive_by is not None and now > arrive_by


def _naive(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


async def floor_needs(conn: Any, _: dict[str, Any]) -> str:
    rows = (await conn.execute(FLOOR_NEEDS)).all()
    now = naive_now()
    nodes = [
        {
            "id": gid("Need", r.id),
            "title": r.title,
            "status": r.status.upper(),
            "tier": r.tier.upper(),
            "category": r.category.upper(),
            "source": r.source.upper(),
            "urgency": r.urgency,
            "reportedAt": iso(r.reported_at),
            "resolveBy": iso(r.resolve_by),
            "overdue": _overdue(r, now),
            "address": r.address,
            "headcount": r.headcount,
            "community": {"id": gid("Community", r.cid), "name": r.cname, "township": r.township},
        }
        for r in rows
    ]
    return json.dumps({"data": {"needs": {"nodes": nodes}}}, ensure_ascii=False)


FLOOR_OVERDUE = sa.text(
    """SELECT n.id, n.title, n.tier, n.status, n.resolve_by, g.code AS gcode, c.name AS cname,
       (SELECT count(*) FROM need m WHERE m.status IN ('reported','accepted','dispatched','arrived')
          AND ((m.resolve_by IS NOT NULL AND m.resolve_by < :now)
               OR (m.arrived_at IS NULL AND m.arrive_by IS NOT NULL AND m.arrive_by < :now)))
         AS total
    FROM need n JOIN community c ON c.id = n.community_id LEFT JOIN grid g ON g.id = n.grid_id
    WHERE n.status IN ('reported','accepted','dispatched','arrived')
      AND ((n.resolve_by IS NOT NULL AND n.resolve_by < :now)
           OR (n.arrived_at IS NULL AND n.arrive_by IS NOT NULL AND n.arrive_by < :now))
    ORDER BY coalesce(n.resolve_by, :far) ASC, n.id ASC LIMIT 20"""
)


async def floor_overdue(conn: Any, _: dict[str, Any]) -> str:
    params = {"now": naive_now(), "far": datetime(9999, 12, 31)}
    rows = (await conn.execute(FLOOR_OVERDUE, params)).all()
    nodes = [
        {
            "id": gid("Need", r.id),
            "title": r.title,
            "tier": r.tier.upper(),
            "status": r.status.upper(),
            "resolveBy": iso(r.resolve_by),
            "grid": {"code": r.gcode} if r.gcode else None,
            "community": {"name": r.cname},
        }
        for r in rows
    ]
    total = rows[0].total if rows else 0
    return json.dumps({"data": {"needs": {"totalCount": total, "nodes": nodes}}})


def _d2(lat: str, lon: str, plat: float, plon: float) -> str:
    import math

    kx = 111.320 * math.cos(math.radians(plat))
    dx, dy = f"(({lon} - {plon}) * {kx})", f"(({lat} - {plat}) * 110.574)"
    return f"{dx} * {dx} + {dy} * {dy}"


def floor_opportunities_sql(lat: float, lon: float, radius: float = 5.0) -> Any:
    import math

    dlat = radius / 110.574
    dlon = radius / (111.320 * math.cos(math.radians(lat)))
    box = f"BETWEEN {lat - dlat} AND {lat + dlat} AND {{lon}} BETWEEN {lon - dlon} AND {lon + dlon}"
    # The floor writes `schema.places` by hand on purpose: the same rule, raw SQL.
    need_places = """n.headcount
        - (SELECT count(DISTINCT a.person_id) FROM need_assignment a WHERE a.need_id = n.id
             AND a.active AND a.person_id IS NOT NULL)
        - (SELECT count(*) FROM sign_up s WHERE s.need_id = n.id
             AND s.status IN ('signed_up','checked_in','checked_out')
             AND NOT EXISTS (SELECT 1 FROM need_assignment a WHERE a.need_id = s.need_id
                             AND a.person_id = s.person_id AND a.active))"""
    act_places = """x.capacity - (SELECT count(*) FROM sign_up s WHERE s.activity_id = x.id
             AND s.status IN ('signed_up','checked_in','checked_out'))"""
    return sa.text(
        f"""SELECT * FROM (
          SELECT 0 AS k, n.id AS oid, n.title, n.latitude AS lat, n.longitude AS lon,
                 n.urgency, coalesce(n.resolve_by, n.window_end) AS deadline,
                 {need_places} AS places, {_d2("n.latitude", "n.longitude", lat, lon)} AS d2
          FROM need n
          WHERE n.status IN ('reported','accepted','dispatched','arrived')
            AND n.latitude {box.format(lon="n.longitude")}
          UNION ALL
          SELECT 1, x.id, x.title, x.latitude, x.longitude, 2, x.starts_at, {act_places},
                 {_d2("x.latitude", "x.longitude", lat, lon)}
          FROM activity x
          WHERE x.status = 'planned' AND x.ends_at > :now
            AND x.latitude {box.format(lon="x.longitude")}
        ) o WHERE o.places > 0 AND o.d2 <= {radius * radius}
        ORDER BY o.d2, o.urgency DESC, o.deadline LIMIT 20"""
    )


async def floor_opportunities(conn: Any, v: dict[str, Any]) -> str:
    from schema.geo import haversine_m

    rows = await conn.execute(floor_opportunities_sql(v["lat"], v["lon"]), {"now": naive_now()})
    nodes = [
        {
            "id": gid("Need" if r.k == 0 else "Activity", r.oid),
            "kind": "NEED" if r.k == 0 else "ACTIVITY",
            "title": r.title,
            "distanceKm": round(haversine_m(v["lat"], v["lon"], r.lat, r.lon) / 1000, 3),
            "placesLeft": r.places,
            "urgency": r.urgency,
            "deadline": iso(r.deadline),
        }
        for r in rows.all()
    ]
    return json.dumps({"data": {"volunteerOpportunities": {"nodes": nodes}}}, ensure_ascii=False)


FLOOR_COMMUNITIES = sa.text(
    "SELECT id, name, kind, township, population FROM community ORDER BY name, id LIMIT 50"
)


async def floor_communities(conn: Any, _: dict[str, Any]) -> str:
    rows = (await conn.execute(FLOOR_COMMUNITIES)).all()
    nodes = [
        {
            "id": gid("Community", r.id),
            "name": r.name,
            "kind": r.kind.upper(),
            "township": r.township,
            "population": r.population,
        }
        for r in rows
    ]
    return json.dumps({"data": {"communities": {"nodes": nodes}}}, ensure_ascii=False)


FLOOR_STATS = sa.text(
    """SELECT (SELECT count(*) FROM paired_unit) AS paired_units,
       (SELECT count(*) FROM person WHERE kind = 'party_member') AS party_members,
       (SELECT count(*) FROM grid WHERE kind = 'urban') AS urban_grids,
       (SELECT count(*) FROM grid WHERE kind = 'rural') AS rural_grids,
       (SELECT count(*) FROM venue WHERE kind = 'service_station') AS service_stations,
       (SELECT count(*) FROM person WHERE kind = 'enterprise_helper') AS enterprise_helpers,
       (SELECT count(*) FROM team WHERE kind IN
          ('new_business','ant_action','food_safety','live_streaming')) AS volunteer_teams,
       (SELECT count(*) FROM enterprise_request) AS enterprise_requests"""
)


async def floor_stats(conn: Any, _: dict[str, Any]) -> str:
    r = (await conn.execute(FLOOR_STATS)).one()
    keys = [
        "pairedUnits",
        "partyMembers",
        "urbanGrids",
        "ruralGrids",
        "serviceStations",
        "enterpriseHelpers",
        "volunteerTeams",
        "enterpriseRequests",
    ]
    return json.dumps({"data": {"countyStats": dict(zip(keys, r, strict=True))}})


FLOOR_NEED = sa.text(
    """SELECT n.id, n.title, n.status, n.tier, n.resolve_by, n.arrive_by, n.arrived_at,
       c.name AS cname, 'e' AS part, e.action AS a, e.to_status AS b, e.at AS at, e.id AS o
    FROM need n JOIN community c ON c.id = n.community_id
    JOIN need_event e ON e.need_id = n.id WHERE n.id = :id
    UNION ALL
    SELECT n.id, n.title, n.status, n.tier, n.resolve_by, n.arrive_by, n.arrived_at,
       c.name, 's', k.code, k.name, NULL, k.id
    FROM need n JOIN community c ON c.id = n.community_id
    JOIN need_skill ns ON ns.need_id = n.id JOIN skill k ON k.id = ns.skill_id WHERE n.id = :id
    ORDER BY part, at, o"""
)


async def floor_need(conn: Any, v: dict[str, Any]) -> str:
    rows = (await conn.execute(FLOOR_NEED, {"id": v["pk"]})).all()
    r = rows[0]
    need = {
        "id": gid("Need", r.id),
        "title": r.title,
        "status": r.status.upper(),
        "tier": r.tier.upper(),
        "overdue": _overdue(r, naive_now()),
        "events": [
            {"action": x.a.upper(), "toStatus": x.b.upper(), "at": iso(x.at)}
            for x in rows
            if x.part == "e"
        ],
        "skills": [{"code": x.a, "name": x.b} for x in rows if x.part == "s"],
        "community": {"name": r.cname},
    }
    return json.dumps({"data": {"need": need}}, ensure_ascii=False)


@dataclass
class Case:
    name: str
    query: str
    variables: dict[str, Any]
    floor: Callable[[Any, dict[str, Any]], Awaitable[str]]
    auth: bool = True
