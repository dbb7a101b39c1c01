"""Root fields for activities and `volunteerOpportunities`: open needs and planned activities
that still need people, nearest and most urgent first.

Distance: a bounding box and an equirectangular distance in SQL (plain arithmetic, the same on
SQLite and PostgreSQL) filter and order the candidates; the distance shown is the haversine
distance computed in Python for the page only. Ordering: 1-km rings of distance (nearest ring
first), then urgency (highest first), then deadline (soonest first); without `near`, urgency
then deadline. Pages are keyset pages over that order, like every connection.
"""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from sqlmodel import SQLModel, col

from api.auth.permissions import can
from api.auth.privacy import need_facts, viewer
from api.graphql.activities.types import Activity
from api.graphql.context import Info
from api.graphql.enums import ActivityStatus
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.lists import MaxItems
from api.graphql.relay import (
    Ordering,
    PageQuery,
    RowsPage,
    SortKey,
    SqlPage,
    as_utc,
    connection_field,
    decode_id,
    load_linked,
    load_one,
    may,
    to_global_id,
)
from api.graphql.type_refs import CommunityT, NeedT, SkillT
from schema import models as m
from schema.base import UTCDateTime
from schema.disclosure import (
    PUBLIC_LAT_STEP,
    PUBLIC_LON_STEP,
    public_need_title,
    sees_need_place,
    snap,
)
from schema.enums import NeedCategory
from schema.geo import haversine_m, point_problem
from schema.places import places_left_sql
from schema.sla import need_overdue_clause, weekly_windows
from schema.text_rules import echo
from schema.workflow import OPEN_NEED_STATUSES

MAX_RADIUS_KM = 100.0
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320
_NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


@strawberry.enum(description="What an opportunity is.")
class OpportunityKind(enum.Enum):
    NEED = strawberry.enum_value("NEED", description="A resident's need (群众诉求).")
    ACTIVITY = strawberry.enum_value("ACTIVITY", description="A volunteer activity (志愿活动).")


@strawberry.input(description="A point and a radius to search around.")
class NearInput:
    latitude: float = strawberry.field(description="Latitude (WGS 84).")
    longitude: float = strawberry.field(description="Longitude (WGS 84).")
    radius_km: float = strawberry.field(
        default=5.0, description="Search radius in kilometres (at most 100)."
    )


@strawberry.type(
    description="A chance to serve: an open need or a planned activity that still needs people."
)
class VolunteerOpportunity:
    id: strawberry.ID = strawberry.field(
        description="Global ID of the need or activity (pass it to sign up)."
    )
    kind: OpportunityKind = strawberry.field(description="Need or activity.")
    places_left: int = strawberry.field(description="How many more people it takes.")
    urgency: int = strawberry.field(description="Urgency, 1 to 5 (activities count as 2).")
    deadline: datetime | None = strawberry.field(
        description="Need: its resolution deadline or window end; activity: its start. Past "
        "deadlines are not listed."
    )
    starts_at: datetime | None = strawberry.field(
        description="When it starts (activities) or may start (needs), UTC."
    )
    ends_at: datetime | None = strawberry.field(
        description="When it ends (activities) or must end (needs' window), UTC."
    )
    _pk: strawberry.Private[int]
    _community_id: strawberry.Private[int]
    _row: strawberry.Private[Any]  # the candidate's columns, exact place included
    _near: strawberry.Private[NearInput | None]

    async def _exact(self, info: Info) -> bool:
        """Activities are public places; a need's exact place and own title only for those
        handling it (`schema.disclosure.sees_need_place`)."""
        if self.kind is OpportunityKind.ACTIVITY:
            return True
        r = self._row
        facts = {
            "community_id": r.community_id,
            "reporter_account_id": r.reporter_account_id,
            "reporter_person_id": r.reporter_person_id,
            "status": r.status,
        }
        return sees_need_place(viewer(info), await need_facts(info, self._pk, facts))

    async def _point(self, info: Info) -> tuple[float, float]:
        r = self._row
        if await self._exact(info):
            return r.xlat, r.xlon
        # The database snaps to find and order (its float product carries noise such as
        # 27.064799999999998); the answer is the one rule's six decimals.
        return snap(r.lat, PUBLIC_LAT_STEP), snap(r.lon, PUBLIC_LON_STEP)

    @strawberry.field(
        description="Distance from `near`, kilometres (null without `near`); from the "
        "snapped point when the exact one is not yours to see."
    )
    async def distance_km(self, info: Info) -> float | None:
        if self._near is None:
            return None
        lat, lon = await self._point(info)
        metres = haversine_m(self._near.latitude, self._near.longitude, lat, lon)
        return round(metres / 1000, 3)

    @strawberry.field(
        description="Where (latitude). A need's point is snapped to a ~200 m grid unless you "
        "handle it (staff of its area, people dispatched to it)."
    )
    async def latitude(self, info: Info) -> float:
        return (await self._point(info))[0]

    @strawberry.field(description="Where (longitude), snapped like `latitude`.")
    async def longitude(self, info: Info) -> float:
        return (await self._point(info))[1]

    @strawberry.field(
        description="Title of the activity; of a need, one made from its category (no personal "
        "circumstances) unless you handle it."
    )
    async def title(self, info: Info) -> str:
        r = self._row
        if await self._exact(info):
            return str(r.title)
        return public_need_title(NeedCategory(r.category))

    @strawberry.field(description="Skills it wants.", extensions=[MaxItems(50)])
    async def skills(self, info: Info) -> list[SkillT]:
        link: type[SQLModel]
        if self.kind is OpportunityKind.NEED:
            link, parent = m.NeedSkill, "need_id"
        else:
            link, parent = m.ActivitySkill, "activity_id"
        return await load_linked(
            info,
            SkillT,
            link,
            parent=parent,
            target="skill_id",
            key=self._pk,
            order_by=[m.Skill.code],
        )

    @strawberry.field(description="The community it is in.")
    async def community(self, info: Info) -> CommunityT:
        return await load_one(info, CommunityT, self._community_id)

    @strawberry.field(description="The activity, if it is one.")
    async def activity(self, info: Info) -> Activity | None:
        if self.kind is not OpportunityKind.ACTIVITY:
            return None
        return await load_one(info, Activity, self._pk)

    @strawberry.field(
        description="The need, if it is one (needs the need.read permission; null otherwise)."
    )
    async def need(self, info: Info) -> NeedT | None:
        if self.kind is not OpportunityKind.NEED or not may(info, "need.read"):
            return None
        return await load_one(info, NeedT, self._pk)


