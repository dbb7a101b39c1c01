"""Routes of the console: its page, its static files (gzip-compressed), and the enums' labels."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from schema import enums
from schema.base import LabelledEnum

STATIC = Path(__file__).parent / "static"

# Everything from this origin, nothing inline, no eval: the pages' scripts, styles and fonts are
# files under /static, their requests (HTTP and WebSocket: CSP 3's 'self' covers ws(s):// to this
# host) go to /graphql. data: images and fonts are ECharts' and GraphiQL's small icons.
CONSOLE_CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",  # GraphiQL's stylesheet carries its fonts inline
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
_PAGE_HEADERS = {"Content-Security-Policy": CONSOLE_CSP, "Cache-Control": "no-cache"}


@cache
def _page(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    """GraphiQL, its React and its styles from /static/vendor (see static/graphiql.html)."""
    return HTMLResponse(_page("graphiql.html"), headers=_PAGE_HEADERS)


async def _console(_: Request) -> Response:
    return HTMLResponse(_page("index.html"), headers=_PAGE_HEADERS)


@cache
def labels_module() -> str:
    """Every enum's Chinese labels as an ES module: `LABELS.NeedStatus.DISPATCHED` → 已派单.
    The labels live once, in schema/enums.py; GraphQL names the values by their member names."""
    labels = {
        cls.__name__: {member.name: member.label for member in cls}
        for cls in vars(enums).values()
        if isinstance(cls, type) and issubclass(cls, LabelledEnum) and cls is not LabelledEnum
    }
    return "export const LABELS = " + json.dumps(labels, ensure_ascii=False, indent=1) + ";\n"


async def _labels(_: Request) -> Response:
    return Response(labels_module(), media_type="text/javascript; charset=utf-8")


def console_routes() -> list[BaseRoute]:
    static = GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=1024)
    return [
        Route("/", _console, methods=["GET"]),
        Route("/static/labels.js", _labels, methods=["GET"]),
        Mount("/static", app=static, name="static"),
    ]
