"""Volunteering (义善庐陵): sign up for an activity or a need, cancel, check in, check out.
Each answers `{ signUp, userErrors }`."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.activities.types import SignUp
from api.graphql.context import Info
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.writes import actor_of, opt_pk, write, write_on
from schema.models import SignUp as SignUpRow
from schema.services import volunteering as svc


@strawberry.input(description="报名: take a place on an activity or a need (give exactly one).")
class SignUpInput:
    activity_id: strawberry.ID | None = strawberry.field(default=None, description="The activity.")
    need_id: strawberry.ID | None = strawberry.field(default=None, description="The need.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Whom to sign up; yourself when omitted (coordinators may sign up members "
        "of their area).",
    )


@strawberry.input(description="A sign-up to cancel, check in or check out.")
class SignUpStepInput:
    sign_up_id: strawberry.ID = strawberry.field(description="The sign-up's ID.")


@strawberry.type(description="The sign-up a volunteering mutation changed, or why it did not.")
class SignUpPayload:
    sign_up: SignUp | None = strawberry.field(description="The sign-up now; null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).",
        extensions=[MaxItems(100)],
    )


def _payload(row: SignUpRow | None, errors: list[UserError]) -> SignUpPayload:
    return SignUpPayload(
        sign_up=SignUp.from_row(row) if row is not None else None, user_errors=errors
    )


Input = strawberry.argument(description="The mutation's input.")


@strawberry.type
class VolunteeringMutation:
    @strawberry.mutation(
        description="报名: sign up for an activity (up to its capacity) or a need (up to its "
        "headcount); CAPACITY_REACHED when full. Signing up twice returns the same sign-up.",
        permission_classes=can("volunteer.sign_up"),
    )
    async def sign_up(self, info: Info, input: Annotated[SignUpInput, Input]) -> SignUpPayload:
        async def work(session: AsyncSession) -> SignUpRow:
            return await svc.sign_up(
                session=session,
                actor=actor_of(info),
                activity_id=opt_pk(input.activity_id, "Activity", "activity_id"),
                need_id=opt_pk(input.need_id, "Need", "need_id"),
                person_id=opt_pk(input.person_id, "Person", "person_id"),
            )

        return _payload(*await write(info, work))

    @strawberry.mutation(
        description="取消报名: give the place back (before checking in).",
        permission_classes=can("volunteer.cancel_sign_up"),
    )
    async def cancel_sign_up(
        self, info: Info, input: Annotated[SignUpStepInput, Input]
    ) -> SignUpPayload:
        step = await write_on(info, svc.cancel_sign_up, "sign_up_id", input.sign_up_id, "SignUp")
        return _payload(*step)

    @strawberry.mutation(
        description="签到: check in, from an hour before an activity starts until it ends.",
        permission_classes=can("volunteer.check_in"),
    )
    async def check_in(self, info: Info, input: Annotated[SignUpStepInput, Input]) -> SignUpPayload:
        step = await write_on(info, svc.check_in, "sign_up_id", input.sign_up_id, "SignUp")
        return _payload(*step)

    @strawberry.mutation(
        description="签退: check out; the service minutes (志愿服务时长) are logged, counted "
        "within the activity's time (at most 12 hours on a need).",
        permission_classes=can("volunteer.check_out"),
    )
    async def check_out(
        self, info: Info, input: Annotated[SignUpStepInput, Input]
    ) -> SignUpPayload:
        step = await write_on(info, svc.check_out, "sign_up_id", input.sign_up_id, "SignUp")
        return _payload(*step)
