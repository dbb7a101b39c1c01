"""Security headers on every HTTP response, and a JSON body for the unexpected 500.

Every response (GraphQL, /healthz, errors, 404s, CORS preflights) gets `X-Content-Type-Options:
nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and a Content-Security-Policy:
`API_CSP` (nothing may load, nothing may frame it) unless the response brought its own (added by
`api.http_limits.HTTPGate`). The ones
that do are the console's pages and GraphiQL (`api.console.CONSOLE_CSP`: files from this origin
only, nothing inline, no eval).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": API_CSP,
}


def internal_error(_: Request, __: Exception) -> Response:
    """The answer to an exception nothing else handled: JSON with a code, like every error.
    Starlette sends it from outside the middleware stack, so it carries the headers itself."""
    body = {"errors": [{"message": "Unexpected error.", "extensions": {"code": "INTERNAL"}}]}
    return JSONResponse(body, status_code=500, headers=SECURITY_HEADERS)
