"""Filter patterns for unstructured events: terms, "quoted phrases", ?alternatives, -exclusions and %regex%.

Terms are case-sensitive substrings (`ERROR Exception` matches "[ERROR] IllegalArgumentException"); all must appear.
A term with characters other than letters, digits and `_` must be in double quotes (AWS refuses it otherwise).
`-term` excludes; `?term` starts an alternative: `?ERROR ?WARN` is either, and the terms after a `?term` belong to
its alternative (`?"ERROR" "db" ?"WARN" "disk"`, as the CDK's anyTermGroup writes it). Terms before the first
`?term` form an alternative of their own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from miniaws.services.logs.filters.common import Matcher, PatternError, compile_regex


@dataclass(slots=True)
class _Alternative:
    required: list[Matcher] = field(default_factory=list)
    excluded: list[Matcher] = field(default_factory=list)

    def matches(self, message: str) -> bool:
        return (all(term(message) for term in self.required)
                and not any(term(message) for term in self.excluded))


def _literal(text: str) -> Matcher:
    return lambda message: text in message


def _regex(compiled: re.Pattern[str]) -> Matcher:
    return lambda message: compiled.search(message) is not None


def compile_terms(pattern: str) -> Matcher:
    alternatives: list[_Alternative] = []
    current = _Alternative()
    pos, end = 0, len(pattern)
    while pos < end:
        if pattern[pos].isspace():
            pos += 1
            continue
        marker = pattern[pos] if pattern[pos] in "?-" else ""
        pos += len(marker)
        term, pos = _read_term(pattern, pos)
        if marker == "?":
            if current.required or current.excluded:
                alternatives.append(current)
            current = _Alternative()
        (current.excluded if marker == "-" else current.required).append(term)
    alternatives.append(current)
    if len(alternatives) == 1:
        return alternatives[0].matches
    return lambda message: any(alt.matches(message) for alt in alternatives)


def _read_term(pattern: str, pos: int) -> tuple[Matcher, int]:
    end = len(pattern)
    if pos >= end or pattern[pos].isspace():
        raise PatternError("Invalid filter pattern")
    if pattern[pos] == '"':
        chars: list[str] = []
        pos += 1
        while pos < end and pattern[pos] != '"':
            if pattern[pos] == "\\" and pos + 1 < end:
                pos += 1
            chars.append(pattern[pos])
            pos += 1
        if pos >= end:
            raise PatternError("Invalid filter pattern: unterminated quoted term")
        return _literal("".join(chars)), pos + 1
    if pattern[pos] == "%":
        close = pattern.find("%", pos + 1)
        if close < 0:
            raise PatternError("Invalid filter pattern: unterminated %regex%")
        return _regex(compile_regex(pattern[pos + 1:close])), close + 1
    stop = pos
    while stop < end and not pattern[stop].isspace():
        stop += 1
    word = pattern[pos:stop]
    # "Terms that include characters other than alphanumeric or underscore must be placed inside double quotes"
    if not all(ch.isalnum() or ch == "_" for ch in word):
        raise PatternError(f"Invalid character(s) in term '{word}'")
    return _literal(word), stop
