"""`markNotificationsRead` (the caller's own) and `retryNotificationDeliveries` (administrators:
dead letters back to the outbox)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import can
from api.graphql.context import Info
from api.graphql.errors import CodedError, ErrorCode, UserError
from api.graphql.lists import MaxItems
from api.graphql.notifications.types import DeliveryItem, NotificationPreferences
from api.graphql.relay import from_global_id
from api.graphql.writes import actor_of, write
from api.notify.confirmation import send_code
from schema import models as m
from schema.notifications import Channel
from schema.services import inbox as svc
from schema.services.errors import Invalid


def _ids(global_ids: list[strawberry.ID], type_name: str) -> list[int | None]:
    """Primary keys; None for an ID that is not one of `type_name` (refused by the service)."""
    out: list[int | None] = []
    for g in global_ids:
        try:
            kind, pk = from_global_id(g)
        except CodedError:  # a malformed ID: the service names it as `ids.<index>`
            out.append(None)
            continue
        out.append(pk if kind == type_name else None)
    return out


@strawberry.input(description="Which of your notifications to mark read.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="These notifications (at most 500)."
    )
    all: bool = strawberry.field(
        default=False, description="Every unread one instead (then give no `ids`)."
    )


@strawberry.type(description="How many notifications were marked read, or why none were.")
class MarkNotificationsReadPayload:
    marked: int = strawberry.field(description="Notifications marked read now.")
    unread_count: int = strawberry.field(description="The caller's unread notifications left.")
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(500)]
    )


@strawberry.input(description="Dead letters to send again.")
class RetryNotificationDeliveriesInput:
    ids: list[strawberry.ID] = strawberry.field(description="The deliveries (at most 500).")


@strawberry.type(description="The deliveries queued again, or why none were.")
class RetryNotificationDeliveriesPayload:
    deliveries: list[DeliveryItem] = strawberry.field(
        description="The deliveries, pending again.", extensions=[MaxItems(500)]
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(500)]
    )


@strawberry.input(description="How to be told besides the inbox.")
class SetNotificationPreferencesInput:
    channels: list[Channel] = strawberry.field(
        description="E-mail, SMS and/or WeChat, in order of preference (empty: the inbox only)."
    )
    email: str | None = strawberry.field(default=None, description="For EMAIL.")
    wechat_open_id: str | None = strawberry.field(default=None, description="For WECHAT.")


@strawberry.type(description="The preferences now, or why they were not changed.")
class SetNotificationPreferencesPayload:
    preferences: NotificationPreferences | None = strawberry.field(
        description="The preferences now; null on error."
    )
    email_code_sent: bool = strawberry.field(
        description="Whether a code to confirm the e-mail address was sent to it now."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed (empty on success).", extensions=[MaxItems(100)]
    )


@strawberry.input(description="The code sent to your new e-mail address.")
class ConfirmNotificationEmailInput:
    code: str = strawberry.field(description="The six digits from the confirmation e-mail.")


Input = strawberry.argument(description="The mutation's input.")


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        description="Mark your notifications read: these `ids`, or `all` unread ones. All or "
        "none: an ID that is not one of yours is refused.",
        permission_classes=can("notification.read_own"),
    )
    async def mark_notifications_read(
        self, info: Info, input: Annotated[MarkNotificationsReadInput, Input]
    ) -> MarkNotificationsReadPayload:
        actor = actor_of(info)

        async def work(session: AsyncSession) -> tuple[int, int]:
            if input.all and input.ids is not None:  # which did the caller mean?
                raise Invalid("ids", "give ids or all, not both")
            ids = None if input.all else _ids(input.ids or [], "Notification")
            marked = await svc.mark_read(session, actor, ids=ids)
            return marked, await svc.inbox_count(session, actor, unread_only=True)

        result, errors = await write(info, work)
        if result is None:
            async with info.context.db.session() as session:
                unread = await svc.inbox_count(session, actor, unread_only=True)
            return MarkNotificationsReadPayload(marked=0, unread_count=unread, user_errors=errors)
        return MarkNotificationsReadPayload(
            marked=result[0], unread_count=result[1], user_errors=[]
        )

    @strawberry.mutation(
        description="Send dead letters again (administrators): back to pending, their count of "
        "attempts starting over. All or none.",
        permission_classes=can("notification.admin"),
    )
    async def retry_notification_deliveries(
        self, info: Info, input: Annotated[RetryNotificationDeliveriesInput, Input]
    ) -> RetryNotificationDeliveriesPayload:
        async def work(session: AsyncSession) -> list[m.NotificationDelivery]:
            ids = _ids(input.ids, "NotificationDelivery")
            return await svc.retry_deliveries(session, actor_of(info), ids=ids)

        rows, errors = await write(info, work)
        return RetryNotificationDeliveriesPayload(
            deliveries=[DeliveryItem.from_row(r) for r in rows or []], user_errors=errors
        )

    @strawberry.mutation(
        description="Choose how you are told besides the inbox: channels in order of "
        "preference with their addresses (SMS goes to the phone on record).",
        permission_classes=can("notification.read_own"),
    )
    async def set_notification_preferences(
        self, info: Info, input: Annotated[SetNotificationPreferencesInput, Input]
    ) -> SetNotificationPreferencesPayload:
        async def work(session: AsyncSession) -> tuple[svc.Preferences, svc.EmailCode | None]:
            return await svc.set_preferences(
                session,
                actor_of(info),
                channels=input.channels,
                email=input.email,
                wechat_open_id=input.wechat_open_id,
            )

        found, errors = await write(info, work)
        if found is None:
            return SetNotificationPreferencesPayload(
                preferences=None, email_code_sent=False, user_errors=errors
            )
        prefs, code = found
        # Sent once the address and the code's hash are committed, so the code always works.
        sent = code is not None and await send_code(info.context.settings, code)
        return SetNotificationPreferencesPayload(
            preferences=NotificationPreferences.of(prefs), email_code_sent=sent, user_errors=[]
        )

    @strawberry.mutation(
        description="Confirm your e-mail address with the code sent to it when you set it; "
        "notices go there only once it is confirmed. A wrong or expired code is a userError; "
        "after a few wrong ones, set the address again for a new code.",
        permission_classes=can("notification.read_own"),
    )
    async def confirm_notification_email(
        self, info: Info, input: Annotated[ConfirmNotificationEmailInput, Input]
    ) -> SetNotificationPreferencesPayload:
        actor = actor_of(info)
        # A wrong code is committed as an attempt (not rolled back), hence no `write`.
        async with info.context.db.transaction() as session:
            found, problem = await svc.confirm_email(session, actor, code=input.code)
        if found is None:
            error = UserError(
                field=["input", "code"], message=problem or "", code=ErrorCode.BAD_USER_INPUT
            )
            return SetNotificationPreferencesPayload(
                preferences=None, email_code_sent=False, user_errors=[error]
            )
        return SetNotificationPreferencesPayload(
            preferences=NotificationPreferences.of(found), email_code_sent=False, user_errors=[]
        )
