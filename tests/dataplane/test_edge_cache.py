"""HTTP through the edge to a live origin that counts its requests: a miss then a hit, TTLs from Cache-Control
clamped by the policy and expiring on the fake clock, revalidation (RefreshHit), invalidation, request collapsing,
cache keys, ranges, compression, custom error responses, origin groups and stale-if-error."""
from __future__ import annotations

import asyncio
import gzip
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.dataplane.edge_support import (CACHING_DISABLED, CACHING_OPTIMIZED, Edge, Origin, Reply, custom_origin,
                                          legacy)


@pytest.fixture(scope="module")
def edge() -> Iterator[Edge]:
    handle = Edge()
    yield handle
    handle.stop()


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin().start()
    yield server
    server.stop()


def path() -> str:
    return f"/{uuid.uuid4().hex[:10]}.txt"


def test_a_miss_then_a_hit_with_cloudfront_headers(edge: Edge, origin: Origin) -> None:
    ident, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web",
                                                              "CachePolicyId": CACHING_OPTIMIZED})
    p = path()
    origin.replies[p] = Reply(body=b"from the origin", headers={"Content-Type": "text/plain"})
    status, headers, body = edge.get(host, p)
    assert (status, body) == (200, b"from the origin")
    assert headers["X-Cache"] == "Miss from cloudfront"
    assert headers["Via"].endswith(".cloudfront.net (CloudFront)") and headers["Via"].startswith("1.1 ")
    assert len(headers["X-Amz-Cf-Id"]) == 56 and headers["X-Amz-Cf-Pop"]
    assert "Age" not in headers
    edge.clock.advance(5)
    status, headers, body = edge.get(host, p)
    assert (status, body, headers["X-Cache"], headers["Age"]) == (200, b"from the origin", "Hit from cloudfront", "5")
    assert origin.hits[p] == 1
    _method, _target, sent = origin.requests[-1]
    assert sent["User-Agent"] == "Amazon CloudFront" and sent["Host"] == f"127.0.0.1:{origin.port}"
    assert "X-Amz-Cf-Id" in sent and sent["Via"].endswith("(CloudFront)")
    stats = edge.stats(ident)
    assert (stats["requests"], stats["hits"], stats["misses"], stats["origin_fetches"]) == (2, 1, 1, 1)
    assert stats["hit_ratio"] == 0.5 and stats["cached_objects"] == 1


def test_ttl_from_max_age_expires_on_the_clock_and_revalidates(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED})
    p = path()
    origin.replies[p] = Reply(body=b"v1", headers={"Cache-Control": "max-age=60", "ETag": '"v1"'})
    assert edge.get(host, p)[1]["X-Cache"] == "Miss from cloudfront"
    edge.clock.advance(59)
    assert edge.get(host, p)[1]["X-Cache"] == "Hit from cloudfront"
    edge.clock.advance(2)
    status, headers, body = edge.get(host, p)
    # stale: a conditional request to the origin, which answers 304
    assert (status, body, headers["X-Cache"]) == (200, b"v1", "RefreshHit from cloudfront")
    assert origin.requests[-1][2]["If-None-Match"] == '"v1"'
    assert edge.get(host, p)[1]["X-Cache"] == "Hit from cloudfront"
    assert origin.hits[p] == 2
    # a changed object comes back whole after the next expiry
    origin.replies[p] = Reply(body=b"v2", headers={"Cache-Control": "max-age=60", "ETag": '"v2"'})
    edge.clock.advance(61)
    status, headers, body = edge.get(host, p)
    assert (body, headers["X-Cache"]) == (b"v2", "Miss from cloudfront")


def test_ttl_is_clamped_by_min_and_max_and_defaults(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], legacy(min_ttl=100, default_ttl=200, max_ttl=300))
    short, long_, silent, nostore = path(), path(), path(), path()
    origin.replies[short] = Reply(headers={"Cache-Control": "max-age=10"})
    origin.replies[long_] = Reply(headers={"Cache-Control": "public, s-maxage=5000, max-age=1"})
    origin.replies[silent] = Reply()
    origin.replies[nostore] = Reply(headers={"Cache-Control": "no-store"})
    for p in (short, long_, silent, nostore):
        edge.get(host, p)
    edge.clock.advance(99)
    # MinTTL 100 wins over max-age=10 and even over no-store
    assert [edge.get(host, p)[1]["X-Cache"] for p in (short, long_, silent, nostore)] == ["Hit from cloudfront"] * 4
    edge.clock.advance(101)  # 200 s: past DefaultTTL, within MaxTTL (s-maxage 5000 clamped to 300)
    assert edge.get(host, silent)[1]["X-Cache"] == "Miss from cloudfront"
    assert edge.get(host, long_)[1]["X-Cache"] == "Hit from cloudfront"
    edge.clock.advance(101)
    assert edge.get(host, long_)[1]["X-Cache"] == "Miss from cloudfront"


