"""The closed loop's mutations: report, accept, dispatch, arrive, resolve, rate, escalate,
return and merge. Each takes an input object and answers `{ need, userErrors }`.

Resolvers only translate: global IDs to keys, the caller to an `Actor`, and the services'
errors to userErrors (`api.graphql.writes`); the rules live in `schema/services/needs/` and
`schema/workflow.py`. Pass `expectedVersion` (the `version` you read) to refuse stale writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Protocol

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enums import NeedCategory, NeedKind, NeedSource, NeedTier
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.needs.types import Need
from api.graphql.writes import actor_of, opt_pk, pk, pks, write, write_on
from schema.base import aware
from schema.models import Need as NeedRow
from schema.services import needs as svc
from schema.sla import Slot

NEED_ID = "The need's ID."
EXPECTED_VERSION = (
    "The `version` you read; when it is no longer current the mutation changes nothing and "
    "answers CONFLICT. Omit it to act on whatever version is current."
)


@strawberry.input(description="A point in Ji'an County (WGS-84 degrees).")
class LocationInput:
    latitude: float = strawberry.field(description="Latitude, degrees north.")
    longitude: float = strawberry.field(description="Longitude, degrees east.")


@strawberry.input(
    description="A span of time (any offset; a time without one is read as UTC+8, local)."
)
class TimeWindowInput:
    start: datetime = strawberry.field(description="From (inclusive).")
    end: datetime = strawberry.field(description="Until (exclusive of anything after).")


def _span(window: TimeWindowInput | None) -> tuple[datetime, datetime] | None:
    return None if window is None else (aware(window.start), aware(window.end))


@strawberry.input(description="吹哨: a resident's (or staff member's) report of a problem.")
class ReportNeedInput:
    title: str = strawberry.field(description="Short title, 1–200 characters.")
    category: NeedCategory = strawberry.field(description="What it is about.")
    location: LocationInput = strawberry.field(description="Where the problem is.")
    description: str = strawberry.field(default="", description="Details, up to 5000 chars.")
    source: NeedSource = strawberry.field(
        default=NeedSource.RESIDENT_APP,
        description="Where it comes from; residents report from the app, hotline (12345), "
        "sentinel-post, patrol and consultation tickets are entered by staff.",
    )
    media_urls: list[str] = strawberry.field(
        default_factory=list, description="Photo and video links (http/https), at most 9."
    )
    address: str = strawberry.field(default="", description="Address, up to 200 characters.")
    urgency: int = strawberry.field(default=3, description="Urgency, 1 (low) to 5 (highest).")
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its community; found from the location when omitted."
    )
    grid_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its grid; the nearest grid to the location when omitted."
    )
    compound_id: strawberry.ID | None = strawberry.field(
        default=None, description="The residential compound, if any."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="A key the client makes up (e.g. a UUID), 1–64 characters: sending the "
        "same report again with it returns the first need instead of a second one.",
    )
    reporter_phone: str | None = strawberry.field(
        default=None, description="A phone number to call back (e.g. a hotline caller's)."
    )
    kind: NeedKind | None = strawberry.field(
        default=None,
        description="Response (the 1341 clock from dispatch) or scheduled (a visit booked in "
        "`serviceWindow`); by default scheduled when a window is given, unless the category "
        "(safety, emergency) or source (patrol, team report) calls for a response.",
    )
    service_window: TimeWindowInput | None = strawberry.field(
        default=None, description="When the visit is wanted (any offset; the county is UTC+8)."
    )
    duration_minutes: int | None = strawberry.field(
        default=None, description="How long the visit takes, 5–1440 minutes (default 60)."
    )


@strawberry.input(description="受理: take a reported need on.")
class AcceptNeedInput:
    need_id: strawberry.ID = strawberry.field(description=NEED_ID)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    tier: NeedTier | None = strawberry.field(
        default=None, description='Its "1341" tier, when it is not ordinary.'
    )
    note: str = strawberry.field(default="", description="A note for the log.")


@strawberry.input(
    description="派单/转派: send people, a team and/or the grid's worker; sets the 1341 "
    "deadlines. Dispatching again hands the need over (earlier assignments end)."
)
class DispatchNeedInput:
    need_id: strawberry.ID = strawberry.field(description=NEED_ID)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    to_person_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="People to send (at most 50)."
    )
    to_team_id: strawberry.ID | None = strawberry.field(default=None, description="A team to send.")
    to_grid_worker: bool = strawberry.field(
        default=False, description="Also send the need's grid worker (专职网格员, else 网格长)."
    )
    slot: TimeWindowInput | None = strawberry.field(
        default=None,
        description="A scheduled need: the visit to book, inside its service window (default: "
        "the first slot of the window that can be reached from now).",
    )
    note: str = strawberry.field(default="", description="Instructions, for the log.")


@strawberry.input(description="到场 or 办结: a step by whoever was dispatched (or staff).")
class NeedStepInput:
    need_id: strawberry.ID = strawberry.field(description=NEED_ID)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    note: str = strawberry.field(default="", description="A note for the log.")


@strawberry.input(description="评价: the reporter's rating of the result; closes the need.")
class RateNeedInput:
    need_id: strawberry.ID = strawberry.field(description=NEED_ID)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    satisfaction: int = strawberry.field(description="1 (very dissatisfied) to 5 (very satisfied).")
    comment: str = strawberry.field(default="", description="A comment, up to 500 characters.")


@strawberry.input(description="升级 or 退回, with the reason.")
class NeedReasonInput:
    need_id: strawberry.ID = strawberry.field(description=NEED_ID)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    reason: str = strawberry.field(description="Why (required), up to 1000 characters.")


@strawberry.input(description="A need and the version you read of it.")
class NeedVersionInput:
    id: strawberry.ID = strawberry.field(description=NEED_ID)
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)


@strawberry.input(description="合并: fold duplicate reports into one surviving need.")
class MergeNeedsInput:
    survivor_id: strawberry.ID = strawberry.field(description="The need that stays open.")
    duplicates: list[NeedVersionInput] = strawberry.field(
        description="The duplicates to fold into it (at most 50); they keep their reporters."
    )
    note: str = strawberry.field(default="", description="A note for the log.")


@strawberry.type(description="The need a closed-loop mutation changed, or why it did not.")
class NeedPayload:
    need: Need | None = strawberry.field(description="The need as it is now; null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).",
        extensions=[MaxItems(100)],
    )


@strawberry.type(description="The surviving need and the needs merged into it.")
class MergeNeedsPayload:
    need: Need | None = strawberry.field(description="The surviving need; null on error.")
    merged: list[Need] = strawberry.field(
        description="The needs now merged into it.", extensions=[MaxItems(50)]
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).",
        extensions=[MaxItems(100)],
    )


def _payload(row: NeedRow | None, errors: list[UserError]) -> NeedPayload:
    return NeedPayload(need=Need.from_row(row) if row is not None else None, user_errors=errors)


def _need_pk(value: strawberry.ID) -> int:
    return pk(value, "Need", "need_id")


class _NeedStep(Protocol):
    need_id: strawberry.ID
    expected_version: int | None


async def _on_need(
    info: Info, service: Callable[..., Awaitable[NeedRow]], input: _NeedStep, **arguments: Any
) -> NeedPayload:
    """A closed-loop step by the caller on the need `input` names, from the version it read."""
    step = await write_on(
        info,
        service,
        "need_id",
        input.need_id,
        "Need",
        expected_version=input.expected_version,
        **arguments,
    )
    return _payload(*step)


Input = strawberry.argument(description="The mutation's input.")


@strawberry.type
class NeedsMutation:
    @strawberry.mutation(
        description="吹哨: report a need. Its community and grid are found from the location "
        "when not given; a report sent again with the same `idempotencyKey` returns the first "
        "need; nearby open reports of the same category are linked as `duplicateOf`.",
        permission_classes=can("need.report"),
    )
    async def report_need(
        self, info: Info, input: Annotated[ReportNeedInput, Input]
    ) -> NeedPayload:
        async def work(session: AsyncSession) -> NeedRow:
            return await svc.report_need(
                session=session,
                actor=actor_of(info),
                title=input.title,
                category=input.category,
                latitude=input.location.latitude,
                longitude=input.location.longitude,
                description=input.description,
                source=input.source,
                media_urls=input.media_urls,
                address=input.address,
                urgency=input.urgency,
                community_id=opt_pk(input.community_id, "Community", "community_id"),
                grid_id=opt_pk(input.grid_id, "Grid", "grid_id"),
                compound_id=opt_pk(input.compound_id, "Compound", "compound_id"),
                idempotency_key=input.idempotency_key,
                reporter_phone=input.reporter_phone,
                kind=input.kind,
                window=_span(input.service_window),
                duration_minutes=input.duration_minutes,
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="受理: staff of the need's area accept a reported need (and may set its tier).",
        permission_classes=can("need.accept"),
    )
    async def accept_need(
        self, info: Info, input: Annotated[AcceptNeedInput, Input]
    ) -> NeedPayload:
        return await _on_need(info, svc.accept_need, input, tier=input.tier, note=input.note)

    @strawberry.mutation(
        description="派单/转派: dispatch an accepted need to people, a team or the grid worker. "
        "A response need gets `arriveBy` (10 minutes) and `resolveBy` (30 minutes, 4 hours or 1 "
        "day by tier) from now; a scheduled need is booked for a slot in its window: `arriveBy` "
        "is the slot's start, `resolveBy` its end.",
        permission_classes=can("need.dispatch"),
    )
    async def dispatch_need(
        self, info: Info, input: Annotated[DispatchNeedInput, Input]
    ) -> NeedPayload:
        async def work(session: AsyncSession) -> NeedRow:
            return await svc.dispatch_need(
                session=session,
                need_id=_need_pk(input.need_id),
                expected_version=input.expected_version,
                actor=actor_of(info),
                to_person_ids=pks(input.to_person_ids, "Person", "to_person_ids"),
                to_team_id=opt_pk(input.to_team_id, "Team", "to_team_id"),
                to_grid_worker=input.to_grid_worker,
                slot=Slot(*span) if (span := _span(input.slot)) else None,
                note=input.note,
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="到场: someone dispatched is on site.",
        permission_classes=can("need.arrive"),
    )
    async def arrive_need(self, info: Info, input: Annotated[NeedStepInput, Input]) -> NeedPayload:
        return await _on_need(info, svc.arrive_need, input, note=input.note)

    @strawberry.mutation(
        description="办结: the need is resolved (for a major need: a plan is made).",
        permission_classes=can("need.resolve"),
    )
    async def resolve_need(self, info: Info, input: Annotated[NeedStepInput, Input]) -> NeedPayload:
        return await _on_need(info, svc.resolve_need, input, note=input.note)

    @strawberry.mutation(
        description="评价: the reporter rates the result (1–5); the need is closed.",
        permission_classes=can("need.rate"),
    )
    async def rate_need(self, info: Info, input: Annotated[RateNeedInput, Input]) -> NeedPayload:
        return await _on_need(
            info, svc.rate_need, input, satisfaction=input.satisfaction, comment=input.comment
        )

    @strawberry.mutation(
        description="升级: raise the need's tier by one, with the reason; a dispatched need's "
        "`resolveBy` is recomputed from its dispatch time.",
        permission_classes=can("need.escalate"),
    )
    async def escalate_need(
        self, info: Info, input: Annotated[NeedReasonInput, Input]
    ) -> NeedPayload:
        return await _on_need(info, svc.escalate_need, input, reason=input.reason)

    @strawberry.mutation(
        description="退回: send dispatched work back to the coordinator's desk, with the reason "
        "(the assignments end; it can be dispatched again).",
        permission_classes=can("need.return"),
    )
    async def return_need(
        self, info: Info, input: Annotated[NeedReasonInput, Input]
    ) -> NeedPayload:
        return await _on_need(info, svc.return_need, input, reason=input.reason)

    @strawberry.mutation(
        description="合并: fold duplicate reports into one open need; the duplicates keep "
        "their reporters and point to it (`mergedInto`).",
        permission_classes=can("need.merge"),
    )
    async def merge_needs(
        self, info: Info, input: Annotated[MergeNeedsInput, Input]
    ) -> MergeNeedsPayload:
        merged_rows: list[NeedRow] = []

        async def work(session: AsyncSession) -> NeedRow:
            survivor_id = pk(input.survivor_id, "Need", "survivor_id")
            duplicates = [
                (pk(d.id, "Need", f"duplicates.{i}.id"), d.expected_version)
                for i, d in enumerate(input.duplicates)
            ]
            survivor = await svc.merge_needs(
                session=session,
                survivor_id=survivor_id,
                duplicates=duplicates,
                actor=actor_of(info),
                note=input.note,
            )
            for dup_id, _ in duplicates:
                merged_rows.append(await svc.get_need(session, dup_id))
            return survivor

        survivor, errors = await write(info, work)
        if survivor is None:
            return MergeNeedsPayload(need=None, merged=[], user_errors=errors)
        return MergeNeedsPayload(
            need=Need.from_row(survivor),
            merged=[Need.from_row(r) for r in merged_rows],
            user_errors=[],
        )
