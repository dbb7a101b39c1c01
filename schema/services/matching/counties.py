"""Counties as matching scopes: what a county's part of a province job takes, and which counties
must be matched together.

A county's part takes the needs and enterprise requests of its communities, the people
registered in them (volunteers and the county's enterprise helpers, who serve its enterprises)
and the resources lying within the resource reach of its work. Parts are independent when
nobody can serve across them: `plan_parts` checks it from boxes — the box of a county's work
(communities, open needs, enterprises) and the box of its servers (people, resources) — and
puts counties whose work lies within a need's reach of another's servers into one part, so the
parts' optimal answers together are the province's optimal answer. Enterprise helpers have no
distance limit in the matcher; a county's helpers serve its own enterprises (the county's
business office), which is what keeps them apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import col

from matching import travel
from schema.enums import NeedStatus, PersonKind
from schema.models import Community, Enterprise, Person
from schema.models import Need as NeedRow
from schema.models import Resource as ResourceRow
from schema.people import SERVING_KINDS

MATCHABLE_NEED_STATUSES = (NeedStatus.REPORTED, NeedStatus.ACCEPTED)
KM_PER_DEGREE = math.pi / 180.0 * travel.EARTH_RADIUS_KM
# The farthest anyone may start from and still reach a need in time (a major need's two hours
# by car), and the radius resources are lent within.
MAX_REACH_KM = float(
    max(
        travel.reach_radius_km(max(travel.REACH_LIMIT_MINUTES.values()), mode)
        for mode in travel.MODE_CODE.values()
    )
)
RESOURCE_REACH_KM = travel.RESOURCE_REACH_KM


@dataclass(frozen=True)
class Box:
    """A latitude/longitude box (degrees)."""

    lat0: float
    lat1: float
    lon0: float
    lon1: float

    def union(self, other: Box | None) -> Box:
        if other is None:
            return self
        return Box(
            min(self.lat0, other.lat0),
            max(self.lat1, other.lat1),
            min(self.lon0, other.lon0),
            max(self.lon1, other.lon1),
        )

    def widened(self, km: float) -> Box:
        """Every point within `km` of the box lies inside the widened box."""
        dlat = km / KM_PER_DEGREE
        far_lat = min(89.0, max(abs(self.lat0), abs(self.lat1)) + dlat)
        dlon = km / (KM_PER_DEGREE * math.cos(math.radians(far_lat)))
        return Box(self.lat0 - dlat, self.lat1 + dlat, self.lon0 - dlon, self.lon1 + dlon)

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat0 <= lat <= self.lat1 and self.lon0 <= lon <= self.lon1

    def distance_km(self, other: Box) -> float:
        """A lower bound of the distance between any point of one box and any of the other."""
        dlat = max(0.0, self.lat0 - other.lat1, other.lat0 - self.lat1)
        dlon = max(0.0, self.lon0 - other.lon1, other.lon0 - self.lon1)
        far_lat = min(89.0, max(abs(self.lat0), abs(self.lat1), abs(other.lat0), abs(other.lat1)))
        km_lon = KM_PER_DEGREE * math.cos(math.radians(far_lat))
        return math.hypot(dlat * KM_PER_DEGREE, dlon * km_lon)


def counties_in(conn: sa.Connection) -> list[str]:
    """The database's counties, the reference county (lowest ids) first."""
    query = (
        sa.select(col(Community.county))
        .group_by(col(Community.county))
        .order_by(sa.func.min(col(Community.id)))
    )
    return list(conn.execute(query).scalars())


def communities_of(counties: Iterable[str]) -> sa.Select[Any]:
    """A subquery: the ids of these counties' communities."""
    return sa.select(col(Community.id)).where(col(Community.county).in_(list(counties)))


def serving_people_of(counties: Iterable[str]) -> sa.Select[Any]:
    """A subquery: the people registered in these counties who may serve (volunteers, helpers)."""
    return sa.select(col(Person.id)).where(
        col(Person.kind).in_((*SERVING_KINDS, PersonKind.ENTERPRISE_HELPER)),
        col(Person.registered_community_id).in_(communities_of(counties)),
    )