def test_no_store_with_min_ttl_zero_is_never_cached(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web",
                                                          "CachePolicyId": "83da9c7e-98b4-4e11-a168-04f0df8e2c65"})
    p, q = path(), path()
    origin.replies[p] = Reply(headers={"Cache-Control": "private, max-age=600"})
    origin.replies[q] = Reply(headers={"Cache-Control": "max-age=600"})
    for _ in range(3):
        edge.get(host, p)
        edge.get(host, q)
    assert origin.hits[p] == 3 and origin.hits[q] == 1


def test_caching_disabled_sends_every_request_to_the_origin(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_DISABLED})
    p = path()
    origin.replies[p] = Reply(headers={"Cache-Control": "max-age=600"})
    assert [edge.get(host, p)[1]["X-Cache"] for _ in range(3)] == ["Miss from cloudfront"] * 3
    assert origin.hits[p] == 3


def test_invalidation_purges_matching_objects(edge: Edge, origin: Origin) -> None:
    ident, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web",
                                                              "CachePolicyId": CACHING_OPTIMIZED})
    kept, gone, wild = "/keep.txt", "/img/a.png", "/img/b.png"
    for p in (kept, gone, wild):
        origin.replies[p] = Reply(body=p.encode())
        edge.get(host, p)
    edge.invalidate(ident, "/img/*")
    assert edge.get(host, kept)[1]["X-Cache"] == "Hit from cloudfront"
    assert edge.get(host, gone)[1]["X-Cache"] == "Miss from cloudfront"
    assert edge.get(host, wild)[1]["X-Cache"] == "Miss from cloudfront"
    edge.invalidate(ident, kept)
    assert edge.get(host, kept)[1]["X-Cache"] == "Miss from cloudfront"
    assert edge.stats(ident)["invalidated_objects"] == 3


def test_fifty_concurrent_misses_make_one_origin_fetch(edge: Edge, origin: Origin) -> None:
    ident, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web",
                                                              "CachePolicyId": CACHING_OPTIMIZED})
    p = path()
    origin.replies[p] = Reply(body=b"x" * 5000, delay=0.3)

    async def herd() -> list[tuple[int, str, int]]:
        async with aiohttp.ClientSession() as session:
            async def one() -> tuple[int, str, int]:
                async with session.get(f"http://127.0.0.1:{edge.port}{p}", headers={"Host": host}) as resp:
                    return resp.status, resp.headers["X-Cache"], len(await resp.read())
            return await asyncio.gather(*(one() for _ in range(50)))

    results = asyncio.run(herd())
    assert origin.hits[p] == 1
    assert all(status == 200 and size == 5000 for status, _, size in results)
    assert sorted(x for _, x, _ in results).count("Miss from cloudfront") == 1
    stats = edge.stats(ident)
    assert stats["origin_fetches"] == 1 and stats["collapsed"] == 49


def test_cache_key_follows_the_cache_policy(edge: Edge, origin: Origin) -> None:
    policy = edge.cf.create_cache_policy(CachePolicyConfig={
        "Name": f"key-{uuid.uuid4().hex[:8]}", "MinTTL": 0, "DefaultTTL": 600, "MaxTTL": 600,
        "ParametersInCacheKeyAndForwardedToOrigin": {
            "EnableAcceptEncodingGzip": False,
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": {"Quantity": 1, "Items": ["X-Tenant"]}},
            "CookiesConfig": {"CookieBehavior": "whitelist", "Cookies": {"Quantity": 1, "Items": ["lang"]}},
            "QueryStringsConfig": {"QueryStringBehavior": "whitelist",
                                   "QueryStrings": {"Quantity": 1, "Items": ["v"]}}}})["CachePolicy"]["Id"]
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": policy})
    p = path()
    origin.replies[p] = Reply()
    cases: list[tuple[str, dict[str, str]]] = [
        ("?v=1", {}), ("?v=1&utm=x", {}), ("?v=2", {}),                        # only v is in the key
        ("?v=1", {"X_Tenant": "a"}), ("?v=1", {"X_Tenant": "a", "X_Other": "z"}),  # only X-Tenant is
        ("?v=1", {"Cookie": "lang=en; session=1"}), ("?v=1", {"Cookie": "session=2; lang=en"}),
    ]
    outcomes = [edge.get(host, p + query, headers=headers)[1]["X-Cache"].split()[0] for query, headers in cases]
    assert outcomes == ["Miss", "Hit", "Miss", "Miss", "Hit", "Miss", "Hit"]
    # what is in the key goes to the origin; what is not does not
    _method, target, sent = origin.requests[-1]
    assert target == p + "?v=1"
    assert sent.get("Cookie") == "lang=en" and "X-Other" not in sent


