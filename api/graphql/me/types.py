"""The `Me` type: the caller's account (its fields kept on `Me` itself, as `me` answered them
before), person and own work, each a connection read through the row rules of
`schema.visibility` like every other page (`RowsPage`), so `me` shows nothing the caller could
not reach by other fields: it only finds it for them."""

from __future__ import annotations

from typing import Annotated, Any, Self

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.auth.privacy import viewer
from api.graphql.accounts.types import AccountNode
from api.graphql.context import Info
from api.graphql.enums import EnterpriseRequestStatus, NeedStatus, OfferStatus, SignUpStatus
from api.graphql.me.hours import ServiceHours, service_hours_of
from api.graphql.needs.offer_types import NeedOffer
from api.graphql.needs.queries import NeedFilter, need_conditions
from api.graphql.needs.types import NeedAssignment
from api.graphql.notifications.queries import inbox_page
from api.graphql.notifications.types import NotificationConnection
from api.graphql.relay import Ordering, PageQuery, RowsPage, SortKey, connection_field, load_one
from api.graphql.relay.connections import After, First
from api.graphql.type_refs import EnterpriseRequestT, NeedT, PersonT, SignUpT
from schema import models as m

N, A, S, R, OF = m.Need, m.NeedAssignment, m.SignUp, m.EnterpriseRequest, m.NeedOffer
NEWEST_NEEDS = Ordering("MY_NEEDS", (SortKey(N.reported_at, "dt"),), N.id, descending=True)
NEWEST_ASSIGNMENTS = Ordering(
    "MY_ASSIGNMENTS", (SortKey(A.assigned_at, "dt"),), A.id, descending=True
)
NEWEST_SIGN_UPS = Ordering("MY_SIGN_UPS", (SortKey(S.signed_up_at, "dt"),), S.id, descending=True)
NEWEST_OFFERS = Ordering("MY_OFFERS", (SortKey(OF.offered_at, "dt"),), OF.id, descending=True)
NEWEST_REQUESTS = Ordering("MY_REQUESTS", (SortKey(R.submitted_at, "dt"),), R.id, descending=True)


@strawberry.input(description="Which of my assignments: every condition given must hold.")
class MyAssignmentFilter:
    active: bool | None = strawberry.field(
        default=None, description="Still assigned (true) or handed over (false)."
    )
    need_status: list[NeedStatus] | None = strawberry.field(
        default=None, description="On needs in these statuses (e.g. DISPATCHED, ARRIVED)."
    )


