"""The console's and GraphiQL's files: served from this origin, licensed, pinned as the refresh
script says, within the page weight budget, and the enums' labels served from schema/enums.py."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from starlette.testclient import TestClient

from api.console.routes import STATIC

ROOT = Path(__file__).resolve().parents[2]
VENDOR = STATIC / "vendor"
BUDGET = 1_000_000  # bytes of gzip-compressed JavaScript one page may load
_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](/static/[^"']+|\./[^"']+)["']""")
_SCRIPT = re.compile(r'<script[^>]*\ssrc="(/static/[^"]+)"')


def _file(url: str) -> Path:
    return STATIC / url.removeprefix("/static/")


def _modules(start: str) -> set[str]:
    """Every script URL an ES module loads, statically or with import(), transitively."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        url = todo.pop()
        if url in seen or url == "/static/labels.js":  # labels.js is generated: no imports
            continue
        seen.add(url)
        text = _file(url).read_text(encoding="utf-8")
        for found in _IMPORT.findall(text):
            todo.append(found if found.startswith("/") else url.rsplit("/", 1)[0] + found[1:])
    return seen


def _page_scripts(page: str) -> set[str]:
    urls: set[str] = set()
    for src in _SCRIPT.findall((STATIC / page).read_text(encoding="utf-8")):
        urls |= _modules(src) if src.endswith(".js") and "/app/" in src else {src}
    return urls


def test_keep_every_page_under_a_megabyte_of_compressed_javascript() -> None:
    for page, least in (("index.html", 10), ("graphiql.html", 5)):
        scripts = _page_scripts(page)
        assert len(scripts) >= least, (page, scripts)  # the walk found the page's modules
        size = sum(len(gzip.compress(_file(u).read_bytes(), 6)) for u in scripts)
        assert size < BUDGET, f"{page} loads {size} bytes of gzip-compressed JavaScript"


def test_vendor_libraries_are_pinned_by_the_refresh_script_and_licensed() -> None:
    versions = json.loads((VENDOR / "versions.json").read_text(encoding="utf-8"))
    script = (ROOT / "scripts" / "refresh-console-assets.sh").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Z_]+)=(\d[\w.-]*)", script, re.M))
    assert set(versions.values()) == set(pins.values())
    for name, version in versions.items():
        folder = VENDOR / f"{name}@{version}"
        assert folder.is_dir(), folder
        licence = [p for p in folder.iterdir() if p.name.upper().startswith("LICEN")]
        assert licence or (folder / "package.json").is_file(), f"{folder}: no licence"
    # Every vendored file a page names is one of these pinned folders.
    pages = (STATIC / "index.html").read_text() + (STATIC / "graphiql.html").read_text()
    pages += "".join(p.read_text(encoding="utf-8") for p in (STATIC / "app").glob("*.js"))
    for used in re.findall(r"/static/vendor/([^\"']+?)/[^/\"']+[\"']", pages):
        name, _, version = used.rpartition("@")
        assert versions.get(name) == version, used


def test_serve_the_console_labels_and_compressed_assets(client: TestClient) -> None:
    labels = client.get("/static/labels.js")
    assert labels.headers["content-type"].startswith("text/javascript")
    table = json.loads(labels.text.removeprefix("export const LABELS = ").rstrip().rstrip(";"))
    assert table["NeedStatus"]["DISPATCHED"] == "已派单"
    assert table["NeedTier"]["MAJOR"] == "特殊重大问题"
    assert table["ProposalStatus"]["PINNED"] == "已锁定"
    big = client.get(
        "/static/vendor/echarts@6.1.0/echarts.esm.min.js", headers={"accept-encoding": "gzip"}
    )
    assert big.status_code == 200 and big.headers["content-encoding"] == "gzip"
    assert big.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/../api/settings.py").status_code == 404
    assert client.get("/static/app/nothing.js").status_code == 404
