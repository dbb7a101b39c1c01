"""Root fields for matching jobs (their proposals and unmatched items hang off each job)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlmodel import col

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.enums import JobStatus
from api.graphql.matching.types import MatchingJob
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

J = m.MatchingJob


@strawberry.type
class MatchingQuery:
    @connection_field(
        MatchingJob,
        description="Matching jobs, newest first.",
        permission_classes=can("matching.read"),
    )
    async def matching_jobs(
        self,
        status: Annotated[
            list[JobStatus] | None, strawberry.argument(description="In these statuses only.")
        ] = None,
    ) -> PageQuery:
        return RowsPage(
            MatchingJob,
            Ordering("CREATED_AT_DESC", (SortKey(J.created_at, "dt"),), J.id, descending=True),
            [col(J.status).in_(status)] if status else [],
        )

    @strawberry.field(
        description="One matching job by ID.", permission_classes=can("matching.read")
    )
    async def matching_job(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> MatchingJob | None:
        return await load_one(info, MatchingJob, decode_id(id, "MatchingJob"))
