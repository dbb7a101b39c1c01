"""Passwords: the policy a new password must meet, and hashing with argon2id.

The policy (NIST SP 800-63B, 5.1.1.2): at least 10 characters, at most 256; refused when it is
in a list of common or breached passwords (`data/common-passwords.txt.gz`, see its LICENSE
file), equal to or containing the username (case-insensitive), or only repetition or a
sequence ("aaaaaaaaaa", "1234567890", "abcabcabca", ten spaces). No composition rules (NIST
advises against them). The checks see the password as a person would: NFKC-normalized (full-width
"ｐａｓｓｗｏｒｄ１２３" is "password123"), without invisible control and format characters (a
zero-width space pads no length), case-folded. One home for the API's
`changePassword`/`createAccount` and the CLI.

Hashing: RFC 9106's memory and time costs, on one thread.

argon2-cffi's default parallelism (4 lanes) makes one hash take every core of a small server, so
a login starves the event loop; one lane costs the attacker the same memory and time per guess
and leaves the API its other cores. Existing hashes keep their own parameters (they are stored
in the hash) and still verify."""

from __future__ import annotations

import gzip
import unicodedata
from functools import cache
from itertools import pairwise
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH, MAX_LENGTH = 10, 256
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"
_MAX_PERIOD = 4  # a block of up to 4 characters repeated ("abab…", "123123…") is no password


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (loaded once per process: 45,340 entries)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8", newline="\n") as lines:
        return frozenset(line.rstrip("\n") for line in lines if line.strip())


def _is_sequence(text: str) -> bool:
    """Each character one step up (or each one down) from the one before: "abcdefghij",
    "9876543210"; digits wrap ("7890123456")."""

    steps = {_step(a, b) for a, b in pairwise(text)}
    return steps in ({1}, {-1})


def _step(a: str, b: str) -> int:
    if a.isdecimal() and b.isdecimal():
        up = (int(b) - int(a)) % 10
        return -1 if up == 9 else up
    return ord(b) - ord(a)


def _is_repetition(text: str) -> bool:
    """One short block repeated to the end ("aaaaaaaaaa", "abcabcabca", "          ")."""
    return any(
        text == (text[:period] * (len(text) // period + 1))[: len(text)]
        for period in range(1, _MAX_PERIOD + 1)
    )


def _as_seen(text: str) -> str:
    """NFKC, without control (Cc) and format (Cf) characters, case-folded."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in normal if unicodedata.category(ch) not in ("Cc", "Cf")).casefold()


def password_problem(password: str, username: str = "") -> str | None:
    """Why `password` may not be used by `username`, or None when it may."""
    if len(password) > MAX_LENGTH:
        return f"at most {MAX_LENGTH} characters"
    folded, name = _as_seen(password), _as_seen(username.strip())
    if len(folded) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters (invisible ones not counted)"
    if name and name in folded:
        return "must not contain the username"
    if _is_repetition(folded) or _is_sequence(folded):
        return "must not be one character or a short block repeated, or a sequence like 1234…"
    if folded in common_passwords() or folded.strip() in common_passwords():
        return "is in a list of common or breached passwords; choose another"
    return None


_hasher = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
