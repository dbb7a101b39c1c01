"""JSON columns on PostgreSQL are decoded by orjson (`schema.db.json_loads`): the same values
the standard decoder gives, including integers past 64 bits (orjson would turn them into
floats, so text with such a run of digits goes to the standard decoder), and the same errors."""

from __future__ import annotations

import json

import pytest

from schema.db import json_loads

SAMPLES = [
    b'{"tier": "ordinary", "n": [1, 2], "note": "\xe5\xbc\xa0\xe4\xb8\x89"}',
    b'{"big": 123456789012345678901234567890, "neg": -98765432109876543210}',
    b'{"max64": 9223372036854775807, "f": 0.1, "e": 1e300, "t": true, "z": null}',
    b'[1.5, "x", {"a": {"b": []}}]',
    b'"\\u0041\\ud83d\\ude00"',
]


@pytest.mark.parametrize("text", SAMPLES)
def test_the_same_values_as_the_standard_decoder(text: bytes) -> None:
    expected = json.loads(text)
    found = json_loads(text)
    assert found == expected
    assert json.dumps(found) == json.dumps(expected)  # types too: ints stay ints
    assert json_loads(text.decode()) == expected


def test_bad_json_is_refused_as_the_standard_decoder_refuses_it() -> None:
    with pytest.raises(json.JSONDecodeError):
        json_loads(b'{"a": ')
