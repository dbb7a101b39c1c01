"""Residents' needs (群众诉求) with their event history, deadlines, skills and assignees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from api.auth.permissions import can
from api.auth.privacy import (
    NEED_FACT_COLUMNS,
    mask_name,
    mask_phone,
    need_facts,
    need_facts_in,
    need_facts_now,
    viewer,
)
from api.graphql.context import Info, current_context
from api.graphql.enums import (
    NeedAction,
    NeedCategory,
    NeedKind,
    NeedSource,
    NeedStatus,
    NeedTier,
    ResourceKind,
)
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.lists import MaxItems
from api.graphql.needs.loaders import EVENTS, latest_events
from api.graphql.needs.offer_types import NeedOffer
from api.graphql.relay import (
    Node,
    RowType,
    ToOne,
    folded,
    frozen,
    load_children,
    load_linked,
    load_one,
    may,
    register_node,
)
from api.graphql.type_refs import (
    CommunityT,
    CompoundT,
    ConsultationT,
    GridT,
    PairedUnitT,
    PersonT,
    ResourceT,
    SentinelPostT,
    SignUpT,
    SkillT,
    TeamT,
)
from schema import models as m
from schema.disclosure import (
    PUBLIC_LAT_STEP,
    PUBLIC_LON_STEP,
    NeedFacts,
    public_need_title,
    sees_every_need_place,
    sees_need_place,
    sees_reporter_name,
    sees_reporter_phone,
    sees_serving_people,
    snap,
)
from schema.sla import NEED_OVERDUE_COLUMNS, met, need_overdue
from schema.workflow import allowed_need_actions

_ACTION_ORDER = {a: i for i, a in enumerate(NeedAction)}
_PRIVATE_COLUMNS = NEED_FACT_COLUMNS
# Steps the reporter takes themself: their events carry the reporter's name.
_REPORTER_ACTIONS = frozenset({NeedAction.REPORT, NeedAction.RATE})


class _NeedAttributes:
    """Relations and derived values read as plain attributes (see relay.ToOne): GraphQL
    resolves them without a resolver call, which matters on pages of needs."""

    community = ToOne(CommunityT, "community_id")
    grid = ToOne(GridT, "grid_id")

    # The place-revealing fields (`sees_need_place`): decided at once where no query is needed
    # (administrators, staff of the need's area: most pages), else a coroutine GraphQL awaits
    # (the caller's dispatch to the need is read, batched). Read for the request being served
    # (`current_context`), like `ToOne`; nothing decided is stored on the object.

    def _place_now(self) -> bool | None:
        ctx = current_context()
        v = ctx.viewer
        if sees_every_need_place(v):
            return True
        facts = need_facts_now(ctx, self.__dict__)
        return None if facts is None else sees_need_place(v, facts)

    async def _shown_later(self, shown: Callable[[bool], Any]) -> Any:
        ctx = current_context()
        d = self.__dict__
        facts = await need_facts_in(ctx, d["pk"], d)
        return shown(sees_need_place(ctx.viewer, facts))

    def _place_shown(self, shown: Callable[[bool], Any]) -> Any:
        place = self._place_now()
        return self._shown_later(shown) if place is None else shown(place)

    @property
    def title(self) -> Any:
        d = self.__dict__
        return self._place_shown(
            lambda exact: d["title"] if exact else public_need_title(d["category"])
        )

    @property
    def latitude(self) -> Any:
        d = self.__dict__
        return self._place_shown(
            lambda exact: d["latitude"] if exact else snap(d["latitude"], PUBLIC_LAT_STEP)
        )

    @property
    def longitude(self) -> Any:
        d = self.__dict__
        return self._place_shown(
            lambda exact: d["longitude"] if exact else snap(d["longitude"], PUBLIC_LON_STEP)
        )

    @property
    def address(self) -> Any:
        d = self.__dict__
        return self._place_shown(lambda exact: d["address"] if exact else "")

    @property
    def description(self) -> Any:
        d = self.__dict__
        return self._place_shown(lambda exact: d["description"] if exact else "")

    @property
    def overdue(self) -> bool:
        d = self.__dict__
        return need_overdue(
            status=d["status"],
            arrive_by=d["arrive_by"],
            resolve_by=d["resolve_by"],
            arrived_at=d["arrived_at"],
            now=datetime.now(UTC),
            kind=d["kind"],
            window_end=d["window_end"],
        )

    @property
    def arrived_on_time(self) -> bool | None:
        return met(self.__dict__["arrive_by"], self.__dict__["arrived_at"])

    @property
    def resolved_on_time(self) -> bool | None:
        return met(self.__dict__["resolve_by"], self.__dict__["resolved_at"])

    @property
    def allowed_actions(self) -> list[NeedAction]:
        return sorted(allowed_need_actions(self.__dict__["status"]), key=_ACTION_ORDER.__getitem__)


@strawberry.type(
    description="A resident's need (群众诉求) moving through the closed loop: report → accept → "
    "dispatch → arrive → resolve → rate. Reporter name and phone are masked unless you may "
    "see them."
)
class Need(RowType, _NeedAttributes, Node):
    __model__ = m.Need
    __node_name__ = "Need"
    __joins__ = frozen({"community": (CommunityT, "community_id"), "grid": (GridT, "grid_id")})
    __folds__ = frozen({"events": EVENTS})
    __needs__ = frozen(
        {
            "community": ("community_id",),
            "grid": ("grid_id",),
            "compound": ("compound_id",),
            "property_company": ("property_unit_id",),
            "consultation": ("consultation_id",),
            "sentinel_post": ("sentinel_post_id",),
            "duplicate_of": ("duplicate_of_id",),
            "merged_into": ("merged_into_id",),
            "reporter": ("reporter_person_id", *_PRIVATE_COLUMNS),
            "reporter_name": ("reporter_name", *_PRIVATE_COLUMNS),
            "reporter_phone": ("reporter_phone", *_PRIVATE_COLUMNS),
            "title": ("title", "category", *_PRIVATE_COLUMNS),
            "latitude": ("latitude", *_PRIVATE_COLUMNS),
            "longitude": ("longitude", *_PRIVATE_COLUMNS),
            "address": ("address", *_PRIVATE_COLUMNS),
            "description": ("description", *_PRIVATE_COLUMNS),
            "media_urls": ("media_urls", *_PRIVATE_COLUMNS),
            "overdue": NEED_OVERDUE_COLUMNS,
            "arrived_on_time": ("arrive_by", "arrived_at"),
            "resolved_on_time": ("resolve_by", "resolved_at"),
            "allowed_actions": ("status",),
        }
    )

    category: NeedCategory = strawberry.field(description="What it is about.")
    source: NeedSource = strawberry.field(description="Where it came from (吹哨, 12345, 前哨点 …).")
    tier: NeedTier = strawberry.field(description='"1341" tier: ordinary, complex or major.')
    kind: NeedKind = strawberry.field(
        description="Response (the 1341 clock runs from dispatch) or scheduled (a visit booked "
        "for a slot inside its service window)."
    )
    status: NeedStatus = strawberry.field(description="Where it is in the closed loop.")
    urgency: int = strawberry.field(description="Urgency, 1 (low) to 5 (highest).")
    headcount: int = strawberry.field(description="How many people it needs.")
    duration_minutes: int = strawberry.field(description="How long the work takes, in minutes.")
    window_start: datetime | None = strawberry.field(
        description="A scheduled service's window: the earliest a visit may start."
    )
    window_end: datetime | None = strawberry.field(
        description="A scheduled service's window: the latest a visit may end."
    )
    reported_at: datetime = strawberry.field(description="When it was reported.")
    accepted_at: datetime | None = strawberry.field(description="When it was accepted.")
    dispatched_at: datetime | None = strawberry.field(
        description="When it was (last) dispatched; a response need's 1341 clock starts here."
    )
    arrive_by: datetime | None = strawberry.field(
        description="Deadline for staff on site: dispatch + 10 minutes (response), or the "
        "booked slot's start (scheduled)."
    )
    resolve_by: datetime | None = strawberry.field(
        description="Deadline to resolve: dispatch + 30 min / 4 h / 1 day by tier (response), "
        "or the booked slot's end (scheduled)."
    )
    overdue_flagged_at: datetime | None = strawberry.field(
        description="When the clock flagged it overdue (a scheduled need whose window or slot "
        "passed), for the coordinator's board."
    )
    arrived_at: datetime | None = strawberry.field(description="When staff arrived.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    closed_at: datetime | None = strawberry.field(description="When it was closed.")
    satisfaction: int | None = strawberry.field(
        description="The resident's rating, 1 to 5 (4 and 5 count as satisfied)."
    )
    rating_comment: str = strawberry.field(description="The resident's comment on the result.")
    version: int = strawberry.field(
        description="Optimistic-lock version; mutations pass it back to refuse stale writes."
    )
    updated_at: datetime = strawberry.field(description="Last change.")
    community_id: strawberry.Private[int]
    grid_id: strawberry.Private[int | None]
    compound_id: strawberry.Private[int | None]
    property_unit_id: strawberry.Private[int | None]
    consultation_id: strawberry.Private[int | None]
    sentinel_post_id: strawberry.Private[int | None]
    duplicate_of_id: strawberry.Private[int | None]
    merged_into_id: strawberry.Private[int | None]
    reporter_person_id: strawberry.Private[int | None]
    reporter_account_id: strawberry.Private[int | None]

    community: CommunityT = strawberry.field(description="The community or village it is in.")
    grid: GridT | None = strawberry.field(description="The grid it is in, if known.")

    @strawberry.field(description="The residential compound it is in, if any.")
    async def compound(self, info: Info) -> CompoundT | None:
        return await load_one(info, CompoundT, self.compound_id)

    @strawberry.field(
        description="The property company (物业公司) a property matter inside a compound was "
        "routed to: the compound's own (红色物业 where it is one), else the state-owned company "
        "(兜底)."
    )
    async def property_company(self, info: Info) -> PairedUnitT | None:
        return await load_one(info, PairedUnitT, self.property_unit_id)

    @strawberry.field(description="The consultation it came out of, if any.")
    async def consultation(self, info: Info) -> ConsultationT | None:
        return await load_one(info, ConsultationT, self.consultation_id)

    @strawberry.field(description="The sentinel post (民声前哨点) it was suggested at, if any.")
    async def sentinel_post(self, info: Info) -> SentinelPostT | None:
        return await load_one(info, SentinelPostT, self.sentinel_post_id)

    @strawberry.field(description="The need this one probably duplicates, flagged for merging.")
    async def duplicate_of(self, info: Info) -> Need | None:
        return await load_one(info, Need, self.duplicate_of_id)

    @strawberry.field(description="The need this one was merged into, if merged.")
    async def merged_into(self, info: Info) -> Need | None:
        return await load_one(info, Need, self.merged_into_id)

    async def facts(self, info: Info) -> NeedFacts:
        """The need's side of the disclosure rules, for this caller (`schema.disclosure`)."""
        return await need_facts(info, self.pk, self.__dict__)

    async def _place(self, info: Info) -> bool:
        return sees_need_place(viewer(info), await self.facts(info))

    title: str = strawberry.field(
        description="Short title; callers not handling the need get one made from its "
        "category (no personal circumstances)."
    )
    latitude: float = strawberry.field(
        description="Where the problem is (latitude); snapped to a ~200 m grid unless you "
        "handle the need (staff of its area, people dispatched) or reported it."
    )
    longitude: float = strawberry.field(
        description="Where the problem is (longitude); snapped like `latitude`."
    )
    address: str = strawberry.field(
        description="Address of the problem; empty unless you handle the need or reported it."
    )
    description: str = strawberry.field(
        description="What the reporter wrote (it names people and places); empty unless you "
        "handle the need or reported it."
    )

    @strawberry.field(
        description="Photo and video links; empty unless you handle the need or reported it."
    )
    async def media_urls(self, info: Info) -> list[str]:
        return list(self.__dict__["media_urls"]) if await self._place(info) else []

    @strawberry.field(
        description="Who reported it; masked (张**) unless you reported it or handle it "
        "(staff of its area, people dispatched to it)."
    )
    async def reporter_name(self, info: Info) -> str:
        raw: str = self.__dict__["reporter_name"]
        shown = sees_reporter_name(viewer(info), await self.facts(info))
        return raw if shown else (mask_name(raw) or "")

    @strawberry.field(
        description="The reporter's phone; masked unless you reported it, or handle it while "
        "it is open."
    )
    async def reporter_phone(self, info: Info) -> str | None:
        raw: str | None = self.__dict__["reporter_phone"]
        shown = sees_reporter_phone(viewer(info), await self.facts(info))
        return raw if shown else mask_phone(raw)

    @strawberry.field(
        description="The reporting person, when on record and you may see who reported it "
        "(null otherwise, like the masked `reporterName`). Reached this way the person shows "
        "what handling the need allows: the name, the phone while the need is open.",
        permission_classes=can("person.read"),
    )
    async def reporter(self, info: Info) -> PersonT | None:
        from api.graphql.people.loaders import reporter_of

        facts = await self.facts(info)
        v = viewer(info)
        if not sees_reporter_name(v, facts):
            return None
        return await reporter_of(info, self.reporter_person_id, phone=sees_reporter_phone(v, facts))

    overdue: bool = strawberry.field(
        description="Open and past a deadline: arrival or resolution, or, for a scheduled need "
        "not yet booked, the end of its service window."
    )
    arrived_on_time: bool | None = strawberry.field(
        description="Staff arrived within 10 minutes of dispatch (null: not yet)."
    )
    resolved_on_time: bool | None = strawberry.field(
        description="Resolved within its tier's promise (null: not yet)."
    )
    allowed_actions: list[NeedAction] = strawberry.field(
        description="Closed-loop actions its status allows next."
    )

    @strawberry.field(
        description="How many more people it takes: headcount minus the people dispatched to it "
        "in person (offers hold no place until accepted); never below zero."
    )
    async def places_left(self, info: Info) -> int:
        from api.graphql.activities.loaders import places_left

        return await places_left(info, m.Need, self.pk)

    @strawberry.field(description="Skills it requires.", extensions=[MaxItems(50)])
    async def skills(self, info: Info) -> list[SkillT]:
        return await load_linked(
            info,
            SkillT,
            m.NeedSkill,
            parent="need_id",
            target="skill_id",
            key=self.pk,
            order_by=[m.Skill.code],
        )

    @strawberry.field(
        description="Resources it requires, by kind and quantity.", extensions=[MaxItems(50)]
    )
    async def resources(self, info: Info) -> list[NeedResourceRequirement]:
        return await load_children(info, NeedResourceRequirement, "need_id", self.pk)

    @strawberry.field(
        description="Who or what was dispatched to it (people, teams, resources).",
        extensions=[MaxItems(100)],
    )
    async def assignments(self, info: Info) -> list[NeedAssignment]:
        return await load_children(
            info, NeedAssignment, "need_id", self.pk, order_by=[m.NeedAssignment.assigned_at]
        )

    @strawberry.field(
        description="Its history, oldest first; `last: n` gives the n latest steps only.",
        extensions=[MaxItems(100)],
    )
    @folded("events")
    async def events(
        self,
        info: Info,
        last: Annotated[
            int | None,
            strawberry.argument(description="Only the n latest events (at most 100)."),
        ] = None,
    ) -> list[NeedEvent]:
        return await latest_events(info, self, last)

    @strawberry.field(description="Its latest step.")
    async def latest_event(self, info: Info) -> NeedEvent | None:
        events = await latest_events(info, self, 1)
        return events[-1] if events else None

    @strawberry.field(
        description="Offers to take it (请缨), oldest first: staff of its area see all, a "
        "volunteer their own.",
        extensions=[MaxItems(200)],
    )
    async def offers(self, info: Info) -> list[NeedOffer]:
        return await load_children(
            info, NeedOffer, "need_id", self.pk, order_by=[m.NeedOffer.offered_at, m.NeedOffer.id]
        )

    @strawberry.field(
        description="People dispatched to it who signed up on it to log their time.",
        extensions=[MaxItems(200)],
    )
    async def sign_ups(self, info: Info) -> list[SignUpT]:
        return await load_children(info, SignUpT, "need_id", self.pk, name="signup:need")


