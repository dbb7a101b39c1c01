"""The external channels: e-mail over SMTP, and SMS / WeChat template messages through the
provider's HTTP JSON API. Each is a `Sender` (schema/services/notification_outbox.py): it sends
one claimed delivery, returns the provider's message id, and raises DeliveryFailed (permanent
or not, with the provider's Retry-After) or Throttled (HTTP 429).

The provider's API, as configured by `LULING_SMS_API_URL` / `LULING_WECHAT_API_URL`:

    POST {url}/messages            Authorization: Bearer <key>, Idempotency-Key: <key>
    {"channel": "sms", "to": "<phone or openid>", "template": "<id>", "sign": "<name>",
     "params": {"title": …, "place": …, "slot": …, "deadline": …}, "text": "<full text>"}
    200 {"code": "OK", "messageId": "…"}     sent (a repeated Idempotency-Key answers the same)
    429 (Retry-After: seconds)               throttled: the channel rests, nothing is counted
    5xx, or {"code": "BUSY" | "SYSTEM_ERROR"} failed: retried with backoff
    4xx, or any other code                    refused (invalid number, unknown template …): dead
"""

from __future__ import annotations

import json
import math
import re
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate

from schema.notifications import Channel
from schema.services.notification_outbox import Claimed, DeliveryFailed, Throttled

RETRYABLE_CODES = frozenset({"BUSY", "SYSTEM_ERROR", "TIMEOUT"})
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def one_line(text: str) -> str:
    """A header value: a title may hold line breaks (a need's title is free text), and a
    header may not (the email package refuses them; a raw one would inject headers)."""
    return " ".join(_LINE_BREAKS.sub(" ", text).split())


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int = 25
    sender: str = "luling@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def message(self, d: Claimed) -> EmailMessage:
        # The same delivery always has the same Message-ID: a resend after a crash is a
        # duplicate that mail systems can recognise.
        return self.compose(d.address, d.title, d.body, d.idempotency_key)

    def compose(self, address: str, subject: str, body: str, key: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = one_line(subject)
        msg["From"] = self.sender
        msg["To"] = address
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{key.replace(':', '.')}@luling>"
        msg.set_content(body)
        return msg

    def __call__(self, d: Claimed) -> str | None:
        return self.send(self.message(d), d.address)

    def send(self, msg: EmailMessage, address: str) -> str:
        """Sends `msg` to the one `address`; its Message-ID, or DeliveryFailed."""
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                # The envelope names the one address, whatever the To header parses into.
                smtp.send_message(msg, to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"SMTP refused the recipient: {exc.recipients}",
                permanent=all(c >= 500 for c in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, dropped
            raise DeliveryFailed(f"SMTP server unreachable: {exc}") from exc
        return str(msg["Message-ID"])


def _params(d: Claimed) -> dict[str, str]:
    """The template's values: the notification's plain values, as strings."""
    out = {
        k: str(v)
        for k, v in d.data.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }
    for many in ("needs", "requests"):
        if isinstance(d.data.get(many), list):
            out[f"{many}_count"] = str(len(d.data[many]))
    return out


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides
    if seconds is None or not math.isfinite(seconds):
        return None  # "inf" or "nan": no time to wait for
    return max(seconds, 0.0)


@dataclass(frozen=True)
class ProviderChannel:
    """SMS or WeChat template messages through the provider's HTTP API (see the module)."""

    channel: Channel
    url: str
    key: str | None = None
    templates: dict[str, str] = field(default_factory=dict)
    sign_name: str = ""
    timeout: float = 10.0

    def payload(self, d: Claimed) -> dict[str, object]:
        return {
            "channel": self.channel.value,
            "to": d.address,
            "template": self.templates.get(d.kind.value, f"luling_{d.kind.value}"),
            "sign": self.sign_name,
            "params": _params(d),
            "text": d.body,
        }

    def __call__(self, d: Claimed) -> str | None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": d.idempotency_key}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(
            self.url.rstrip("/") + "/messages",
            data=json.dumps(self.payload(d), ensure_ascii=False).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
            if status == 429:
                raise Throttled(
                    f"{self.channel.value} provider throttled (429)",
                    retry_after=_retry_after(exc.headers.get("Retry-After")),
                ) from exc
        except (OSError, TimeoutError) as exc:
            raise DeliveryFailed(f"{self.channel.value} provider unreachable: {exc}") from exc
        return self._answer(status, raw)

    def _answer(self, status: int, raw: bytes) -> str | None:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        message = body.get("message", "") if isinstance(body, dict) else ""
        what = f"{self.channel.value} provider answered {status} {code} {message}".strip()
        if status >= 500 or code in RETRYABLE_CODES:
            raise DeliveryFailed(what)
        if status >= 400 or code != "OK":
            raise DeliveryFailed(what, permanent=True)
        message_id = body.get("messageId")
        return str(message_id) if message_id is not None else None
