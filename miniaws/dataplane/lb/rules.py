"""Listener rules compiled for the hot path, sans-IO: conditions become predicates over a `RequestFacts`.

Matching follows https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html:
host names, header values and query strings compare case-insensitively, paths and methods case-sensitively; `*`
matches any run of characters and `?` exactly one; a condition is met when any of its values matches, a rule when
all its conditions are met. Paths are matched without the query string; source IPs are the connection's address
(not X-Forwarded-For). Values without wildcards compile to plain comparisons.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Predicate = Callable[["RequestFacts"], bool]


@dataclass(slots=True)
class RequestFacts:
    """What conditions look at, taken from one request (header lookups are case-insensitive)."""

    method: str
    #: the Host header without its port, as sent
    host: str
    #: the path as received (still percent-encoded), without the query string
    path: str
    #: the raw query string without "?"
    query: str
    headers: Mapping[str, str]
    source: str
    _pairs: list[tuple[str | None, str]] | None = field(default=None)

    def header_values(self, name: str) -> list[str]:
        getall = getattr(self.headers, "getall", None)
        if getall is not None:
            return list(getall(name, ()))
        value = self.headers.get(name)
        return [value] if value is not None else []

    def query_pairs(self) -> list[tuple[str | None, str]]:
        """(key, value) per `&`-separated part; a part without `=` is a value without a key."""
        if self._pairs is None:
            pairs: list[tuple[str | None, str]] = []
            for part in self.query.split("&"):
                if not part:
                    continue
                key, eq, value = part.partition("=")
                pairs.append((key, value) if eq else (None, key))
            self._pairs = pairs
        return self._pairs

    def address(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        try:
            return ipaddress.ip_address(self.source.split("%", 1)[0])
        except ValueError:
            return None


def _pattern(value: str, *, escapes: bool = False) -> str:
    """A wildcard value as a regular expression (`\\*` and `\\?` are literal when `escapes`)."""
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if escapes and char == "\\" and index + 1 < len(value) and value[index + 1] in "*?\\":
            out.append(re.escape(value[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        index += 1
    return "".join(out)


def _has_wildcards(value: str) -> bool:
    return "*" in value or "?" in value


def matcher(values: Sequence[str], *, fold: bool, escapes: bool = False) -> Callable[[str], bool]:
    """A test for "any of `values` matches the whole text", with wildcards and optional case folding."""
    if not any(_has_wildcards(v) or (escapes and "\\" in v) for v in values):
        if fold:
            exact = frozenset(v.lower() for v in values)
            return lambda text: text.lower() in exact
        plain = frozenset(values)
        return lambda text: text in plain
    regex = re.compile("|".join(f"(?:{_pattern(v, escapes=escapes)})" for v in values),
                       re.IGNORECASE | re.DOTALL if fold else re.DOTALL)
    return lambda text: regex.fullmatch(text) is not None


def compile_condition(condition: Mapping[str, Any]) -> Predicate:
    field_name = condition["Field"]
    if field_name == "host-header":
        test = matcher(condition["HostHeaderConfig"]["Values"], fold=True)
        return lambda facts: test(facts.host)
    if field_name == "path-pattern":
        test = matcher(condition["PathPatternConfig"]["Values"], fold=False)
        return lambda facts: test(facts.path)
    if field_name == "http-header":
        config = condition["HttpHeaderConfig"]
        name = config["HttpHeaderName"]
        test = matcher(config["Values"], fold=True)
        return lambda facts: any(test(v) for v in facts.header_values(name))
    if field_name == "http-request-method":
        methods = frozenset(condition["HttpRequestMethodConfig"]["Values"])
        return lambda facts: facts.method in methods
    if field_name == "query-string":
        tests = []
        for pair in condition["QueryStringConfig"]["Values"]:
            key = pair.get("Key")
            key_test = matcher([key], fold=True, escapes=True) if key is not None else None
            tests.append((key_test, matcher([pair["Value"]], fold=True, escapes=True)))

        def query(facts: RequestFacts) -> bool:
            for key, value in facts.query_pairs():
                for key_test, value_test in tests:
                    if value_test(value) and (key_test is None or (key is not None and key_test(key))):
                        return True
            return False

        return query
    if field_name == "source-ip":
        networks = [ipaddress.ip_network(v, strict=False) for v in condition["SourceIpConfig"]["Values"]]

        def source(facts: RequestFacts) -> bool:
            address = facts.address()
            return address is not None and any(address in network for network in networks)

        return source
    raise ValueError(f"unknown condition field {field_name!r}")


def compile_conditions(conditions: Sequence[Mapping[str, Any]]) -> Predicate:
    tests = [compile_condition(c) for c in conditions]
    if len(tests) == 1:
        return tests[0]
    return lambda facts: all(test(facts) for test in tests)
