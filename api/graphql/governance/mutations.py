"""赣事好商量·吉事广议 and 民声前哨点: consultations (parties, sessions, outcome, settled
disputes, needs from the outcome) and sentinel posts (keepers, suggestions as needs). The rules
live in `schema/services/consultations.py` and `schema/services/sentinel.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.areas.types import Consultation
from api.graphql.context import Info
from api.graphql.enums import NeedCategory
from api.graphql.errors import UserError
from api.graphql.governance.types import SentinelPost
from api.graphql.lists import MaxItems
from api.graphql.needs.types import Need
from api.graphql.writes import actor_of, opt_pk, pk, write
from schema.base import aware
from schema.models import Consultation as ConsultationRow
from schema.models import Need as NeedRow
from schema.models import SentinelPost as PostRow
from schema.services import consultations as consult
from schema.services import sentinel

EXPECTED_VERSION = (
    "The `version` you read; when it is no longer current nothing changes and the answer is "
    "CONFLICT."
)
ERRORS = "Why nothing was changed (empty on success)."
CONSULTATION_ID = "The consultation."


@strawberry.input(description="A party to a consultation.")
class ConsultationPartyInput:
    name: str = strawberry.field(description="Who (1–96 chars), named once per consultation.")
    role: str = strawberry.field(default="", description="Their part (申请方, 调解方 …).")
    person_id: strawberry.ID | None = strawberry.field(default=None, description="A person.")
    unit_id: strawberry.ID | None = strawberry.field(default=None, description="A paired unit.")


@strawberry.input(description="赣事好商量: a consultation on a topic, with its parties.")
class CreateConsultationInput:
    community_id: strawberry.ID = strawberry.field(description="Where (in your area).")
    topic: str = strawberry.field(description="What it is about (1–200 chars).")
    held_at: datetime = strawberry.field(description="When it is (first) held.")
    parties: list[ConsultationPartyInput] = strawberry.field(
        default_factory=list, description="Its parties (at most 50)."
    )


@strawberry.input(description="One sitting of a consultation.")
class RecordConsultationSessionInput:
    consultation_id: strawberry.ID = strawberry.field(description=CONSULTATION_ID)
    held_at: datetime = strawberry.field(description="When it sat.")
    attendees: int = strawberry.field(description="How many came.")
    place: str = strawberry.field(default="", description="Where.")
    minutes: str = strawberry.field(default="", description="The minutes.")


@strawberry.input(description="协商成果: what was agreed; it concludes the consultation.")
class RecordConsultationOutcomeInput:
    consultation_id: strawberry.ID = strawberry.field(description=CONSULTATION_ID)
    outcome: str = strawberry.field(description="What was agreed (1–5000 chars).")
    expected_version: int | None = strawberry.field(
        default=None, description=EXPECTED_VERSION + " Required to amend a recorded outcome."
    )


@strawberry.input(description="化解矛盾: disputes a consultation settled, one summary each.")
class SettleDisputesInput:
    consultation_id: strawberry.ID = strawberry.field(description=CONSULTATION_ID)
    summaries: list[str] = strawberry.field(description="One per dispute (1–50, ≤ 500 chars).")


@strawberry.input(description="A need an outcome turns into.")
class NeedFromOutcomeInput:
    title: str = strawberry.field(description="Short title, 1–200 characters.")
    category: NeedCategory = strawberry.field(description="What it is about.")
    description: str = strawberry.field(default="", description="Default: the topic.")
    latitude: float | None = strawberry.field(
        default=None, description="Where (with longitude); default: the community's centre."
    )
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    address: str = strawberry.field(default="", description="Address.")
    urgency: int = strawberry.field(default=3, description="1 (can wait) to 5 (urgent).")


@strawberry.input(description="Turn a recorded outcome into needs linked to the consultation.")
class CreateNeedsFromConsultationInput:
    consultation_id: strawberry.ID = strawberry.field(description=CONSULTATION_ID)
    needs: list[NeedFromOutcomeInput] = strawberry.field(description="1 to 20 needs.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Resending the same list with the same key answers with the same needs.",
    )


@strawberry.input(description="民声前哨点: a post and its keeper.")
class CreateSentinelPostInput:
    community_id: strawberry.ID = strawberry.field(description="Where (in your area).")
    name: str = strawberry.field(description="Name, unique in the community (1–96 chars).")
    keeper_id: strawberry.ID = strawberry.field(description="The keeper (a Person).")
    latitude: float = strawberry.field(description="Latitude.")
    longitude: float = strawberry.field(description="Longitude.")
    address: str = strawberry.field(default="", description="Address.")


@strawberry.input(description="Changes to a sentinel post; what is left out stays as it is.")
class UpdateSentinelPostInput:
    post_id: strawberry.ID = strawberry.field(description="The post.")
    expected_version: int | None = strawberry.field(default=None, description=EXPECTED_VERSION)
    name: str | None = strawberry.field(default=None, description="A new name.")
    keeper_id: strawberry.ID | None = strawberry.field(default=None, description="A new keeper.")
    address: str | None = strawberry.field(default=None, description="A new address.")
    latitude: float | None = strawberry.field(default=None, description="With longitude.")
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    is_active: bool | None = strawberry.field(
        default=None, description="false closes the post: no more suggestions from it."
    )


@strawberry.input(description="A suggestion passed on from a sentinel post.")
class SubmitSentinelSuggestionInput:
    post_id: strawberry.ID = strawberry.field(description="The post.")
    title: str = strawberry.field(description="Short title, 1–200 characters.")
    category: NeedCategory = strawberry.field(description="What it is about.")
    description: str = strawberry.field(default="", description="Details.")
    latitude: float | None = strawberry.field(
        default=None, description="Where (with longitude); default: the post's place."
    )
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    address: str = strawberry.field(default="", description="Default: the post's address.")
    urgency: int = strawberry.field(default=3, description="1 (can wait) to 5 (urgent).")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Resending with the same key answers with the same need."
    )


@strawberry.type(description="The consultation, or why nothing changed.")
class ConsultationPayload:
    consultation: Consultation | None = strawberry.field(
        description="The consultation now; null on error."
    )
    user_errors: list[UserError] = strawberry.field(description=ERRORS, extensions=[MaxItems(100)])


@strawberry.type(description="The needs made from the outcome, or why none were.")
class ConsultationNeedsPayload:
    needs: list[Need] = strawberry.field(
        description="The needs, in the order given (empty on error).", extensions=[MaxItems(20)]
    )
    user_errors: list[UserError] = strawberry.field(description=ERRORS, extensions=[MaxItems(100)])


@strawberry.type(description="The sentinel post, or why nothing changed.")
class SentinelPostPayload:
    post: SentinelPost | None = strawberry.field(description="The post now; null on error.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS, extensions=[MaxItems(100)])


@strawberry.type(description="The need a suggestion became, or why it did not.")
class SentinelSuggestionPayload:
    need: Need | None = strawberry.field(description="The need; null on error.")
    user_errors: list[UserError] = strawberry.field(description=ERRORS, extensions=[MaxItems(100)])


def _consultation(row: ConsultationRow | None, errors: list[UserError]) -> ConsultationPayload:
    found = Consultation.from_row(row) if row is not None else None
    return ConsultationPayload(consultation=found, user_errors=errors)


def _post(row: PostRow | None, errors: list[UserError]) -> SentinelPostPayload:
    return SentinelPostPayload(post=SentinelPost.from_row(row) if row else None, user_errors=errors)


@strawberry.type
class GovernanceMutation:
    @strawberry.mutation(
        description="赣事好商量·吉事广议: open a consultation on a topic with its parties.",
        permission_classes=can("consultation.manage"),
    )
    async def create_consultation(
        self,
        info: Info,
        input: Annotated[CreateConsultationInput, strawberry.argument(description="It.")],
    ) -> ConsultationPayload:
        async def work(session: AsyncSession) -> ConsultationRow:
            parties = [
                consult.Party(
                    name=x.name,
                    role=x.role,
                    person_id=opt_pk(x.person_id, "Person", f"parties.{i}.person_id"),
                    unit_id=opt_pk(x.unit_id, "PairedUnit", f"parties.{i}.unit_id"),
                )
                for i, x in enumerate(input.parties)
            ]
            return await consult.create_consultation(
                session=session,
                actor=actor_of(info),
                community_id=pk(input.community_id, "Community", "community_id"),
                topic=input.topic,
                held_at=aware(input.held_at),
                parties=parties,
            )

        return _consultation(*await write(info, work))

    @strawberry.mutation(
        description="Record a sitting of an open consultation.",
        permission_classes=can("consultation.manage"),
    )
    async def record_consultation_session(
        self,
        info: Info,
        input: Annotated[RecordConsultationSessionInput, strawberry.argument(description="It.")],
    ) -> ConsultationPayload:
        async def work(session: AsyncSession) -> ConsultationRow:
            return await consult.record_session(
                session=session,
                actor=actor_of(info),
                consultation_id=pk(input.consultation_id, "Consultation", "consultation_id"),
                held_at=aware(input.held_at),
                attendees=input.attendees,
                place=input.place,
                minutes=input.minutes,
            )

        return _consultation(*await write(info, work))

    @strawberry.mutation(
        description="协商成果: record what was agreed (concludes it; amend with expectedVersion).",
        permission_classes=can("consultation.manage"),
    )
    async def record_consultation_outcome(
        self,
        info: Info,
        input: Annotated[RecordConsultationOutcomeInput, strawberry.argument(description="It.")],
    ) -> ConsultationPayload:
        async def work(session: AsyncSession) -> ConsultationRow:
            return await consult.record_outcome(
                session=session,
                actor=actor_of(info),
                consultation_id=pk(input.consultation_id, "Consultation", "consultation_id"),
                outcome=input.outcome,
                expected_version=input.expected_version,
            )

        return _consultation(*await write(info, work))

    @strawberry.mutation(
        description="化解矛盾: record disputes a consultation settled (counted in countyStats' "
        "disputesSettled).",
        permission_classes=can("consultation.manage"),
    )
    async def settle_disputes(
        self,
        info: Info,
        input: Annotated[SettleDisputesInput, strawberry.argument(description="The disputes.")],
    ) -> ConsultationPayload:
        async def work(session: AsyncSession) -> ConsultationRow:
            return await consult.settle_disputes(
                session=session,
                actor=actor_of(info),
                consultation_id=pk(input.consultation_id, "Consultation", "consultation_id"),
                summaries=input.summaries,
            )

        return _consultation(*await write(info, work))

    @strawberry.mutation(
        description="Turn a recorded outcome into needs (source CONSULTATION) linked to the "
        "consultation, reported through the closed loop.",
        permission_classes=can("consultation.manage"),
    )
    async def create_needs_from_consultation(
        self,
        info: Info,
        input: Annotated[CreateNeedsFromConsultationInput, strawberry.argument(description="It.")],
    ) -> ConsultationNeedsPayload:
        async def work(session: AsyncSession) -> list[NeedRow]:
            return await consult.needs_from_outcome(
                session=session,
                actor=actor_of(info),
                consultation_id=pk(input.consultation_id, "Consultation", "consultation_id"),
                needs=[
                    consult.NeedFromOutcome(
                        title=n.title,
                        category=n.category,
                        description=n.description,
                        latitude=n.latitude,
                        longitude=n.longitude,
                        address=n.address,
                        urgency=n.urgency,
                    )
                    for n in input.needs
                ],
                idempotency_key=input.idempotency_key,
            )

        rows, errors = await write(info, work)
        needs = Need.from_rows(rows or [])
        return ConsultationNeedsPayload(needs=needs, user_errors=errors)

    @strawberry.mutation(
        description="民声前哨点: set up a sentinel post with its keeper.",
        permission_classes=can("sentinel.manage"),
    )
    async def create_sentinel_post(
        self,
        info: Info,
        input: Annotated[CreateSentinelPostInput, strawberry.argument(description="The post.")],
    ) -> SentinelPostPayload:
        async def work(session: AsyncSession) -> PostRow:
            return await sentinel.create_sentinel_post(
                session=session,
                actor=actor_of(info),
                community_id=pk(input.community_id, "Community", "community_id"),
                name=input.name,
                keeper_person_id=pk(input.keeper_id, "Person", "keeper_id"),
                latitude=input.latitude,
                longitude=input.longitude,
                address=input.address,
            )

        return _post(*await write(info, work))

    @strawberry.mutation(
        description="Change a sentinel post: its keeper, place or name, or close it.",
        permission_classes=can("sentinel.manage"),
    )
    async def update_sentinel_post(
        self,
        info: Info,
        input: Annotated[UpdateSentinelPostInput, strawberry.argument(description="Changes.")],
    ) -> SentinelPostPayload:
        async def work(session: AsyncSession) -> PostRow:
            return await sentinel.update_sentinel_post(
                session=session,
                actor=actor_of(info),
                post_id=pk(input.post_id, "SentinelPost", "post_id"),
                expected_version=input.expected_version,
                name=input.name,
                keeper_person_id=opt_pk(input.keeper_id, "Person", "keeper_id"),
                address=input.address,
                latitude=input.latitude,
                longitude=input.longitude,
                is_active=input.is_active,
            )

        return _post(*await write(info, work))

    @strawberry.mutation(
        description="A keeper's suggestion from their post (or one staff of its area enter) "
        "enters the closed loop as a need from the post (source SENTINEL_POST).",
        permission_classes=can("sentinel.suggest"),
    )
    async def submit_sentinel_suggestion(
        self,
        info: Info,
        input: Annotated[SubmitSentinelSuggestionInput, strawberry.argument(description="It.")],
    ) -> SentinelSuggestionPayload:
        async def work(session: AsyncSession) -> NeedRow:
            return await sentinel.submit_suggestion(
                session=session,
                actor=actor_of(info),
                post_id=pk(input.post_id, "SentinelPost", "post_id"),
                title=input.title,
                category=input.category,
                description=input.description,
                latitude=input.latitude,
                longitude=input.longitude,
                address=input.address,
                urgency=input.urgency,
                idempotency_key=input.idempotency_key,
            )

        row, errors = await write(info, work)
        need = Need.from_row(row) if row is not None else None
        return SentinelSuggestionPayload(need=need, user_errors=errors)