def _boxes(conn: sa.Connection, query: sa.Select[Any]) -> dict[str, Box]:
    return {
        county: Box(lat0, lat1, lon0, lon1)
        for county, lat0, lat1, lon0, lon1 in conn.execute(query).all()
        if lat0 is not None
    }


def _grouped(lat: Any, lon: Any) -> list[Any]:
    f = sa.func
    return [col(Community.county), f.min(lat), f.max(lat), f.min(lon), f.max(lon)]


def _merge(into: dict[str, Box], boxes: dict[str, Box]) -> None:
    for county, box in boxes.items():
        into[county] = box.union(into.get(county))


def work_boxes(conn: sa.Connection, counties: Sequence[str] | None = None) -> dict[str, Box]:
    """Per county, the box of its work: its communities, open needs and enterprises."""
    c = Community
    out: dict[str, Box] = {}
    q = sa.select(*_grouped(col(c.latitude), col(c.longitude))).group_by(col(c.county))
    _merge(out, _boxes(conn, q))
    n = NeedRow
    q = (
        sa.select(*_grouped(col(n.latitude), col(n.longitude)))
        .join(c, col(c.id) == col(n.community_id))
        .where(col(n.status).in_(MATCHABLE_NEED_STATUSES))
        .group_by(col(c.county))
    )
    _merge(out, _boxes(conn, q))
    e = Enterprise
    q = (
        sa.select(*_grouped(col(e.latitude), col(e.longitude)))
        .join(c, col(c.id) == col(e.community_id))
        .group_by(col(c.county))
    )
    _merge(out, _boxes(conn, q))
    if counties is not None:
        out = {k: v for k, v in out.items() if k in counties}
    return out


def resources_within(conn: sa.Connection, box: Box) -> list[tuple[int, float, float]]:
    """(id, lat, lon) of the resources within the resource reach of a box of work."""
    reach = box.widened(RESOURCE_REACH_KM)
    r = ResourceRow
    return [
        (cast(int, rid), lat, lon)
        for rid, lat, lon in conn.execute(
            sa.select(col(r.id), col(r.latitude), col(r.longitude)).where(
                col(r.latitude).between(reach.lat0, reach.lat1),
                col(r.longitude).between(reach.lon0, reach.lon1),
            )
        ).all()
    ]


def server_boxes(conn: sa.Connection, work: dict[str, Box]) -> dict[str, Box]:
    """Per county, the box of who serves its part: its people and the resources it takes."""
    c, p = Community, Person
    q = (
        sa.select(*_grouped(col(p.latitude), col(p.longitude)))
        .join(c, col(c.id) == col(p.registered_community_id))
        .where(col(p.kind).in_((*SERVING_KINDS, PersonKind.ENTERPRISE_HELPER)))
        .group_by(col(c.county))
    )
    out = {k: v for k, v in _boxes(conn, q).items() if k in work}
    for county, box in work.items():
        points = resources_within(conn, box)
        if points:
            lats = [lat for _, lat, _ in points]
            lons = [lon for _, _, lon in points]
            found = Box(min(lats), max(lats), min(lons), max(lons))
            out[county] = found.union(out.get(county))
    return out


def plan_parts(conn: sa.Connection, counties: Sequence[str]) -> list[tuple[str, ...]]:
    """The independent parts of a job over these counties: one per county, except counties
    whose work lies within reach of another's servers, which share a part (in county order)."""
    counties = list(dict.fromkeys(counties))
    work = work_boxes(conn, counties)
    servers = server_boxes(conn, work)
    parent = {k: k for k in counties}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i, a in enumerate(counties):
        for b in counties[i + 1 :]:
            if _in_reach(work.get(a), servers.get(b)) or _in_reach(work.get(b), servers.get(a)):
                parent[root(b)] = root(a)
    parts: dict[str, list[str]] = {}
    for k in counties:
        parts.setdefault(root(k), []).append(k)
    return [tuple(v) for v in parts.values()]


def _in_reach(work: Box | None, servers: Box | None) -> bool:
    if work is None or servers is None:
        return False
    # Resources are lent within RESOURCE_REACH_KM, less than MAX_REACH_KM: one test for both.
    return work.distance_km(servers) <= MAX_REACH_KM