def _skills_fit(link: Any, owner_col: Any, owner_id: Any, codes: list[str]) -> Any:
    """Every skill the opportunity requires is among `codes` (none required fits anyone)."""
    return ~sa.exists().where(
        owner_col == owner_id,
        m.Skill.id == link.skill_id,
        col(m.Skill.code).not_in(codes) if codes else sa.true(),
    )


def _distance_sq(lat: Any, lon: Any, near: NearInput) -> Any:
    kx = KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(near.latitude))
    dx = (lon - near.longitude) * kx
    dy = (lat - near.latitude) * KM_PER_DEG_LAT
    return dx * dx + dy * dy


def _bbox(
    lat: Any, lon: Any, near: NearInput, wider_lat: float = 0.0, wider_lon: float = 0.0
) -> list[Any]:
    dlat = near.radius_km / KM_PER_DEG_LAT + wider_lat
    dlon = near.radius_km / (KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(near.latitude)))
    dlon += wider_lon
    return [
        lat.between(near.latitude - dlat, near.latitude + dlat),
        lon.between(near.longitude - dlon, near.longitude + dlon),
    ]


def _within_windows(
    windows: list[tuple[datetime, datetime]], now: datetime
) -> tuple[list[Any], list[Any]]:
    """(need conditions, activity conditions) of fitting a person's windows (concrete times,
    `schema.sla.weekly_windows`): an activity lies wholly inside one; a need with a service
    window overlaps one; a need without one (a response need: go now) fits while one is open."""
    n, act = m.Need, m.Activity
    ws, we = col(n.window_start), col(n.window_end)
    open_now = any(a <= now < b for a, b in windows)
    has_window = sa.or_(ws.is_not(None), we.is_not(None))
    overlaps = [
        sa.and_(sa.or_(ws.is_(None), ws < b), sa.or_(we.is_(None), we > a)) for a, b in windows
    ]
    inside = [sa.and_(col(act.starts_at) >= a, col(act.ends_at) <= b) for a, b in windows]
    need = sa.or_(
        sa.and_(has_window, sa.or_(*overlaps, sa.false())),
        sa.and_(~has_window, sa.true() if open_now else sa.false()),
    )
    return [need], [sa.or_(*inside, sa.false())]


