"""Real servers on loopback for the notification channels' tests: an SMTP server (aiosmtpd) that
keeps what it receives and can refuse recipients, and an HTTP server speaking the SMS/WeChat
provider's API (api/notify/channels.py), with its error answers, throttling (429 +
Retry-After) and idempotency keys.

Run as a script (`python -m tests.notify_servers PORT`), the provider serves in the foreground
and appends each accepted message to a JSON-lines log: the kill test's dispatchers run in other
processes and the log outlives them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ---------------------------------------------------------------- SMTP


@dataclass
class Mailbox:
    """What the SMTP server received; recipients in `refuse` get 550, in `busy` 451."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    busy: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        if address in self.busy:
            return "451 4.3.0 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


# ---------------------------------------------------------------- the SMS / WeChat provider


@dataclass
class Provider:
    """The provider's state: every request, the messages accepted (once per idempotency key),
    scripted answers for the next requests, numbers it refuses, and a delay per request."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    invalid: set[str] = field(default_factory=set)
    delay: float = 0.0
    log: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(
        self, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        key = headers.get("idempotency-key", "")
        with self.lock:
            self.requests.append({"headers": headers, "body": body})
            if self.script:
                return self.script.pop(0)
            if headers.get("authorization") != "Bearer test-key":
                return 401, {"code": "UNAUTHORIZED", "message": "bad key"}, {}
            if body.get("to") in self.invalid:
                return 400, {"code": "INVALID_NUMBER", "message": "号码无效"}, {}
            new = key not in self.accepted  # a resend gets the same answer, no second message
            if new:
                self.accepted[key] = {"id": f"m{len(self.accepted) + 1}", "body": body}
            if self.log is not None:
                with self.log.open("a") as out:
                    out.write(json.dumps({"key": key, "to": body.get("to"), "new": new}) + "\n")
            return 200, {"code": "OK", "messageId": self.accepted[key]["id"]}, {}


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if provider.delay:
                time.sleep(provider.delay)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if self.path != "/messages":
                status, answer, extra = 404, {"code": "NOT_FOUND"}, {}
            else:
                status, answer, extra = provider.answer(headers, body)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    return Handler


@contextlib.contextmanager
def provider_server(provider: Provider | None = None) -> Iterator[tuple[str, Provider]]:
    provider = provider or Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", provider
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":  # the kill test's provider, in its own process
    port, log, delay = int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(Provider(log=log, delay=delay)))
    server.serve_forever()
