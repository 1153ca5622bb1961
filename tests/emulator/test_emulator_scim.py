"""SCIM filter strings are JSON strings: escapes decode as JSON does."""

from __future__ import annotations

import pytest

from qtc_connections.emulator.scim import FilterError, tokenize


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"Ventes_\u00e9t\u00e9"', "Ventes_été"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"a\/b"', "a/b"),
        ('"plain été"', "plain été"),
    ],
)
def test_string_escapes_decode_as_json(literal, value):
    tokens = tokenize(f"qName eq {literal}")
    assert tokens[-1].kind == "string"
    assert tokens[-1].text == value


def test_invalid_escape_rejected():
    with pytest.raises(FilterError) as caught:
        tokenize(r'qName eq "bad \q escape"')
    assert "invalid escape" in str(caught.value)


def test_unclosed_string_rejected():
    with pytest.raises(FilterError) as caught:
        tokenize('qName eq "open')
    assert "not closed" in str(caught.value)
