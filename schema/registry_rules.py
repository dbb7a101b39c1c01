"""What a shared-registry (一表同享) row must be: pure checks, no database.

Resident ID numbers follow GB 11643-1999 (17 digits, a birth date, a check character from the
ISO 7064 MOD 11-2 weights); unified social credit codes follow GB 32100-2015 (18 characters of a
31-letter alphabet, a MOD 31 check character). Both are checked in full, so a typo in any one
character is refused.
"""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import date
from functools import lru_cache
from operator import mul

from schema.geo import county_problem

# GB 11643: weight of position i is 2^(17-i) mod 11; the remainder of the weighted sum picks
# the check character.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")

# GB 32100: the alphabet leaves out I, O, S, V and Z (easily misread); weights 3^i mod 31.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_ALPHABET)}
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_CREDIT_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")

# Mainland mobiles (1[3-9] + 9 digits) and fixed lines with an area code (0797 is Ji'an's).
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}$")


# Digits as their ASCII codes (48 + d): the weighted sum then carries 48 × sum(weights) more.
_ASCII_OFFSET = 48 * sum(_ID_WEIGHTS)


def id_number_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(map(mul, first17.encode("ascii"), _ID_WEIGHTS)) - _ASCII_OFFSET
    return _ID_CHECK[total % 11]


def id_number_birth_date(id_number: str) -> date | None:
    """The birth date an ID number carries (positions 7–14), None if it is no real date."""
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


@lru_cache(maxsize=1 << 16)  # a registry has some tens of thousands of distinct birth dates
def _birth_date_ok(yyyymmdd: str) -> bool:
    born = id_number_birth_date(f"{'':6}{yyyymmdd}")
    return born is not None and born.year >= 1900


def id_number_problem(value: str) -> str | None:
    """Why this is not a valid 18-character resident ID number, or None."""
    if not _ID_SHAPE.match(value):
        return "ID number must be 17 digits and a digit or X"
    if not _birth_date_ok(value[6:14]):
        return "ID number carries no valid birth date"
    if id_number_check_char(value[:17]) != value[17]:
        return "ID number check digit is wrong (GB 11643)"
    return None


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(map(mul, map(_CREDIT_VALUE.__getitem__, first17), _CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(value: str) -> str | None:
    """Why this is not a valid unified social credit code, or None."""
    if not _CREDIT_SHAPE.match(value):
        return "credit code must be 18 characters of 0-9 and A-Y without I, O, S, V, Z"
    if credit_code_check_char(value[:17]) != value[17]:
        return "credit code check character is wrong (GB 32100)"
    return None


# A decimal as a spreadsheet writes it: ASCII digits, one optional sign and point. Python's
# float() also takes "2_7.0", full-width "２７.０", "1e2" and "inf", which no registry means.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def decimal(text: str) -> float | None:
    """The number a file's cell writes, or None when it is not a plain decimal."""
    text = text.strip()
    return float(text) if _DECIMAL.fullmatch(text) else None


def phone_problem(value: str) -> str | None:
    """Why this is not a mobile (11 digits) or fixed-line number with area code, or None."""
    if _MOBILE.match(value) or _LANDLINE.match(value):
        return None
    return "phone must be a mobile number (11 digits) or a fixed line with area code"


def coordinates_problem(
    latitude: str, longitude: str, counties: Container[str], home: str | None = None
) -> tuple[float, float] | str:
    """The point as floats, or why it is refused: not numbers, or not in one of `counties`
    (those the database holds), or not in `home` (the county of the row's community)."""
    lat, lon = decimal(latitude), decimal(longitude)
    if lat is None or lon is None:
        return "latitude and longitude must be numbers"
    why = county_problem(lat, lon, counties, home)  # NaN lies in no county
    return (lat, lon) if why is None else why
