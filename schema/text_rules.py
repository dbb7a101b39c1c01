"""What text anyone may write into Luling: one rule for every name, title, note and search.

Unicode's bidirectional controls (marks, embeddings, overrides, isolates) are invisible and make
text display as something else: "\u202e" turns what follows around, so a member named with it
shows a different name in every list and notice. Nothing written here needs them (names and
notes are Chinese or Latin), so they are refused wherever text comes in.
"""

from __future__ import annotations

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
DIRECTION_PROBLEM = "must not contain invisible text-direction characters (such as U+202E)"


def direction_problem(value: str) -> str | None:
    """Why `value` may not be written (it carries a direction control), or None."""
    if value.isascii() or BIDI_CONTROLS.isdisjoint(value):
        return None
    return DIRECTION_PROBLEM