def _candidates(
    near: NearInput | None,
    skills: list[str] | None,
    at: datetime | None,
    now: datetime,
    windows: list[tuple[datetime, datetime]] | None = None,
) -> Any:
    """Open needs and planned activities (UNION ALL) with their places left and, with `near`,
    squared distance; `opportunities_page` filters on both over this subquery, so each is
    computed once per candidate."""
    n, act = m.Need, m.Activity
    # Past deadlines are no opportunity: overdue needs (schema/sla.py), needs whose service
    # window has ended, and activities under way.
    need_where: list[Any] = [
        col(n.status).in_(OPEN_NEED_STATUSES),
        sa.not_(need_overdue_clause(now)),
        sa.or_(col(n.window_end).is_(None), col(n.window_end) > now),
    ]
    act_where: list[Any] = [col(act.status) == ActivityStatus.PLANNED, col(act.starts_at) > now]
    if windows is not None:
        fits_need, fits_activity = _within_windows(windows, now)
        need_where += fits_need
        act_where += fits_activity
    if near is not None:
        need_where += _bbox(
            sa.func.round(n.latitude / PUBLIC_LAT_STEP) * PUBLIC_LAT_STEP,
            sa.func.round(n.longitude / PUBLIC_LON_STEP) * PUBLIC_LON_STEP,
            near,
        )
        # The same box on the stored point, wider by half a snapping step (a public point is
        # at most that far from it): an index range (ix_need_latitude_longitude) finds the few
        # candidates of a province before any place is counted.
        need_where += _bbox(n.latitude, n.longitude, near, PUBLIC_LAT_STEP / 2, PUBLIC_LON_STEP / 2)
        act_where += _bbox(act.latitude, act.longitude, near)
    if skills is not None:
        need_where.append(_skills_fit(m.NeedSkill, m.NeedSkill.need_id, n.id, skills))
        act_where.append(_skills_fit(m.ActivitySkill, m.ActivitySkill.activity_id, act.id, skills))
    if at is not None:
        need_where += [
            sa.or_(col(n.window_start).is_(None), col(n.window_start) <= at),
            sa.or_(col(n.window_end).is_(None), col(n.window_end) >= at),
        ]
        act_where += [act.starts_at <= at, act.ends_at >= at]
    no_deadline = sa.literal(_NO_DEADLINE, UTCDateTime())
    # Needs are found, filtered and ordered by their public (snapped) point only: a radius
    # or distance over the exact point would locate it however it is shown.
    n_lat = sa.func.round(n.latitude / PUBLIC_LAT_STEP) * PUBLIC_LAT_STEP
    n_lon = sa.func.round(n.longitude / PUBLIC_LON_STEP) * PUBLIC_LON_STEP
    need_d2 = _distance_sq(n_lat, n_lon, near) if near else sa.literal(0.0)
    act_d2 = _distance_sq(act.latitude, act.longitude, near) if near else sa.literal(0.0)
    needs = sa.select(
        sa.literal(0).label("k"),
        col(n.id).label("oid"),
        (col(n.id) * 2).label("uid"),
        col(n.title).label("title"),
        col(n.community_id).label("community_id"),
        n_lat.label("lat"),
        n_lon.label("lon"),
        col(n.urgency).label("urgency"),
        sa.func.coalesce(n.resolve_by, n.window_end, no_deadline).label("deadline"),
        places_left_sql(n).label("places"),
        need_d2.label("d2"),
        col(n.latitude).label("xlat"),
        col(n.longitude).label("xlon"),
        col(n.window_start).label("starts"),
        col(n.window_end).label("ends"),
        sa.cast(n.category, sa.String).label("category"),
        col(n.status).label("status"),
        col(n.reporter_account_id).label("reporter_account_id"),
        col(n.reporter_person_id).label("reporter_person_id"),
    ).where(*need_where)
    # Annotated: SQLAlchemy's stubs type `Mapped.label` as Label[Never], which mypy won't infer.
    activities: sa.Select[*tuple[Any, ...]] = sa.select(
        sa.literal(1).label("k"),
        col(act.id).label("oid"),
        (col(act.id) * 2 + 1).label("uid"),
        col(act.title).label("title"),
        col(act.community_id).label("community_id"),
        col(act.latitude).label("lat"),
        col(act.longitude).label("lon"),
        sa.literal(2).label("urgency"),
        col(act.starts_at).label("deadline"),
        places_left_sql(act).label("places"),
        act_d2.label("d2"),
        col(act.latitude).label("xlat"),
        col(act.longitude).label("xlon"),
        col(act.starts_at).label("starts"),
        col(act.ends_at).label("ends"),
        sa.cast(sa.null(), sa.String).label("category"),
        sa.null().label("status"),
        sa.null().label("reporter_account_id"),
        sa.null().label("reporter_person_id"),
    ).where(*act_where)
    return sa.union_all(needs, activities).subquery("opportunity")


