"""`needCandidates`: a ranked list for one urgent need on arrival, without waiting for a batch."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from api.auth.permissions import can
from api.auth.scope import require_scope
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.lists import Cost, MaxItems
from api.graphql.relay import decode_id, load_one
from api.graphql.type_refs import PersonT
from matching.problem import Problem
from matching.solver import rank_candidates, solve
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


@strawberry.type(description="The ranking for one need, and why it is empty when it is.")
class CandidateRanking:
    candidates: list[Candidate] = strawberry.field(
        description="Best first.", extensions=[MaxItems(MAX_CANDIDATES)]
    )
    empty_reason: str | None = strawberry.field(
        description="Why nobody can serve the need now (null when someone can), in words."
    )
    empty_reasons: JSON = strawberry.field(
        description="The same as a list of {code, message, data}; [] when someone can."
    )


def _why_nobody(problem: Problem, need_id: int) -> list[dict[str, object]]:
    """The matcher's own reasons for an unserved need: a solve of this need alone."""
    (need,) = [n for n in problem.needs if n.id == need_id]
    alone = dataclasses.replace(problem, needs=(need,), resources=(), enterprise_tasks=())
    result = solve(alone, time_limit_s=2.0, polish=False)
    return [r.as_dict() for u in result.unmatched_needs for r in u.reasons]


async def _rank(info: Info, need_id: str, limit: int) -> CandidateRanking:
    if not 1 <= limit <= MAX_CANDIDATES:
        raise CodedError(f"limit must be between 1 and {MAX_CANDIDATES}", ErrorCode.BAD_USER_INPUT)
    pk = decode_id(need_id, "Need")
    async with info.context.db.session() as session:
        need = await session.get(m.Need, pk)
    if need is None:
        raise CodedError("no such need", ErrorCode.NOT_FOUND)
    require_scope(info, need.community_id)
    engine = info.context.request.app.state.matching.engine

    def rank() -> CandidateRanking:
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
        candidates = [
            Candidate(
                rank=i,
                cost=float(c.cost),
                distance_km=round(c.distance_km, 3),
                travel_minutes=round(c.travel_minutes, 1),
                reasons=JSON([r.as_dict() for r in c.explanation.reasons]),
                message=c.explanation.message,
                person_id=c.volunteer_id,
            )
            for i, c in enumerate(ranked, start=1)
        ]
        why = [] if candidates else _why_nobody(snapshot.problem, pk)
        if not candidates and not why:
            why = [{"code": "no_candidates", "message": "nobody qualifies now", "data": {}}]
        message = "; ".join(str(r["message"]) for r in why) or None
        return CandidateRanking(
            candidates=candidates, empty_reason=message, empty_reasons=JSON(why)
        )

    return await asyncio.to_thread(rank)


NeedIdArg = Annotated[strawberry.ID, strawberry.argument(description="The need's ID.")]
LimitArg = Annotated[int, strawberry.argument(description="At most 50.")]


@strawberry.type
class CandidatesQuery:
    @strawberry.field(
        description="The best people for one need waiting for dispatch (reported or accepted), "
        "ranked by the matcher's own costs and hard rules (skills, reach by the 1341 deadline, "
        "time windows, hours left). `needCandidateRanking` also says why it is empty.",
        permission_classes=can("matching.read"),
        # It loads the county's volunteers and ranks them (about half a second of work).
        extensions=[Cost(10_000)],
    )
    async def need_candidates(
        self, info: Info, need_id: NeedIdArg, limit: LimitArg = 10
    ) -> list[Candidate]:
        return (await _rank(info, need_id, limit)).candidates

    @strawberry.field(
        description="`needCandidates` with the reason when nobody can serve the need now "
        "(nobody in reach by the deadline, nobody with the skills, nobody free then …).",
        permission_classes=can("matching.read"),
        extensions=[Cost(10_000)],
    )
    async def need_candidate_ranking(
        self, info: Info, need_id: NeedIdArg, limit: LimitArg = 10
    ) -> CandidateRanking:
        return await _rank(info, need_id, limit)
