"""Root fields for matching jobs (their proposals and unmatched items hang off each job)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.auth.permissions import Can
from api.graphql.context import Info
from api.graphql.enums import JobStatus
from api.graphql.matching.types import MatchingJob
from api.graphql.relay import (
    After,
    Before,
    Connection,
    First,
    Last,
    Ordering,
    PageArgs,
    SortKey,
    decode_id,
    load_one,
    select_page,
)
from schema import models as m

J = m.MatchingJob


@strawberry.type
class MatchingQuery:
    @strawberry.field(
        description="Matching jobs, newest first.", permission_classes=[Can("matching.read")]
    )
    async def matching_jobs(
        self,
        info: Info,
        status: Annotated[
            list[JobStatus] | None, strawberry.argument(description="In these statuses only.")
        ] = None,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
    ) -> Connection[MatchingJob]:
        return await select_page(
            info,
            type_cls=MatchingJob,
            filters=[J.status.in_(status)] if status else [],
            ordering=Ordering(
                "CREATED_AT_DESC", (SortKey(J.created_at, "dt"),), J.id, descending=True
            ),
            page=PageArgs(first, after, last, before),
        )

    @strawberry.field(
        description="One matching job by ID.", permission_classes=[Can("matching.read")]
    )
    async def matching_job(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]
    ) -> MatchingJob | None:
        return await load_one(info, MatchingJob, decode_id(id, "MatchingJob"))
