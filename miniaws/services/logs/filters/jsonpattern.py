"""JSON filter patterns: `{ $.field = value }` conditions joined by `&&` / `||` and grouped by parentheses.

- selectors: `$.a.b`, `$.list[0].id`; an event that is not a JSON object matches nothing.
- `=` / `!=` with a string (quoted, or unquoted like `123.123.*`): `*` is a wildcard anywhere in it; numbers and
  booleans compare by their JSON text. `=` / `!=` / `<` / `<=` / `>` / `>=` with a number compare numerically with a
  JSON number. `%regex%` as the value matches (or with `!=`, must not match) a string.
- `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`.
A condition on a field that is absent is false (except NOT EXISTS), for `!=` too. `&&` binds tighter than `||`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from miniaws.services.logs.filters.common import Matcher, PatternError, compile_regex

Test = Callable[[Any], bool]

_MISSING = object()
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<paren>[()])
    | (?P<logic>&&|\|\|)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<selector>\$(?:\.[A-Za-z0-9_@\-]+|\[\d+\])*)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<regex>%[^%]*%)
    | (?P<word>[^\s()&|=!<>"%]+)
    )""", re.X)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_STEP = re.compile(r"\.([A-Za-z0-9_@\-]+)|\[(\d+)\]")


def compile_json(body: str) -> Matcher:
    """The predicate for the inside of `{ … }`."""
    tokens = _tokenize(body)
    if not tokens:
        raise PatternError("Invalid filter pattern: empty JSON pattern")
    parser = _Parser(tokens)
    test = parser.expression()
    if parser.pos != len(tokens):
        raise PatternError(f"Invalid filter pattern: unexpected '{tokens[parser.pos][1]}'")

    def matches(message: str) -> bool:
        if not message.startswith("{"):
            return False
        try:
            document = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False
        return isinstance(document, dict) and test(document)

    return matches


def _tokenize(body: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        match = _TOKEN.match(body, pos)
        if match is None or match.end() == pos:
            raise PatternError(f"Invalid filter pattern: cannot read '{body[pos:].strip()[:40]}'")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _select(document: Any, steps: list[str | int]) -> Any:
    value = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return _MISSING
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return _MISSING
            value = value[step]
    return value


def _as_text(value: Any) -> str | None:
    """A scalar's text for string comparisons: strings as they are, numbers and booleans as JSON writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return orjson.dumps(value).decode()
    return None


def _wildcard(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.S)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self, kind: str | None = None, what: str = "a term") -> tuple[str, str]:
        token = self._peek()
        if token is None or (kind is not None and token[0] != kind):
            found = f"'{token[1]}'" if token else "the end of the pattern"
            raise PatternError(f"Invalid filter pattern: expected {what}, found {found}")
        self.pos += 1
        return token

    def expression(self) -> Test:
        alternatives = [self._conjunction()]
        while self._peek() == ("logic", "||"):
            self.pos += 1
            alternatives.append(self._conjunction())
        if len(alternatives) == 1:
            return alternatives[0]
        return lambda doc: any(test(doc) for test in alternatives)

    def _conjunction(self) -> Test:
        parts = [self._primary()]
        while self._peek() == ("logic", "&&"):
            self.pos += 1
            parts.append(self._primary())
        if len(parts) == 1:
            return parts[0]
        return lambda doc: all(test(doc) for test in parts)

    def _primary(self) -> Test:
        if self._peek() == ("paren", "("):
            self.pos += 1
            inner = self.expression()
            self._take("paren", "')'")
            return inner
        _, selector = self._take("selector", "a selector such as $.field")
        steps: list[str | int] = [int(index) if index else name
                                  for name, index in _STEP.findall(selector[1:])]
        test = self._condition()
        return lambda doc: test(_select(doc, steps))

    def _condition(self) -> Test:
        kind, text = self._take(what="an operator, IS or NOT EXISTS")
        if kind == "word":
            keyword = text.upper()
            if keyword == "IS":
                _, what = self._take("word", "NULL, TRUE or FALSE")
                expected = {"NULL": None, "TRUE": True, "FALSE": False}.get(what.upper(), _MISSING)
                if expected is _MISSING:
                    raise PatternError(f"Invalid filter pattern: IS {what}")
                return lambda value: value is expected
            if keyword == "NOT":
                _, what = self._take("word", "EXISTS")
                if what.upper() != "EXISTS":
                    raise PatternError(f"Invalid filter pattern: NOT {what}")
                return lambda value: value is _MISSING
        if kind != "op":
            raise PatternError(f"Invalid filter pattern: expected an operator, found '{text}'")
        return self._comparison(text)

    def _comparison(self, op: str) -> Test:
        kind, text = self._take(what="a value")
        if kind == "word" and _NUMBER.fullmatch(text):
            return _numeric(op, float(text))
        if op not in ("=", "!="):
            raise PatternError(f"Invalid filter pattern: {op} needs a number, found '{text}'")
        if kind == "regex":
            compiled = compile_regex(text[1:-1])
            matcher: Callable[[str], object] = compiled.search
        elif kind == "string":
            matcher = _wildcard(re.sub(r"\\(.)", r"\1", text[1:-1])).fullmatch
        elif kind == "word":
            matcher = _wildcard(text).fullmatch
        else:
            raise PatternError(f"Invalid filter pattern: expected a value, found '{text}'")
        negate = op == "!="

        def compare(value: Any) -> bool:
            shown = _as_text(value) if value is not _MISSING else None
            if shown is None:
                return False
            return bool(matcher(shown)) != negate

        return compare


def _numeric(op: str, number: float) -> Test:
    check: Callable[[float], bool] = {
        "=": lambda v: math.isclose(v, number, rel_tol=0.0, abs_tol=1e-9),
        "!=": lambda v: not math.isclose(v, number, rel_tol=0.0, abs_tol=1e-9),
        "<": lambda v: v < number, "<=": lambda v: v <= number,
        ">": lambda v: v > number, ">=": lambda v: v >= number,
    }[op]

    def compare(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return check(float(value))

    return compare