@strawberry.type(description="One step of a need's life: who did what, when and why.")
class NeedEvent(RowType, Node):
    __model__ = m.NeedEvent
    __node_name__ = "NeedEvent"
    __needs__ = frozen({"actor_name": ("actor_name", "action", "need_id")})

    action: NeedAction = strawberry.field(description="What was done.")
    from_status: NeedStatus | None = strawberry.field(description="Status before the step.")
    to_status: NeedStatus = strawberry.field(description="Status after the step.")
    note: str = strawberry.field(description="Why, or what was said.")
    data: JSON = strawberry.field(
        description="Details of the step (e.g. the tier before an escalation)."
    )
    at: datetime = strawberry.field(description="When.")
    need_id: strawberry.Private[int]

    @strawberry.field(
        description="Who did it; the reporter's own steps (report, rating) show the name masked "
        "(张**) unless you may see the need's personal data."
    )
    async def actor_name(self, info: Info) -> str:
        raw: str = self.__dict__["actor_name"]
        if self.__dict__["action"] not in _REPORTER_ACTIONS:
            return raw
        need = await load_one(info, Need, self.need_id)
        if need is not None and sees_reporter_name(viewer(info), await need.facts(info)):
            return raw
        return mask_name(raw) or ""

    @strawberry.field(description="The need.", permission_classes=can("need.read"))
    async def need(self, info: Info) -> Need:
        return await load_one(info, Need, self.need_id)


