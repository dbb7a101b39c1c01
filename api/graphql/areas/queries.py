"""Root fields for areas: communities and villages, grids, compounds, venues, consultations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.areas.types import Community, Compound, Consultation, Grid, Venue
from api.graphql.context import Info
from api.graphql.enums import AreaKind, AreaMode, GridKind, VenueKind
from api.graphql.relay import (
    Ordering,
    PageQuery,
    RowsPage,
    SortKey,
    connection_field,
    decode_id,
    load_one,
)
from schema import models as m

if TYPE_CHECKING:
    from sqlalchemy.orm import Mapped

CommunityIds = Annotated[
    list[strawberry.ID] | None, strawberry.argument(description="Only in these communities.")
]


@strawberry.input(description="Which communities and villages to list.")
class CommunityFilter:
    kind: AreaKind | None = strawberry.field(
        default=None, description="Urban communities or villages only."
    )
    township: str | None = strawberry.field(default=None, description="In this township (乡镇).")
    mode: AreaMode | None = strawberry.field(
        default=None, description="In this mode (normal or emergency)."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="Name contains this text."
    )


def _name_order(model: type) -> Ordering:
    return Ordering("NAME", (SortKey(model.name, "str"),), model.id)  # type: ignore[attr-defined]  # model: any area table (name, id)


def _in(column: Mapped[int | None], ids: list[strawberry.ID] | None, type_name: str) -> list[Any]:
    if ids is None:
        return []
    return [column.in_([decode_id(i, type_name) for i in ids])]


@strawberry.type
class AreasQuery:
    @connection_field(
        Community,
        description="Communities and villages, by name.",
        permission_classes=can("reference.read"),
    )
    async def communities(
        self,
        filter: Annotated[
            CommunityFilter | None, strawberry.argument(description="Which ones.")
        ] = None,
    ) -> PageQuery:
        c = m.Community
        where: list[object] = []
        if filter is not None:
            if filter.kind is not None:
                where.append(c.kind == filter.kind)
            if filter.township is not None:
                where.append(c.township == filter.township)
            if filter.mode is not None:
                where.append(c.mode == filter.mode)
            if filter.name_contains:
                where.append(col(c.name).contains(filter.name_contains, autoescape=True))
        return RowsPage(Community, _name_order(c), where)

    @strawberry.field(
        description="One community or village by ID.", permission_classes=can("reference.read")
    )
    async def community(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> Community | None:
        return await load_one(info, Community, decode_id(id, "Community"))

    @connection_field(Grid, description="Grids, by code.", permission_classes=can("reference.read"))
    async def grids(
        self,
        community: CommunityIds = None,
        kind: Annotated[
            GridKind | None, strawberry.argument(description="Urban or rural grids only.")
        ] = None,
    ) -> PageQuery:
        g = m.Grid
        where = _in(col(g.community_id), community, "Community")
        if kind is not None:
            where.append(g.kind == kind)
        return RowsPage(Grid, Ordering("CODE", (SortKey(g.code, "str"),), g.id), where)

    @connection_field(
        Compound,
        description="Residential compounds (小区), by name.",
        permission_classes=can("reference.read"),
    )
    async def compounds(
        self,
        community: CommunityIds = None,
        red_property: Annotated[
            bool | None, strawberry.argument(description="Red-property (红色物业) sites or not.")
        ] = None,
    ) -> PageQuery:
        c = m.Compound
        where = _in(col(c.community_id), community, "Community")
        if red_property is not None:
            where.append(c.is_red_property == red_property)
        return RowsPage(Compound, _name_order(c), where)

    @connection_field(
        Venue,
        description="Venues: service stations, village venues, elder-care sites.",
        permission_classes=can("reference.read"),
    )
    async def venues(
        self,
        community: CommunityIds = None,
        kind: Annotated[
            list[VenueKind] | None, strawberry.argument(description="Of these kinds only.")
        ] = None,
    ) -> PageQuery:
        v = m.Venue
        where = _in(col(v.community_id), community, "Community")
        if kind:
            where.append(col(v.kind).in_(kind))
        return RowsPage(Venue, _name_order(v), where)

    @connection_field(
        Consultation,
        description="Consultations (协商议事), latest first.",
        permission_classes=can("reference.read"),
    )
    async def consultations(self, community: CommunityIds = None) -> PageQuery:
        c = m.Consultation
        return RowsPage(
            Consultation,
            Ordering("HELD_AT_DESC", (SortKey(c.held_at, "dt"),), c.id, descending=True),
            _in(col(c.community_id), community, "Community"),
        )
