"""Checks on what clients send, shared by the HTTP, GraphQL and token layers.

- Row keys are INTEGER columns (32-bit on PostgreSQL): a key outside 1..`MAX_ROW_ID` names no
  row and must never reach the database, where it would fail as an overflow.
- Text must be storable everywhere: no NUL (PostgreSQL refuses it, SQLite keeps it and then cuts
  strings short in other tools) and no lone surrogates (they cannot be encoded as UTF-8).
- Error messages quote at most a short excerpt of what was sent.
"""

from __future__ import annotations

from schema.text_rules import ECHO_MAX, control_problem, direction_problem, echo

MAX_ROW_ID = 2**31 - 1
EXCERPT_CHARS = ECHO_MAX
excerpt = echo  # at most 32 characters of what was sent, safe in a message (schema.text_rules)


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (NUL, lone surrogate) or may not be written (a
    direction control: `schema.text_rules`), or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if (control := control_problem(value)) is not None:
        return control
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must not contain lone surrogates (not valid Unicode)"
        return direction_problem(value)
    return None


def parse_row_id(digits: str) -> int | None:
    """The key a canonical decimal names ("7"; not " 7", "07", "+7", "7_0", "٧"), if it is in
    1..MAX_ROW_ID; else None."""
    if not (0 < len(digits) <= 10 and digits.isascii() and digits.isdigit()):
        return None
    if digits[0] == "0":
        return None
    value = int(digits)
    return value if value <= MAX_ROW_ID else None
