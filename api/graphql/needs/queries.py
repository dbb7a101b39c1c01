"""Root fields for needs: `needs(filter, orderBy, first/after/last/before)` and `need(id)`."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.auth.privacy import viewer
from api.graphql.context import Info
from api.graphql.enums import NeedCategory, NeedSource, NeedStatus, NeedTier
from api.graphql.needs.types import Need
from api.graphql.relay import (
    OrderDirection,
    PageQuery,
    RowsPage,
    SortKey,
    as_utc,
    connection_field,
    decode_id,
    ordering,
    select_one,
)
from schema import models as m
from schema.base import UTCDateTime
from schema.enums import OfferStatus
from schema.sla import need_overdue_clause
from schema.visibility import Viewer, visible_sql
from schema.workflow import OPEN_NEED_STATUSES

N = m.Need
# Needs without a deadline sort after every need with one.
_NO_DEADLINE = sa.literal(datetime(9999, 12, 31, tzinfo=UTC), UTCDateTime())


@strawberry.enum(description="What to sort needs by (then by ID, for a stable order).")
class NeedOrderField(enum.Enum):
    _value_: str  # for mypy: @strawberry.enum unwraps each enum_value to its str
    REPORTED_AT = strawberry.enum_value("REPORTED_AT", description="Report time.")
    UPDATED_AT = strawberry.enum_value("UPDATED_AT", description="Last change.")
    URGENCY = strawberry.enum_value("URGENCY", description="Urgency, then report time.")
    RESOLVE_BY = strawberry.enum_value(
        "RESOLVE_BY", description="Resolution deadline (needs without one last)."
    )


_SORT_KEYS: dict[NeedOrderField, tuple[SortKey, ...]] = {
    NeedOrderField.REPORTED_AT: (SortKey(N.reported_at, "dt"),),
    NeedOrderField.UPDATED_AT: (SortKey(N.updated_at, "dt"),),
    NeedOrderField.URGENCY: (SortKey(N.urgency, "int"), SortKey(N.reported_at, "dt")),
    NeedOrderField.RESOLVE_BY: (SortKey(sa.func.coalesce(N.resolve_by, _NO_DEADLINE), "dt"),),
}


@strawberry.input(description="How to sort needs.")
class NeedOrder:
    field: NeedOrderField = strawberry.field(
        default=NeedOrderField.REPORTED_AT, description="What to sort by."
    )
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.DESC, description="Which way."
    )


@strawberry.input(description="Which needs to list: every condition given must hold.")
class NeedFilter:
    status: list[NeedStatus] | None = strawberry.field(
        default=None, description="In one of these statuses."
    )
    open: bool | None = strawberry.field(
        default=None,
        description="Still open (reported, accepted, dispatched or arrived), or not.",
    )
    tier: list[NeedTier] | None = strawberry.field(default=None, description="In these tiers.")
    category: list[NeedCategory] | None = strawberry.field(
        default=None, description="In these categories."
    )
    source: list[NeedSource] | None = strawberry.field(
        default=None, description="From these sources."
    )
    community: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In these communities (IDs)."
    )
    grid: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In these grids (IDs)."
    )
    compound: list[strawberry.ID] | None = strawberry.field(
        default=None, description="In these residential compounds (IDs)."
    )
    property_company: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Routed to these property companies (PairedUnit IDs): a company's queue.",
    )
    overdue: bool | None = strawberry.field(
        default=None, description="Past a 1341 deadline while open (true), or not (false)."
    )
    reported_after: datetime | None = strawberry.field(
        default=None, description="Reported at or after this time."
    )
    reported_before: datetime | None = strawberry.field(
        default=None, description="Reported before this time."
    )
    awaiting_offer: bool | None = strawberry.field(
        default=None,
        description="With an offer (请缨) waiting for a decision (true), or none (false): a "
        "coordinator's queue of offers to accept. Counts only offers you may see.",
    )


def need_conditions(f: NeedFilter | None, reader: Viewer) -> list[Any]:
    """The filter as WHERE conditions; `reader` decides which offers `awaitingOffer` counts (a
    need's reporter may see the need but not who offered on it)."""
    if f is None:
        return []
    where: list[Any] = []
    if f.status:
        where.append(col(N.status).in_(f.status))
    if f.open is not None:
        is_open = col(N.status).in_(OPEN_NEED_STATUSES)
        where.append(is_open if f.open else sa.not_(is_open))
    if f.tier:
        where.append(col(N.tier).in_(f.tier))
    if f.category:
        where.append(col(N.category).in_(f.category))
    if f.source:
        where.append(col(N.source).in_(f.source))
    if f.community is not None:
        where.append(col(N.community_id).in_([decode_id(c, "Community") for c in f.community]))
    if f.grid is not None:
        where.append(col(N.grid_id).in_([decode_id(g, "Grid") for g in f.grid]))
    if f.compound is not None:
        where.append(col(N.compound_id).in_([decode_id(c, "Compound") for c in f.compound]))
    if f.property_company is not None:
        units = [decode_id(u, "PairedUnit") for u in f.property_company]
        where.append(col(N.property_unit_id).in_(units))
    if f.overdue is not None:
        clause = need_overdue_clause(datetime.now(UTC))
        where.append(clause if f.overdue else sa.not_(clause))
    if f.reported_after is not None:
        where.append(col(N.reported_at) >= as_utc(f.reported_after))
    if f.reported_before is not None:
        where.append(col(N.reported_at) < as_utc(f.reported_before))
    if f.awaiting_offer is not None:
        o = m.NeedOffer
        seen = visible_sql(o, reader)
        pending = sa.select(col(o.need_id)).where(
            col(o.status) == OfferStatus.OFFERED, *([] if seen is None else [seen])
        )
        waiting = col(N.id).in_(pending)
        where.append(waiting if f.awaiting_offer else sa.not_(waiting))
    return where


@strawberry.type
class NeedsQuery:
    @connection_field(
        Need,
        description="Residents' needs, filtered and sorted (newest first by default); at most "
        "100 a page.",
        permission_classes=can("need.read"),
    )
    async def needs(
        self,
        info: Info,
        filter: Annotated[
            NeedFilter | None, strawberry.argument(description="Which needs.")
        ] = None,
        order_by: Annotated[
            NeedOrder | None, strawberry.argument(description="Sort order.")
        ] = None,
    ) -> PageQuery:
        order = order_by or NeedOrder()
        return RowsPage(
            Need,
            ordering(order.field.value, _SORT_KEYS[order.field], N.id, order.direction),
            need_conditions(filter, viewer(info)),
        )

    @strawberry.field(description="One need by ID.", permission_classes=can("need.read"))
    async def need(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Need | None:
        return await select_one(info, Need, decode_id(id, "Need"))
