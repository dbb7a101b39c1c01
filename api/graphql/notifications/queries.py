"""`myNotifications` (the caller's inbox) and `notificationDeliveries` (administrators)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode
from api.graphql.notifications.types import (
    DeliveryConnection,
    DeliveryItem,
    NotificationConnection,
    NotificationItem,
    NotificationPreferences,
)
from api.graphql.relay.connections import After, First, PageArgs, PageInfo
from api.graphql.relay.cursors import BadCursor, seal, unseal
from api.graphql.writes import actor_of
from schema.notifications import DeliveryStatus
from schema.services import inbox as svc


def _page(info: Info, first: int | None, after: str | None) -> tuple[int, int | None]:
    """(page size, the id to page on from) of a newest-first page."""
    size, _ = PageArgs(first=first, after=after).checked()
    if after is None:
        return size, None
    try:
        return size, int(unseal(after, info.context.settings.secret_key).decode())
    except (BadCursor, ValueError):
        raise CodedError("invalid cursor", ErrorCode.BAD_USER_INPUT) from None


def _info(info: Info, ids: list[int], size: int, more: bool, after: str | None) -> PageInfo:
    secret = info.context.settings.secret_key
    cursors = [seal(str(i).encode(), secret) for i in ids]
    return PageInfo(
        has_next_page=more,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


async def inbox_page(
    info: Info, unread_only: bool, first: int | None, after: str | None
) -> NotificationConnection:
    """The caller's inbox, newest first (`myNotifications` and `me { notifications }`)."""
    size, before_id = _page(info, first, after)
    actor = actor_of(info)
    async with info.context.db.session() as session:
        rows = await svc.inbox(
            session, actor, unread_only=unread_only, before_id=before_id, limit=size + 1
        )
        unread = await svc.inbox_count(session, actor, unread_only=True)
        # Unread only: the total is the unread count, counted once.
        total = unread if unread_only else await svc.inbox_count(session, actor, unread_only=False)
    page = rows[:size]
    ids = [r.id for r in page if r.id is not None]
    return NotificationConnection(
        nodes=[NotificationItem.from_row(r) for r in page],
        page_info=_info(info, ids, size, len(rows) > size, after),
        total_count=total,
        unread_count=unread,
    )


@strawberry.type
class NotificationsQuery:
    @strawberry.field(
        description="The caller's notifications (站内信), newest first: those to their account "
        "and to the person it belongs to.",
        permission_classes=can("notification.read_own"),
    )
    async def my_notifications(
        self,
        info: Info,
        unread_only: Annotated[
            bool, strawberry.argument(description="Only those not yet marked read.")
        ] = False,
        first: First = None,
        after: After = None,
    ) -> NotificationConnection:
        return await inbox_page(info, unread_only, first, after)

    @strawberry.field(
        description="Deliveries of notifications by e-mail, SMS or WeChat, newest first "
        "(administrators); `status: DEAD` lists the dead letters.",
        permission_classes=can("notification.admin"),
    )
    async def notification_deliveries(
        self,
        info: Info,
        status: Annotated[
            DeliveryStatus, strawberry.argument(description="Deliveries in this status.")
        ] = DeliveryStatus.DEAD,
        first: First = None,
        after: After = None,
    ) -> DeliveryConnection:
        size, before_id = _page(info, first, after)
        actor = actor_of(info)
        async with info.context.db.session() as session:
            rows = await svc.deliveries(
                session, actor, status=status, before_id=before_id, limit=size + 1
            )
            total = await svc.delivery_count(session, actor, status=status)
        page = rows[:size]
        ids = [r.id for r in page if r.id is not None]
        return DeliveryConnection(
            nodes=[DeliveryItem.from_row(r) for r in page],
            page_info=_info(info, ids, size, len(rows) > size, after),
            total_count=total,
        )

    @strawberry.field(
        description="How you are told besides the inbox (without a choice: SMS to your phone).",
        permission_classes=can("notification.read_own"),
    )
    async def my_notification_preferences(self, info: Info) -> NotificationPreferences:
        async with info.context.db.session() as session:
            found = await svc.preferences(session, actor_of(info))
        return NotificationPreferences.of(found)