# What a page of opportunities reads from the candidates: enough for the plain fields.
_COLUMNS = (
    *("k", "oid", "uid", "title", "community_id"),
    *("lat", "lon", "urgency", "deadline", "places"),
    *("xlat", "xlon", "starts", "ends", "category", "status"),
    *("reporter_account_id", "reporter_person_id"),
)


def _ring(d2: Any, radius_km: float) -> Any:
    rings = math.ceil(radius_km)
    return sa.case(*((d2 < (i + 1) ** 2, i) for i in range(rings)), else_=rings)


def _check_near(near: NearInput | None) -> None:
    if near is None:
        return
    problem = point_problem(near.latitude, near.longitude)
    if problem is not None:
        raise CodedError(problem, ErrorCode.BAD_USER_INPUT)
    if not 0 < near.radius_km <= MAX_RADIUS_KM:
        raise CodedError(
            f"radiusKm must be above 0 and at most {MAX_RADIUS_KM:g}", ErrorCode.BAD_USER_INPUT
        )


_NAMED_MAX = 5  # unknown codes named in the error; the rest are counted


async def checked_skills(info: Info, codes: list[str] | None) -> list[str] | None:
    """The skill codes, each one of the catalogue's (`skills`); an unknown one is an error that
    names it (a typo would otherwise filter silently)."""
    if codes is None:
        return None
    wanted = list(dict.fromkeys(c.strip() for c in codes))
    async with info.context.db.session() as session:
        stmt = sa.select(col(m.Skill.code)).where(col(m.Skill.code).in_(wanted))
        known = set((await session.execute(stmt)).scalars())
    unknown = [c for c in wanted if c not in known]
    if unknown:
        named = ", ".join(echo(c) for c in unknown[:_NAMED_MAX])
        more = f" and {len(unknown) - _NAMED_MAX} more" if len(unknown) > _NAMED_MAX else ""
        raise CodedError(
            f"unknown skill code(s): {named}{more} (see `skills` for the catalogue)",
            ErrorCode.BAD_USER_INPUT,
        )
    return wanted


async def my_windows(info: Info, now: datetime) -> list[tuple[datetime, datetime]]:
    """The caller's weekly availability, laid out as concrete times (`schema.sla`)."""
    account = info.context.account
    if account is None or account.person_id is None:
        raise CodedError(
            "fitsMyWindows needs a signed-in volunteer whose account is linked to a person",
            ErrorCode.BAD_USER_INPUT,
        )
    av = m.Availability
    stmt = sa.select(col(av.weekday), col(av.start_minute), col(av.end_minute)).where(
        col(av.person_id) == account.person_id
    )
    async with info.context.db.session() as session:
        rows = [(int(d), int(s), int(e)) for d, s, e in (await session.execute(stmt)).all()]
    if not rows:  # an empty page would read as "nothing for you" rather than "no windows"
        raise CodedError(
            "fitsMyWindows: you have no weekly availability windows on record (see `me { person "
            "{ availability } }`); ask your community to record them, or search without it",
            ErrorCode.BAD_USER_INPUT,
        )
    return weekly_windows(rows, now)


def opportunities_page(
    *,
    near: NearInput | None,
    skills: list[str] | None,
    available_at: datetime | None,
    kind: OpportunityKind | None = None,
    windows: list[tuple[datetime, datetime]] | None = None,
    now: datetime | None = None,
) -> SqlPage:
    _check_near(near)
    now = now or datetime.now(UTC)
    sub = _candidates(near, skills, as_utc(available_at), now, windows)
    c = sub.c
    keys: list[SortKey] = []
    filters: list[Any] = [c.places > 0]
    if kind is not None:
        filters.append(c.k == (0 if kind is OpportunityKind.NEED else 1))
    if near is not None:
        filters.append(c.d2 <= near.radius_km**2)
        keys.append(SortKey(_ring(c.d2, near.radius_km), "int"))
    keys += [SortKey(-c.urgency, "int"), SortKey(c.deadline, "dt")]
    name = "NEAR" if near is None else f"NEAR:{near.latitude:.5f},{near.longitude:.5f}"
    order = Ordering(name, tuple(keys), c.uid)

    def build(rows: Any) -> list[VolunteerOpportunity]:
        out = []
        for r in rows:
            kind = OpportunityKind.NEED if r.k == 0 else OpportunityKind.ACTIVITY
            deadline = None if r.deadline == _NO_DEADLINE else r.deadline
            out.append(
                VolunteerOpportunity(
                    id=strawberry.ID(to_global_id(kind.name.title(), r.oid)),
                    kind=kind,
                    places_left=int(r.places),
                    urgency=int(r.urgency),
                    deadline=deadline,
                    starts_at=as_utc(r.starts),
                    ends_at=as_utc(r.ends),
                    _pk=r.oid,
                    _community_id=r.community_id,
                    _row=r,
                    _near=near,
                )
            )
        return out

    return SqlPage(
        columns=[getattr(c, name) for name in _COLUMNS],
        select_from=sub,
        ordering=order,
        build=build,
        filters=filters,
    )


