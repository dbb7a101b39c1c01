"""Telling people (通知): the transactional outbox of notifications, their deliveries by e-mail,
SMS and WeChat, each attempt, and each person's channel preferences.

A `Notification` is written in the same transaction as the change it tells of (see
schema/services/notify.py), so none is lost and none exists for a change that rolled back; it is
also the in-app inbox entry (read/unread). Each external channel it goes out on is a
`NotificationDelivery`, claimed and sent by the dispatcher (schema/services/notification_outbox.py
and api/notify/); every try is a `NotificationAttempt`. A delivery that failed too often is a
dead letter (status `dead`), which administrators see and retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel, col

from schema.base import LabelledEnum, enum_column, json_column, utc_column, utcnow


class NotificationKind(LabelledEnum):
    NEED_DISPATCHED = ("need_dispatched", "派单通知")
    MATCH_COMMITTED = ("match_committed", "匹配派单")
    REQUEST_ASSIGNED = ("request_assigned", "企业诉求分派")
    REQUEST_TAKEN = ("request_taken", "企业诉求已有专人办理")
    NEED_RESOLVED = ("need_resolved", "诉求已办结")
    NEED_ESCALATED = ("need_escalated", "诉求升级")
    SLOT_REMINDER = ("slot_reminder", "上门服务提醒")
    DEADLINE_WARNING = ("deadline_warning", "办理时限预警")
    ACTIVITY_CANCELLED = ("activity_cancelled", "活动取消")
    COMMANDO_MOBILISED = ("commando_mobilised", "突击队集结")
    COMMANDO_STOOD_DOWN = ("commando_stood_down", "突击队解散")
    NEED_REASSIGNED = ("need_reassigned", "任务已改派")


class Channel(LabelledEnum):
    IN_APP = ("in_app", "站内信")
    EMAIL = ("email", "电子邮件")
    SMS = ("sms", "短信")
    WECHAT = ("wechat", "微信模板消息")


# The channels a delivery row can be for (in-app is the notification row itself).
EXTERNAL_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.EMAIL)
# Channels that wake people: held back during quiet hours unless urgent or in emergency mode.
INTRUSIVE_CHANNELS = (Channel.SMS, Channel.WECHAT)


class DeliveryStatus(LabelledEnum):
    PENDING = ("pending", "待发送")
    SENDING = ("sending", "发送中")
    SENT = ("sent", "已发送")
    DEAD = ("dead", "发送失败（死信）")


class AttemptOutcome(LabelledEnum):
    SENT = ("sent", "成功")
    FAILED = ("failed", "失败，稍后重试")
    REFUSED = ("refused", "被拒绝，不再重试")
    THROTTLED = ("throttled", "被限流")
    DEFERRED = ("deferred", "推迟（免打扰或频率限制）")


class Notification(SQLModel, table=True):
    """One message to one recipient (a person, or an account that has no person): the inbox
    entry, and the source of its deliveries. `key` makes writing it idempotent."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.CheckConstraint("person_id IS NOT NULL OR account_id IS NOT NULL", name="has_recipient"),
        sa.Index("ix_notification_person_read", "person_id", "read_at"),
        sa.Index("ix_notification_account_read", "account_id", "read_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, sa_column_kwargs={"unique": True})
    kind: NotificationKind = Field(sa_column=enum_column(NotificationKind))
    person_id: int | None = Field(default=None, foreign_key="person.id")
    account_id: int | None = Field(default=None, foreign_key="account.id")
    title: str = Field(max_length=200)
    body: str = Field(sa_type=sa.Text)
    # The template's values (need id and title, place, slot, deadline …), for SMS/WeChat
    # templates and for clients that link to the object.
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    urgent: bool = False
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=utc_column(nullable=False, index=True)
    )
    read_at: datetime | None = Field(default=None, sa_column=utc_column())


class NotificationDelivery(SQLModel, table=True):
    """A notification going out on one external channel to one address."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel"),
        sa.Index("ix_notification_delivery_status_next", "status", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True)
    channel: Channel = Field(sa_column=enum_column(Channel))
    address: str = Field(max_length=254)
    status: DeliveryStatus = Field(sa_column=enum_column(DeliveryStatus))
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=utc_column(nullable=False))
    # The dispatcher holding it while it sends, and until when (a killed one's claim lapses).
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_column=utc_column())
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    provider_message_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())


class NotificationAttempt(SQLModel, table=True):
    """One try at a delivery (or one decision to hold it back), as the dispatcher saw it."""

    __tablename__ = "notification_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="notification_delivery.id", index=True)
    outcome: AttemptOutcome = Field(sa_column=enum_column(AttemptOutcome))
    worker: str = Field(default="", max_length=64)
    error: str | None = Field(default=None, sa_type=sa.Text)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class NotificationPreference(SQLModel, table=True):
    """How a person (or an account without a person) wants to be told: the external channels
    in order of preference (the first that has an address is used; the next ones take over when
    it fails for good), and their addresses. Without a row: SMS to the person's phone."""

    __tablename__ = "notification_preference"
    __table_args__ = (
        sa.CheckConstraint("(person_id IS NULL) <> (account_id IS NULL)", name="one_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(
        default=None, foreign_key="person.id", sa_column_kwargs={"unique": True}
    )
    account_id: int | None = Field(
        default=None, foreign_key="account.id", sa_column_kwargs={"unique": True}
    )
    channels: list[str] = Field(default_factory=list, sa_column=json_column())
    email: str | None = Field(default=None, max_length=254)
    # An address is only used once its owner proved it is theirs by a code sent to it (else
    # anyone could have the county mail notices to someone else's address).
    email_verified_at: datetime | None = Field(default=None, sa_column=utc_column())
    email_code_hash: str | None = Field(default=None, max_length=64)
    email_code_expires_at: datetime | None = Field(default=None, sa_column=utc_column())
    email_code_attempts: int = 0
    # Codes sent since `email_codes_since` (at most a few an hour: no mailing others at will).
    email_codes_sent: int = 0
    email_codes_since: datetime | None = Field(default=None, sa_column=utc_column())
    wechat_open_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


def retryable_dead_letters() -> sa.ColumnElement[bool]:
    """The dead letters a retry may send again: not those whose notification already reached
    the person through another channel (failover), which a retry would tell twice."""
    sent = aliased(NotificationDelivery)
    delivered_elsewhere = (
        sa.select(sa.literal(1))
        .where(
            col(sent.notification_id) == col(NotificationDelivery.notification_id),
            col(sent.status) == DeliveryStatus.SENT,
        )
        .exists()
    )
    return sa.and_(col(NotificationDelivery.status) == DeliveryStatus.DEAD, ~delivered_elsewhere)
