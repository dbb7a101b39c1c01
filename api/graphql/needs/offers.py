"""Offers (请缨): `offerNeed`, `withdrawOffer` (the volunteer), `acceptOffer` (whoever may
dispatch the need: it dispatches the volunteer through the closed loop) and `declineOffer`.
Each answers `{ offer, need, userErrors }`; the rules are in schema/services/offers.py."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.needs.offer_types import NeedOffer
from api.graphql.needs.types import Need
from api.graphql.relay import load_one
from api.graphql.writes import actor_of, pk, write, write_on
from schema.models import Need as NeedRow
from schema.models import NeedOffer as OfferRow
from schema.services import offers as svc


@strawberry.input(description="请缨: offer to take an open need that still has a place.")
class OfferNeedInput:
    need_id: strawberry.ID = strawberry.field(description="The need's ID.")
    note: str = strawberry.field(default="", description="A word to the coordinator (≤ 500).")


@strawberry.input(description="An offer to withdraw, accept or decline.")
class OfferStepInput:
    offer_id: strawberry.ID = strawberry.field(description="The offer's ID.")
    note: str = strawberry.field(
        default="",
        description="Accepting: the dispatch's note (≤ 1000); declining: the reason the "
        "volunteer is told (required, ≤ 500); withdrawing: not used.",
    )


@strawberry.type(description="The offer a mutation changed (and its need), or why it did not.")
class OfferPayload:
    offer: NeedOffer | None = strawberry.field(description="The offer now; null on error.")
    need: Need | None = strawberry.field(
        description="The need now (after an accepted offer: dispatched); null on error."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


def _payload(offer: OfferRow | None, need: NeedRow | None, errors: list[UserError]) -> OfferPayload:
    return OfferPayload(
        offer=NeedOffer.from_row(offer) if offer is not None else None,
        need=Need.from_row(need) if need is not None else None,
        user_errors=errors,
    )


Input = strawberry.argument(description="The mutation's input.")


@strawberry.type
class OffersMutation:
    @strawberry.mutation(
        description="请缨: offer to take an open need with a place left; a coordinator who "
        "accepts it dispatches you. CAPACITY_REACHED when no place is left; offering again "
        "returns the same offer (with the new note, if one is given). Not on a need you "
        "reported.",
        permission_classes=can("need.offer"),
    )
    async def offer_need(self, info: Info, input: Annotated[OfferNeedInput, Input]) -> OfferPayload:
        async def work(session: AsyncSession) -> OfferRow:
            need_id = pk(input.need_id, "Need", "need_id")
            return await svc.offer_need(
                session=session, actor=actor_of(info), need_id=need_id, note=input.note
            )

        offer, errors = await write(info, work)
        return await _payload_of(info, offer, errors)

    @strawberry.mutation(
        description="撤回: withdraw your offer before it is accepted.",
        permission_classes=can("need.offer"),
    )
    async def withdraw_offer(
        self, info: Info, input: Annotated[OfferStepInput, Input]
    ) -> OfferPayload:
        step = await write_on(info, svc.withdraw_offer, "offer_id", input.offer_id, "NeedOffer")
        return await _payload_of(info, *step)

    @strawberry.mutation(
        description="接受请缨: dispatch the volunteer who offered (a reported need is accepted "
        "first; people already on the need stay, with its deadlines). CAPACITY_REACHED when "
        "the need has no place left for them.",
        permission_classes=can("need.dispatch"),
    )
    async def accept_offer(
        self, info: Info, input: Annotated[OfferStepInput, Input]
    ) -> OfferPayload:
        async def work(session: AsyncSession) -> tuple[OfferRow, NeedRow]:
            offer_id = pk(input.offer_id, "NeedOffer", "offer_id")
            return await svc.accept_offer(
                session=session, actor=actor_of(info), offer_id=offer_id, note=input.note
            )

        done, errors = await write(info, work)
        if done is None:
            return _payload(None, None, errors)
        return _payload(*done, errors)

    @strawberry.mutation(
        description="不采纳: decline an offer still pending, with the reason (`note`, required) "
        "the volunteer is told as the offer's `answer`; their own note stays. Final: they "
        "cannot offer on that need again.",
        permission_classes=can("need.dispatch"),
    )
    async def decline_offer(
        self, info: Info, input: Annotated[OfferStepInput, Input]
    ) -> OfferPayload:
        step = await write_on(
            info, svc.decline_offer, "offer_id", input.offer_id, "NeedOffer", note=input.note
        )
        return await _payload_of(info, *step)


async def _payload_of(info: Info, offer: OfferRow | None, errors: list[UserError]) -> OfferPayload:
    """The volunteer's payload: the need through its row rule (null while it is not theirs to
    see: an offer grants no view of it until accepted)."""
    payload = _payload(offer, None, errors)
    if offer is not None:
        payload.need = await load_one(info, Need, offer.need_id)
    return payload
