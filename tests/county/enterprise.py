"""The business weather station: an enterprise in Quantang with a new request, an overdue one
assigned to the helper (with its events), and a closed, rated one; the enterprise's own account
(`county.token("enterprise")`)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from schema import models as m
from schema.enums import (
    EnterpriseAction,
    EnterpriseRequestKind,
    EnterpriseRequestStatus,
    Role,
)
from tests.county.core import A_LAT, A_LON, NOW, County, add

REQUIRES = ("people", "accounts")


def build(s: Session, c: County) -> None:
    helper = c.helper.id
    firm = add(
        s,
        m.Enterprise(
            name="吉安电子有限公司",
            credit_code="91360821MA35XXXX1A",
            industry="电子",
            community_id=c.quantang.id,
            contact_name="周经理",
            contact_phone="13600001234",
            latitude=A_LAT,
            longitude=A_LON,
        ),
    )
    new = add(
        s,
        m.EnterpriseRequest(
            enterprise_id=firm.id,
            kind=EnterpriseRequestKind.POLICY,
            title="政策咨询",
            status=EnterpriseRequestStatus.SUBMITTED,
            urgency=2,
            submitted_at=NOW - timedelta(hours=2),
            deadline=NOW + timedelta(hours=22),
        ),
    )
    late = add(
        s,
        m.EnterpriseRequest(
            enterprise_id=firm.id,
            kind=EnterpriseRequestKind.FINANCING,
            title="贷款申请",
            status=EnterpriseRequestStatus.ASSIGNED,
            urgency=4,
            helper_id=helper,
            submitted_at=NOW - timedelta(days=9),
            assigned_at=NOW - timedelta(days=9),
            deadline=NOW - timedelta(days=2),
        ),
    )
    done = add(
        s,
        m.EnterpriseRequest(
            enterprise_id=firm.id,
            kind=EnterpriseRequestKind.UTILITIES,
            title="用电增容",
            status=EnterpriseRequestStatus.CLOSED,
            urgency=3,
            helper_id=helper,
            submitted_at=NOW - timedelta(days=20),
            deadline=NOW - timedelta(days=18),
            resolved_at=NOW - timedelta(days=19),
            closed_at=NOW - timedelta(days=19),
            satisfaction=5,
        ),
    )
    c.rows |= {"enterprise": firm, "req_new": new, "req_late": late, "req_done": done}
    c.accounts["enterprise"] = add(
        s,
        m.Account(
            username="county.enterprise",
            password_hash=c.accounts["admin"].password_hash,
            role=Role.ENTERPRISE,
            enterprise_id=firm.id,
            display_name="周经理",
        ),
    )
    add(
        s,
        m.EnterpriseRequestEvent(
            request_id=late.id,
            action=EnterpriseAction.SUBMIT,
            to_status=EnterpriseRequestStatus.SUBMITTED,
            at=late.submitted_at,
        ),
    )
    add(
        s,
        m.EnterpriseRequestEvent(
            request_id=late.id,
            action=EnterpriseAction.ASSIGN,
            from_status=EnterpriseRequestStatus.SUBMITTED,
            to_status=EnterpriseRequestStatus.ASSIGNED,
            at=late.submitted_at + timedelta(hours=1),
        ),
    )
