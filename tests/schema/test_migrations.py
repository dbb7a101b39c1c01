"""The Alembic head builds exactly the tables the SQLModel models describe, on this database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, col, select

from schema.base import utcnow
from schema.db import make_engine
from schema.enums import NeedStatus, OfferDecline, OfferStatus, PersonKind
from schema.migrate import current_revision, downgrade, head_revision, include_name, upgrade
from schema.models import metadata
from schema.needs import Need
from schema.notifications import (
    AttemptOutcome,
    Notification,
    NotificationAttempt,
    NotificationDelivery,
    NotificationKind,
)
from schema.offers import NeedOffer
from schema.people import Person
from schema.services.notify import notify_on
from tests import factories as f
from tests.dbutil import fresh_database


@pytest.fixture
def empty_url(tmp_path: Path):
    with fresh_database(tmp_path, "mig") as url:
        yield url


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name}
            )
            return compare_metadata(ctx, metadata)
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_models(empty_url: str) -> None:
    upgrade(empty_url)
    assert current_revision(empty_url) == head_revision()
    assert _diff(empty_url) == []


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    upgrade(empty_url)
    downgrade(empty_url, "base")
    assert current_revision(empty_url) is None
    upgrade(empty_url)
    assert _diff(empty_url) == []


def test_0015_kinds_downgrade_deletes_their_notifications(empty_url: str) -> None:
    """0015 widens notification.kind; going back deletes the notifications of its kinds (with
    their deliveries and attempts), keeps the others, and refuses the new kinds again."""
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        with Session(engine) as s:
            row = Person(name="王建国", kind=PersonKind.PARTY_MEMBER, phone="13812345678")
            row.latitude, row.longitude = 27.05, 114.92
            s.add(row)
            s.commit()
            person = row.id
        assert person is not None
        with engine.begin() as conn:
            data = {"title": "敬老助餐", "place": "泉塘社区", "reason": "暴雨"}
            for kind in (NotificationKind.ACTIVITY_CANCELLED, NotificationKind.NEED_RESOLVED):
                notify_on(conn, kind, key=kind.value, data=data, person_ids=[person])
            delivery = conn.execute(
                sa.select(col(NotificationDelivery.id))
                .join(Notification, col(Notification.id) == NotificationDelivery.notification_id)
                .where(col(Notification.kind) == NotificationKind.ACTIVITY_CANCELLED)
            ).scalar_one()
            conn.execute(
                sa.insert(NotificationAttempt).values(
                    delivery_id=delivery, outcome=AttemptOutcome.SENT, at=utcnow()
                )
            )
        downgrade(empty_url, "0010")
        with engine.begin() as conn:
            kinds = conn.execute(sa.text("SELECT kind FROM notification")).scalars().all()
            assert kinds == ["need_resolved"]
            assert conn.execute(sa.text("SELECT count(*) FROM notification_delivery")).scalar() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM notification_attempt")).scalar() == 0
        # Refused by the CHECK (SQLite) or the narrower VARCHAR first (PostgreSQL).
        refused = (sa.exc.IntegrityError, sa.exc.DataError)
        with pytest.raises(refused), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO notification (key, kind, person_id, title, body, data, urgent, "
                    "created_at) VALUES ('k', 'commando_mobilised', :p, 't', 'b', '{}', false, "
                    "CURRENT_TIMESTAMP)"
                ),
                {"p": person},
            )
    finally:
        engine.dispose()
    upgrade(empty_url)
    assert _diff(empty_url) == []


def test_0020_offer_answers_move_out_of_the_note(empty_url: str) -> None:
    """Before 0020 a pending offer answered by the system (the need full, or ended) carried the
    answer as its note, and acceptOffer told the cases apart by that text. Going back puts the
    answers into `note`; coming forward sorts them out again by that text, and every other
    declined offer is the coordinator's."""
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        community = f.community(engine)
        assert community.id is not None
        people = [f.person(engine, name=f"志愿者{i}") for i in range(4)]
        need = f.need(engine, community.id)
        rows = [
            (OfferStatus.DECLINED, OfferDecline.NEED_FULL, "名额已满，感谢请缨", "我住隔壁"),
            (OfferStatus.DECLINED, OfferDecline.NEED_ENDED, "需求已办结或合并，感谢请缨", ""),
            (OfferStatus.DECLINED, OfferDecline.COORDINATOR, "本次人手已够", "想来帮忙"),
            (OfferStatus.OFFERED, None, "", "十分钟到"),
        ]
        with Session(engine) as s:
            for person, (status, because, answer, note) in zip(people, rows, strict=True):
                s.add(
                    NeedOffer(
                        need_id=need.id,
                        person_id=person.id,
                        status=status,
                        declined_because=because,
                        answer=answer,
                        note=note,
                    )
                )
            s.commit()
        downgrade(empty_url, "0019")
        with engine.begin() as conn:
            notes = conn.execute(sa.text("SELECT note FROM need_offer ORDER BY id")).scalars()
            assert list(notes) == [
                "名额已满，感谢请缨",
                "需求已办结或合并，感谢请缨",
                "本次人手已够",
                "十分钟到",
            ]
        upgrade(empty_url)
        with Session(engine) as s:
            back = s.exec(select(NeedOffer).order_by(col(NeedOffer.id))).all()
            assert [(o.declined_because, o.answer, o.note) for o in back] == [
                (OfferDecline.NEED_FULL, "名额已满，感谢请缨", ""),
                (OfferDecline.NEED_ENDED, "需求已办结或合并，感谢请缨", ""),
                # The coordinator's reason had replaced the volunteer's note: it stays there.
                (OfferDecline.COORDINATOR, "", "本次人手已够"),
                (None, "", "十分钟到"),
            ]
    finally:
        engine.dispose()
    assert _diff(empty_url) == []


def test_0021_merge_chains_end_where_the_reports_are_answered(empty_url: str) -> None:
    """Before 0021 a report merged into a need merged later pointed at a need that never
    resolves; 0021 points it (and the chain's every link) at the need it ended in."""
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        community = f.community(engine)
        assert community.id is not None
        answering = f.need(engine, community.id)
        chain = [answering.id]
        for _ in range(3):  # a report merged into one merged into one merged into `answering`
            merged = f.need(
                engine, community.id, status=NeedStatus.MERGED, merged_into_id=chain[-1]
            )
            chain.append(merged.id)
        downgrade(empty_url, "0020")
        upgrade(empty_url)
        with Session(engine) as s:
            rows = {n.id: n.merged_into_id for n in s.exec(select(Need))}
        assert rows == {answering.id: None} | {i: answering.id for i in chain[1:]}
    finally:
        engine.dispose()