def test_ranges_are_cut_from_the_cached_object(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED})
    p = path()
    origin.replies[p] = Reply(body=bytes(range(256)) * 4, headers={"Content-Type": "application/octet-stream"})
    status, headers, body = edge.get(host, p, Range="bytes=10-19")
    assert (status, body, headers["Content-Range"]) == (206, bytes(range(10, 20)), "bytes 10-19/1024")
    status, headers, body = edge.get(host, p, Range="bytes=-4")
    assert (status, body, headers["X-Cache"]) == (206, bytes(range(252, 256)), "Hit from cloudfront")
    status, headers, _ = edge.get(host, p, Range="bytes=5000-")
    assert (status, headers["Content-Range"]) == (416, "bytes */1024")
    assert "Range" not in origin.requests[0][2]
    assert origin.hits[p] == 1


def test_conditional_viewer_requests_get_304(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED})
    p = path()
    origin.replies[p] = Reply(body=b"body", headers={"ETag": '"abc"', "Last-Modified": "Tue, 14 Nov 2023 22:13:20 GMT"})
    edge.get(host, p)
    status, headers, body = edge.get(host, p, If_None_Match='"abc"')
    assert (status, body, headers["ETag"]) == (304, b"", '"abc"')
    assert edge.get(host, p, If_Modified_Since="Wed, 15 Nov 2023 00:00:00 GMT")[0] == 304
    assert edge.get(host, p, If_None_Match='"other"')[0] == 200


def test_compression_for_text_when_the_viewer_accepts_gzip(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED,
                                                          "Compress": True})
    text, image, tiny = path(), path(), path()
    page = b"<p>hello edge</p>" * 200
    origin.replies[text] = Reply(body=page, headers={"Content-Type": "text/html; charset=utf-8"})
    origin.replies[image] = Reply(body=b"\x89PNG" * 500, headers={"Content-Type": "image/png"})
    origin.replies[tiny] = Reply(body=b"<p>small</p>", headers={"Content-Type": "text/html"})
    status, headers, body = edge.get(host, text, Accept_Encoding="gzip, deflate, br")
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == page
    assert len(body) < len(page) / 10
    assert edge.get(host, text, Accept_Encoding="br, gzip")[1]["X-Cache"] == "Hit from cloudfront"
    # the normalized Accept-Encoding is in the key: "gzip" alone is another entry
    status, headers, body = edge.get(host, text, Accept_Encoding="gzip")
    assert headers["X-Cache"] == "Miss from cloudfront" and gzip.decompress(body) == page
    # a viewer that does not accept gzip has its own cache entry, uncompressed
    status, headers, body = edge.get(host, text)
    assert body == page and "Content-Encoding" not in headers and headers["X-Cache"] == "Miss from cloudfront"
    assert "Content-Encoding" not in edge.get(host, image, Accept_Encoding="gzip")[1]
    assert "Content-Encoding" not in edge.get(host, tiny, Accept_Encoding="gzip")[1]
    assert origin.requests[0][2].get("Accept-Encoding") == "br,gzip"


def test_custom_error_responses_serve_a_page_and_cache_the_error(edge: Edge, origin: Origin) -> None:
    ident, host = edge.distribution(
        [custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED},
        CustomErrorResponses={"Quantity": 2, "Items": [
            {"ErrorCode": 404, "ResponsePagePath": "/errors/404.html", "ResponseCode": "200",
             "ErrorCachingMinTTL": 30},
            {"ErrorCode": 503, "ErrorCachingMinTTL": 0}]})
    origin.replies["/errors/404.html"] = Reply(body=b"<h1>app shell</h1>", headers={"Content-Type": "text/html"})
    missing, broken = path(), path()
    origin.replies[broken] = Reply(status=503, body=b"down")
    status, headers, body = edge.get(host, missing)
    assert (status, body, headers["X-Cache"]) == (200, b"<h1>app shell</h1>", "Error from cloudfront")
    assert headers["Content-Type"] == "text/html"
    edge.clock.advance(29)
    assert edge.get(host, missing)[0] == 200
    assert origin.hits[missing] == 1 and origin.hits["/errors/404.html"] == 1
    edge.clock.advance(2)
    edge.get(host, missing)
    assert origin.hits[missing] == 2
    # ErrorCachingMinTTL 0: the 503 is not cached
    assert [edge.get(host, broken)[0] for _ in range(2)] == [503, 503]
    assert origin.hits[broken] == 2
    assert edge.stats(ident)["errors"] == 5


