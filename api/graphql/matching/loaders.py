"""Batched reads for matching jobs: proposal pages."""

from __future__ import annotations

from sqlmodel import col

from api.graphql.relay import (
    ChildrenPage,
    Ordering,
    SortKey,
)
from api.graphql.type_refs import ProposalT
from schema import models as m
from schema.enums import ProposalStatus

P = m.Proposal
CHEAPEST = Ordering("COST_ASC", (SortKey(P.cost, "float"),), P.id)


def proposals_of_job(job_id: int, status: list[ProposalStatus] | None) -> ChildrenPage:
    statuses = sorted(s.value for s in status) if status else None
    return ChildrenPage(
        ProposalT,
        fk="job_id",
        parent=job_id,
        ordering=CHEAPEST,
        name=f"job.proposals:{','.join(statuses) if statuses else '*'}",
        filters=[col(P.status).in_(statuses)] if statuses else [],
    )
