"""Distributions compiled for the edge: path patterns, hosts and aliases, what a behaviour keys and forwards, and the
cache key and origin request built from a viewer request."""
from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from miniaws.dataplane.edge.requests import ViewerRequest, cache_key, origin_headers, select_query
from miniaws.dataplane.edge.routing import (Selection, bucket_of, compile_distribution, pattern_regex,
                                            HostTable)
from miniaws.services.cloudfront.api_common import MANAGED

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER = "216adef6-5c7f-47e4-b989-5492eafa07d3"


def policy(kind: str, ident: str) -> dict[str, Any] | None:
    found = MANAGED[kind].get(ident)
    return found.config if found is not None else None


def config(**extra: Any) -> dict[str, Any]:
    return {
        "Enabled": True, "DefaultRootObject": "",
        "Origins": {"Quantity": 2, "Items": [
            {"Id": "s3", "DomainName": "my.bucket.s3.us-west-2.amazonaws.com", "S3OriginConfig": {}},
            {"Id": "web", "DomainName": "Example.COM", "OriginPath": "/v1",
             "CustomOriginConfig": {"OriginProtocolPolicy": "http-only", "HTTPPort": 8080}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "CachePolicyId": CACHING_OPTIMIZED,
                                 "AllowedMethods": {"Items": ["GET", "HEAD"]}},
        **extra,
    }


@pytest.mark.parametrize("pattern, path, matches", [
    ("/images/*.jpg", "/images/a/b.jpg", True),
    ("/images/*.jpg", "/images/a.png", False),
    ("images/*", "/images/x", True),
    ("/a?c", "/abc", True),
    ("/a?c", "/abbc", False),
    ("/API/*", "/api/x", False),
    ("/*.php", "/index.php", True),
    ("/a.b", "/aXb", False),
])
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    assert (pattern_regex(pattern).fullmatch(path) is not None) is matches


def test_behaviours_in_order_then_the_default() -> None:
    dist = compile_distribution("E1", "arn", "e1.cloudfront.localhost", config(CacheBehaviors={"Items": [
        {"PathPattern": "/api/*", "TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED},
        {"PathPattern": "/api/v2/*", "TargetOriginId": "s3", "CachePolicyId": CACHING_OPTIMIZED}]}), policy,
        lambda _: None)
    assert dist.behavior_for("/api/v2/x").target == "web"  # the first match wins, not the longest
    assert dist.behavior_for("/other").target == "s3"
    web = dist.origins["web"]
    assert (web.domain, web.path, web.http_port, web.s3) == ("example.com", "/v1", 8080, False)
    assert dist.origins["s3"].bucket == "my.bucket"


@pytest.mark.parametrize("domain, bucket", [
    ("site.s3.amazonaws.com", "site"), ("site.s3.eu-west-1.amazonaws.com", "site"),
    ("site.s3-eu-west-1.amazonaws.com", "site"), ("a.b.s3.localhost", "a.b"),
])
def test_bucket_of_s3_domains(domain: str, bucket: str) -> None:
    assert bucket_of(domain) == bucket


def test_hosts_aliases_and_wildcards() -> None:
    dist = compile_distribution("EABC", "arn", "eabc.cloudfront.localhost", config(Aliases={"Items": [
        "www.example.com", "*.shop.example.com"]}), policy, lambda _: None)
    table = HostTable([dist])
    for host in ("eabc.cloudfront.localhost", "EABC.cloudfront.localhost:8080", "eabc.cloudfront.net",
                 "www.example.com", "eu.shop.example.com"):
        assert table.lookup(host) is dist, host
    for host in ("example.com", "a.b.shop.example.com", "[::1]:8080", "other.cloudfront.localhost"):
        assert table.lookup(host) is None, host


@pytest.mark.parametrize("left, right, picks, rejects", [
    (Selection("whitelist", frozenset({"a"})), Selection("whitelist", frozenset({"b"})), {"a", "b"}, {"c"}),
    (Selection("none"), Selection("allExcept", frozenset({"host"})), {"x"}, {"host"}),
    (Selection("whitelist", frozenset({"host"})), Selection("allExcept", frozenset({"host"})), {"host", "x"}, set()),
    (Selection("all"), Selection("none"), {"x"}, set()),
])
def test_selection_union(left: Selection, right: Selection, picks: set[str], rejects: set[str]) -> None:
    union = left.union(right)
    assert all(union.picks(n) for n in picks) and not any(union.picks(n) for n in rejects)


def viewer(path: str = "/p", query: str = "", **headers: str) -> ViewerRequest:
    return ViewerRequest("GET", "h", path, query, CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()}),
                         client_ip="192.0.2.1")


def test_legacy_forwarded_values_key_and_forward() -> None:
    dist = compile_distribution("E1", "arn", "d", config(DefaultCacheBehavior={
        "TargetOriginId": "web", "MinTTL": 0, "DefaultTTL": 5, "MaxTTL": 10, "Compress": True,
        "ForwardedValues": {"QueryString": True, "QueryStringCacheKeys": {"Items": ["id"]},
                            "Headers": {"Items": ["Accept-Language"]},
                            "Cookies": {"Forward": "whitelist", "WhitelistedNames": {"Items": ["s"]}}}}),
        policy, lambda _: None)
    behavior = dist.behaviors[-1]
    plan = behavior.cache
    assert (plan.ttls.minimum, plan.ttls.default, plan.ttls.maximum, plan.gzip) == (0, 5, 10, True)
    one = cache_key("GET", viewer(query="id=1&utm=a", Accept_Language="fr", Cookie="s=1; t=2"), plan, "gzip")
    two = cache_key("GET", viewer(query="utm=b&id=1", Accept_Language="fr", Cookie="t=3; s=1"), plan, "gzip")
    assert one == two
    assert one != cache_key("GET", viewer(query="id=2", Accept_Language="fr", Cookie="s=1"), plan, "gzip")
    assert one != cache_key("OPTIONS", viewer(query="id=1", Accept_Language="fr", Cookie="s=1"), plan, "gzip")
    # the legacy settings forward the whole query string but key only QueryStringCacheKeys
    assert select_query("id=1&utm=a", behavior.forward_queries) == "id=1&utm=a"


def test_origin_request_headers_with_all_viewer() -> None:
    dist = compile_distribution("E1", "arn", "d", config(DefaultCacheBehavior={
        "TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED, "OriginRequestPolicyId": ALL_VIEWER}),
        policy, lambda _: None)
    behavior = dist.behaviors[-1]
    sent = dict(origin_headers(viewer(Host="www.example.com", X_Custom="1", Cookie="a=1", Range="bytes=0-1",
                                      CloudFront_Viewer_Country="XX", User_Agent="curl/8"),
                               behavior, "gzip", "1.1 x.cloudfront.net (CloudFront)", "rid", cached=True))
    assert sent["Host"] == "www.example.com" and sent["X-Custom"] == "1" and sent["Cookie"] == "a=1"
    assert sent["User-Agent"] == "curl/8" and sent["Accept-Encoding"] == "gzip"
    assert "Range" not in sent and "CloudFront-Viewer-Country" not in sent
    assert sent["X-Forwarded-For"] == "192.0.2.1" and sent["X-Amz-Cf-Id"] == "rid"
    plain = dict(origin_headers(viewer(X_Custom="1", Cookie="a=1"), dist.behaviors[-1].__class__(
        **{**{f: getattr(behavior, f) for f in behavior.__dataclass_fields__},
           "forward_headers": Selection("none"), "forward_cookies": Selection("none")}),
        "", "via", "rid", cached=True))
    assert "X-Custom" not in plain and "Cookie" not in plain and plain["User-Agent"] == "Amazon CloudFront"
