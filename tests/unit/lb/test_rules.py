"""Rule conditions as case tables: normalization like AWS (control plane) and matching (data plane)."""
from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from miniaws.dataplane.lb.rules import RequestFacts, compile_conditions, matcher
from miniaws.services.elbv2.conditions import normalize, wildcards
from miniaws.services.elbv2.errors import ValidationError


def facts(path: str = "/", host: str = "example.com", method: str = "GET", query: str = "",
          headers: dict[str, str] | None = None, source: str = "10.0.0.5") -> RequestFacts:
    return RequestFacts(method, host, path, query, CIMultiDict(headers or {}), source)


def rule(*conditions: dict[str, Any]) -> Any:
    return compile_conditions(normalize(conditions))


@pytest.mark.parametrize("values, text, fold, expected", [
    (["/api/*"], "/api/users", False, True),
    (["/api/*"], "/API/users", False, False),
    (["/img/???.png"], "/img/cat.png", False, True),
    (["/img/???.png"], "/img/cats.png", False, False),
    (["*.example.com"], "WWW.Example.COM", True, True),
    (["*.example.com"], "example.com", True, False),
    (["exact"], "EXACT", True, True),
    (["exact"], "EXACT", False, False),
    (["/a", "/b*"], "/bcd", False, True),
    (["a.b"], "axb", True, False),  # "." is literal, not a regex wildcard
])
def test_wildcard_matcher(values: list[str], text: str, fold: bool, expected: bool) -> None:
    assert matcher(values, fold=fold)(text) is expected


def test_escaped_wildcards_in_query_values_are_literal() -> None:
    test = matcher([r"a\*b"], fold=True, escapes=True)
    assert test("a*b") and not test("axxb")
    assert wildcards(r"a\*b*") == 1


def test_path_and_host_keep_both_forms() -> None:
    [path] = normalize([{"Field": "path-pattern", "Values": ["/api/*"]}])
    assert path == {"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}}
    [host] = normalize([{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}])
    assert host["Values"] == ["*.example.com"]


@pytest.mark.parametrize("conditions, request_facts, expected", [
    ([{"Field": "path-pattern", "Values": ["/api/*"]}], facts("/api/x"), True),
    ([{"Field": "path-pattern", "Values": ["/api/*"]}], facts("/web"), False),
    ([{"Field": "host-header", "Values": ["api.example.com"]}], facts(host="API.example.com"), True),
    ([{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["beta*"]}}],
     facts(headers={"x-env": "Beta-2"}), True),
    ([{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["beta*"]}}],
     facts(), False),
    ([{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST", "PUT"]}}],
     facts(method="PUT"), True),
    ([{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}],
     facts(method="post"), False),
    ([{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "version", "Value": "v2"}]}}],
     facts(query="a=1&Version=V2"), True),
    ([{"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "debug"}]}}],
     facts(query="debug"), True),
    ([{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "k", "Value": "v*"}]}}],
     facts(query="k=x"), False),
    ([{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/24"]}}], facts(source="10.0.0.9"), True),
    ([{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/24"]}}], facts(source="10.0.1.9"), False),
    ([{"Field": "source-ip", "SourceIpConfig": {"Values": ["2001:db8::/32"]}}], facts(source="2001:db8::1"), True),
    # every condition must hold
    ([{"Field": "path-pattern", "Values": ["/api/*"]},
      {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}}],
     facts("/api/x", method="POST"), False),
])
def test_matching(conditions: list[dict[str, Any]], request_facts: RequestFacts, expected: bool) -> None:
    assert rule(*conditions)(request_facts) is expected


@pytest.mark.parametrize("conditions, message", [
    ([], "at least one condition"),
    ([{"Field": "cookie", "Values": ["x"]}], "must be one of"),
    ([{"Field": "path-pattern", "Values": ["/a"]}, {"Field": "path-pattern", "Values": ["/b"]}], "only have one"),
    ([{"Field": "path-pattern", "Values": ["/a", "/b", "/c", "/d"]}], "at most 3"),
    ([{"Field": "path-pattern", "Values": ["/a", "/b", "/c"]},
      {"Field": "host-header", "Values": ["a.example.com", "b.example.com", "c.example.com"]}], "at most 5 condition"),
    ([{"Field": "path-pattern", "Values": ["/*/*/*"]}, {"Field": "host-header", "Values": ["*.*.*.com"]}],
     "at most 5 wildcards"),
    ([{"Field": "path-pattern", "Values": ["/" + "a" * 128]}], "maximum length"),
    ([{"Field": "path-pattern", "Values": ["/a b"]}], "not valid"),
    ([{"Field": "host-header", "Values": ["localhost"]}], "not a valid host"),
    ([{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "Host", "Values": ["x"]}}], "host-header"),
    ([{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}], "upper-case"),
    ([{"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.1"]}}], "CIDR"),
    ([{"Field": "path-pattern", "PathPatternConfig": {"RegexValues": ["^/a$"]}}], "not supported"),
])
def test_invalid_conditions(conditions: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        normalize(conditions)
