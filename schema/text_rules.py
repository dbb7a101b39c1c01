"""What text anyone may write into Luling: one rule for every name, title, note and search.

Unicode's bidirectional controls (marks, embeddings, overrides, isolates) are invisible and make
text display as something else: "\u202e" turns what follows around, so a member named with it
shows a different name in every list and notice. Nothing written here needs them (names and
notes are Chinese or Latin), so they are refused wherever text comes in.

Control characters (ESC, backspace, U+0080…U+009F …) likewise: a title carrying ESC repainted
the terminal that printed it and made `luling export --format xlsx` fail for the whole period
(openpyxl refuses them). Tab, line feed and carriage return stay (multi-line descriptions).
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
DIRECTION_PROBLEM = "must not contain invisible text-direction characters (such as U+202E)"


def direction_problem(value: str) -> str | None:
    """Why `value` may not be written (it carries a direction control), or None."""
    if value.isascii() or BIDI_CONTROLS.isdisjoint(value):
        return None
    return DIRECTION_PROBLEM


CONTROLS = frozenset(
    [chr(c) for c in range(0x01, 0x20) if chr(c) not in "\t\n\r"]
    + [chr(c) for c in range(0x7F, 0xA0)]
)
CONTROL_PROBLEM = "must not contain control characters (such as ESC, U+001B)"


def control_problem(value: str) -> str | None:
    """Why `value` may not be written (it carries a control character), or None."""
    return None if CONTROLS.isdisjoint(value) else CONTROL_PROBLEM


def written_text_problem(value: str) -> str | None:
    """Why `value` may not be written (a direction or control character), or None."""
    return direction_problem(value) or control_problem(value)


# Characters that show nothing: format characters (zero-width space and joiners, word joiner,
# BOM, soft hyphen, tags …: category Cf), separators and controls, and the Hangul fillers that
# render as blank (category Lo, so named here).
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
_BLANK_CATEGORIES = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})


def is_blank(value: str) -> bool:
    """True when nothing of `value` would show: a required name or title of only zero-width
    spaces or fillers looked empty in every list while passing a plain emptiness check."""
    return all(
        ch in _FILLERS or unicodedata.category(ch) in _BLANK_CATEGORIES or ch.isspace()
        for ch in value
    )


ECHO_MAX = 32  # characters of what a caller sent that an error message quotes back


def echo(value: object, limit: int = ECHO_MAX) -> str:
    """At most `limit` characters of `value` (and "…" when cut), as an error message quotes
    what a caller sent: a hostile megabyte is not sent back, line breaks become spaces, and
    NUL and lone surrogates (which would make the response unencodable) show as escapes."""
    text = value if isinstance(value, str) else repr(value)
    short = " ".join(text[: limit + 1].splitlines())[:limit] + ("…" if len(text) > limit else "")
    return short.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


# Contact details written into free text (a resolver's note: "已联系张三，电话139…"): an ID
# number (18 characters, the last may be X), a mobile number, a landline with its area code.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(0[0-9]{2,3})-?[0-9]{3,4}([0-9]{4})(?![0-9])")


def mask_contacts(text: str) -> str:
    """The text with ID, mobile and landline numbers masked (360821********1234,
    139****5678, 0796-****2345), for reports that leave the county's system."""
    text = _ID_NUMBER.sub(lambda m: m[1] + "*" * 8 + m[2], text)
    text = _MOBILE.sub(lambda m: m[1] + "****" + m[2], text)
    return _LANDLINE.sub(lambda m: m[1] + "-****" + m[2], text)
