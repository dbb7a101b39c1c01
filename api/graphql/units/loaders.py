"""Batched reads for paired units."""

from __future__ import annotations

from typing import Any

from api.graphql.context import Info
from api.graphql.relay import load_linked
from api.graphql.type_refs import PairedUnitT
from schema import models as m


async def units_of_community(info: Info, community_id: int) -> list[Any]:
    """Paired units twinned with a community (结对共建), by name."""
    return await load_linked(
        info,
        PairedUnitT,
        m.Pairing,
        parent="community_id",
        target="unit_id",
        key=community_id,
        order_by=[m.PairedUnit.name],
    )
