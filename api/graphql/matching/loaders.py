"""Batched reads for matching jobs: proposal pages."""

from __future__ import annotations

from typing import Any

from api.graphql.context import Info
from api.graphql.relay import Connection, Ordering, PageArgs, SortKey, child_connection
from schema import models as m
from schema.enums import ProposalStatus

P = m.Proposal
CHEAPEST = Ordering("COST_ASC", (SortKey(P.cost, "float"),), P.id)


async def proposals_of_job(
    info: Info, job_id: int, status: list[ProposalStatus] | None, page: PageArgs
) -> Connection[Any]:
    from api.graphql.matching.types import Proposal

    statuses = sorted(s.value for s in status) if status else None
    return await child_connection(
        info,
        type_cls=Proposal,
        fk="job_id",
        parent=job_id,
        page=page,
        ordering=CHEAPEST,
        name=f"job.proposals:{','.join(statuses) if statuses else '*'}",
        filters=[P.status.in_(statuses)] if statuses else [],
    )
