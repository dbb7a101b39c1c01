"""Why each proposal was made, and why each need (or part of it) is left open.

Reasons are structured (a code plus JSON-able data) so the API can render or filter them, with a
plain message a coordinator can read as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from matching import travel
from matching.arrays import LOCAL_ZONE, ProblemArrays
from matching.candidates import Candidates, Funnel
from matching.problem import (
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    EnterpriseTask,
    Need,
    Problem,
    Resource,
    Volunteer,
)
from matching.result import Explanation, Reason, ReasonCode

MODE_WORDS = {0: "on foot", 1: "by e-bike", 2: "by car"}
TIER_WORDS = {0: "an ordinary", 1: "a complex", 2: "a major"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _clock(minute_of_week: int) -> str:
    day, minute = divmod(int(minute_of_week), 24 * 60)
    hour, minute = divmod(minute, 60)
    return f"{WEEKDAYS[day]} {hour:02d}:{minute:02d}"


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_ZONE).strftime("%a %H:%M")


def _local_span(start: datetime, end: datetime) -> str:
    """Tue 18:00–19:00, or Tue 23:30–Wed 00:30 across midnight (local time)."""
    a, b = start.astimezone(LOCAL_ZONE), end.astimezone(LOCAL_ZONE)
    tail = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%a %H:%M")
    return f"{a.strftime('%a %H:%M')}–{tail}"


def minute_span(arr: ProblemArrays, lo: int, hi: int) -> str:
    """Minutes after the epoch as local time (the county has one offset all year): Tue
    18:00–19:00, or Tue 23:30–Wed 00:30 across midnight."""
    a, b = _clock((arr.m0 + lo) % MINUTES_PER_WEEK), _clock((arr.m0 + hi) % MINUTES_PER_WEEK)
    return f"{a}–{b[4:]}" if a[:3] == b[:3] and hi - lo < MINUTES_PER_DAY else f"{a}–{b}"


def need_window_words(arr: ProblemArrays, n: int) -> str:
    """The need's window: its slot (response) or the span a slot is chosen in (scheduled)."""
    return minute_span(arr, int(arr.n_lo[n]), int(arr.n_hi[n]))


