"""Structured logging: JSON lines in production, readable key=value lines on a terminal."""

from __future__ import annotations

import json as std_json
import logging
import sys
from typing import Any

import orjson
import structlog


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


log = structlog.get_logger("luling")


def _fallback(value: Any) -> Any:
    structlog_repr = getattr(value, "__structlog__", None)
    return structlog_repr() if callable(structlog_repr) else repr(value)


def _json_line(event: dict[str, Any], **_: Any) -> str:
    """One log line as JSON, by orjson (a few times cheaper than `json.dumps`: every request
    writes one at the default level); what orjson refuses (an integer past 64 bits) by the
    standard encoder. UTF-8 as is, never \\u escapes."""
    try:
        return orjson.dumps(event, default=_fallback, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return std_json.dumps(event, default=_fallback, ensure_ascii=False)
