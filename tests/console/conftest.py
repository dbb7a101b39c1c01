"""Browser tests of the console and GraphiQL: `luling serve` (uvicorn) on a free port over the
reference county (in its own fresh database, seeded once for the package), and Debian's Chromium
driven by Playwright. Every page runs with every request outside the server's origin refused,
and a test fails on any console error, page error or refused request.

Without Chromium the tests are skipped, except under CI (CI=true), where they must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from schema.db import make_engine
from schema.migrate import upgrade
from seed import DEMO_PASSWORD, load_reference
from tests.dbutil import fresh_database
from tests.served import serving

CHROMIUM = shutil.which("chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

if CHROMIUM is None and os.environ.get("CI") != "true":
    pytest.skip(
        "Chromium not found (apt-get install chromium); the console's browser tests need it",
        allow_module_level=True,
    )


@pytest.fixture(scope="package")
def console_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`luling serve` (uvicorn) over the reference county in a fresh database; its base URL."""
    tmp = tmp_path_factory.mktemp("console")
    with fresh_database(tmp, "console") as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            load_reference(engine, reset=False)
        finally:
            engine.dispose()
        with serving(url, tmp) as base:
            yield base


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.fail("CI=true but no chromium on PATH: .ci/run installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """What went wrong on the pages of one test: console errors, page errors, refused requests."""

    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def open_page(browser: Any, base: str, watched: Watched, **options: Any) -> Any:
    """A page in a fresh context (1280×800 unless told), that may reach `base` only."""
    context = browser.new_context(
        viewport=options.pop("viewport", {"width": 1280, "height": 800}),
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        **options,
    )

    def guard(route: Any) -> None:
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            watched.refused.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on(
        "console",
        lambda m: watched.errors.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: watched.errors.append(f"page error: {e}"))
    return page


@pytest.fixture
def watched() -> Iterator[Watched]:
    found = Watched()
    yield found
    assert not found.refused, f"requests outside the server's origin: {found.refused}"
    assert not found.errors, "\n".join(found.errors)


@pytest.fixture
def page(browser: Any, console_url: str, watched: Watched) -> Iterator[Any]:
    page = open_page(browser, console_url, watched)
    yield page
    page.context.close()


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("button", name="退出").wait_for()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> None:
    """The README's picture of this page (docs/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
