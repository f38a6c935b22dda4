"""The edge pipeline with a fake clock and an injected origin transport (no sockets): request collapsing, what
waiters of an uncacheable response do, revalidation, stale-if-error, origin group failover, purges racing fetches."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from multidict import CIMultiDict

from miniaws.config import Config
from miniaws.core.clock import FakeClock
from miniaws.dataplane.edge.engine import Edge
from miniaws.dataplane.edge.origin import OriginRequest, OriginResponse, OriginUnavailable
from miniaws.dataplane.edge.requests import ViewerRequest
from miniaws.dataplane.edge.routing import Origin
from miniaws.services.cloudfront.api_common import MANAGED
from miniaws.services.cloudfront.models import CloudFrontStore, Distribution
from miniaws.services.cloudfront.validation import normalize_distribution_config
from miniaws.state.journal import MemoryJournal

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
HOST = "etest.cloudfront.localhost"


class FakeOrigins:
    """Answers from `replies[(origin id, path)]`: (status, headers, body) or an exception to raise."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], Any] = {}
        self.calls: list[tuple[str, OriginRequest]] = []
        self.gate: asyncio.Event | None = None

    async def fetch(self, origin: Origin, request: OriginRequest, source_arn: str) -> OriginResponse:
        self.calls.append((origin.id, request))
        if self.gate is not None:
            await self.gate.wait()
        reply = self.replies.get((origin.id, request.path), (404, {}, b"missing"))
        if isinstance(reply, Exception):
            raise reply
        status, headers, body = reply
        if status == 200 and "ETag" in headers and dict(request.headers).get("If-None-Match") == headers["ETag"]:
            return OriginResponse(304, CIMultiDict(headers), b"", origin_id=origin.id)
        return OriginResponse(status, CIMultiDict(headers), body, origin_id=origin.id)

    async def close(self) -> None:
        return None


def make_edge(**extra: Any) -> tuple[Edge, FakeOrigins, FakeClock]:
    store = CloudFrontStore(MemoryJournal())
    raw = {"CallerReference": "r", "Comment": "", "Enabled": True,
           "Origins": {"Quantity": 2, "Items": [
               {"Id": "a", "DomainName": "a.example", "CustomOriginConfig": {"OriginProtocolPolicy": "http-only"}},
               {"Id": "b", "DomainName": "b.example", "CustomOriginConfig": {"OriginProtocolPolicy": "http-only"}}]},
           "DefaultCacheBehavior": {"TargetOriginId": "a", "ViewerProtocolPolicy": "allow-all",
                                    "CachePolicyId": CACHING_OPTIMIZED}, **extra}
    config = normalize_distribution_config(raw, lambda kind, ident: ident in MANAGED[kind], lambda _: False)
    store.put_distribution(Distribution("ETEST", "000000000000", config, "E1", HOST, 0.0))
    clock = FakeClock()

    def find_policy(kind: str, ident: str) -> Any:
        return MANAGED[kind].get(ident)

    edge = Edge(store, find_policy, lambda _: None, clock, Config(), None)
    fake = FakeOrigins()
    edge.origins = fake  # type: ignore[assignment]
    return edge, fake, clock


def get(edge: Edge, path: str, method: str = "GET", **headers: str) -> Any:
    return edge.handle(ViewerRequest(method, HOST, path, "", CIMultiDict(headers), b"", "192.0.2.9"))


async def settle() -> None:
    """Let every started request run up to where it waits (on the gated origin or on the shared fetch)."""
    for _ in range(20):
        await asyncio.sleep(0)


def x_cache(response: Any) -> str:
    return str(dict(response.headers)["X-Cache"])


async def test_concurrent_misses_share_one_fetch() -> None:
    edge, fake, _ = make_edge()
    fake.replies[("a", "/k")] = (200, {}, b"body")
    fake.gate = asyncio.Event()
    pending = [asyncio.ensure_future(get(edge, "/k")) for _ in range(20)]
    await settle()
    fake.gate.set()
    responses = await asyncio.gather(*pending)
    assert len(fake.calls) == 1
    assert [x_cache(r) for r in responses].count("Miss from cloudfront") == 1
    assert all(r.body == b"body" for r in responses)
    assert edge.stats("ETEST")["collapsed"] == 19


async def test_waiters_of_an_uncacheable_response_go_to_the_origin_themselves() -> None:
    # MinTTL 0 (UseOriginCacheControlHeaders): `private` is not cached (with CachingOptimized's MinTTL 1 it would be)
    edge, fake, _ = make_edge(DefaultCacheBehavior={"TargetOriginId": "a", "ViewerProtocolPolicy": "allow-all",
                                                    "CachePolicyId": "83da9c7e-98b4-4e11-a168-04f0df8e2c65"})
    fake.replies[("a", "/private")] = (200, {"Cache-Control": "private"}, b"mine")
    fake.gate = asyncio.Event()
    pending = [asyncio.ensure_future(get(edge, "/private")) for _ in range(3)]
    await settle()
    fake.gate.set()
    await asyncio.gather(*pending)
    assert len(fake.calls) == 3


