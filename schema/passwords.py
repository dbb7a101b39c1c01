"""Password hashing with argon2id: RFC 9106's memory and time costs, on one thread.

argon2-cffi's default parallelism (4 lanes) makes one hash take every core of a small server, so
a login starves the event loop; one lane costs the attacker the same memory and time per guess
and leaves the API its other cores. Existing hashes keep their own parameters (they are stored
in the hash) and still verify."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=3, memory_cost=65_536, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
