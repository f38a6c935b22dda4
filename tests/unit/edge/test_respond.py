"""What the edge does to a response on its way out: ranges, conditional requests, compression eligibility and
response headers policies."""
from __future__ import annotations

import pytest

from miniaws.dataplane.edge.respond import (Unsatisfiable, apply_response_headers_policy, byte_range, compressible,
                                            not_modified)
from miniaws.services.cloudfront.api_common import MANAGED


@pytest.mark.parametrize("header, size, expected", [
    (None, 100, None), ("bytes=0-9", 100, (0, 10)), ("bytes=90-", 100, (90, 10)), ("bytes=-5", 100, (95, 5)),
    ("bytes=95-200", 100, (95, 5)), ("bytes=5-1", 100, None), ("bytes=0-1,5-6", 100, None), ("items=0-1", 100, None),
])
def test_byte_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        byte_range(header, 100)


def test_not_modified() -> None:
    modified = "Tue, 14 Nov 2023 22:13:20 GMT"
    assert not_modified({"If-None-Match": '"a", "b"'}, '"b"', None)
    assert not_modified({"If-None-Match": "*"}, '"b"', None)
    assert not not_modified({"If-None-Match": '"a"'}, '"b"', modified)
    # If-None-Match decides when present, even against a matching If-Modified-Since
    assert not not_modified({"If-None-Match": '"a"', "If-Modified-Since": modified}, '"b"', modified)
    assert not_modified({"If-Modified-Since": modified}, None, modified)
    assert not not_modified({"If-Modified-Since": "Mon, 13 Nov 2023 00:00:00 GMT"}, None, modified)


@pytest.mark.parametrize("content_type, size, encoding, expected", [
    ("text/html; charset=utf-8", 5000, None, True), ("application/json", 1000, None, True),
    ("image/png", 5000, None, False), ("text/css", 999, None, False), ("text/css", 10_000_001, None, False),
    ("text/css", 5000, "br", False),
])
def test_compressible(content_type: str, size: int, encoding: str | None, expected: bool) -> None:
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    assert compressible(headers, size) is expected


def test_cors_and_security_headers_respect_override() -> None:
    config = MANAGED["response-headers"]["eaab4381-ed33-4a86-88ca-d9558dc6cd63"].config
    headers = [("X-Frame-Options", "DENY"), ("Content-Type", "text/plain")]
    apply_response_headers_policy(config, "GET", {"Origin": "https://a.example"}, headers, "cdn-cache-hit")
    got = dict(headers)
    assert got["X-Frame-Options"] == "DENY"  # the origin's header stays: Override is false
    assert got["X-Content-Type-Options"] == "nosniff" and got["Access-Control-Allow-Origin"] == "*"
    assert got["Access-Control-Expose-Headers"] == "*"
    preflight: list[tuple[str, str]] = []
    apply_response_headers_policy(config, "OPTIONS", {"Origin": "https://a.example",
                                                      "Access-Control-Request-Method": "PUT"}, preflight, "")
    assert "PUT" in dict(preflight)["Access-Control-Allow-Methods"]


def test_custom_removed_and_credentialed_cors_headers() -> None:
    config = {
        "CorsConfig": {"AccessControlAllowOrigins": {"Items": ["https://app.example"]},
                       "AccessControlAllowHeaders": {"Items": ["*"]}, "AccessControlAllowMethods": {"Items": ["GET"]},
                       "AccessControlAllowCredentials": True, "OriginOverride": True},
        "CustomHeadersConfig": {"Items": [{"Header": "X-Env", "Value": "local", "Override": False}]},
        "RemoveHeadersConfig": {"Items": [{"Header": "Server"}]},
        "ServerTimingHeadersConfig": {"Enabled": True, "SamplingRate": 100},
    }
    headers = [("Server", "AmazonS3"), ("X-Env", "origin")]
    apply_response_headers_policy(config, "GET", {"Origin": "https://app.example"}, headers, "cdn-cache-miss")
    got = dict(headers)
    assert "Server" not in got and got["X-Env"] == "origin" and got["Server-Timing"] == "cdn-cache-miss"
    assert got["Access-Control-Allow-Origin"] == "https://app.example"
    assert got["Access-Control-Allow-Credentials"] == "true"
    other: list[tuple[str, str]] = []
    apply_response_headers_policy(config, "GET", {"Origin": "https://evil.example"}, other, "")
    assert "Access-Control-Allow-Origin" not in dict(other)
