"""In-service party members (在职党员下沉报到) and 三亮三比·双述: register, report, evaluate both
ways; `inServiceMembers` lists them. Rows: `schema.visibility` (the member, their community's
staff, their unit's people); comments: `schema.disclosure`. Rules: `schema.services.members`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.auth.permissions import can
from api.auth.privacy import viewer
from api.graphql.context import Info
from api.graphql.enums import EvaluationDirection
from api.graphql.errors import UserError
from api.graphql.lists import MaxItems
from api.graphql.people.types import Person
from api.graphql.relay import (
    Node,
    Ordering,
    PageQuery,
    RowsPage,
    RowType,
    SortKey,
    connection_field,
    decode_id,
    frozen,
    load_children,
    load_one,
    register_node,
)
from api.graphql.type_refs import CommunityT, PairedUnitT
from api.graphql.writes import actor_of, opt_pk, pk, write
from schema import models as m
from schema.disclosure import sees_evaluation_comment
from schema.services import members as svc

Input = strawberry.argument(description="The mutation's input.")


@strawberry.type(description="下沉报到: an in-service party member registered where they live.")
class InServiceMember(RowType, Node):
    __model__ = m.InServiceMember
    __node_name__ = "InServiceMember"
    __needs__ = frozen(
        {
            "person": ("person_id",),
            "community": ("community_id",),
            "unit": ("unit_id",),
        }
    )

    post: str = strawberry.field(description="定岗: the post they take in the community.")
    responsibility: str = strawberry.field(description="定责: what they answer for.")
    registered_at: datetime = strawberry.field(description="When they registered (报到).")
    person_id: strawberry.Private[int]
    community_id: strawberry.Private[int]
    unit_id: strawberry.Private[int | None]

    @strawberry.field(description="The member.", permission_classes=can("person.read"))
    async def person(self, info: Info) -> Person | None:
        return await load_one(info, Person, self.person_id)

    @strawberry.field(description="The community they registered with (where they live).")
    async def community(self, info: Info) -> CommunityT:
        return await load_one(info, CommunityT, self.community_id)

    @strawberry.field(description="Their unit (结对共建 employer).")
    async def unit(self, info: Info) -> PairedUnitT | None:
        return await load_one(info, PairedUnitT, self.unit_id)

    @strawberry.field(description="双述: their reports, newest first.", extensions=[MaxItems(100)])
    async def reports(self, info: Info) -> list[MemberReport]:
        order = [col(m.MemberReport.period).desc(), m.MemberReport.id]
        return await load_children(info, MemberReport, "member_id", self.pk, order_by=order)

    @strawberry.field(
        description="双向评议: scores both ways, newest period first.", extensions=[MaxItems(200)]
    )
    async def evaluations(self, info: Info) -> list[MemberEvaluation]:
        order = [col(m.MemberEvaluation.period).desc(), m.MemberEvaluation.id]
        return await load_children(info, MemberEvaluation, "member_id", self.pk, order_by=order)


@strawberry.type(description="双述: a member's report for one period.")
class MemberReport(RowType, Node):
    __model__ = m.MemberReport
    __node_name__ = "MemberReport"
    __needs__ = frozen({"member": ("member_id",)})

    period: str = strawberry.field(description="2026, 2026-H2, 2026-Q4 or 2026-11.")
    summary: str = strawberry.field(description="What they showed, compared and achieved.")
    service_minutes: int = strawberry.field(
        description="Service minutes they had logged when they reported (比作为)."
    )
    submitted_at: datetime = strawberry.field(description="When.")
    member_id: strawberry.Private[int]

    @strawberry.field(description="The member.")
    async def member(self, info: Info) -> InServiceMember | None:
        return await load_one(info, InServiceMember, self.member_id)


@strawberry.type(description="双向评议: one score, community → member or member → community.")
class MemberEvaluation(RowType, Node):
    __model__ = m.MemberEvaluation
    __node_name__ = "MemberEvaluation"

    period: str = strawberry.field(description="The period it scores.")
    direction: EvaluationDirection = strawberry.field(description="Who rates whom.")
    score: int = strawberry.field(description="0–100.")
    at: datetime = strawberry.field(description="When.")
    __needs__ = frozen(
        {
            "comment": ("comment", "member_id", "community_id"),
            "by_name": ("by_name", "member_id", "community_id"),
            "member": ("member_id",),
        }
    )
    member_id: strawberry.Private[int]
    community_id: strawberry.Private[int]

    async def _sees_comment(self, info: Info) -> bool:
        member = await load_one(info, InServiceMember, self.member_id)
        person_id = member.person_id if member is not None else None
        return sees_evaluation_comment(viewer(info), person_id, self.community_id)

    @strawberry.field(description="The comment; null where masked (the unit sees scores only).")
    async def comment(self, info: Info) -> str | None:
        raw: str = self.__dict__["comment"]
        return raw if await self._sees_comment(info) else None

    @strawberry.field(description="Who gave it; null where masked.")
    async def by_name(self, info: Info) -> str | None:
        raw: str = self.__dict__["by_name"]
        return raw if await self._sees_comment(info) else None

    @strawberry.field(description="The member.")
    async def member(self, info: Info) -> InServiceMember | None:
        return await load_one(info, InServiceMember, self.member_id)


register_node(InServiceMember, "member.read")
register_node(MemberReport, "member.read")
register_node(MemberEvaluation, "member.read")


@strawberry.input(
    description="下沉报到: whom (one of: personId, registryRecordId, or name and idNumber), "
    "where they live, their unit and duties (双定)."
)
class RegisterInServiceMemberInput:
    community_id: strawberry.ID = strawberry.field(description="Where they live.")
    unit_id: strawberry.ID = strawberry.field(description="Their unit (结对共建 employer).")
    post: str = strawberry.field(description="定岗: their post (up to 64 characters).")
    responsibility: str = strawberry.field(description="定责: their responsibility.")
    person_id: strawberry.ID | None = strawberry.field(default=None, description="A person.")
    registry_record_id: strawberry.ID | None = strawberry.field(
        default=None, description="A person of the shared registry (一表同享)."
    )
    name: str | None = strawberry.field(default=None, description="By hand: the name.")
    id_number: str | None = strawberry.field(
        default=None, description="By hand: the ID number (GB 11643, check digit verified)."
    )
    phone: str | None = strawberry.field(default=None, description="By hand: a phone number.")


@strawberry.input(description="双述: a member's report for one period.")
class SubmitMemberReportInput:
    member_id: strawberry.ID = strawberry.field(description="The in-service member.")
    period: str = strawberry.field(description="2026, 2026-H2, 2026-Q4 or 2026-11.")
    summary: str = strawberry.field(description="亮身份, 比作为, 述实效 (up to 2000 characters).")


@strawberry.input(description="社区评党员: the community's score for a member's period.")
class EvaluateMemberInput:
    member_id: strawberry.ID = strawberry.field(description="The in-service member.")
    period: str = strawberry.field(description="The period they reported for.")
    score: int = strawberry.field(description="0–100.")
    comment: str = strawberry.field(default="", description="Why (up to 500 characters).")


@strawberry.input(description="党员评社区: your score for the community you registered with.")
class EvaluateCommunityInput:
    period: str = strawberry.field(description="The period.")
    score: int = strawberry.field(description="0–100.")
    comment: str = strawberry.field(default="", description="Why (up to 500 characters).")


@strawberry.type(description="The member registered, or why not.")
class InServiceMemberPayload:
    member: InServiceMember | None = strawberry.field(description="Null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


@strawberry.type(description="The report submitted, or why not.")
class MemberReportPayload:
    report: MemberReport | None = strawberry.field(description="Null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


@strawberry.type(description="The evaluation given, or why not.")
class MemberEvaluationPayload:
    evaluation: MemberEvaluation | None = strawberry.field(description="Null on error.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


def _evaluation(row: m.MemberEvaluation | None, errors: list[UserError]) -> MemberEvaluationPayload:
    evaluation = MemberEvaluation.from_row(row) if row is not None else None
    return MemberEvaluationPayload(evaluation=evaluation, user_errors=errors)


@strawberry.type
class MembersMutation:
    @strawberry.mutation(
        description="下沉报到: register an in-service party member with the community where "
        "they live (your area), with their unit and duties; CONFLICT if already registered.",
        permission_classes=can("member.register"),
    )
    async def register_in_service_member(
        self, info: Info, input: Annotated[RegisterInServiceMemberInput, Input]
    ) -> InServiceMemberPayload:
        async def work(session: AsyncSession) -> m.InServiceMember:
            return await svc.register_member(
                session=session,
                actor=actor_of(info),
                community_id=pk(input.community_id, "Community", "community_id"),
                unit_id=pk(input.unit_id, "PairedUnit", "unit_id"),
                post=input.post,
                responsibility=input.responsibility,
                person_id=opt_pk(input.person_id, "Person", "person_id"),
                registry_record_id=opt_pk(
                    input.registry_record_id, "RegistryRecord", "registry_record_id"
                ),
                name=input.name,
                id_number=input.id_number,
                phone=input.phone,
            )

        row, errors = await write(info, work)
        member = InServiceMember.from_row(row) if row is not None else None
        return InServiceMemberPayload(member=member, user_errors=errors)

    @strawberry.mutation(
        description="双述: a member's report for a period (the member, or a coordinator of "
        "their community); once a period.",
        permission_classes=can("member.report"),
    )
    async def submit_member_report(
        self, info: Info, input: Annotated[SubmitMemberReportInput, Input]
    ) -> MemberReportPayload:
        async def work(session: AsyncSession) -> m.MemberReport:
            return await svc.submit_report(
                session=session,
                actor=actor_of(info),
                member_id=pk(input.member_id, "InServiceMember", "member_id"),
                period=input.period,
                summary=input.summary,
            )

        row, errors = await write(info, work)
        report = MemberReport.from_row(row) if row is not None else None
        return MemberReportPayload(report=report, user_errors=errors)

    @strawberry.mutation(
        description="社区评党员: score a member of your community for a period they reported "
        "for (0–100, once).",
        permission_classes=can("member.evaluate"),
    )
    async def evaluate_member(
        self, info: Info, input: Annotated[EvaluateMemberInput, Input]
    ) -> MemberEvaluationPayload:
        async def work(session: AsyncSession) -> m.MemberEvaluation:
            return await svc.evaluate_member(
                session=session,
                actor=actor_of(info),
                member_id=pk(input.member_id, "InServiceMember", "member_id"),
                period=input.period,
                score=input.score,
                comment=input.comment,
            )

        return _evaluation(*await write(info, work))

    @strawberry.mutation(
        description="党员评社区: as a registered member, score your community for a period "
        "(0–100, once).",
        permission_classes=can("member.evaluate_community"),
    )
    async def evaluate_community(
        self, info: Info, input: Annotated[EvaluateCommunityInput, Input]
    ) -> MemberEvaluationPayload:
        async def work(session: AsyncSession) -> m.MemberEvaluation:
            return await svc.evaluate_community(
                session=session,
                actor=actor_of(info),
                period=input.period,
                score=input.score,
                comment=input.comment,
            )

        return _evaluation(*await write(info, work))


MEMBERS_BY_REGISTRATION = Ordering(
    "REGISTERED_AT", (SortKey(m.InServiceMember.registered_at, "dt"),), m.InServiceMember.id
)


@strawberry.type
class MembersQuery:
    @connection_field(
        InServiceMember,
        description="下沉报到: in-service members you may see (yours, your area's, your unit's), "
        "in order of registration.",
        permission_classes=can("member.read"),
    )
    async def in_service_members(
        self,
        community_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Of this community only.")
        ] = None,
        unit_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Of this unit only.")
        ] = None,
    ) -> PageQuery:
        filters = []
        if community_id is not None:
            cid = decode_id(community_id, "Community")
            filters.append(col(m.InServiceMember.community_id) == cid)
        if unit_id is not None:
            filters.append(col(m.InServiceMember.unit_id) == decode_id(unit_id, "PairedUnit"))
        return RowsPage(InServiceMember, MEMBERS_BY_REGISTRATION, filters)
