"""Deterministic synthetic counties shaped like Ji'an County, for tests and the benchmark.

The reference county: a county town (敦厚镇 area, ~27.05N 114.90E) with urban communities where
most in-service party members are registered, and townships with villages spread over ~40 km.
A county `scale` times larger keeps the same density: it has `scale` times the communities and
townships over `scale` times the area, so each need sees about as many nearby volunteers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from matching.problem import (
    EnterpriseTask,
    Need,
    Problem,
    Resource,
    Tier,
    TravelMode,
    Volunteer,
    Weights,
)

CENTRE = (27.05, 114.90)
SKILLS = (
    "first_aid",
    "elder_care",
    "child_care",
    "dispute_mediation",
    "legal_advice",
    "policy_advice",
    "electrical_repair",
    "plumbing",
    "it_support",
    "driving",
    "cleaning",
    "cooking",
    "psychological_counselling",
    "agriculture",
    "live_streaming",
    "food_safety",
)
SKILL_POPULARITY = np.array([8, 7, 5, 6, 3, 5, 4, 4, 5, 6, 9, 7, 2, 4, 1, 3], dtype=np.float64)
ENTERPRISE_KINDS = ("licensing", "financing", "land_use", "labour", "tax", "utilities", "logistics")
RESOURCE_KINDS = ("venue", "vehicle", "equipment", "medical_kit", "funds")
# Minutes on site by tier: ordinary needs are solved within 30 minutes under 1341, complex ones
# within 4 hours; major ones get a plan within a day, with long sessions.
DURATIONS = {
    "ordinary": (np.array([30, 60]), np.array([0.6, 0.4])),
    "complex": (np.array([60, 90, 120, 180, 240]), np.array([0.2, 0.25, 0.25, 0.15, 0.15])),
    "major": (np.array([120, 180, 240]), np.array([0.3, 0.3, 0.4])),
}
# Scheduled visits: minutes a window is longer than the visit (0: a fixed time), and how often.
WINDOW_SLACK = np.array([0, 60, 120, 240])
WINDOW_SLACK_P = np.array([0.55, 0.2, 0.15, 0.1])
WEEKLY_CAPACITY = np.array([240, 360, 480, 600, 720, 960])
URBAN_COMMUNITIES_PER_REF = 14
TOWNSHIPS_PER_REF = 18
VILLAGES_PER_TOWNSHIP = 16
REFERENCE_VOLUNTEERS = 3500
DEFAULT_NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Ji'an


def _offset(
    lat: float, lon: float, dx_km: NDArray[np.float64], dy_km: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return lat + dy_km / 110.57, lon + dx_km / (111.32 * math.cos(math.radians(lat)))


def _windows(rng: np.random.Generator) -> tuple[tuple[int, int, int], ...]:
    """Typical in-service member: weekday evenings and some weekend half-days."""
    if rng.random() < 0.3:
        return ()
    out: list[tuple[int, int, int]] = []
    for day in range(5):
        if rng.random() < 0.5:
            out.append((day, 18 * 60, 21 * 60))
        if rng.random() < 0.15:
            out.append((day, 8 * 60, 12 * 60))
    for day in (5, 6):
        if rng.random() < 0.6:
            out.append((day, 8 * 60, 12 * 60))
        if rng.random() < 0.5:
            out.append((day, 14 * 60, 18 * 60))
    return tuple(out) or ((5, 8 * 60, 12 * 60),)


def make_instance(
    volunteers: int = 5000,
    needs: int = 3000,
    seed: int = 0,
    *,
    helpers: int | None = None,
    enterprise_tasks: int | None = None,
    resources: int | None = None,
    emergency_share: float = 0.0,
    capacity_scale: float = 1.0,
    weights: Weights | None = None,
    now: datetime = DEFAULT_NOW,
    candidates_per_need: int = 50,
) -> Problem:
    rng = np.random.default_rng(seed)
    scale = max(volunteers / REFERENCE_VOLUNTEERS, 0.01)
    radius_km = 22.0 * math.sqrt(scale)
    town_km = 3.0 * math.sqrt(scale)

    # Places: urban communities around the county town, townships with villages further out.
    n_urban = max(1, round(URBAN_COMMUNITIES_PER_REF * scale))
    n_town = max(1, round(TOWNSHIPS_PER_REF * scale))
    ang = rng.uniform(0, 2 * math.pi, n_urban)
    rad = town_km * np.sqrt(rng.uniform(0, 1, n_urban))
    u_lat, u_lon = _offset(*CENTRE, rad * np.cos(ang), rad * np.sin(ang))
    ang = rng.uniform(0, 2 * math.pi, n_town)
    rad = radius_km * np.sqrt(rng.uniform(0.15, 1, n_town))
    t_lat, t_lon = _offset(*CENTRE, rad * np.cos(ang), rad * np.sin(ang))
    vil_lat: list[float] = []
    vil_lon: list[float] = []
    for lat, lon in zip(t_lat, t_lon, strict=True):
        a = rng.uniform(0, 2 * math.pi, VILLAGES_PER_TOWNSHIP)
        r = 5.0 * np.sqrt(rng.uniform(0, 1, VILLAGES_PER_TOWNSHIP))
        la, lo = _offset(lat, lon, r * np.cos(a), r * np.sin(a))
        vil_lat.extend(la)
        vil_lon.extend(lo)
    p_lat = np.concatenate([u_lat, vil_lat])
    p_lon = np.concatenate([u_lon, vil_lon])
    community_ids = np.arange(1, len(p_lat) + 1)
    n_places = len(p_lat)

    def place_of(count: int, urban_share: float) -> np.ndarray:
        urban = rng.random(count) < urban_share
        return np.where(
            urban, rng.integers(0, n_urban, count), rng.integers(n_urban, n_places, count)
        )

    def around(places: np.ndarray, spread_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx = rng.normal(0, 1, len(places)) * spread_km
        dy = rng.normal(0, 1, len(places)) * spread_km
        lat = p_lat[places] + dy / 110.57
        lon = p_lon[places] + dx / (111.32 * math.cos(math.radians(CENTRE[0])))
        return lat, lon

    skill_p = SKILL_POPULARITY / SKILL_POPULARITY.sum()
    modes: tuple[TravelMode, ...] = ("foot", "ebike", "car")
    n_helpers = helpers if helpers is not None else round(112 * scale)

    # Volunteers: registered in a community (mostly urban), living around it.
    v_place = place_of(volunteers, 0.75)
    v_lat, v_lon = around(v_place, np.where(v_place < n_urban, 0.9, 0.6))
    v_mode = rng.choice(3, size=volunteers, p=[0.45, 0.35, 0.20])
    v_cap = np.rint(rng.choice(WEEKLY_CAPACITY, size=volunteers) * capacity_scale / 30) * 30
    v_committed = (rng.uniform(0, 0.5, volunteers) * v_cap / 30).astype(int) * 30
    helper_rows = set(rng.choice(volunteers, size=min(n_helpers, volunteers), replace=False))
    vol_list: list[Volunteer] = []
    for i in range(volunteers):
        k = int(rng.integers(1, 6))
        skills = frozenset(SKILLS[j] for j in rng.choice(len(SKILLS), k, replace=False, p=skill_p))
        is_helper = i in helper_rows
        expertise = (
            frozenset(rng.choice(ENTERPRISE_KINDS, int(rng.integers(1, 4)), replace=False))
            if is_helper
            else frozenset()
        )
        max_open = int(rng.integers(3, 7)) if is_helper else 0
        vol_list.append(
            Volunteer(
                id=i + 1,
                lat=float(v_lat[i]),
                lon=float(v_lon[i]),
                skills=skills,
                travel_mode=modes[v_mode[i]],
                weekly_capacity_minutes=int(v_cap[i]),
                committed_minutes=int(v_committed[i]),
                availability=_windows(rng),
                home_community_id=int(community_ids[v_place[i]]),
                team_ids=frozenset({int(rng.integers(1, 8))})
                if rng.random() < 0.1
                else frozenset(),
                is_commando=bool(rng.random() < 0.1),
                is_helper=is_helper,
                expertise=expertise,
                max_open_requests=max_open,
                open_requests=int(rng.integers(0, max_open)) if is_helper else 0,
            )
        )

    # Needs: tiers 70/25/5, reported in communities, starting within the coming week.
    tiers: tuple[Tier, ...] = ("ordinary", "complex", "major")
    n_place = place_of(needs, 0.65)
    n_lat, n_lon = around(n_place, np.full(needs, 0.5))
    n_tier = rng.choice(3, size=needs, p=[0.70, 0.25, 0.05])
    earlier_case = 1_000_000  # ids of earlier needs (outside this batch) for continuity
    # Scheduled visits: some may be made any time in a wider window (the solver picks the slot).
    # Drawn from a stream of their own, so the rest of the county is as it always was.
    slack_rng = np.random.default_rng([seed, 17])
    need_list: list[Need] = []
    for i in range(needs):
        tier = tiers[n_tier[i]]
        urgency = int(rng.choice(5, p=[0.15, 0.25, 0.3, 0.2, 0.1]) + 1 + (tier == "major"))
        k = int(rng.choice(3, p=[0.3, 0.5, 0.2]))
        req = frozenset(SKILLS[j] for j in rng.choice(len(SKILLS), k, replace=False, p=skill_p))
        window_end = None
        if rng.random() < 0.25:  # reported now: as soon as possible
            starts = now
        else:  # a planned activity or a booked visit later this week, on the quarter hour
            starts = now + timedelta(minutes=int(rng.integers(0, 7 * 24 * 4)) * 15)
            slack = int(slack_rng.choice(WINDOW_SLACK, p=WINDOW_SLACK_P))
            if slack:
                window_end = starts + timedelta(minutes=slack)  # + duration, below
        resources_needed: tuple[tuple[str, int], ...] = ()
        if rng.random() < 0.12:
            resources_needed = ((str(rng.choice(RESOURCE_KINDS)), int(rng.integers(1, 4))),)
        related: frozenset[int] = frozenset()
        if rng.random() < 0.08:
            earlier_case += 1
            related = frozenset({earlier_case})
            # Someone nearby already serves the earlier need of this case.
            d = (v_lat - n_lat[i]) ** 2 + (v_lon - n_lon[i]) ** 2
            j = int(np.argmin(d))
            vol_list[j] = _with_current(vol_list[j], earlier_case)
        headcount = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        duration = int(rng.choice(DURATIONS[tier][0], p=DURATIONS[tier][1]))
        need_list.append(
            Need(
                id=i + 1,
                lat=float(n_lat[i]),
                lon=float(n_lon[i]),
                community_id=int(community_ids[n_place[i]]),
                tier=tier,
                urgency=min(urgency, 5),
                required_skills=req,
                headcount=headcount,
                duration_minutes=duration,
                starts_at=starts,
                window_end=None if window_end is None else window_end + timedelta(minutes=duration),
                emergency=bool(rng.random() < emergency_share),
                required_resources=resources_needed,
                related_need_ids=related,
            )
        )

    # Resources: paired units (twinned with a few communities) and venues in communities.
    n_res = resources if resources is not None else round(450 * scale)
    r_place = place_of(n_res, 0.6)
    r_lat, r_lon = around(r_place, np.full(n_res, 0.3))
    res_list = []
    for i in range(n_res):
        paired = rng.random() < 0.5
        twins = (
            frozenset(int(c) for c in rng.choice(community_ids, int(rng.integers(1, 4))))
            if paired
            else frozenset({int(community_ids[r_place[i]])})
        )
        res_list.append(
            Resource(
                id=i + 1,
                kind=str(rng.choice(RESOURCE_KINDS)),
                quantity=int(rng.integers(1, 6)),
                lat=float(r_lat[i]),
                lon=float(r_lon[i]),
                paired_unit_id=int(rng.integers(1, 160)) if paired else None,
                twinned_community_ids=twins,
            )
        )

    n_tasks = enterprise_tasks if enterprise_tasks is not None else round(60 * scale)
    t_place = place_of(n_tasks, 0.7)
    t_lat, t_lon = around(t_place, np.full(n_tasks, 0.8))
    task_list = [
        EnterpriseTask(
            id=i + 1,
            lat=float(t_lat[i]),
            lon=float(t_lon[i]),
            kind=str(rng.choice(ENTERPRISE_KINDS)),
            urgency=int(rng.integers(1, 6)),
            deadline=now + timedelta(days=int(rng.integers(1, 15))),
        )
        for i in range(n_tasks)
    ]
    return Problem(
        volunteers=tuple(vol_list),
        needs=tuple(need_list),
        enterprise_tasks=tuple(task_list),
        resources=tuple(res_list),
        weights=weights or Weights(),
        now=now,
        candidates_per_need=candidates_per_need,
    )


def _with_current(v: Volunteer, need_id: int) -> Volunteer:
    from dataclasses import replace

    return replace(v, current_need_ids=v.current_need_ids | {need_id})
