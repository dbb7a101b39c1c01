"""The registry's row rules: check characters (GB 11643, GB 32100), phones, points, rows."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from schema.base import REFERENCE_COUNTY
from schema.registry import RegistryKind, RegistryRow, parse_row
from schema.registry_rules import (
    CREDIT_ALPHABET,
    coordinates_problem,
    credit_code_check_char,
    credit_code_problem,
    decimal,
    id_number_check_char,
    id_number_problem,
    phone_problem,
)

regions = st.sampled_from(["360821", "360802", "110101", "440305"])
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    first17 = f"{draw(regions)}{draw(births):%Y%m%d}{draw(sequences):03d}"
    return first17 + id_number_check_char(first17)


credit_chars = st.sampled_from(CREDIT_ALPHABET)


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    body = "".join(draw(st.lists(credit_chars, min_size=9, max_size=9)))
    first17 = draw(st.sampled_from(["91", "92", "93", "12", "52"])) + "360821" + body
    return first17 + credit_code_check_char(first17)


def test_known_id_number_and_credit_code() -> None:
    # The GB 11643 standard's own example and a real published credit code (国家电网).
    assert id_number_problem("11010519491231002X") is None
    assert credit_code_problem("9111000071093123XX") is None
    assert credit_code_problem("9111000071093123X1") is not None  # wrong check character


@given(id_numbers())
def test_every_well_formed_id_number_passes(number: str) -> None:
    assert id_number_problem(number) is None


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_one_character_typo_in_an_id_number_is_caught(
    number: str, position: int, char: str
) -> None:
    typo = number[:position] + char + number[position + 1 :]
    if typo != number:
        assert id_number_problem(typo) is not None


@given(credit_codes())
def test_every_well_formed_credit_code_passes(code: str) -> None:
    assert credit_code_problem(code) is None


@given(credit_codes(), st.integers(min_value=0, max_value=17), credit_chars)
def test_any_one_character_typo_in_a_credit_code_is_caught(
    code: str, position: int, char: str
) -> None:
    typo = code[:position] + char + code[position + 1 :]
    if typo != code:
        assert credit_code_problem(typo) is not None


def test_id_number_shapes_and_dates() -> None:
    assert id_number_problem("36082119900101123") is not None  # 17 characters
    assert id_number_problem("36082119901301123X") is not None  # month 13
    assert credit_code_problem("91360821MA35IOSVZ1") is not None  # forbidden letters


@given(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_mobiles_pass(phone: str) -> None:
    assert phone_problem(phone) is None


@given(st.text(alphabet="0123456789-", max_size=16))
def test_only_mobiles_and_area_coded_landlines_pass(text: str) -> None:
    ok = phone_problem(text) is None
    digits = text.replace("-", "")
    if ok:
        assert (len(text) == 11 and text[0] == "1") or (text[0] == "0" and 10 <= len(digits) <= 12)


@given(st.floats(allow_nan=True), st.floats(allow_nan=True))
def test_points_outside_the_county_are_refused(lat: float, lon: float) -> None:
    result = coordinates_problem(str(lat), str(lon), {REFERENCE_COUNTY})
    inside = 26.55 <= lat <= 27.45 and 114.45 <= lon <= 115.35
    assert isinstance(result, tuple) == inside


def test_parse_row_collects_every_problem_and_derives_extras() -> None:
    good = {
        "source": "公安人口库",
        "source_key": "P1",
        "name": "张三",
        "id_number": "36082119900307001x",
        "phone": "138 0000 1111",
        "community": "泉塘社区",
        "latitude": "27.05",
        "longitude": "114.9",
    }
    good["id_number"] = "3608211990030700" + "1"
    good["id_number"] += id_number_check_char(good["id_number"])
    row = parse_row(RegistryKind.PERSON, good, {"泉塘社区": REFERENCE_COUNTY})
    assert isinstance(row, RegistryRow)
    assert row.phone == "13800001111" and row.community == "泉塘社区"
    assert '"birth_date":"1990-03-07"' in row.data and '"gender":"male"' in row.data
    again = parse_row(RegistryKind.PERSON, dict(good), {"泉塘社区": REFERENCE_COUNTY})
    assert isinstance(again, RegistryRow) and again.row_hash == row.row_hash
    bad = {**good, "name": "", "phone": "12", "community": "无此社区", "latitude": "40"}
    reason = parse_row(RegistryKind.PERSON, bad, {"泉塘社区": REFERENCE_COUNTY})
    assert reason == (
        "name is required; phone must be a mobile number (11 digits) or a fixed line with "
        "area code; the place is outside the province's counties; unknown community '无此社区'"
    )


def test_only_plain_decimals_are_numbers() -> None:
    # attack3: "2_7.0" and full-width "２７.０" were stored as 27.0 (Python's float() takes them).
    assert decimal("27.05") == 27.05 and decimal(" -3 ") == -3.0 and decimal(".5") == 0.5
    for odd in ("2_7.0", "２７.０", "1e2", "inf", "nan", "0x1b", "27,0", "", "+", "."):
        assert decimal(odd) is None, odd
    assert coordinates_problem("2_7.0", "11_4.9", {REFERENCE_COUNTY}) == (
        "latitude and longitude must be numbers"
    )
    assert coordinates_problem("27.0", "114.9", {REFERENCE_COUNTY}) == (27.0, 114.9)


def test_contact_numbers_in_free_text_are_masked() -> None:
    """What a resolver writes ("联系张三13912345678") leaves the county only masked."""
    from schema.text_rules import mask_contacts

    note = (
        "联系13912345678，身份证36082119900101123X，座机0796-8412345；"
        "工单JA20261102001，面积120平方"
    )
    assert mask_contacts(note) == (
        "联系139****5678，身份证360821********123X，座机0796-****2345；"
        "工单JA20261102001，面积120平方"
    )
