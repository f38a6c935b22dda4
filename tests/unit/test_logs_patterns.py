"""CloudWatch Logs filter patterns as case tables: terms, phrases, alternatives, exclusions, regex, JSON patterns,
and the patterns AWS refuses."""
from __future__ import annotations

import json

import pytest

from miniaws.services.logs.filters import PatternError, compile_pattern

LINES = [
    "[ERROR] Caught IllegalArgumentException",
    "[ERROR] Unhandled Exception",
    "Exiting with ERRORCODE: -1",
    "[WARN] Failed to process the request",
    "INFO all good",
]


def hits(pattern: str, lines: list[str] = LINES) -> list[int]:
    matches = compile_pattern(pattern)
    return [i for i, line in enumerate(lines) if matches(line)]


@pytest.mark.parametrize("pattern, expected", [
    ("", [0, 1, 2, 3, 4]),
    ("   ", [0, 1, 2, 3, 4]),
    ("ERROR", [0, 1, 2]),  # substrings: ERRORCODE too (the AWS guide's own example)
    ("error", []),  # case-sensitive
    ("ERROR Exception", [0, 1]),  # all terms; "IllegalArgumentException" contains "Exception"
    ("ERROR -Exiting", [0, 1]),
    ("-ERROR", [3, 4]),
    ('"Failed to process the request"', [3]),
    ('"process the" Failed', [3]),
    ('"[ERROR]"', [0, 1]),
    ("?WARN ?INFO", [3, 4]),
    ('?"[ERROR]" Unhandled ?WARN', [1, 3]),  # the terms after a ?term belong to its alternative
    ("?ERROR -Exiting ?INFO", [0, 1, 4]),
    ("%Ill?egal%", [0]),
    ("%^\\[WARN\\]%", [3]),
    ("%[0-9]+$%", [2]),
    ("ERROR %Unh.ndled%", [1]),
    ('"quote \\" inside"', []),
    ("ERRORCODE_1 ", []),
])
def test_unstructured_terms(pattern: str, expected: list[int]) -> None:
    assert hits(pattern) == expected


EVENTS = [
    {"eventType": "UpdateTrail", "sourceIPAddress": "123.123.1.9", "latency": 750, "user": {"id": 7, "name": "ann"},
     "items": [{"id": 1}, {"id": 2}], "ok": True, "note": None},
    {"eventType": "ConsoleLogin", "sourceIPAddress": "10.0.0.1", "latency": 20.5, "user": {"id": 8}, "ok": False,
     "errorCode": "AccessDenied"},
    {"eventType": "UpdateTrail", "latency": "750", "errorCode": "Client.UnauthorizedOperation"},
]
JSON_LINES = [json.dumps(event) for event in EVENTS] + ["not json { at all", "[1, 2]", '{"broken":']


@pytest.mark.parametrize("pattern, expected", [
    ('{ $.eventType = "UpdateTrail" }', [0, 2]),
    ("{$.eventType=UpdateTrail}", [0, 2]),
    ('{ $.eventType != "UpdateTrail" }', [1]),
    ("{ $.sourceIPAddress != 123.123.* }", [1]),  # absent fields never match, not even !=
    ('{ $.sourceIPAddress = "123.*.9" }', [0]),
    ("{ $.latency > 100 }", [0]),  # the string "750" is not a number
    ("{ $.latency <= 20.5 }", [1]),
    ("{ $.latency = 750 }", [0]),
    ("{ $.latency != 750 }", [1]),
    ('{ $.latency = "750" }', [0, 2]),  # as text, 750 and "750" are alike
    ("{ $.user.id = 7 }", [0]),
    ("{ $.items[1].id = 2 }", [0]),
    ("{ $.items[5].id = 2 }", []),
    ('{ $.user.name = "*" }', [0]),
    ("{ $.ok IS TRUE }", [0]),
    ("{ $.ok IS FALSE }", [1]),
    ("{ $.note IS NULL }", [0]),
    ("{ $.note NOT EXISTS }", [1, 2]),
    ('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }', [1, 2]),
    ('{ $.eventType = "UpdateTrail" && $.latency > 100 || $.ok IS FALSE }', [0, 1]),
    ('{ $.eventType = "UpdateTrail" && ($.latency > 100 || $.errorCode = "Client.*") }', [0, 2]),
    ("{ $.errorCode = %Unauth% }", [2]),
    ("{ $.errorCode != %Unauth% }", [1]),
])
def test_json_patterns(pattern: str, expected: list[int]) -> None:
    assert hits(pattern, JSON_LINES) == expected


@pytest.mark.parametrize("pattern, message", [
    ("{ $.a = 1", "If a filter pattern starts with '{' it must end with '}'"),
    ("email@domain.com", "Invalid character(s) in term 'email@domain.com'"),
    ("ERROR:", "Invalid character(s) in term 'ERROR:'"),
    ('"unterminated', "unterminated quoted term"),
    ("%(group)%", "Invalid character(s) in regex: ()"),
    ("%unterminated", "unterminated %regex%"),
    ("{ }", "empty JSON pattern"),
    ("{ $.a > abc }", "> needs a number"),
    ("{ $.a = }", "expected a value"),
    ("{ $.a IS MAYBE }", "IS MAYBE"),
    ("{ $.a NOT THERE }", "NOT THERE"),
    ("{ ($.a = 1 }", "expected ')'"),
    ("{ $.a = 1 $.b = 2 }", "unexpected '$.b'"),
    ("{ a = 1 }", "expected a selector"),
    ("[ip, user, status = 404]", "Space-delimited filter patterns"),
    ("?", "Invalid filter pattern"),
])
def test_refused_patterns(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as info:
        compile_pattern(pattern)
    assert message in str(info.value)
