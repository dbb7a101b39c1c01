"""`myNotifications` as a subscription: each new notification of the caller's, as it is
written (after the transaction that wrote it commits; the clock's reminders and warnings too).
Authenticate in `connection_init` (`{"authorization": "Bearer <token>"}`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from api.auth.permissions import can
from api.broadcast import inbox_channel
from api.graphql.context import Info
from api.graphql.notifications.types import NotificationItem
from api.graphql.writes import actor_of, broadcaster_of
from schema.services import inbox as svc


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        description="Your new notifications (站内信), as they are written.",
        permission_classes=can("notification.read_own"),
    )
    async def my_notifications(self, info: Info) -> AsyncGenerator[NotificationItem, None]:
        actor = actor_of(info)
        channels = [inbox_channel(None, actor.account_id)]
        if actor.person_id is not None:
            channels.append(inbox_channel(actor.person_id, None))
        broadcaster = broadcaster_of(info)
        queue: asyncio.Queue[int] = asyncio.Queue()

        async def follow(channel: str) -> None:
            async with broadcaster.subscribe(channel) as messages:
                async for message in messages:
                    await queue.put(int(message["notificationId"]))

        tasks = [asyncio.create_task(follow(c)) for c in channels]
        try:
            while True:
                notification_id = await queue.get()
                async with info.context.db.session() as session:
                    row = await svc.own_notification(session, actor, notification_id)
                if row is not None:
                    yield NotificationItem.from_row(row)
        finally:
            for task in tasks:
                task.cancel()
