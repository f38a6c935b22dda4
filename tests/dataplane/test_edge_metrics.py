"""GET /_miniaws/metrics: the "cloudfront" section counts per distribution what the edge did (requests, hits,
misses, refresh hits, hit ratios by requests and bytes, origin fetches, collapsed requests, evictions) and sums
them; /_miniaws/cloudfront/<id>/stats stays, with the same numbers for one distribution."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.dataplane.edge_support import CACHING_OPTIMIZED, Edge, Origin, Reply, custom_origin, legacy

#: small enough that a handful of 8 KiB objects evict each other
CACHE_BYTES = 40_000


@pytest.fixture
def edge() -> Iterator[Edge]:
    handle = Edge(edge_cache_bytes=CACHE_BYTES)
    yield handle
    handle.stop()


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin().start()
    yield server
    server.stop()


def metrics(edge: Edge) -> dict[str, Any]:
    with urllib.request.urlopen(f"{edge.thread.endpoint_url}/_miniaws/metrics") as response:
        assert response.headers["Content-Type"].startswith("application/json")
        result: dict[str, Any] = json.loads(response.read())
    return result


def path() -> str:
    return f"/{uuid.uuid4().hex[:10]}.bin"


def test_per_distribution_counters_and_ratios(edge: Edge, origin: Origin) -> None:
    ident, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web",
                                                              "CachePolicyId": CACHING_OPTIMIZED})
    other, other_host = edge.distribution([custom_origin(origin)], legacy())
    hot, slow, revalidated = path(), path(), path()
    origin.replies[hot] = Reply(body=b"h" * 1000)
    origin.replies[slow] = Reply(body=b"s" * 500, delay=0.3)
    origin.replies[revalidated] = Reply(body=b"r" * 200, headers={"Cache-Control": "max-age=1", "ETag": '"v1"'})
    for _ in range(4):
        assert edge.get(host, hot)[0] == 200  # a miss, then 3 hits
    with ThreadPoolExecutor(10) as pool:  # 10 at once on a cold key: one origin fetch, 9 collapsed onto it
        statuses = list(pool.map(lambda _: edge.get(host, slow)[0], range(10)))
    assert statuses == [200] * 10 and origin.hits[slow] == 1
    edge.get(host, revalidated)
    edge.clock.advance(2)
    assert edge.get(host, revalidated)[1]["X-Cache"] == "RefreshHit from cloudfront"
    assert edge.get(other_host, "/nowhere")[0] == 404

    section = metrics(edge)["cloudfront"]
    mine = section["distributions"][ident]
    assert mine["domain"] == host
    assert (mine["requests"], mine["hits"], mine["misses"], mine["refresh_hits"]) == (16, 12, 3, 1)
    assert (mine["origin_fetches"], mine["collapsed"], mine["errors"]) == (4, 9, 0)
    assert mine["hit_ratio"] == round(13 / 16, 4)
    sent = 4 * 1000 + 10 * 500 + 2 * 200
    assert (mine["bytes_out"], mine["bytes_from_cache"]) == (sent, 3 * 1000 + 9 * 500 + 200)
    assert mine["byte_hit_ratio"] == round((3 * 1000 + 9 * 500 + 200) / sent, 4)
    assert (mine["cached_objects"], mine["evictions"]) == (3, 0)
    theirs = section["distributions"][other]
    assert (theirs["requests"], theirs["errors"], theirs["origin_fetches"], theirs["hit_ratio"]) == (1, 1, 1, 0.0)
    totals = section["totals"]
    for name in ("requests", "hits", "misses", "refresh_hits", "origin_fetches", "collapsed", "errors", "bytes_out"):
        assert totals[name] == mine[name] + theirs[name], name
    assert totals["hit_ratio"] == round(13 / 16, 4)  # the 404 was cached (error caching) but counts as an error
    assert section["cache"]["capacity_bytes"] == CACHE_BYTES and section["cache"]["objects"] >= 3

    # the per-distribution endpoint stays, with the same numbers
    assert {"Id": ident, **{k: v for k, v in mine.items() if k != "domain"}} == edge.stats(ident)


def test_evictions_and_the_endpoint(edge: Edge, origin: Origin) -> None:
    ident, host = edge.distribution([custom_origin(origin)], {"TargetOriginId": "web",
                                                              "CachePolicyId": CACHING_OPTIMIZED})
    paths = [path() for _ in range(8)]
    for p in paths:
        origin.replies[p] = Reply(body=b"x" * 8192)
        assert edge.get(host, p)[1]["X-Cache"] == "Miss from cloudfront"
    section = metrics(edge)["cloudfront"]
    mine = section["distributions"][ident]
    # 8 objects of 8 KiB (plus headers) in a 40,000-byte cache: the least recently used went
    assert mine["evictions"] == 8 - mine["cached_objects"] and mine["evictions"] >= 4
    assert section["cache"]["bytes"] <= CACHE_BYTES and section["totals"]["evictions"] == mine["evictions"]
    assert edge.get(host, paths[0])[1]["X-Cache"] == "Miss from cloudfront"  # evicted: fetched again
    assert edge.get(host, paths[-1])[1]["X-Cache"] == "Hit from cloudfront"
    request = urllib.request.Request(f"{edge.thread.endpoint_url}/_miniaws/metrics", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request)
    exc.value.close()
    assert exc.value.code == 405
