"""The shared spec-driven input checker: AWS's wording, anchoring choice, hidden values, blob decoding."""
from __future__ import annotations

from typing import Any

import pytest

from miniaws.protocols.constraints import SHOWN_MAX, InputChecker, lower_camel


class Invalid(Exception):
    pass


class Unreadable(Exception):
    pass


SPEC: dict[str, Any] = {
    "operations": {"Op": {"input": {"shape": "OpInput"}}},
    "shapes": {
        "OpInput": {"type": "structure", "required": ["Name"], "members": {
            "Name": {"shape": "Name"}, "Secret": {"shape": "Secret"}, "Data": {"shape": "Data"},
            "Count": {"shape": "Count"}, "Names": {"shape": "NameList"}}},
        "Name": {"type": "string", "min": 1, "max": 8, "pattern": "[a-z]+"},
        "Secret": {"type": "string", "min": 4, "sensitive": True},
        "Data": {"type": "blob", "max": 3},
        "Count": {"type": "integer", "min": 1, "max": 5},
        "NameList": {"type": "list", "member": {"shape": "Long"}},
        "Long": {"type": "string", "max": 100000},
    },
}


def checker(**options: Any) -> InputChecker:
    return InputChecker(SPEC, Invalid, Unreadable, **options)


def test_every_violation_is_listed_in_aws_words() -> None:
    with pytest.raises(Invalid) as err:
        checker(field_name=lower_camel).parse("Op", {"Count": 9, "Secret": "ab"})
    assert str(err.value) == (
        "3 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not be null; "
        "Value '9' at 'count' failed to satisfy constraint: Member must have value less than or equal to 5; "
        "Value at 'secret' failed to satisfy constraint: Member must have length greater than or equal to 4")


def test_patterns_search_unless_the_service_matches_whole_values() -> None:
    assert checker().parse("Op", {"Name": "ab1"}) == {"Name": "ab1"}
    with pytest.raises(Invalid, match="Member must satisfy regular expression pattern"):
        checker(whole_match=True).parse("Op", {"Name": "ab1"})


def test_blobs_are_decoded_and_never_echoed() -> None:
    assert checker().parse("Op", {"Name": "a", "Data": "AQI="})["Data"] == b"\x01\x02"
    with pytest.raises(Invalid) as err:
        checker().parse("Op", {"Name": "a", "Data": "AQIDBA=="})
    assert "Value at 'Data'" in str(err.value)
    with pytest.raises(Unreadable):
        checker().parse("Op", {"Name": "a", "Data": "not base64!"})


def test_wrong_json_types_are_serialization_errors_and_long_values_are_cut() -> None:
    with pytest.raises(Unreadable, match="could not be read as an integer"):
        checker().parse("Op", {"Name": "a", "Count": "3"})
    with pytest.raises(Invalid) as err:
        checker().parse("Op", {"Name": "x" * 1000})
    assert f"Value '{'x' * SHOWN_MAX}...'" in str(err.value)
