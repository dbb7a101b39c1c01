"""The password policy (`schema.passwords`, NIST SP 800-63B): length, the shipped list of common
and breached passwords, the username, repetition and sequences."""

from __future__ import annotations

import pytest

from schema.passwords import MAX_LENGTH, common_passwords, password_problem


def test_ship_a_large_list_of_common_passwords() -> None:
    listed = common_passwords()
    assert len(listed) > 40_000
    assert {"password123", "qwertyuiop", "iloveyou123", "1q2w3e4r5t"} <= listed
    assert all(len(p) >= 10 for p in listed)  # shorter ones are refused by length first


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-1", "at least 10"),
        ("x" * (MAX_LENGTH + 1), "at most"),
        ("aaaaaaaaaa", "repeated"),
        (" " * 10, "repeated"),
        ("1234567890", "sequence"),
        ("9876543210", "sequence"),
        ("abcdefghijk", "sequence"),
        ("7890123456", "sequence"),  # digits wrap
        ("abcabcabca", "repeated"),
        ("1212121212", "repeated"),
        ("wang.fang", "at least 10"),
        ("wang.fang-2026", "username"),
        ("My-WANG.FANG-pw", "username"),  # case-insensitive
        ("password123", "common or breached"),
        ("PassWord123", "common or breached"),  # case-insensitive
        ("qwertyuiop", "common or breached"),
        ("ｐａｓｓｗｏｒｄ１２３", "common or breached"),  # full-width: NFKC
        ("password\u200b123", "common or breached"),  # a zero-width space hides nothing
        ("a" + "\u200b" * 9, "at least 10"),  # nor pads the length
        ("1234567890\u00ad", "sequence"),  # soft hyphen
        ("¹²³⁴⁵⁶⁷⁸⁹⁰", "sequence"),  # superscript digits are digits
        ("١٢٣٤٥٦٧٨٩٠", "sequence"),  # Arabic-Indic digits too
    ],
)
def test_refuse_weak_passwords(password: str, why: str) -> None:
    problem = password_problem(password, "wang.fang")
    assert problem is not None and why in problem, problem


@pytest.mark.parametrize(
    "password", ["secret-pass", "correct-horse-battery", "泉塘社区的路灯该修一修了", "t7#Kq9!zLm2w"]
)
def test_accept_passwords_of_the_policy(password: str) -> None:
    assert password_problem(password, "wang.fang") is None
