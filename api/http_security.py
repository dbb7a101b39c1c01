"""Security headers on every HTTP response, and a JSON body for the unexpected 500.

Every response (GraphQL, /healthz, errors, 404s, CORS preflights) gets `X-Content-Type-Options:
nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and a Content-Security-Policy:
`API_CSP` (nothing may load, nothing may frame it) unless the response brought its own. The ones
that do are the console's pages and GraphiQL (`api.console.CONSOLE_CSP`: files from this origin
only, nothing inline, no eval).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": API_CSP,
}


class SecurityHeaders:
    """ASGI middleware: adds `SECURITY_HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._raw = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self._raw if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def internal_error(_: Request, __: Exception) -> Response:
    """The answer to an exception nothing else handled: JSON with a code, like every error.
    Starlette sends it from outside the middleware stack, so it carries the headers itself."""
    body = {"errors": [{"message": "Unexpected error.", "extensions": {"code": "INTERNAL"}}]}
    return JSONResponse(body, status_code=500, headers=SECURITY_HEADERS)