@strawberry.type
class ActivitiesQuery:
    @connection_field(Activity, description="Volunteer activities, soonest first.")
    async def activities(
        self,
        info: Info,
        status: Annotated[
            list[ActivityStatus] | None, strawberry.argument(description="In these statuses.")
        ] = None,
        community: Annotated[
            strawberry.ID | None, strawberry.argument(description="In this community (ID).")
        ] = None,
        starts_after: Annotated[
            datetime | None, strawberry.argument(description="Starting at or after this time.")
        ] = None,
        starts_before: Annotated[
            datetime | None, strawberry.argument(description="Starting before this time.")
        ] = None,
        near: Annotated[
            NearInput | None, strawberry.argument(description="Only within this radius.")
        ] = None,
        skills: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Skill codes: only activities whose required skills are all among "
                "them (an unknown code is an error)."
            ),
        ] = None,
    ) -> PageQuery:
        a = m.Activity
        _check_near(near)
        codes = await checked_skills(info, skills)
        where: list[Any] = []
        if near is not None:
            where += _bbox(a.latitude, a.longitude, near)
            where.append(_distance_sq(a.latitude, a.longitude, near) <= near.radius_km**2)
        if codes is not None:
            where.append(_skills_fit(m.ActivitySkill, m.ActivitySkill.activity_id, a.id, codes))
        if status:
            where.append(col(a.status).in_(status))
        if community is not None:
            where.append(a.community_id == decode_id(community, "Community"))
        if starts_after is not None:
            where.append(col(a.starts_at) >= as_utc(starts_after))
        if starts_before is not None:
            where.append(col(a.starts_at) < as_utc(starts_before))
        return RowsPage(Activity, Ordering("STARTS_AT", (SortKey(a.starts_at, "dt"),), a.id), where)

    @strawberry.field(description="One activity by ID.")
    async def activity(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Activity | None:
        return await load_one(info, Activity, decode_id(id, "Activity"))

    @connection_field(
        VolunteerOpportunity,
        permission_classes=can("opportunity.read"),
        description="Open needs and planned activities that still need people and fit the "
        "volunteer: of `kind`, within `near`, wanting only skills among `skills`, running at "
        "`availableAt`, inside their own weekly windows (`fitsMyWindows`). Needs past their "
        "deadline or service window are never listed. Nearest (1-km rings) and most urgent "
        "first, then soonest deadline.",
        backward=False,
    )
    async def volunteer_opportunities(
        self,
        info: Info,
        near: Annotated[
            NearInput | None, strawberry.argument(description="Only within this radius.")
        ] = None,
        skills: Annotated[
            list[str] | None,
            strawberry.argument(
                description="The volunteer's skill codes: only opportunities whose required "
                "skills are all among them."
            ),
        ] = None,
        available_at: Annotated[
            datetime | None,
            strawberry.argument(description="Only opportunities the volunteer can serve then."),
        ] = None,
        kind: Annotated[
            OpportunityKind | None,
            strawberry.argument(description="Only needs (NEED) or only activities (ACTIVITY)."),
        ] = None,
        fits_my_windows: Annotated[
            bool,
            strawberry.argument(
                description="Only what fits your weekly availability (county local time, the "
                "next 8 weeks): an activity wholly inside one of your windows, a need whose "
                "service window overlaps one, a need to go to now while one is open. Needs a "
                "signed-in volunteer."
            ),
        ] = False,
    ) -> PageQuery:
        now = datetime.now(UTC)
        codes = await checked_skills(info, skills)
        windows = await my_windows(info, now) if fits_my_windows else None
        return opportunities_page(
            near=near,
            skills=codes,
            available_at=available_at,
            kind=kind,
            windows=windows,
            now=now,
        )
