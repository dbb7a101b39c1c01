"""Small builders for matching tests: places are given in km east/north of a point in Ji'an."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from matching.arrays import build_arrays
from matching.evaluate import evaluate
from matching.problem import Need, Pair, Problem, Volunteer

ORIGIN = (27.05, 114.90)
NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 in Ji'an


def at(east_km: float, north_km: float) -> tuple[float, float]:
    lat = ORIGIN[0] + north_km / 111.195
    lon = ORIGIN[1] + east_km / (111.195 * math.cos(math.radians(ORIGIN[0])))
    return lat, lon


def volunteer(vid: int, east_km: float = 0.0, north_km: float = 0.0, **kw: Any) -> Volunteer:
    lat, lon = at(east_km, north_km)
    kw.setdefault("travel_mode", "ebike")
    return Volunteer(id=vid, lat=lat, lon=lon, **kw)


def need(nid: int, east_km: float = 0.0, north_km: float = 0.0, **kw: Any) -> Need:
    lat, lon = at(east_km, north_km)
    kw.setdefault("starts_at", NOW)
    return Need(id=nid, lat=lat, lon=lon, **kw)


def problem(volunteers: Iterable[Volunteer], needs: Iterable[Need], **kw: Any) -> Problem:
    kw.setdefault("now", NOW)
    return Problem(volunteers=tuple(volunteers), needs=tuple(needs), **kw)


def brute_force(p: Problem) -> tuple[int, tuple[Pair, ...]]:
    """The best feasible volunteer assignment by enumeration (tiny problems only), scored and
    checked by the exact evaluator; pinned pairs always included."""
    arr = build_arrays(p)
    pinned = sorted(p.pinned)
    free = [
        (n.id, v.id)
        for n in p.needs
        for v in p.volunteers
        if (n.id, v.id) not in p.pinned
        and evaluate(p, [*pinned, (n.id, v.id)], arrays=arr).feasible
    ]
    best: tuple[int, tuple[Pair, ...]] | None = None
    for r in range(len(free) + 1):
        for subset in itertools.combinations(free, r):
            ev = evaluate(p, [*pinned, *subset], arrays=arr)
            if ev.feasible and (best is None or ev.objective < best[0]):
                best = (ev.objective, tuple(sorted([*pinned, *subset])))
    assert best is not None
    return best
