"""Needs: open ones of every tier (one overdue), two closed and rated (one a hotline ticket
settled at a consultation), with skills, resources, assignments and event logs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from schema import models as m
from schema.enums import (
    NeedAction,
    NeedCategory,
    NeedSource,
    NeedStatus,
    NeedTier,
    ResourceKind,
)
from schema.sla import need_deadlines
from tests import factories as f
from tests.county.core import B_LAT, B_LON, NOW, County, add

REQUIRES = ("units", "skills", "teams")


def need(s: Session, community_id: int, **kw: Any) -> m.Need:
    """A need reported three days ago; a dispatched one gets its 1341 deadlines."""
    values = f.need_values(community_id, reported_at=NOW - timedelta(days=3)) | kw
    if values.get("dispatched_at") is not None and "resolve_by" not in kw:
        d = need_deadlines(values["tier"], values["dispatched_at"])
        values |= {"arrive_by": d.arrive_by, "resolve_by": d.resolve_by}
    return add(s, m.Need(**values))


def build(s: Session, c: County) -> None:
    qt, hx = c.quantang.id, c.hengxi.id
    r = c.rows
    consultation = add(
        s,
        m.Consultation(
            community_id=qt,
            topic="建筑垃圾清运",
            held_at=NOW - timedelta(days=20),
            participants=30,
            disputes_settled=2,
            outcome="统一清运",
        ),
    )
    n_open = need(
        s,
        qt,
        title="路灯不亮",
        grid_id=r["grid1"].id,
        urgency=5,
        headcount=2,
        reporter_name="张三",
        reporter_phone="13700000000",
        status=NeedStatus.ACCEPTED,
        accepted_at=NOW - timedelta(days=3),
        window_start=NOW - timedelta(hours=1),
        window_end=NOW + timedelta(days=2),
    )
    n_overdue = need(
        s,
        qt,
        title="水管爆裂",
        grid_id=r["grid2"].id,
        urgency=4,
        tier=NeedTier.COMPLEX,
        category=NeedCategory.SAFETY,
        status=NeedStatus.DISPATCHED,
        dispatched_at=NOW - timedelta(hours=6),
        reported_at=NOW - timedelta(days=2),
    )
    n_major = need(
        s,
        hx,
        title="山体滑坡隐患",
        grid_id=r["grid3"].id,
        urgency=3,
        tier=NeedTier.MAJOR,
        category=NeedCategory.EMERGENCY,
        source=NeedSource.GRID_PATROL,
        status=NeedStatus.REPORTED,
        latitude=B_LAT,
        longitude=B_LON,
        reported_at=NOW - timedelta(days=1),
    )
    n_closed = need(
        s,
        qt,
        title="邻里纠纷",
        category=NeedCategory.DISPUTE,
        source=NeedSource.HOTLINE_12345,
        status=NeedStatus.CLOSED,
        urgency=2,
        dispatched_at=NOW - timedelta(days=10),
        arrived_at=NOW - timedelta(days=10) + timedelta(minutes=8),
        resolved_at=NOW - timedelta(days=10) + timedelta(minutes=25),
        closed_at=NOW - timedelta(days=9),
        satisfaction=5,
        consultation_id=consultation.id,
        reported_at=NOW - timedelta(days=10, minutes=5),
    )
    n_closed2 = need(
        s,
        hx,
        title="垃圾清运",
        category=NeedCategory.ENVIRONMENT,
        source=NeedSource.HOTLINE_12345,
        status=NeedStatus.CLOSED,
        urgency=1,
        dispatched_at=NOW - timedelta(days=8),
        arrived_at=NOW - timedelta(days=8) + timedelta(minutes=15),
        resolved_at=NOW - timedelta(days=8) + timedelta(hours=1),
        closed_at=NOW - timedelta(days=7),
        satisfaction=2,
        latitude=B_LAT,
        longitude=B_LON,
        reported_at=NOW - timedelta(days=8, minutes=5),
    )
    r |= {
        "consultation": consultation,
        "need_open": n_open,
        "need_overdue": n_overdue,
        "need_major": n_major,
        "need_closed": n_closed,
        "need_closed2": n_closed2,
    }
    add(s, m.NeedSkill(need_id=n_open.id, skill_id=r["electrician"].id))
    add(s, m.NeedSkill(need_id=n_major.id, skill_id=r["legal"].id))
    add(s, m.NeedResource(need_id=n_major.id, kind=ResourceKind.VEHICLE, quantity=1))
    add(s, m.NeedAssignment(need_id=n_overdue.id, person_id=c.worker.id))
    add(s, m.NeedAssignment(need_id=n_overdue.id, resource_id=r["van"].id, quantity=1))
    add(s, m.NeedAssignment(need_id=n_closed.id, team_id=r["team1"].id))
    steps = [
        (NeedAction.REPORT, None, NeedStatus.REPORTED, 0),
        (NeedAction.ACCEPT, NeedStatus.REPORTED, NeedStatus.ACCEPTED, 1),
        (NeedAction.DISPATCH, NeedStatus.ACCEPTED, NeedStatus.DISPATCHED, 2),
    ]
    for action, before, after, minutes in steps:
        add(
            s,
            m.NeedEvent(
                need_id=n_overdue.id,
                action=action,
                from_status=before,
                to_status=after,
                actor_name="协调员",
                at=n_overdue.reported_at + timedelta(minutes=minutes),
            ),
        )
    add(
        s,
        m.NeedEvent(
            need_id=n_open.id,
            action=NeedAction.REPORT,
            to_status=NeedStatus.REPORTED,
            at=n_open.reported_at,
        ),
    )
