"""A small county for the read-API tests: every table has rows, with known relations and figures.

`build(engine)` inserts it and returns the ids and tokens the tests need; reference data (areas,
units, teams, enterprises) is read signed in, e.g. as `tokens["resident"]` or with
`signed_in_token(engine)` where a test has no county.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from api.graphql.relay import to_global_id
from schema import models as m
from schema.enums import (
    ActivityStatus,
    AreaKind,
    EnterpriseAction,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    GridKind,
    GridRole,
    JobStatus,
    NeedAction,
    NeedCategory,
    NeedSource,
    NeedStatus,
    NeedTier,
    PersonKind,
    ProposalKind,
    ProposalStatus,
    ResourceKind,
    Role,
    SignUpStatus,
    TeamKind,
    UnitKind,
    VenueKind,
)
from schema.sla import need_deadlines
from tests import factories as f

NOW = datetime.now(UTC).replace(microsecond=0)
# Two places about 5.6 km apart (Quantang-like centre and a village north-east of it).
A_LAT, A_LON = 27.05, 114.92
B_LAT, B_LON = 27.09, 114.96


@dataclass
class County:
    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def gid(self, type_name: str, key: str) -> str:
        return to_global_id(type_name, self.ids[key])


def signed_in_token(engine: sa.Engine, role: Role = Role.RESIDENT, **kw: Any) -> str:
    """A bearer token for a new account of `role`: areas, units, teams and enterprises are
    readable by any signed-in caller only (anonymous: stats and opportunities)."""
    return f.token_for(f.account(engine, role, **kw))


def add(session: Session, row: SQLModel) -> Any:
    session.add(row)
    session.flush()
    return row


def need(session: Session, community_id: int, **kw: Any) -> m.Need:
    values: dict[str, Any] = {
        "title": "楼道灯坏了",
        "category": NeedCategory.INFRASTRUCTURE,
        "source": NeedSource.RESIDENT_APP,
        "tier": NeedTier.ORDINARY,
        "status": NeedStatus.REPORTED,
        "community_id": community_id,
        "latitude": A_LAT,
        "longitude": A_LON,
        "reported_at": NOW - timedelta(days=3),
    }
    values |= kw
    if values.get("dispatched_at") is not None and "resolve_by" not in kw:
        d = need_deadlines(values["tier"], values["dispatched_at"])
        values |= {"arrive_by": d.arrive_by, "resolve_by": d.resolve_by}
    return add(session, m.Need(**values))


def build(engine: sa.Engine) -> County:
    """Insert the small county; `ids` names every row a test refers to."""
    c = County()
    i = c.ids
    with Session(engine, expire_on_commit=False) as s:
        qt = add(
            s,
            m.Community(
                name="泉塘社区",
                kind=AreaKind.URBAN_COMMUNITY,
                township="敦厚镇",
                latitude=A_LAT,
                longitude=A_LON,
                population=12000,
            ),
        )
        hx = add(
            s,
            m.Community(
                name="横溪村",
                kind=AreaKind.VILLAGE,
                township="永和镇",
                latitude=B_LAT,
                longitude=B_LON,
                population=2100,
            ),
        )
        i |= {"quantang": qt.id, "hengxi": hx.id}
        g1 = add(
            s,
            m.Grid(
                code="QT-01",
                name="泉塘一网格",
                kind=GridKind.URBAN,
                community_id=qt.id,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        g2 = add(
            s,
            m.Grid(
                code="QT-02",
                name="泉塘二网格",
                kind=GridKind.URBAN,
                community_id=qt.id,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        g3 = add(
            s,
            m.Grid(
                code="HX-01",
                name="横溪网格",
                kind=GridKind.RURAL,
                community_id=hx.id,
                latitude=B_LAT,
                longitude=B_LON,
            ),
        )
        i |= {"grid1": g1.id, "grid2": g2.id, "grid3": g3.id}
        gov = add(
            s,
            m.PairedUnit(
                name="县委组织部", kind=UnitKind.GOVERNMENT, latitude=A_LAT, longitude=A_LON
            ),
        )
        prop = add(
            s,
            m.PairedUnit(
                name="红色物业公司",
                kind=UnitKind.PROPERTY_COMPANY,
                is_state_owned=True,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        i |= {"gov": gov.id, "property": prop.id}
        add(s, m.Pairing(unit_id=gov.id, community_id=qt.id))
        add(s, m.Pairing(unit_id=gov.id, community_id=hx.id))
        add(s, m.Pairing(unit_id=prop.id, community_id=qt.id))
        cp = add(
            s,
            m.Compound(
                name="燕京府小区",
                community_id=qt.id,
                property_unit_id=prop.id,
                is_red_property=True,
                households=800,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        station = add(
            s,
            m.Venue(
                name="燕京府小区党群服务站",
                kind=VenueKind.SERVICE_STATION,
                community_id=qt.id,
                compound_id=cp.id,
                capacity=40,
                services=["政策咨询", "矛盾调解"],
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        hall = add(
            s,
            m.Venue(
                name="横溪村活动场所",
                kind=VenueKind.VILLAGE_VENUE,
                community_id=hx.id,
                capacity=80,
                latitude=B_LAT,
                longitude=B_LON,
            ),
        )
        i |= {"compound": cp.id, "station": station.id, "hall": hall.id}
        van = add(
            s,
            m.Resource(
                name="服务车",
                kind=ResourceKind.VEHICLE,
                unit_id=gov.id,
                quantity=2,
                unit_label="辆",
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        room = add(
            s,
            m.Resource(
                name="会议室",
                kind=ResourceKind.VENUE,
                venue_id=station.id,
                community_id=qt.id,
                quantity=1,
                is_available=False,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        i |= {"van": van.id, "room": room.id}
        elec = add(s, m.Skill(code="electrician", name="电工"))
        legal = add(s, m.Skill(code="legal", name="法律咨询"))
        psych = add(s, m.Skill(code="psych", name="心理疏导"))
        i |= {"electrician": elec.id, "legal": legal.id, "psych": psych.id}
        p1 = add(
            s,
            m.Person(
                name="王建国",
                kind=PersonKind.PARTY_MEMBER,
                is_party_member=True,
                phone="13812345678",
                id_number="360821199001011234",
                registered_community_id=qt.id,
                employer_unit_id=gov.id,
                latitude=27.051234,
                longitude=114.921234,
            ),
        )
        p2 = add(
            s,
            m.Person(
                name="李网格",
                kind=PersonKind.GRID_WORKER,
                registered_community_id=qt.id,
                phone="13900001111",
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        p3 = add(
            s,
            m.Person(
                name="赵小赣",
                kind=PersonKind.ENTERPRISE_HELPER,
                max_open_requests=5,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        p4 = add(
            s,
            m.Person(
                name="陈骑手",
                kind=PersonKind.TEAM_MEMBER,
                registered_community_id=hx.id,
                latitude=B_LAT,
                longitude=B_LON,
            ),
        )
        i |= {"p1": p1.id, "p2": p2.id, "p3": p3.id, "p4": p4.id}
        add(s, m.PersonSkill(person_id=p1.id, skill_id=elec.id))
        add(s, m.PersonSkill(person_id=p1.id, skill_id=psych.id))
        add(s, m.PersonSkill(person_id=p4.id, skill_id=legal.id))
        add(s, m.Availability(person_id=p1.id, weekday=5, start_minute=540, end_minute=720))
        add(s, m.HelperExpertise(person_id=p3.id, kind=EnterpriseRequestKind.FINANCING))
        add(s, m.GridStaff(grid_id=g1.id, person_id=p2.id, role=GridRole.LEADER))
        add(s, m.GridStaff(grid_id=g1.id, person_id=p1.id, role=GridRole.PART_TIME))
        t1 = add(s, m.Team(name="吉先锋骑手队", kind=TeamKind.NEW_BUSINESS, community_id=qt.id))
        t2 = add(s, m.Team(name="小赣事帮办专班", kind=TeamKind.HELP_SQUAD))
        i |= {"team1": t1.id, "team2": t2.id}
        add(s, m.TeamMembership(team_id=t1.id, person_id=p1.id, is_leader=True))
        add(s, m.TeamMembership(team_id=t1.id, person_id=p4.id))
        add(s, m.TeamMembership(team_id=t2.id, person_id=p3.id, is_leader=True))
        cons = add(
            s,
            m.Consultation(
                community_id=qt.id,
                topic="建筑垃圾清运",
                held_at=NOW - timedelta(days=20),
                participants=30,
                disputes_settled=2,
                outcome="统一清运",
            ),
        )
        i["consultation"] = cons.id

        # Needs: open ones of every tier, one overdue, closed rated ones, a hotline ticket.
        n_open = need(
            s,
            qt.id,
            title="路灯不亮",
            grid_id=g1.id,
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
            qt.id,
            title="水管爆裂",
            grid_id=g2.id,
            urgency=4,
            tier=NeedTier.COMPLEX,
            category=NeedCategory.SAFETY,
            status=NeedStatus.DISPATCHED,
            dispatched_at=NOW - timedelta(hours=6),
            reported_at=NOW - timedelta(days=2),
        )
        n_major = need(
            s,
            hx.id,
            title="山体滑坡隐患",
            grid_id=g3.id,
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
            qt.id,
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
            consultation_id=cons.id,
            reported_at=NOW - timedelta(days=10, minutes=5),
        )
        n_closed2 = need(
            s,
            hx.id,
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
        i |= {
            "need_open": n_open.id,
            "need_overdue": n_overdue.id,
            "need_major": n_major.id,
            "need_closed": n_closed.id,
            "need_closed2": n_closed2.id,
        }
        add(s, m.NeedSkill(need_id=n_open.id, skill_id=elec.id))
        add(s, m.NeedSkill(need_id=n_major.id, skill_id=legal.id))
        add(s, m.NeedResource(need_id=n_major.id, kind=ResourceKind.VEHICLE, quantity=1))
        add(s, m.NeedAssignment(need_id=n_overdue.id, person_id=p2.id))
        add(s, m.NeedAssignment(need_id=n_overdue.id, resource_id=van.id, quantity=1))
        add(s, m.NeedAssignment(need_id=n_closed.id, team_id=t1.id))
        steps = [
            (NeedAction.REPORT, None, NeedStatus.REPORTED, 0),
            (NeedAction.ACCEPT, NeedStatus.REPORTED, NeedStatus.ACCEPTED, 1),
            (NeedAction.DISPATCH, NeedStatus.ACCEPTED, NeedStatus.DISPATCHED, 2),
        ]
        for action, frm, to, minutes in steps:
            add(
                s,
                m.NeedEvent(
                    need_id=n_overdue.id,
                    action=action,
                    from_status=frm,
                    to_status=to,
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

        ent = add(
            s,
            m.Enterprise(
                name="吉安电子有限公司",
                credit_code="91360821MA35XXXX1A",
                industry="电子",
                community_id=qt.id,
                contact_name="周经理",
                contact_phone="13600001234",
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        i["enterprise"] = ent.id
        r_new = add(
            s,
            m.EnterpriseRequest(
                enterprise_id=ent.id,
                kind=EnterpriseRequestKind.POLICY,
                title="政策咨询",
                status=EnterpriseRequestStatus.SUBMITTED,
                urgency=2,
                submitted_at=NOW - timedelta(hours=2),
                deadline=NOW + timedelta(hours=22),
            ),
        )
        r_late = add(
            s,
            m.EnterpriseRequest(
                enterprise_id=ent.id,
                kind=EnterpriseRequestKind.FINANCING,
                title="贷款申请",
                status=EnterpriseRequestStatus.ASSIGNED,
                urgency=4,
                helper_id=p3.id,
                submitted_at=NOW - timedelta(days=9),
                assigned_at=NOW - timedelta(days=9),
                deadline=NOW - timedelta(days=2),
            ),
        )
        r_done = add(
            s,
            m.EnterpriseRequest(
                enterprise_id=ent.id,
                kind=EnterpriseRequestKind.UTILITIES,
                title="用电增容",
                status=EnterpriseRequestStatus.CLOSED,
                urgency=3,
                helper_id=p3.id,
                submitted_at=NOW - timedelta(days=20),
                deadline=NOW - timedelta(days=18),
                resolved_at=NOW - timedelta(days=19),
                closed_at=NOW - timedelta(days=19),
                satisfaction=5,
            ),
        )
        i |= {"req_new": r_new.id, "req_late": r_late.id, "req_done": r_done.id}
        add(
            s,
            m.EnterpriseRequestEvent(
                request_id=r_late.id,
                action=EnterpriseAction.SUBMIT,
                to_status=EnterpriseRequestStatus.SUBMITTED,
                at=r_late.submitted_at,
            ),
        )
        add(
            s,
            m.EnterpriseRequestEvent(
                request_id=r_late.id,
                action=EnterpriseAction.ASSIGN,
                from_status=EnterpriseRequestStatus.SUBMITTED,
                to_status=EnterpriseRequestStatus.ASSIGNED,
                at=r_late.submitted_at + timedelta(hours=1),
            ),
        )

        soon = add(
            s,
            m.Activity(
                title="义善庐陵·敬老助餐",
                community_id=qt.id,
                venue_id=station.id,
                organiser_team_id=t1.id,
                status=ActivityStatus.PLANNED,
                starts_at=NOW + timedelta(days=1),
                ends_at=NOW + timedelta(days=1, hours=3),
                capacity=3,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        far = add(
            s,
            m.Activity(
                title="横溪村法律讲座",
                community_id=hx.id,
                venue_id=hall.id,
                status=ActivityStatus.PLANNED,
                starts_at=NOW + timedelta(days=2),
                ends_at=NOW + timedelta(days=2, hours=2),
                capacity=1,
                latitude=B_LAT,
                longitude=B_LON,
            ),
        )
        done = add(
            s,
            m.Activity(
                title="环境整治",
                community_id=qt.id,
                organiser_team_id=t1.id,
                status=ActivityStatus.FINISHED,
                starts_at=NOW - timedelta(days=5),
                ends_at=NOW - timedelta(days=5) + timedelta(hours=2),
                capacity=10,
                latitude=A_LAT,
                longitude=A_LON,
            ),
        )
        i |= {"act_soon": soon.id, "act_far": far.id, "act_done": done.id}
        add(s, m.ActivitySkill(activity_id=soon.id, skill_id=elec.id))
        add(s, m.ActivitySkill(activity_id=far.id, skill_id=legal.id))
        su1 = add(
            s,
            m.SignUp(person_id=p1.id, activity_id=soon.id, status=SignUpStatus.SIGNED_UP),
        )
        add(s, m.SignUp(person_id=p4.id, activity_id=soon.id, status=SignUpStatus.CANCELLED))
        add(s, m.SignUp(person_id=p4.id, activity_id=far.id, status=SignUpStatus.SIGNED_UP))
        su_done = add(
            s,
            m.SignUp(
                person_id=p1.id,
                activity_id=done.id,
                status=SignUpStatus.CHECKED_OUT,
                checked_in_at=done.starts_at,
                checked_out_at=done.ends_at,
                minutes=120,
            ),
        )
        add(s, m.SignUp(person_id=p4.id, need_id=n_open.id, status=SignUpStatus.SIGNED_UP))
        i |= {"signup": su1.id, "signup_done": su_done.id}

        job = add(
            s,
            m.MatchingJob(
                status=JobStatus.SUCCEEDED,
                scope_community_id=qt.id,
                kinds=["volunteer"],
                weights={"distance": 1.0},
                progress=1.0,
                objective=12.5,
                seats_filled=1,
                seats_total=2,
            ),
        )
        i["job"] = job.id
        for cost, status in ((3.0, ProposalStatus.PROPOSED), (1.0, ProposalStatus.ACCEPTED)):
            add(
                s,
                m.Proposal(
                    job_id=job.id,
                    kind=ProposalKind.VOLUNTEER,
                    need_id=n_open.id,
                    person_id=p1.id,
                    cost=cost,
                    status=status,
                    reasons=[{"code": "SKILL", "message": "会电工"}],
                    message="会电工",
                ),
            )
        add(
            s,
            m.Proposal(
                job_id=job.id,
                kind=ProposalKind.HELPER,
                enterprise_request_id=r_new.id,
                person_id=p3.id,
                cost=2.0,
                status=ProposalStatus.PROPOSED,
            ),
        )
        add(
            s,
            m.Proposal(
                job_id=job.id,
                kind=ProposalKind.RESOURCE,
                need_id=n_major.id,
                resource_id=van.id,
                cost=5.0,
                status=ProposalStatus.REJECTED,
            ),
        )
        add(
            s,
            m.UnmatchedItem(
                job_id=job.id,
                need_id=n_major.id,
                seats_open=1,
                reasons=[{"code": "NO_SKILL"}],
                message="无人具备法律咨询技能",
            ),
        )
        s.commit()
    for role in (Role.COORDINATOR, Role.ADMIN, Role.RESIDENT, Role.ENTERPRISE_HELPER):
        c.tokens[role.value] = signed_in_token(engine, role)
    c.tokens["volunteer"] = signed_in_token(engine, Role.VOLUNTEER, person_id=i["p1"])
    c.tokens["grid_worker_hengxi"] = signed_in_token(
        engine, Role.GRID_WORKER, person_id=i["p2"], community_id=i["hengxi"]
    )
    return c
