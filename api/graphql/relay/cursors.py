"""Opaque cursors: a page position sealed with the app's secret.

A cursor holds the sort keys of a row (a name, a time, a distance ring …); shown in clear it
would reveal what the page masks (a resident's name under `王**`). So the position is encrypted
and authenticated: deterministic authenticated encryption (SIV-style) from HMAC-SHA256 only:
the tag is HMAC(mac key, plaintext)[:16], which also seeds a keystream HMAC(enc key, tag ‖ i).
The same position always gives the same cursor; a changed byte, a cursor of another server
secret or a made-up one fails the tag and is refused (the caller turns that into
BAD_USER_INPUT).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_TAG = 16
_BLOCK = 32


class BadCursor(ValueError):
    """Not a cursor this server sealed."""


def _keys(secret: str) -> tuple[bytes, bytes]:
    root = hashlib.sha256(b"luling cursor v1\0" + secret.encode()).digest()
    mac = hmac.new(root, b"mac", hashlib.sha256).digest()
    enc = hmac.new(root, b"enc", hashlib.sha256).digest()
    return mac, enc


_KEYS: dict[str, tuple[bytes, bytes]] = {}


def _keys_of(secret: str) -> tuple[bytes, bytes]:
    found = _KEYS.get(secret)
    if found is None:
        found = _KEYS[secret] = _keys(secret)
    return found


def _stream(enc: bytes, tag: bytes, n: int) -> bytes:
    blocks = (n + _BLOCK - 1) // _BLOCK
    return b"".join(
        hmac.new(enc, tag + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks)
    )[:n]


def seal(plaintext: bytes, secret: str) -> str:
    mac, enc = _keys_of(secret)
    tag = hmac.new(mac, plaintext, hashlib.sha256).digest()[:_TAG]
    body = bytes(a ^ b for a, b in zip(plaintext, _stream(enc, tag, len(plaintext)), strict=True))
    return base64.urlsafe_b64encode(tag + body).decode("ascii").rstrip("=")


def unseal(cursor: str, secret: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError, UnicodeError):
        raise BadCursor from None
    if len(raw) <= _TAG:
        raise BadCursor
    mac, enc = _keys_of(secret)
    tag, body = raw[:_TAG], raw[_TAG:]
    plaintext = bytes(a ^ b for a, b in zip(body, _stream(enc, tag, len(body)), strict=True))
    if not hmac.compare_digest(tag, hmac.new(mac, plaintext, hashlib.sha256).digest()[:_TAG]):
        raise BadCursor
    return plaintext
