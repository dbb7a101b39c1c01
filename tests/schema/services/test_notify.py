"""The outbox (schema/services/notify.py): the closed loops' steps write their notifications in
their own transaction (none for a change that rolled back), each recipient once per event,
with a delivery on the recipient's preferred channel; a matching commit tells each committed
person once of all their tasks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.database import Database
from schema import models as m
from schema.base import utcnow
from schema.enums import NeedStatus, ProposalKind, ProposalStatus, Role
from schema.notifications import Channel, DeliveryStatus, NotificationKind
from schema.services import enterprise as ent
from schema.services import needs as svc
from schema.services.common import Actor
from schema.services.matching.proposals import commit_matching_job
from schema.services.notify import notify_on
from tests import factories as f
from tests.county import County
from tests.loop import actor, run

pytestmark = pytest.mark.county("needs", "enterprise", "teams")

ADMIN = Actor(account_id=None, name="管理员", role=Role.ADMIN)


def notifications(engine: sa.Engine) -> list[m.Notification]:
    with Session(engine) as s:
        rows = list(s.exec(select(m.Notification).order_by(col(m.Notification.id))))
        for r in rows:
            s.expunge(r)
        return rows


def deliveries(engine: sa.Engine) -> list[m.NotificationDelivery]:
    with Session(engine) as s:
        rows = list(s.exec(select(m.NotificationDelivery).order_by(col(m.NotificationDelivery.id))))
        for r in rows:
            s.expunge(r)
        return rows


def test_dispatch_tells_each_person_sent_with_title_place_and_deadline(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    need = county.rows["need_open"]
    run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=actor(county.account("coordinator")),
        to_person_ids=[county.volunteer.id, county.worker.id],
    )
    rows = notifications(engine)
    assert sorted(n.person_id for n in rows if n.person_id) == sorted(
        [county.volunteer.id, county.worker.id]
    )
    first = rows[0]
    assert first.kind is NotificationKind.NEED_DISPATCHED
    assert "路灯不亮" in first.title and "泉塘" in first.body
    assert first.data["need_id"] == need.id and first.data["deadline"] in first.body
    assert first.urgent  # urgency 5: quiet hours do not hold it
    # SMS to each phone (no preferences: the default channel)
    sent_to = {d.address for d in deliveries(engine)}
    assert sent_to == {"13812345678", "13900001111"}
    assert all(
        d.channel is Channel.SMS and d.status is DeliveryStatus.PENDING for d in deliveries(engine)
    )


def test_redispatch_tells_those_taken_off_and_not_those_kept(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    """Found using it: a volunteer dispatched and then replaced (转派) was never told, and
    still set out for the need."""
    need = county.rows["need_open"]
    coordinator = actor(county.account("coordinator"))
    first = [county.volunteer.id, county.worker.id]
    run(database_url, svc.dispatch_need, need_id=need.id, actor=coordinator, to_person_ids=first)
    run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=coordinator,
        to_person_ids=[county.worker.id],
        note="王建国另有急事",
    )
    told = [n for n in notifications(engine) if n.kind is NotificationKind.NEED_REASSIGNED]
    assert [n.person_id for n in told] == [county.volunteer.id]
    assert "路灯不亮" in told[0].title and "无需再前往" in told[0].body
    assert "王建国另有急事" in told[0].body
    # The one kept is not told again of a dispatch they already had, nor of a reassignment.
    dispatched = [
        n.person_id for n in notifications(engine) if n.kind is NotificationKind.NEED_DISPATCHED
    ]
    assert sorted(dispatched) == sorted([*first, county.worker.id])
    # 加派 (people joining) takes nobody off: no reassignment notice.
    run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=coordinator,
        to_person_ids=[county.volunteer.id],
        add=True,
    )
    assert sum(n.kind is NotificationKind.NEED_REASSIGNED for n in notifications(engine)) == 1


def test_a_dispatch_that_rolls_back_leaves_no_notification(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    need = county.rows["need_open"]

    async def dispatch_then_fail() -> None:
        db = Database(database_url)
        try:
            async with db.transaction() as session:
                await svc.dispatch_need(
                    session=session,
                    need_id=need.id,
                    actor=ADMIN,
                    to_person_ids=[county.volunteer.id],
                )
                assert (
                    len(
                        await session.run_sync(
                            lambda s: s.execute(sa.select(m.Notification.id)).all()
                        )
                    )
                    == 1
                )  # written, inside
                raise RuntimeError("a later step of the same request failed")
        finally:
            await db.dispose()

    with pytest.raises(RuntimeError):
        asyncio.run(dispatch_then_fail())
    assert notifications(engine) == [] and deliveries(engine) == []


def test_the_same_event_twice_writes_once(engine: sa.Engine, county: County) -> None:
    data: dict[str, Any] = {"title": "路灯不亮", "place": "泉塘社区", "deadline": "", "slot": ""}
    for _ in range(2):
        with engine.begin() as conn:
            notify_on(
                conn,
                NotificationKind.SLOT_REMINDER,
                key="need:1:slot:reminder",
                data=data,
                person_ids=[county.volunteer.id],
                account_ids=[county.account("volunteer").id],  # the same person: once
            )
    assert len(notifications(engine)) == 1 and len(deliveries(engine)) == 1


def test_preferences_choose_the_channel_and_accounts_without_a_person_get_the_inbox(
    engine: sa.Engine, county: County
) -> None:
    coordinator = county.account("coordinator")
    with Session(engine) as s:
        s.add(
            m.NotificationPreference(
                person_id=county.volunteer.id,
                channels=["wechat", "email", "sms"],
                email="wang@example.org",
                email_verified_at=utcnow(),
            )
        )  # no WeChat id: e-mail is the first that has an address
        s.add(
            m.NotificationPreference(
                account_id=coordinator.id,
                channels=["email"],
                email="qt@example.org",
                email_verified_at=utcnow(),
            )
        )
        s.commit()
    with engine.begin() as conn:
        notify_on(
            conn,
            NotificationKind.DEADLINE_WARNING,
            key="k",
            data={"title": "t", "place": "p", "deadline": "d", "status": "s"},
            person_ids=[county.volunteer.id],
            account_ids=[coordinator.id],
        )
    rows = notifications(engine)
    assert [(n.person_id, n.account_id) for n in rows] == [
        (county.volunteer.id, None),
        (None, coordinator.id),
    ]
    assert [(d.channel, d.address) for d in deliveries(engine)] == [
        (Channel.EMAIL, "wang@example.org"),
        (Channel.EMAIL, "qt@example.org"),
    ]


def test_resolve_tells_the_reporter_and_escalate_the_area_coordinators(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    resident = county.account("resident")
    need = f.need(
        engine,
        county.quantang.id,
        title="楼道灯坏了",
        reporter_account_id=resident.id,
        status=NeedStatus.ARRIVED,
        dispatched_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    f.assignment(engine, need.id, person_id=county.volunteer.id)
    run(database_url, svc.escalate_need, need_id=need.id, actor=ADMIN, reason="涉及多户")
    run(database_url, svc.resolve_need, need_id=need.id, actor=actor(county.account("volunteer")))
    kinds = [(n.kind, n.person_id, n.account_id) for n in notifications(engine)]
    coordinator = county.account("coordinator").id
    assert (NotificationKind.NEED_ESCALATED, None, coordinator) in kinds
    assert (NotificationKind.NEED_ESCALATED, county.volunteer.id, None) in kinds
    assert kinds[-1] == (NotificationKind.NEED_RESOLVED, None, resident.id)
    assert "楼道灯坏了" in notifications(engine)[-1].body


def test_assign_tells_the_helper_and_the_enterprise_claim_only_the_enterprise(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    firm = county.rows["req_new"].enterprise_id
    owner = f.account(engine, Role.ENTERPRISE, enterprise_id=firm)
    run(
        database_url,
        ent.assign_enterprise_helper,
        request_id=county.rows["req_new"].id,
        helper_id=county.helper.id,
        actor=ADMIN,
    )
    got = {(n.kind, n.person_id, n.account_id) for n in notifications(engine)}
    assert (NotificationKind.REQUEST_ASSIGNED, county.helper.id, None) in got
    assert (NotificationKind.REQUEST_TAKEN, None, owner.id) in got  # every account of the firm
    assert {k for k, _, _ in got} == {
        NotificationKind.REQUEST_ASSIGNED,
        NotificationKind.REQUEST_TAKEN,
    }
    assert "赵小赣" in next(n.body for n in notifications(engine) if n.account_id == owner.id)


@pytest.mark.county("matching")
def test_committing_a_job_tells_each_committed_person_once(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    job = county.rows["job"]
    with Session(engine) as s:
        helper = s.exec(select(m.Proposal).where(col(m.Proposal.kind) == ProposalKind.HELPER)).one()
        helper.status = ProposalStatus.ACCEPTED
        # The same volunteer for a second need of the job, and the grid worker beside them.
        s.add(
            m.Proposal(
                job_id=job.id,
                kind=ProposalKind.VOLUNTEER,
                need_id=county.rows["need_major"].id,
                person_id=county.volunteer.id,
                cost=1.0,
                status=ProposalStatus.ACCEPTED,
            )
        )
        s.add(
            m.Proposal(
                job_id=job.id,
                kind=ProposalKind.VOLUNTEER,
                need_id=county.rows["need_open"].id,
                person_id=county.worker.id,
                cost=1.0,
                status=ProposalStatus.PINNED,
            )
        )
        s.commit()
    run(database_url, commit_matching_job, job_id=job.id, actor=ADMIN)
    everyone = notifications(engine)
    rows = [n for n in everyone if n.person_id is not None]
    assert sorted(n.person_id for n in rows) == sorted(
        [county.volunteer.id, county.worker.id, county.helper.id]
    )  # each once: no separate dispatch or assignment notice besides
    assert {n.kind for n in rows} == {NotificationKind.MATCH_COMMITTED}
    # The enterprise hears that its request has a helper.
    assert {n.kind for n in everyone if n.person_id is None} == {NotificationKind.REQUEST_TAKEN}
    mine = next(n for n in rows if n.person_id == county.volunteer.id)
    assert [t["need_id"] for t in mine.data["needs"]] == sorted(
        [county.rows["need_open"].id, county.rows["need_major"].id]
    )
    assert "2项" in mine.title and "山体滑坡隐患" in mine.body and "路灯不亮" in mine.body
    assert mine.urgent  # one of them is an emergency
    helper_notice = next(n for n in rows if n.person_id == county.helper.id)
    assert "政策咨询" in helper_notice.body


def test_in_an_area_in_emergency_mode_every_need_notice_is_urgent(
    engine: sa.Engine, database_url: str, county: County
) -> None:
    from schema.enums import AreaMode

    need = f.need(
        engine, county.quantang.id, title="排水沟堵塞", urgency=2, status=NeedStatus.ACCEPTED
    )
    with Session(engine) as s:
        area = s.get(m.Community, county.quantang.id)
        assert area is not None
        area.mode = AreaMode.EMERGENCY  # 平急转换
        s.add(area)
        s.commit()
    run(
        database_url,
        svc.dispatch_need,
        need_id=need.id,
        actor=ADMIN,
        to_person_ids=[county.volunteer.id],
    )
    (notice,) = notifications(engine)
    assert notice.urgent and notice.data["emergency"]


def test_a_place_names_its_community_once() -> None:
    from schema.services.notify import place_text

    assert place_text("泉塘社区", "泉塘社区人民路8号") == "泉塘社区人民路8号"  # found by attacking
    assert place_text("泉塘社区", "人民路8号") == "泉塘社区人民路8号"
    assert place_text("泉塘社区", None) == "泉塘社区"
