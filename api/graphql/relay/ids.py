"""Opaque global IDs (Relay): base64("Type:pk"), one spelling per object, and the `Node`
interface every fetchable type implements."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from typing import Any

import strawberry

from api.graphql.errors import CodedError, ErrorCode
from api.inputs import excerpt, parse_row_id

# Type names as `__node_name__` spells them; with a 10-digit key, well under 128 characters.
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z0-9]{0,63}")
_MAX_GLOBAL_ID = 128


def to_global_id(type_name: str, pk: int) -> str:
    # binascii directly: base64.b64encode's wrapper costs as much again.
    return binascii.b2a_base64(f"{type_name}:{pk}".encode(), newline=False).decode("ascii")


_SPELLED_LIMIT = 50_000


def id_speller(type_name: str) -> Callable[[int], str]:
    """`to_global_id` for one type (a row type's own: never a name a client sent), remembering
    what it spelled: pages read the same objects again and again, and a lookup costs a fifth
    of the encoding. Bounded: the table is dropped when it is full."""
    spelled: dict[int, str] = {}

    def spell(pk: int) -> str:
        found = spelled.get(pk)
        if found is None:
            found = to_global_id(type_name, pk)
            if type(pk) is int:  # a key of another type (a str of digits) may spell otherwise
                if len(spelled) >= _SPELLED_LIMIT:
                    spelled.clear()
                spelled[pk] = found
        return found

    return spell


def from_global_id(global_id: str) -> tuple[str, int]:
    """(type name, primary key) of a global ID; a coded BAD_USER_INPUT error unless it is
    exactly what `to_global_id` makes for a key in the database's range (one spelling per
    object: no padding tricks, spaces, signs, leading zeros or non-ASCII digits)."""
    if not isinstance(global_id, str) or len(global_id) > _MAX_GLOBAL_ID:
        raise _malformed(global_id)
    try:
        raw = base64.b64decode(global_id, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _malformed(global_id) from None
    type_name, _, digits = raw.partition(":")
    pk = parse_row_id(digits)
    if pk is None or not _TYPE_NAME.fullmatch(type_name):
        raise _malformed(global_id)
    if to_global_id(type_name, pk) != global_id:  # e.g. non-zero padding bits
        raise _malformed(global_id)
    return type_name, pk


def _malformed(global_id: Any) -> CodedError:
    """The error of an ID `from_global_id` refuses (built only then: a valid ID costs none)."""
    return CodedError(f"malformed ID '{excerpt(global_id)}'", ErrorCode.BAD_USER_INPUT)


def decode_id(global_id: str, expected: str | Iterable[str]) -> int:
    """The primary key of a global ID that must name the `expected` type (or one of them)."""
    type_name, pk = from_global_id(global_id)
    names = (expected,) if isinstance(expected, str) else tuple(expected)
    if type_name not in names:
        raise CodedError(
            f"ID '{excerpt(global_id)}' is a {excerpt(type_name)}, expected {' or '.join(names)}",
            ErrorCode.BAD_USER_INPUT,
        )
    return pk


@strawberry.interface(description="An object with a globally unique, opaque ID (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID; pass it to `node(id:)` to fetch the object again."
    )
