"""A notification as its recipient reads it, and a delivery as administrators see it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from api.graphql.enums import register_enum
from api.graphql.relay import to_global_id
from api.graphql.relay.connections import PageInfo
from schema import models as m
from schema.notifications import AttemptOutcome, Channel, DeliveryStatus, NotificationKind
from schema.services.inbox import Preferences

register_enum(NotificationKind, "What a notification tells of.")
register_enum(Channel, "A channel notifications go out on.")
register_enum(DeliveryStatus, "Where a notification's delivery on one channel stands.")
register_enum(AttemptOutcome, "What came of one try at a delivery.")


def _ref(type_name: str, value: Any) -> strawberry.ID | None:
    return strawberry.ID(to_global_id(type_name, value)) if isinstance(value, int) else None


@strawberry.type(name="Notification", description="A notification in the caller's inbox (站内信).")
class NotificationItem:
    id: strawberry.ID = strawberry.field(description="The notification's ID.")
    kind: NotificationKind = strawberry.field(description="What it tells of.")
    title: str = strawberry.field(description="Its title (Chinese).")
    body: str = strawberry.field(description="Its text (Chinese): title, place, slot, deadline.")
    urgent: bool = strawberry.field(description="Urgent: sent at once, even in quiet hours.")
    created_at: datetime = strawberry.field(description="When it was written.")
    read_at: datetime | None = strawberry.field(description="When the caller marked it read.")
    need_id: strawberry.ID | None = strawberry.field(description="The need it is about, if any.")
    enterprise_request_id: strawberry.ID | None = strawberry.field(
        description="The enterprise request it is about, if any."
    )
    matching_job_id: strawberry.ID | None = strawberry.field(
        description="The matching job whose commit it tells of, if any."
    )

    @strawberry.field(description="Whether the caller has read it.")
    def read(self) -> bool:
        return self.read_at is not None

    @classmethod
    def from_row(cls, row: m.Notification) -> NotificationItem:
        assert row.id is not None
        data = row.data or {}
        return cls(
            id=strawberry.ID(to_global_id("Notification", row.id)),
            kind=row.kind,
            title=row.title,
            body=row.body,
            urgent=row.urgent,
            created_at=row.created_at,
            read_at=row.read_at,
            need_id=_ref("Need", data.get("need_id")),
            enterprise_request_id=_ref("EnterpriseRequest", data.get("request_id")),
            matching_job_id=_ref("MatchingJob", data.get("job_id")),
        )


@strawberry.type(description="A page of the caller's notifications, newest first.")
class NotificationConnection:
    nodes: list[NotificationItem] = strawberry.field(description="The page's notifications.")
    page_info: PageInfo = strawberry.field(description="Pagination state of this page.")
    total_count: int = strawberry.field(description="How many match (all pages).")
    unread_count: int = strawberry.field(description="How many of the caller's are unread.")


@strawberry.type(
    name="NotificationDelivery",
    description="A notification going out on one channel (administrators): dead letters are "
    "those with status DEAD.",
)
class DeliveryItem:
    id: strawberry.ID = strawberry.field(description="The delivery's ID.")
    channel: Channel = strawberry.field(description="E-mail, SMS or WeChat.")
    address: str = strawberry.field(description="The e-mail address, phone or WeChat id.")
    status: DeliveryStatus = strawberry.field(description="Where it stands.")
    attempts: int = strawberry.field(description="Tries that failed or succeeded so far.")
    next_attempt_at: datetime = strawberry.field(description="When it is tried next.")
    last_error: str | None = strawberry.field(description="What the last failure said.")
    sent_at: datetime | None = strawberry.field(description="When it was sent.")
    notification_id: strawberry.ID = strawberry.field(description="The notification it sends.")

    @classmethod
    def from_row(cls, row: m.NotificationDelivery) -> DeliveryItem:
        assert row.id is not None
        return cls(
            id=strawberry.ID(to_global_id("NotificationDelivery", row.id)),
            channel=row.channel,
            address=row.address,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            sent_at=row.sent_at,
            notification_id=strawberry.ID(to_global_id("Notification", row.notification_id)),
        )


@strawberry.type(description="A page of deliveries, newest first.")
class DeliveryConnection:
    nodes: list[DeliveryItem] = strawberry.field(description="The page's deliveries.")
    page_info: PageInfo = strawberry.field(description="Pagination state of this page.")
    total_count: int = strawberry.field(description="How many match (all pages).")


@strawberry.type(
    description="How the caller is told besides the inbox: external channels in order of "
    "preference (the next takes over when one fails for good), and their addresses."
)
class NotificationPreferences:
    channels: list[Channel] = strawberry.field(description="E-mail, SMS, WeChat, in order.")
    email: str | None = strawberry.field(description="The e-mail address.")
    wechat_open_id: str | None = strawberry.field(description="The WeChat open id.")
    email_verified: bool = strawberry.field(
        description="Whether the e-mail address is confirmed (confirmNotificationEmail); "
        "notices go to it only then."
    )

    @classmethod
    def of(cls, found: Preferences) -> NotificationPreferences:
        return cls(
            channels=found.channels,
            email=found.email,
            wechat_open_id=found.wechat_open_id,
            email_verified=found.email_verified,
        )
