"""`matching/` is the pure optimiser: it imports nothing of ours (no tables, no services, no web,
no seed), so it can be benchmarked, tested and reused on its own."""

from __future__ import annotations

import ast
from pathlib import Path

MATCHING = Path(__file__).resolve().parents[2] / "matching"
OURS = ("schema", "api", "seed", "bench", "tests")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_matching_imports_nothing_of_ours() -> None:
    found = {
        f"{path.name}: {name}"
        for path in sorted(MATCHING.glob("*.py"))
        for name in _imported(path)
        if name.split(".")[0] in OURS
    }
    assert found == set()
    assert len(list(MATCHING.glob("*.py"))) > 10  # the walk did find the package