async def test_revalidation_with_a_validator_is_a_refresh_hit() -> None:
    edge, fake, clock = make_edge()
    fake.replies[("a", "/v")] = (200, {"Cache-Control": "max-age=10", "ETag": '"1"'}, b"v")
    await get(edge, "/v")
    clock.advance(11)
    refreshed = await get(edge, "/v")
    assert x_cache(refreshed) == "RefreshHit from cloudfront" and dict(refreshed.headers)["Age"] == "0"
    assert dict(fake.calls[-1][1].headers)["If-None-Match"] == '"1"'
    clock.advance(5)
    assert x_cache(await get(edge, "/v")) == "Hit from cloudfront"
    assert len(fake.calls) == 2


async def test_stale_if_error_and_the_origin_unavailable() -> None:
    edge, fake, clock = make_edge()
    fake.replies[("a", "/s")] = (200, {"Cache-Control": "max-age=10, stale-if-error=20"}, b"s")
    await get(edge, "/s")
    fake.replies[("a", "/s")] = OriginUnavailable(502, "down")
    clock.advance(15)
    assert (await get(edge, "/s")).body == b"s"
    fake.replies[("a", "/s")] = (500, {}, b"broken")
    assert (await get(edge, "/s")).body == b"s"
    clock.advance(20)
    assert (await get(edge, "/s")).status == 500
    fake.replies[("a", "/never")] = OriginUnavailable(504, "slow")
    response = await get(edge, "/never")
    assert response.status == 504 and x_cache(response) == "Error from cloudfront"


async def test_origin_group_failover_on_codes_and_failures() -> None:
    group = {"Id": "g", "FailoverCriteria": {"StatusCodes": {"Quantity": 1, "Items": [500]}},
             "Members": {"Quantity": 2, "Items": [{"OriginId": "a"}, {"OriginId": "b"}]}}
    edge, fake, _ = make_edge(
        OriginGroups={"Quantity": 1, "Items": [group]},
        DefaultCacheBehavior={"TargetOriginId": "g", "ViewerProtocolPolicy": "allow-all",
                              "CachePolicyId": CACHING_OPTIMIZED})
    fake.replies[("a", "/x")] = (500, {}, b"")
    fake.replies[("b", "/x")] = (200, {}, b"b")
    fake.replies[("a", "/y")] = OriginUnavailable(502, "refused")
    fake.replies[("b", "/y")] = (200, {}, b"b")
    fake.replies[("a", "/z")] = (404, {}, b"not failover")
    assert (await get(edge, "/x")).body == b"b"
    assert (await get(edge, "/y")).body == b"b"
    assert (await get(edge, "/z")).status == 404
    assert [origin for origin, _ in fake.calls] == ["a", "b", "a", "b", "a"]
    assert edge.stats("ETEST")["origin_fetches"] == 5


async def test_a_purge_during_a_fetch_keeps_the_result_out_of_the_cache() -> None:
    edge, fake, _ = make_edge()
    fake.replies[("a", "/p")] = (200, {}, b"old")
    fake.gate = asyncio.Event()
    pending = asyncio.ensure_future(get(edge, "/p"))
    await settle()
    edge.purge("ETEST", ["/p"])
    fake.gate.set()
    assert (await pending).body == b"old"
    assert x_cache(await get(edge, "/p")) == "Miss from cloudfront"


async def test_head_miss_is_forwarded_as_head_and_head_hits_use_the_get_entry() -> None:
    edge, fake, _ = make_edge()
    fake.replies[("a", "/h")] = (200, {"Content-Type": "text/plain"}, b"12345")
    head = await get(edge, "/h", method="HEAD")
    assert fake.calls[-1][1].method == "HEAD" and head.body == b""
    await get(edge, "/h")
    head = await get(edge, "/h", method="HEAD")
    assert x_cache(head) == "Hit from cloudfront" and head.length == 5 and head.body == b""
    assert len(fake.calls) == 2


@pytest.mark.parametrize("host", ["unknown.example", ""])
async def test_unknown_hosts_are_refused(host: str) -> None:
    edge, _, _ = make_edge()
    response = await edge.handle(ViewerRequest("GET", host, "/", "", CIMultiDict()))
    assert response.status == 403 and b"could not be satisfied" in response.body
