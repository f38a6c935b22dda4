"""split_query / percent_decode: the same answers as urllib's parse_qsl(keep_blank_values=True) / unquote."""
from __future__ import annotations

import random
from urllib.parse import parse_qsl, unquote

import pytest

from miniaws.protocols.querystring import percent_decode, split_query

TRICKY = [
    "", "&", "&&", "=", "a", "a=", "=b", "a=b=c", "a&b", "a=1&a=2", "a=1&&b=2&", "&a=1",
    "a+b=c+d", "a%20b=c%20d", "a%2Bb=c%2bd", "k=%2F%2f%7E%7e%41", "k=%", "k=%4", "k=%G1", "k=%%41", "k=%zz",
    "k=%C3%A9", "k=%c3%a9%", "k=%C3", "k=%FF%FE", "k=%e2%82%ac+%E2%82%AC", "k=é%41", "k=%41é", "k=%é1", "k=%4é",
    "é=ü", "k=\udcff%41", "k=a;b=c", "list-type=2&prefix=a%2Fb%2F&delimiter=%2F",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0f",
    "Action=SendMessage&MessageBody=hello+world%21&MessageAttribute.1.Value.StringValue=%E2%9C%93",
]


@pytest.mark.parametrize("text", TRICKY)
def test_split_query_equals_parse_qsl(text: str) -> None:
    assert split_query(text) == parse_qsl(text, keep_blank_values=True)


@pytest.mark.parametrize("text", TRICKY)
def test_percent_decode_equals_unquote(text: str) -> None:
    assert percent_decode(text) == unquote(text)


def test_random_strings_of_the_awkward_characters_agree() -> None:
    alphabet = list("aZ09%+=&;/.-_~ é€\udcff") + ["%2F", "%2f", "%41", "%7E", "%7f", "%80", "%C3%A9", "%c3",
                                                   "%e2%82%ac", "%G1", "%4", "%%", "%zz", "%0", "%FF"]
    rng = random.Random(7)
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert percent_decode(text) == unquote(text), text
        assert split_query(text) == parse_qsl(text, keep_blank_values=True), text


def test_every_ascii_escape_decodes_in_both_cases() -> None:
    for code in range(0x80):
        for escape in (f"%{code:02X}", f"%{code:02x}"):
            assert percent_decode(f"a{escape}b") == unquote(f"a{escape}b") == f"a{chr(code)}b"
