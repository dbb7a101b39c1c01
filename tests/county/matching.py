"""A finished matching job over Quantang: volunteer, helper and resource proposals (one
accepted, one rejected) and the major need it could not staff."""

from __future__ import annotations

from sqlmodel import Session

from schema import models as m
from schema.enums import JobStatus, ProposalKind, ProposalStatus
from tests.county.core import County, add

REQUIRES = ("units", "needs", "enterprise")


def build(s: Session, c: County) -> None:
    r = c.rows
    job = add(
        s,
        m.MatchingJob(
            status=JobStatus.SUCCEEDED,
            scope_community_id=c.quantang.id,
            kinds=["volunteer"],
            weights={"distance": 1.0},
            progress=1.0,
            objective=12.5,
            seats_filled=1,
            seats_total=2,
        ),
    )
    r["job"] = job
    for cost, status in ((3.0, ProposalStatus.PROPOSED), (1.0, ProposalStatus.ACCEPTED)):
        add(
            s,
            m.Proposal(
                job_id=job.id,
                kind=ProposalKind.VOLUNTEER,
                need_id=r["need_open"].id,
                person_id=c.volunteer.id,
                cost=cost,
                status=status,
                reasons=[{"code": "SKILL", "message": "会电工"}],
                message="会电工",
            ),
        )
    add(
        s,
        m.Proposal(
            job_id=job.id,
            kind=ProposalKind.HELPER,
            enterprise_request_id=r["req_new"].id,
            person_id=c.helper.id,
            cost=2.0,
            status=ProposalStatus.PROPOSED,
        ),
    )
    add(
        s,
        m.Proposal(
            job_id=job.id,
            kind=ProposalKind.RESOURCE,
            need_id=r["need_major"].id,
            resource_id=r["van"].id,
            cost=5.0,
            status=ProposalStatus.REJECTED,
        ),
    )
    add(
        s,
        m.UnmatchedItem(
            job_id=job.id,
            need_id=r["need_major"].id,
            seats_open=1,
            reasons=[{"code": "NO_SKILL"}],
            message="无人具备法律咨询技能",
        ),
    )
