"""Edge cache rules as case tables: freshness from Cache-Control/Expires clamped by Min/Default/MaxTTL, error caching,
Accept-Encoding normalization, invalidation path matching, and LRU eviction by bytes."""
from __future__ import annotations

import pytest

from miniaws.core.timestamps import http_date
from miniaws.dataplane.edge.cache import (CacheEntry, EdgeCache, PathMatcher, Ttls, freshness,
                                          normalize_accept_encoding, parse_cache_control)

NOW = 1_700_000_000.0
LEGACY = Ttls(0, 86400, 31536000)
MIN_100 = Ttls(100, 200, 300)


@pytest.mark.parametrize("headers, ttls, expected", [
    ({}, LEGACY, 86400),                                              # the origin says nothing: DefaultTTL
    ({"Cache-Control": "max-age=60"}, LEGACY, 60),
    ({"Cache-Control": "max-age=60, s-maxage=600"}, LEGACY, 600),     # s-maxage beats max-age
    ({"Cache-Control": "max-age=10"}, MIN_100, 100),                  # clamped up to MinTTL
    ({"Cache-Control": "max-age=5000"}, MIN_100, 300),                # clamped down to MaxTTL
    ({"Expires": http_date(NOW + 120)}, LEGACY, 120),
    ({"Expires": "0"}, LEGACY, 0),                                    # unparsable Expires: already expired
    ({"Cache-Control": "max-age=30", "Expires": http_date(NOW + 999)}, LEGACY, 30),  # max-age beats Expires
    ({"Cache-Control": "no-store"}, LEGACY, None),
    ({"Cache-Control": "private, max-age=60"}, LEGACY, None),
    ({"Cache-Control": "no-cache"}, LEGACY, None),
    ({"Cache-Control": "no-store"}, MIN_100, 100),                    # MinTTL > 0 wins over no-store
    ({"Cache-Control": "max-age=60"}, Ttls(0, 0, 0), None),           # CachingDisabled
    ({"Cache-Control": "max-age=notanumber"}, LEGACY, 86400),
])
def test_object_freshness(headers: dict[str, str], ttls: Ttls, expected: int | None) -> None:
    fresh = freshness(200, headers, ttls, NOW)
    assert (fresh.ttl if fresh is not None else None) == expected


@pytest.mark.parametrize("status, headers, error_ttl, expected", [
    (404, {}, None, 10),                                       # 10 s by default
    (404, {}, 30, 30),                                         # ErrorCachingMinTTL
    (503, {"Cache-Control": "max-age=60"}, None, 60),          # the greater of header and minimum
    (503, {"Cache-Control": "max-age=5"}, 30, 30),
    (404, {"Cache-Control": "no-store"}, None, None),          # honoured for 404, 410, 414, 501
    (500, {"Cache-Control": "no-store"}, None, 10),            # ignored for the others
    (403, {}, None, None),                                     # cached only with max-age
    (403, {"Cache-Control": "max-age=20"}, None, 20),
    (416, {}, None, None),                                     # never
    (502, {}, 0, None),                                        # ErrorCachingMinTTL 0: not cached
    (206, {}, None, None),
    (301, {"Cache-Control": "max-age=7"}, None, 7),
])
def test_error_freshness(status: int, headers: dict[str, str], error_ttl: int | None, expected: int | None) -> None:
    fresh = freshness(status, headers, LEGACY, NOW, error_ttl)
    assert (fresh.ttl if fresh is not None else None) == expected


def test_stale_directives() -> None:
    fresh = freshness(200, {"Cache-Control": "max-age=10, stale-while-revalidate=30, stale-if-error=60"}, LEGACY, NOW)
    assert fresh is not None
    assert (fresh.stale_while_revalidate, fresh.stale_if_error) == (30.0, 60.0)
    plain = freshness(200, {"Cache-Control": "max-age=10"}, LEGACY, NOW)
    assert plain is not None and plain.stale_if_error is None


def test_parse_cache_control() -> None:
    assert parse_cache_control('Max-Age=60, no-cache="Set-Cookie", public') == {
        "max-age": "60", "no-cache": "Set-Cookie", "public": None}
    assert parse_cache_control(None) == {}


@pytest.mark.parametrize("value, gzip, brotli, expected", [
    ("gzip, deflate, br", True, True, "br,gzip"),
    ("gzip, deflate, br", True, False, "gzip"),
    ("br", True, True, "br"),
    ("deflate", True, True, ""),
    ("gzip;q=0, br", True, True, "br"),
    ("*", True, False, "gzip"),
    (None, True, True, ""),
    ("gzip", False, False, ""),
])
def test_accept_encoding_normalization(value: str | None, gzip: bool, brotli: bool, expected: str) -> None:
    assert normalize_accept_encoding(value, gzip, brotli) == expected


@pytest.mark.parametrize("pattern, path, query, matches", [
    ("/images/a.jpg", "/images/a.jpg", "", True),
    ("/images/a.jpg", "/images/a.jpg", "v=2", True),    # every variant of the file
    ("/images/a.jpg", "/images/A.jpg", "", False),      # case-sensitive
    ("/images/a.jpg?v=2", "/images/a.jpg", "v=2", True),
    ("/images/a.jpg?v=2", "/images/a.jpg", "v=3", False),
    ("/images/*", "/images/deep/b.png", "", True),
    ("/images*", "/images.html", "", True),
    ("/*", "/anything", "q=1", True),
    ("images/a.jpg", "/images/a.jpg", "", True),        # a missing leading slash is implied
    ("/caf%C3%A9.txt", "/café.txt", "", True),          # compared percent-decoded
])
def test_invalidation_paths(pattern: str, path: str, query: str, matches: bool) -> None:
    assert PathMatcher(pattern).matches(path, query) is matches


def entry(dist: str, name: str, size: int) -> CacheEntry:
    return CacheEntry((dist, name), name, "", 200, [], b"x" * size, 0.0, 100.0)


def test_lru_eviction_by_bytes_and_per_distribution_usage() -> None:
    one = entry("D1", "/a", 1000)
    cache = EdgeCache(capacity=3 * one.size)
    for name in ("/a", "/b", "/c"):
        assert cache.put(entry("D1", name, 1000))
    assert cache.get(("D1", "/a")) is not None  # /a is now the most recently used
    cache.put(entry("D2", "/d", 1000))
    assert cache.get(("D1", "/b")) is None and cache.get(("D1", "/a")) is not None
    assert cache.usage["D1"].evictions == 1 and cache.usage["D1"].objects == 2 and cache.usage["D2"].objects == 1
    assert cache.bytes == 3 * one.size
    assert not cache.put(entry("D1", "/huge", 10_000))
    assert cache.purge("D1", ["/*"]) == 2 and len(cache) == 1
    cache.drop("D2")
    assert len(cache) == 0 and cache.bytes == 0