@strawberry.type(
    name="Me",
    description="The caller: the account's own fields (as `Account`), its person, and its own "
    "work, each a page like any other list (the same row rules apply).",
)
class Me(AccountNode):
    @classmethod
    def of(cls, account: AccountNode) -> Self:
        obj = cls.__new__(cls)
        obj.__dict__.update(account.__dict__)
        return obj

    def _person(self) -> int | None:
        pid: int | None = self.__dict__.get("person_id")
        return pid

    @strawberry.field(description="The account itself.")
    def account(self) -> AccountNode:
        return AccountNode.from_row(_Row(self.__dict__))

    @strawberry.field(description="The person this account belongs to (null: none).")
    async def person(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self._person())

    @connection_field(
        NeedT,
        description="Needs I reported (as a resident, on patrol, from a hotline call), newest "
        "first; `filter` as in `needs`.",
        permission_classes=can("need.read"),
    )
    async def my_needs(
        self,
        info: Info,
        filter: Annotated[
            NeedFilter | None, strawberry.argument(description="Which needs.")
        ] = None,
    ) -> PageQuery:
        mine: list[Any] = [N.reporter_account_id == self.pk]
        if self._person() is not None:
            mine.append(N.reporter_person_id == self._person())
        return RowsPage(
            NeedT, NEWEST_NEEDS, [sa.or_(*mine), *need_conditions(filter, viewer(info))]
        )

    @connection_field(
        NeedAssignment,
        description="Needs I was dispatched to, in person or with my team (volunteers, grid "
        "workers), newest dispatch first.",
        permission_classes=can("need.read"),
    )
    async def my_assignments(
        self,
        filter: Annotated[
            MyAssignmentFilter | None, strawberry.argument(description="Which ones.")
        ] = None,
    ) -> PageQuery:
        person = self._person()
        if person is None:
            return RowsPage(NeedAssignment, NEWEST_ASSIGNMENTS, [sa.false()])
        teams = sa.select(col(m.TeamMembership.team_id)).where(
            col(m.TeamMembership.person_id) == person
        )
        where: list[Any] = [sa.or_(col(A.person_id) == person, col(A.team_id).in_(teams))]
        if filter is not None and filter.active is not None:
            where.append(col(A.active).is_(filter.active))
        if filter is not None and filter.need_status:
            statuses = sa.select(col(N.id)).where(col(N.status).in_(filter.need_status))
            where.append(col(A.need_id).in_(statuses))
        return RowsPage(NeedAssignment, NEWEST_ASSIGNMENTS, where)

    @connection_field(
        SignUpT,
        description="My sign-ups for activities, newest first.",
        permission_classes=can("account.me"),
    )
    async def my_sign_ups(
        self,
        status: Annotated[
            list[SignUpStatus] | None, strawberry.argument(description="In these statuses.")
        ] = None,
    ) -> PageQuery:
        person = self._person()
        where: list[Any] = [S.person_id == person if person is not None else sa.false()]
        if status:
            where.append(col(S.status).in_(status))
        return RowsPage(SignUpT, NEWEST_SIGN_UPS, where)

    @connection_field(
        NeedOffer,
        description="My offers to take needs (请缨), newest first.",
        permission_classes=can("need.read"),
    )
    async def my_offers(
        self,
        status: Annotated[
            list[OfferStatus] | None, strawberry.argument(description="In these statuses.")
        ] = None,
    ) -> PageQuery:
        person = self._person()
        where: list[Any] = [OF.person_id == person if person is not None else sa.false()]
        if status:
            where.append(col(OF.status).in_(status))
        return RowsPage(NeedOffer, NEWEST_OFFERS, where)

    @connection_field(
        EnterpriseRequestT,
        description="Enterprise requests that are mine: an enterprise account's own "
        "enterprise's; a helper's assigned or claimed ones; any I submitted. Newest first.",
        permission_classes=can("enterprise.read"),
    )
    async def my_enterprise_requests(
        self,
        status: Annotated[
            list[EnterpriseRequestStatus] | None,
            strawberry.argument(description="In these statuses."),
        ] = None,
    ) -> PageQuery:
        d = self.__dict__
        mine: list[Any] = [R.submitted_by_account_id == self.pk]
        if d.get("enterprise_id") is not None:
            mine.append(R.enterprise_id == d["enterprise_id"])
        if self._person() is not None:
            mine.append(R.helper_id == self._person())
        where: list[Any] = [sa.or_(*mine)]
        if status:
            where.append(col(R.status).in_(status))
        return RowsPage(EnterpriseRequestT, NEWEST_REQUESTS, where)

    @strawberry.field(description="My service hours (志愿服务时长), from my check-outs.")
    async def service_hours(self, info: Info) -> ServiceHours:
        return await service_hours_of(info, self._person())

    @strawberry.field(
        description="My notifications (站内信), newest first: as `myNotifications`.",
        permission_classes=can("notification.read_own"),
    )
    async def notifications(
        self,
        info: Info,
        unread_only: Annotated[
            bool, strawberry.argument(description="Only those not yet marked read.")
        ] = False,
        first: First = None,
        after: After = None,
    ) -> NotificationConnection:
        return await inbox_page(info, unread_only, first, after)


class _Row:
    """A mapping in the shape `from_row` reads (`_mapping`)."""

    def __init__(self, values: dict[str, Any]) -> None:
        # `id` holds the global ID on a built object; a row carries the key there.
        self._mapping = {k: v for k, v in values.items() if k != "pk"} | {"id": values["pk"]}