def slot_reason(arr: ProblemArrays, v: int, n: int, start: datetime, end: datetime) -> Reason:
    flexible = int(arr.n_hi[n] - arr.n_lo[n]) > int(arr.n_duration[n])
    where = f" (chosen inside the need's window {need_window_words(arr, n)})" if flexible else ""
    who = "" if arr.v_always[v] else ", inside their available hours"
    lo = int((start - arr.epoch).total_seconds() // 60)
    return Reason(
        ReasonCode.AVAILABLE,
        f"booked {minute_span(arr, lo, lo + int(arr.n_duration[n]))} local time{where}{who}",
        (("slot_start", start.isoformat()), ("slot_end", end.isoformat())),
    )


def _reach_words(arr: ProblemArrays, n: int) -> str:
    if arr.n_emergency[n]:
        return f"{arr.n_reach[n]:.0f} min (emergency area)"
    return f"{arr.n_reach[n]:.0f} min for {TIER_WORDS[int(arr.n_tier[n])]} need"


ALWAYS_AVAILABLE = Reason(ReasonCode.AVAILABLE, "available at any time")


def _need_reasons(arr: ProblemArrays, n: int, need: Need) -> tuple[Reason, Reason, str]:
    """The parts of a proposal's reasons that depend on the need only."""
    skills = tuple(sorted(need.required_skills))
    skills_reason = Reason(
        ReasonCode.SKILLS_MATCHED,
        f"has {', '.join(skills)}" if skills else "no special skill required",
        (("skills", skills),),
    )
    window_reason = Reason(
        ReasonCode.AVAILABLE,
        f"available when it starts ({_clock(int(arr.n_minute[n]))})",
        (("starts", arr.n_start[n].isoformat()),),
    )
    return skills_reason, window_reason, _reach_words(arr, n)


def explain_assignment(
    arr: ProblemArrays,
    v: int,
    n: int,
    *,
    distance_km: float,
    travel_min: float,
    continuing: bool,
    load: int,
    used_minutes: int,
    pinned: bool,
    slot: tuple[datetime, datetime] | None = None,
    cache: dict[int, tuple[Reason, Reason, str]] | None = None,
) -> Explanation:
    """Reasons for volunteer index v on need index n, given the whole solution's load.
    `cache` (need index -> the need's own reasons) saves rebuilding them per volunteer."""
    problem = arr.problem
    vol: Volunteer = problem.volunteers[v]
    need: Need = problem.needs[n]
    reasons: list[Reason] = []
    if pinned:
        reasons.append(Reason(ReasonCode.PINNED, "kept: accepted by a coordinator"))
    cached = cache.get(n) if cache is not None else None
    if cached is None:
        cached = _need_reasons(arr, n, need)
        if cache is not None:
            cache[n] = cached
    skills_reason, window_reason, reach_words = cached
    reasons.append(skills_reason)
    mode = int(arr.v_mode[v])
    reasons.append(
        Reason(
            ReasonCode.TRAVEL,
            f"{distance_km:.1f} km away, about {travel_min:.0f} min {MODE_WORDS[mode]}",
            (
                ("km", round(distance_km, 2)),
                ("minutes", round(travel_min, 1)),
                ("mode", vol.travel_mode),
            ),
        )
    )
    spare = float(arr.n_reach[n] - travel_min)
    if spare >= 0:
        reasons.append(
            Reason(
                ReasonCode.DEADLINE_MET,
                f"on site {spare:.0f} min inside the {reach_words}",
                (("spare_minutes", round(spare, 1)), ("limit_minutes", float(arr.n_reach[n]))),
            )
        )
    if slot is not None:
        reasons.append(slot_reason(arr, v, n, slot[0], slot[1]))
    else:
        reasons.append(ALWAYS_AVAILABLE if arr.v_always[v] else window_reason)
    if need.community_id is not None and vol.home_community_id == need.community_id:
        reasons.append(
            Reason(
                ReasonCode.HOME_COMMUNITY,
                "registered with this community",
                (("community_id", need.community_id),),
            )
        )
    if continuing:
        case = tuple(sorted(vol.current_need_ids & (need.related_need_ids | {need.id})))
        reasons.append(
            Reason(
                ReasonCode.CONTINUITY,
                f"already serves related need {', '.join(map(str, case))}",
                (("need_ids", case),),
            )
        )
    if vol.is_commando and problem.weights.commando > 0:
        reasons.append(Reason(ReasonCode.COMMANDO, "commando member, mobilised in emergency mode"))
    remaining = int(arr.v_remaining[v])
    reasons.append(
        Reason(
            ReasonCode.LOAD,
            f"{load} assignment(s) in this run; {used_minutes} of {remaining} free minutes "
            "this week used",
            (("load", load), ("used_minutes", used_minutes), ("free_minutes", remaining)),
        )
    )
    return Explanation(tuple(reasons))


def explain_open_seats(
    arr: ProblemArrays,
    n: int,
    cands: Candidates,
    feasible_count: int,
    chosen: NDArray[np.bool_],
    free_minutes: NDArray[np.int64],
    funnel_row: dict[str, int] | None,
    missing_skills: Sequence[str],
    busy: Sequence[tuple[int, int, datetime, datetime]] = (),
) -> tuple[Reason, ...]:
    """Why seats of need index n stay open: from the constraint funnel when nobody qualified
    at all, else from what became of its candidates in this solution. `busy` lists candidates
    with minutes left who are booked elsewhere at that time: (volunteer id, the need id they
    serve then or -1 for earlier work, from, to)."""
    reach = _reach_words(arr, n)
    if funnel_row is not None:  # nobody at all passed the hard constraints
        f = funnel_row
        if f["in_reach"] == 0:
            return (
                Reason(
                    ReasonCode.NO_ONE_IN_REACH,
                    f"no volunteer can get there within {reach}",
                    (("limit_minutes", float(arr.n_reach[n])),),
                ),
            )
        if missing_skills:
            return tuple(
                Reason(
                    ReasonCode.SKILL_MISSING_IN_REACH,
                    f"no one with skill {skill} within reach by the deadline ({reach})",
                    (("skill", skill),),
                )
                for skill in missing_skills
            )
        if f["skilled"] == 0:
            skills = tuple(sorted(arr.problem.needs[n].required_skills))
            return (
                Reason(
                    ReasonCode.NO_SKILLED_COMBINATION,
                    f"{f['in_reach']} volunteers within reach, none with all of "
                    f"{', '.join(skills)}",
                    (("in_reach", f["in_reach"]), ("skills", skills)),
                ),
            )
        if f["available"] == 0:
            return (
                Reason(
                    ReasonCode.NOT_AVAILABLE,
                    f"{f['skilled']} skilled volunteers within reach, none free for "
                    f"{int(arr.n_duration[n])} min within {need_window_words(arr, n)}",
                    (("skilled", f["skilled"]),),
                ),
            )
        if f["free"] == 0:
            return (
                Reason(
                    ReasonCode.BUSY,
                    f"{f['available']} volunteers could come, all busy with work they already "
                    f"have during {need_window_words(arr, n)}",
                    (("available", f["available"]), ("window", need_window_words(arr, n))),
                ),
            )
        if f["with_minutes"] == 0:
            return (
                Reason(
                    ReasonCode.NO_HOURS_LEFT,
                    f"{f['free']} volunteers could come, none has "
                    f"{int(arr.n_duration[n])} free minutes left this week",
                    (("available", f["free"]), ("minutes", int(arr.n_duration[n]))),
                ),
            )
        return (
            Reason(
                ReasonCode.ALL_REJECTED,
                f"all {f['with_minutes']} qualified volunteers were rejected by a coordinator",
                (("rejected", f["with_minutes"]),),
            ),
        )
    lo, hi = cands.ptr[n], cands.ptr[n + 1]
    on_this = int(chosen[lo:hi].sum())
    others = np.arange(lo, hi)[~chosen[lo:hi]]
    busy_minutes = int(np.sum(free_minutes[cands.v[others]] < arr.n_duration[n]))
    reasons: list[Reason] = []
    if busy:
        vid, on_need, start, end = busy[0]
        what = f"on need {on_need}" if on_need >= 0 else "with earlier work"
        reasons.append(
            Reason(
                ReasonCode.BUSY,
                f"{len(busy)} candidate(s) with hours left are busy then, e.g. volunteer {vid} "
                f"{what} {_local_span(start, end)}",
                (
                    ("busy", len(busy)),
                    ("volunteer_id", vid),
                    ("need_id", on_need if on_need >= 0 else None),
                    ("from", start.isoformat()),
                    ("to", end.isoformat()),
                ),
            )
        )
    busy_all = busy_minutes + len(busy)
    if feasible_count <= on_this:
        reasons.append(
            Reason(
                ReasonCode.TOO_FEW_CANDIDATES,
                f"only {feasible_count} qualified volunteer(s) within reach for "
                f"{int(arr.n_headcount[n])} seats",
                (("candidates", feasible_count), ("headcount", int(arr.n_headcount[n]))),
            )
        )
    elif busy_all >= len(others):
        if busy_minutes:
            reasons.append(
                Reason(
                    ReasonCode.CANDIDATES_AT_CAPACITY,
                    f"{busy_minutes} of {len(others)} other candidates are at capacity (their "
                    "free minutes go to other needs)",
                    (("candidates", len(others)), ("at_capacity", busy_minutes)),
                )
            )
    else:
        reasons.append(
            Reason(
                ReasonCode.NOT_WORTH_COST,
                f"{busy_all} of {len(others)} other candidates are at capacity or busy; the rest "
                "would cost more (travel, load) than leaving the seat open",
                (("candidates", len(others)), ("at_capacity", busy_minutes), ("busy", len(busy))),
            )
        )
    return tuple(reasons)


def explain_resource_shortfall(kind: str, missing: int, in_reach: Sequence[Resource]) -> Reason:
    if not in_reach:
        return Reason(
            ReasonCode.RESOURCE_NONE_IN_REACH,
            f"no {kind} within {travel.RESOURCE_REACH_KM:.0f} km",
            (("kind", kind), ("missing", missing)),
        )
    total = sum(r.quantity for r in in_reach)
    return Reason(
        ReasonCode.RESOURCE_EXHAUSTED,
        f"resource {kind} exhausted: all {total} unit(s) within reach are allocated",
        (("kind", kind), ("missing", missing), ("units_in_reach", total)),
    )


def explain_resource(need: Need, res: Resource, distance_km: float) -> Explanation:
    reasons = []
    if need.community_id in res.twinned_community_ids:
        who = f"paired unit {res.paired_unit_id}" if res.paired_unit_id else "a local venue"
        reasons.append(
            Reason(
                ReasonCode.TWINNED_RESOURCE,
                f"from {who}, twinned with this community",
                (("paired_unit_id", res.paired_unit_id),),
            )
        )
    reasons.append(
        Reason(
            ReasonCode.RESOURCE_DISTANCE,
            f"{distance_km:.1f} km away",
            (("km", round(distance_km, 2)),),
        )
    )
    return Explanation(tuple(reasons))


def explain_helper(
    task: EnterpriseTask, vol: Volunteer, distance_km: float, load_after: int
) -> Explanation:
    return Explanation(
        (
            Reason(
                ReasonCode.HELPER_EXPERTISE,
                f"handles {task.kind} requests",
                (("kind", task.kind),),
            ),
            Reason(
                ReasonCode.TRAVEL, f"{distance_km:.1f} km away", (("km", round(distance_km, 2)),)
            ),
            Reason(
                ReasonCode.HELPER_LOAD,
                f"{load_after} of at most {vol.max_open_requests} open requests after this",
                (("open_after", load_after), ("max_open", vol.max_open_requests)),
            ),
        )
    )


def explain_unserved_task(task: EnterpriseTask, problem: Problem) -> tuple[Reason, ...]:
    experts = [v for v in problem.volunteers if v.is_helper and task.kind in v.expertise]
    if not experts:
        return (
            Reason(
                ReasonCode.NO_HELPER_WITH_EXPERTISE,
                f"no helper handles {task.kind} requests",
                (("kind", task.kind),),
            ),
        )
    return (
        Reason(
            ReasonCode.HELPERS_AT_LOAD,
            f"all {len(experts)} helpers for {task.kind} are at their open-request limit",
            (("kind", task.kind), ("helpers", len(experts))),
        ),
    )


def funnel_rows(
    funnel: Funnel, skill_names: Sequence[str]
) -> dict[int, tuple[dict[str, int], list[str]]]:
    """Need index -> (stage counts, skills nobody within reach has)."""
    out: dict[int, tuple[dict[str, int], list[str]]] = {}
    for row, n in enumerate(funnel.needs.tolist()):
        counts = {
            "in_reach": int(funnel.in_reach[row]),
            "skilled": int(funnel.skilled[row]),
            "available": int(funnel.available[row]),
            "free": int(funnel.free[row]),
            "with_minutes": int(funnel.with_minutes[row]),
            "allowed": int(funnel.allowed[row]),
        }
        bits = funnel.missing_skills[row]
        missing = [name for i, name in enumerate(skill_names) if int(bits[i // 64]) >> (i % 64) & 1]
        out[n] = (counts, missing)
    return out
