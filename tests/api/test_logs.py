"""Log lines (api/logs.py): one JSON object per line, text as written, whatever the values."""

from __future__ import annotations

import json

import pytest
import structlog

from api.logs import configure_logging


def test_write_one_json_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    class Opaque:
        pass

    configure_logging("INFO", json=True)  # writes to this test's captured stderr
    log = structlog.get_logger("luling")  # api.logs.log may be bound to an earlier stderr
    log.info("request", method="POST", path="/graphql", status=200, ms=1.25)
    log.info("odd values", who="李明", big=2**70, obj=Opaque(), by_id={7: "x"})
    log.debug("below the level")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and "李明" in lines[1]  # UTF-8 as is, no \u escapes
    first, second = (json.loads(line) for line in lines)
    assert {k: first[k] for k in ("event", "method", "path", "status", "ms", "level")} == {
        "event": "request", "method": "POST", "path": "/graphql", "status": 200, "ms": 1.25,
        "level": "info",
    }  # fmt: skip
    assert first["timestamp"].endswith("Z")
    assert second["big"] == 2**70 and second["by_id"] == {"7": "x"}
    assert second["obj"].startswith("<") and "Opaque" in second["obj"]
