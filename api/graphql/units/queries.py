"""Root fields for paired units and resources."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.enums import ResourceKind, UnitKind
from api.graphql.relay import (
    Ordering,
    PageQuery,
    RowsPage,
    SortKey,
    connection_field,
    decode_id,
)
from api.graphql.units.types import PairedUnit, Resource
from schema import models as m


@strawberry.type
class UnitsQuery:
    @connection_field(
        PairedUnit,
        description="Paired units (结对共建单位), by name.",
        permission_classes=can("reference.read"),
    )
    async def paired_units(
        self,
        kind: Annotated[
            list[UnitKind] | None, strawberry.argument(description="Of these kinds only.")
        ] = None,
        twinned_with: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only units twinned with this community (ID)."),
        ] = None,
    ) -> PageQuery:
        u = m.PairedUnit
        where: list[object] = []
        if kind:
            where.append(col(u.kind).in_(kind))
        if twinned_with is not None:
            community_id = decode_id(twinned_with, "Community")
            where.append(
                col(u.id).in_(
                    sa.select(col(m.Pairing.unit_id)).where(
                        col(m.Pairing.community_id) == community_id
                    )
                )
            )
        return RowsPage(PairedUnit, Ordering("NAME", (SortKey(u.name, "str"),), u.id), where)

    @connection_field(
        Resource,
        description="Resources units and venues lend, by name.",
        permission_classes=can("reference.read"),
    )
    async def resources(
        self,
        kind: Annotated[
            list[ResourceKind] | None, strawberry.argument(description="Of these kinds only.")
        ] = None,
        unit: Annotated[
            strawberry.ID | None, strawberry.argument(description="Lent by this paired unit.")
        ] = None,
        available: Annotated[
            bool | None, strawberry.argument(description="Available for matching now, or not.")
        ] = None,
        retired: Annotated[
            bool | None, strawberry.argument(description="Retired (退出) ones only, or none.")
        ] = None,
    ) -> PageQuery:
        r = m.Resource
        where: list[object] = []
        if retired is not None:
            where.append(col(r.retired_at).is_not(None) if retired else col(r.retired_at).is_(None))
        if kind:
            where.append(col(r.kind).in_(kind))
        if unit is not None:
            where.append(r.unit_id == decode_id(unit, "PairedUnit"))
        if available is not None:
            where.append(r.is_available == available)
        return RowsPage(Resource, Ordering("NAME", (SortKey(r.name, "str"),), r.id), where)
