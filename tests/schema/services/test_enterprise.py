from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from schema.enums import EnterpriseRequestKind, EnterpriseRequestStatus, PersonKind, Role
from schema.models import EnterpriseRequest
from schema.services import enterprise as svc
from schema.services.errors import Conflict, Forbidden, Invalid, LimitReached, NotFound
from schema.workflow import IllegalTransition
from tests import factories as f
from tests.county import County
from tests.loop import actor, assert_request_log_consistent, request_row, run

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def desk(engine: sa.Engine, county: County) -> dict[str, Any]:
    """A firm in Quantang and two helpers with tight load limits (on top of the county), and
    the callers as actors."""
    helper = f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=1)
    return {
        "firm": f.enterprise(engine, community_id=county.quantang.id),
        "helper": helper,
        "second": f.person(engine, kind=PersonKind.ENTERPRISE_HELPER, max_open_requests=3),
        "helper_actor": actor(f.account(engine, Role.ENTERPRISE_HELPER, person_id=helper.id)),
        "coordinator": actor(county.account("coordinator")),
        "outsider": actor(county.account("outsider")),
    }


def submit(url: str, desk: dict[str, Any], **kw: Any) -> EnterpriseRequest:
    values: dict[str, Any] = {
        "enterprise_id": desk["firm"].id,
        "kind": EnterpriseRequestKind.APPROVAL,
        "title": "环评审批咨询",
        "now": T0,
    }
    return run(url, svc.submit_enterprise_request, actor=desk["helper_actor"], **(values | kw))


def test_submit_sets_deadline_by_kind(database_url: str, desk: dict[str, Any]) -> None:
    req = submit(database_url, desk)
    assert req.status is EnterpriseRequestStatus.SUBMITTED
    assert req.deadline == T0 + timedelta(days=5)


def test_assign_respects_helper_load_limit(
    database_url: str, engine: sa.Engine, desk: dict[str, Any]
) -> None:
    first, second = submit(database_url, desk), submit(database_url, desk)
    c = desk["coordinator"]
    run(
        database_url,
        svc.assign_enterprise_helper,
        request_id=first.id,
        helper_id=desk["helper"].id,
        actor=c,
    )
    with pytest.raises(LimitReached):
        run(
            database_url,
            svc.assign_enterprise_helper,
            request_id=second.id,
            helper_id=desk["helper"].id,
            actor=c,
        )
    # moving the first request to another helper frees the place
    run(
        database_url,
        svc.assign_enterprise_helper,
        request_id=first.id,
        helper_id=desk["second"].id,
        actor=c,
    )
    moved = run(
        database_url,
        svc.assign_enterprise_helper,
        request_id=second.id,
        helper_id=desk["helper"].id,
        actor=c,
    )
    assert moved.helper_id == desk["helper"].id
    assert request_row(engine, first.id or 0).version == 3
    assert_request_log_consistent(engine, first.id or 0)


def test_assign_refuses_non_helpers_and_same_helper(
    database_url: str, engine: sa.Engine, desk: dict[str, Any]
) -> None:
    req = submit(database_url, desk)
    c = desk["coordinator"]
    with pytest.raises(Invalid):
        run(
            database_url,
            svc.assign_enterprise_helper,
            request_id=req.id,
            helper_id=f.person(engine).id,
            actor=c,
        )
    with pytest.raises(NotFound):
        run(database_url, svc.assign_enterprise_helper, request_id=req.id, helper_id=404, actor=c)
    with pytest.raises(Forbidden):
        run(
            database_url,
            svc.assign_enterprise_helper,
            request_id=req.id,
            helper_id=desk["second"].id,
            actor=desk["outsider"],
        )
    run(
        database_url,
        svc.assign_enterprise_helper,
        request_id=req.id,
        helper_id=desk["second"].id,
        actor=c,
    )
    with pytest.raises(Invalid):
        run(
            database_url,
            svc.assign_enterprise_helper,
            request_id=req.id,
            helper_id=desk["second"].id,
            actor=c,
        )


def test_notes_helper_moves_coordinator_keeps(
    database_url: str, engine: sa.Engine, desk: dict[str, Any]
) -> None:
    req = submit(database_url, desk)
    c, h = desk["coordinator"], desk["helper_actor"]
    run(
        database_url,
        svc.assign_enterprise_helper,
        request_id=req.id,
        helper_id=desk["helper"].id,
        actor=c,
    )
    kept = run(
        database_url, svc.add_enterprise_request_note, request_id=req.id, note="请尽快", actor=c
    )
    assert kept.status is EnterpriseRequestStatus.ASSIGNED
    moved = run(
        database_url, svc.add_enterprise_request_note, request_id=req.id, note="已受理", actor=h
    )
    assert moved.status is EnterpriseRequestStatus.IN_PROGRESS
    with pytest.raises(Conflict):
        run(
            database_url,
            svc.resolve_enterprise_request,
            request_id=req.id,
            actor=h,
            expected_version=3,
        )
    done = run(
        database_url,
        svc.resolve_enterprise_request,
        request_id=req.id,
        actor=h,
        now=T0 + timedelta(days=1),
    )
    assert done.resolved_at == T0 + timedelta(days=1)
    assert request_row(engine, req.id or 0).version == 5
    assert_request_log_consistent(engine, req.id or 0)


def test_rate_by_the_enterprise_only(
    database_url: str, engine: sa.Engine, desk: dict[str, Any]
) -> None:
    req = submit(database_url, desk)
    c, h = desk["coordinator"], desk["helper_actor"]
    own = actor(f.account(engine, Role.ENTERPRISE, enterprise_id=desk["firm"].id))
    with pytest.raises(IllegalTransition):
        run(database_url, svc.rate_enterprise_request, request_id=req.id, actor=own, satisfaction=5)
    run(
        database_url,
        svc.assign_enterprise_helper,
        request_id=req.id,
        helper_id=desk["helper"].id,
        actor=c,
    )
    run(database_url, svc.resolve_enterprise_request, request_id=req.id, actor=h)
    other_firm = f.enterprise(engine, community_id=desk["firm"].community_id)
    others = actor(f.account(engine, Role.ENTERPRISE, enterprise_id=other_firm.id))
    # The helper who submitted it at the desk, the coordinator, another enterprise: refused.
    for who in (h, c, others):
        with pytest.raises(Forbidden, match="only the enterprise that brought this request"):
            run(
                database_url,
                svc.rate_enterprise_request,
                request_id=req.id,
                actor=who,
                satisfaction=5,
            )
    closed = run(
        database_url, svc.rate_enterprise_request, request_id=req.id, actor=own, satisfaction=4
    )
    assert closed.status is EnterpriseRequestStatus.CLOSED and closed.satisfaction == 4


def test_submit_twice_with_key_creates_one(database_url: str, desk: dict[str, Any]) -> None:
    a = submit(database_url, desk, idempotency_key="k1")
    b = submit(database_url, desk, idempotency_key="k1")
    assert a.id == b.id
    with pytest.raises(Conflict, match="different request"):  # same key, another body
        submit(database_url, desk, idempotency_key="k1", title="另一件事")
    with pytest.raises(Invalid) as err:
        submit(database_url, desk, title="", urgency=7)
    assert {field for field, _ in err.value.problems} == {"title", "urgency"}