@strawberry.type(description="A resource a need requires: a kind and a quantity.")
class NeedResourceRequirement(RowType):
    __model__ = m.NeedResource

    kind: ResourceKind = strawberry.field(description="Kind of resource.")
    quantity: int = strawberry.field(description="How many.")


@strawberry.type(description="A person, team or resource dispatched to a need.")
class NeedAssignment(RowType, Node):
    __model__ = m.NeedAssignment
    __node_name__ = "NeedAssignment"
    __needs__ = frozen(
        {
            "need": ("need_id",),
            "person": ("person_id", "need_id"),
            "team": ("team_id",),
            "resource": ("resource_id",),
        }
    )

    quantity: int = strawberry.field(description="Quantity (of a resource; 1 for people).")
    active: bool = strawberry.field(description="Still assigned (false once handed over).")
    assigned_at: datetime = strawberry.field(description="When.")
    need_id: strawberry.Private[int]
    person_id: strawberry.Private[int | None]
    team_id: strawberry.Private[int | None]
    resource_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The assigned person, if a person. A need's reporter sees who serves it "
        "(亮身份): the name, with the phone masked as on any person they may not contact.",
        permission_classes=can("need.read"),
    )
    async def person(self, info: Info) -> PersonT | None:
        if self.person_id is None:
            return None
        if not may(info, "person.read"):
            need = await load_one(info, Need, self.need_id)
            if need is None or not sees_serving_people(viewer(info), await need.facts(info)):
                raise CodedError("not allowed: person.read", ErrorCode.FORBIDDEN)
            from api.graphql.people.loaders import serving_person_of

            return await serving_person_of(info, self.person_id)
        return await load_one(info, PersonT, self.person_id)

    @strawberry.field(description="The assigned team, if a team.")
    async def team(self, info: Info) -> TeamT | None:
        return await load_one(info, TeamT, self.team_id)

    @strawberry.field(description="The assigned resource, if a resource.")
    async def resource(self, info: Info) -> ResourceT | None:
        return await load_one(info, ResourceT, self.resource_id)

    @strawberry.field(description="The need.", permission_classes=can("need.read"))
    async def need(self, info: Info) -> Need:
        return await load_one(info, Need, self.need_id)


register_node(Need, "need.read")
register_node(NeedEvent, "need.read")
register_node(NeedAssignment, "need.read")