def test_errors_are_cached_for_ten_seconds_by_default(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED})
    p = path()
    status, headers, _ = edge.get(host, p)
    assert (status, headers["X-Cache"]) == (404, "Error from cloudfront")
    origin.replies[p] = Reply(body=b"now here")
    edge.clock.advance(9)
    assert edge.get(host, p)[0] == 404
    edge.clock.advance(2)
    assert edge.get(host, p)[2] == b"now here"


def test_origin_group_fails_over_to_the_secondary(edge: Edge, origin: Origin) -> None:
    backup = Origin().start()
    try:
        group = {"Id": "group", "FailoverCriteria": {"StatusCodes": {"Quantity": 2, "Items": [500, 503]}},
                 "Members": {"Quantity": 2, "Items": [{"OriginId": "primary"}, {"OriginId": "backup"}]}}
        _, host = edge.distribution([custom_origin(origin, "primary"), custom_origin(backup, "backup")],
                                    {"TargetOriginId": "group", "CachePolicyId": CACHING_OPTIMIZED},
                                    OriginGroups={"Quantity": 1, "Items": [group]})
        p = path()
        origin.replies[p] = Reply(status=503, body=b"primary down")
        backup.replies[p] = Reply(body=b"from backup")
        assert edge.get(host, p)[2] == b"from backup"
        assert (origin.hits[p], backup.hits[p]) == (1, 1)
        # a primary that cannot be reached at all fails over too
        origin.stop()
        q = path()
        backup.replies[q] = Reply(body=b"still served")
        assert edge.get(host, q)[2] == b"still served"
    finally:
        backup.stop()


def test_an_expired_object_is_served_while_the_origin_is_down(edge: Edge) -> None:
    origin = Origin().start()
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED})
    p, q = path(), path()
    origin.replies[p] = Reply(body=b"kept", headers={"Cache-Control": "max-age=10"})
    origin.replies[q] = Reply(body=b"bounded", headers={"Cache-Control": "max-age=10, stale-if-error=30"})
    edge.get(host, p)
    edge.get(host, q)
    origin.stop()
    edge.clock.advance(20)
    assert edge.get(host, p)[:3:2] == (200, b"kept")
    assert edge.get(host, q)[:3:2] == (200, b"bounded")
    edge.clock.advance(30)
    status, headers, _ = edge.get(host, q)  # past stale-if-error: the origin's failure shows
    assert (status, headers["X-Cache"]) == (502, "Error from cloudfront")


def test_stale_while_revalidate_serves_stale_and_refreshes_once(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web", "CachePolicyId": CACHING_OPTIMIZED})
    p = path()
    origin.replies[p] = Reply(body=b"old", headers={"Cache-Control": "max-age=10, stale-while-revalidate=60"})
    edge.get(host, p)
    origin.replies[p] = Reply(body=b"new", headers={"Cache-Control": "max-age=10, stale-while-revalidate=60"})
    edge.clock.advance(15)
    assert edge.get(host, p)[2] == b"old"
    for _ in range(50):
        if origin.hits[p] == 2 and edge.get(host, p)[2] == b"new":
            break
        asyncio.run(asyncio.sleep(0.02))
    assert edge.get(host, p)[2] == b"new"
    assert origin.hits[p] == 2


def test_requests_that_are_not_cached_pass_through_with_their_body(edge: Edge, origin: Origin) -> None:
    _, host = edge.distribution([custom_origin(origin)], legacy(AllowedMethods={
        "Quantity": 7, "Items": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}))
    p = path()
    origin.replies[p] = Reply(status=201, body=b"created")
    status, headers, body = edge.get(host, p, method="POST", body=b"payload", Content_Type="application/json")
    assert (status, body, headers["X-Cache"]) == (201, b"created", "Miss from cloudfront")
    method, _target, sent = origin.requests[-1]
    assert method == "POST" and sent["Content-Type"] == "application/json"
    edge.get(host, p, method="POST", body=b"again")
    assert origin.hits[p] == 2
