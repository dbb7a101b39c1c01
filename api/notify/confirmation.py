"""Sending an e-mail confirmation code: straight to the address over SMTP, not through the
outbox, so that it is no notification (the inbox would show the code to whoever set the
address) and goes out at once. The service limits how many codes a person gets an hour."""

from __future__ import annotations

import asyncio
import secrets

from api.logs import log
from api.notify.channels import SmtpChannel
from api.notify.dispatcher import senders_of
from api.settings import Settings
from schema.notifications import Channel
from schema.services.inbox import EmailCode
from schema.services.notification_outbox import DeliveryFailed

SUBJECT = "确认您的通知邮箱 Confirm your e-mail address for Luling notices"


def body(code: EmailCode) -> str:
    expires = code.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"您的确认码：{code.code}（{expires} 前有效）。\n"
        f"Your confirmation code: {code.code} (valid until {expires}).\n\n"
        "在芦岭中用 confirmNotificationEmail 输入此码后，通知才会发到本邮箱。"
        "如非本人操作，请忽略本邮件。\n"
        "Notices are sent to this address only once the code is entered "
        "(confirmNotificationEmail). If you did not ask for it, ignore this message.\n"
    )


async def send_code(settings: Settings, code: EmailCode) -> bool:
    """Whether the code went out (False: no SMTP configured, or the server failed)."""
    smtp = senders_of(settings).get(Channel.EMAIL)
    if not isinstance(smtp, SmtpChannel):
        log.warning("e-mail confirmation code not sent: SMTP is not configured")
        return False
    msg = smtp.compose(code.address, SUBJECT, body(code), f"confirm:{secrets.token_hex(8)}")
    try:
        await asyncio.to_thread(smtp.send, msg, code.address)
    except DeliveryFailed as exc:
        log.warning("e-mail confirmation code not sent", error=str(exc))
        return False
    return True
