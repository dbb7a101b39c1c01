"""Fake but well-formed identifiers: mobile numbers, resident ID numbers, credit codes."""

from __future__ import annotations

import random
from datetime import date, timedelta

# The check characters are the domain's rules (schema/registry_rules.py): one definition.
from schema.registry_rules import credit_code_check_char as uscc_check_char
from schema.registry_rules import credit_code_problem, id_number_problem
from schema.registry_rules import id_number_check_char as id_check_digit

# 吉安县's administrative division code (GB/T 2260), the first six digits of local ID numbers.
JIAN_COUNTY_CODE = "360821"

MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "155", "157", "158", "159", "166", "173", "176", "177", "178", "180", "181", "182",
    "183", "185", "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def mobile_number(rng: random.Random) -> str:
    """An 11-digit mainland mobile number, e.g. 13812345678."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def id_number_valid(number: str) -> bool:
    return id_number_problem(number) is None


def resident_id_number(rng: random.Random, *, born: date, sequence: int) -> str:
    """An 18-character ID number registered in 吉安县 (region code, birth date, sequence, check)."""
    seq = f"{sequence % 1000:03d}"
    first17 = f"{JIAN_COUNTY_CODE}{born:%Y%m%d}{seq}"
    return first17 + id_check_digit(first17)


def birth_date(rng: random.Random, *, today: date, min_age: int, max_age: int) -> date:
    days = rng.randrange(min_age * 365, max_age * 365)
    return today - timedelta(days=days)


def _org_code(serial: int) -> str:
    """A 9-character organisation code (GB 11714): 8 digits and a check character."""
    body = f"{serial % 100_000_000:08d}"
    c = 11 - sum(int(d) * w for d, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return body + ("X" if c == 10 else "0" if c == 11 else str(c))


def credit_code(serial: int) -> str:
    """A unified social credit code (GB 32100, 18 chars) of a 吉安县 company; unique per serial."""
    first17 = "91" + JIAN_COUNTY_CODE + _org_code(36_000_000 + serial)
    return first17 + uscc_check_char(first17)


def credit_code_valid(code: str) -> bool:
    return credit_code_problem(code) is None
