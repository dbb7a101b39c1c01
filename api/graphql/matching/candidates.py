"""`needCandidates`: a ranked list for one urgent need on arrival, without waiting for a batch."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from api.auth.permissions import Can
from api.auth.scope import require_scope
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.lists import Cost
from api.graphql.relay import decode_id, load_one
from api.graphql.type_refs import PersonT
from matching.solver import rank_candidates
from schema import models as m
from schema.services.matching.loader import load_problem

MAX_CANDIDATES = 50


@strawberry.type(description="A person who could serve a need now, with the reasons.")
class Candidate:
    rank: int = strawberry.field(description="1 for the best.")
    cost: float = strawberry.field(description="Cost of sending them (lower is better).")
    distance_km: float = strawberry.field(description="Distance from their home, km.")
    travel_minutes: float = strawberry.field(description="Travel time by their usual mode.")
    reasons: JSON = strawberry.field(description="Why: a list of {code, message, data}.")
    message: str = strawberry.field(description="The reasons, in words.")
    person_id: strawberry.Private[int]

    @strawberry.field(description="The person.")
    async def person(self, info: Info) -> PersonT | None:
        return await load_one(info, PersonT, self.person_id)


@strawberry.type
class CandidatesQuery:
    @strawberry.field(
        description="The best people for one need waiting for dispatch (reported or accepted), "
        "ranked by the matcher's own costs and hard rules (skills, reach by the 1341 deadline, "
        "time windows, hours left).",
        permission_classes=[Can("matching.read")],
        # It loads the county's volunteers and ranks them (about half a second of work).
        extensions=[Cost(10_000)],
    )
    async def need_candidates(
        self,
        info: Info,
        need_id: Annotated[strawberry.ID, strawberry.argument(description="The need's ID.")],
        limit: Annotated[int, strawberry.argument(description="At most 50.")] = 10,
    ) -> list[Candidate]:
        if not 1 <= limit <= MAX_CANDIDATES:
            raise CodedError(
                f"limit must be between 1 and {MAX_CANDIDATES}", ErrorCode.BAD_USER_INPUT
            )
        pk = decode_id(need_id, "Need")
        async with info.context.db.session() as session:
            need = await session.get(m.Need, pk)
        if need is None:
            raise CodedError("no such need", ErrorCode.NOT_FOUND)
        require_scope(info, need.community_id)
        engine = info.context.request.app.state.matching.engine

        def rank() -> list[Candidate]:
            with engine.connect() as conn:
                snapshot = load_problem(
                    conn, scope_community_id=need.community_id, kinds=("volunteer",)
                )
            if pk not in snapshot.need_versions:
                raise CodedError(
                    f"the need is {need.status.value}; only needs waiting for dispatch are ranked",
                    ErrorCode.ILLEGAL_TRANSITION,
                )
            ranked = rank_candidates(snapshot.problem, pk, limit=limit)
            return [
                Candidate(
                    rank=i,
                    cost=float(c.cost),
                    distance_km=round(c.distance_km, 3),
                    travel_minutes=round(c.travel_minutes, 1),
                    reasons=[r.as_dict() for r in c.explanation.reasons],
                    message=c.explanation.message,
                    person_id=c.volunteer_id,
                )
                for i, c in enumerate(ranked, start=1)
            ]

        return await asyncio.to_thread(rank)
