"""The edge pipeline (DESIGN §7): Host → distribution → cache behaviour → cache key → hit, or one collapsed origin
fetch (one future per key) → store with the TTL from Cache-Control clamped by the policy → the viewer's response.

Lambda@Edge functions run around it (functions.py): viewer request before the cache, origin request and origin
response around each origin fetch, viewer response on the way out.

Independent of the listener (server.py adapts aiohttp to ViewerRequest/EdgeResponse), so it is tested with an
injected origin. State changes never span an await; the only shared mutable things are the cache, the in-flight
futures and the counters, all touched from the one event loop.
"""
from __future__ import annotations

import asyncio
import binascii
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from multidict import CIMultiDict

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.dataplane.edge import functions as fx
from miniaws.dataplane.edge.cache import (CacheEntry, CacheKey, DistributionUsage, EdgeCache, freshness,
                                          normalize_accept_encoding)
from miniaws.dataplane.edge.names import ZoneAnswer, ZoneResolver
from miniaws.dataplane.edge.origin import (HOP_BY_HOP, ObjectReader, OriginClient, OriginRequest, OriginResponse,
                                           OriginUnavailable)
from miniaws.dataplane.edge.requests import ViewerRequest, cache_key, origin_headers, select_query
from miniaws.dataplane.edge.respond import (Unsatisfiable, apply_response_headers_policy, byte_range, compressible,
                                            error_page, gzip_body, is_preflight, not_modified)
from miniaws.dataplane.edge.routing import (Behavior, CompiledDistribution, EdgeFunction, HostTable, Origin,
                                            compile_distribution)

if TYPE_CHECKING:
    from miniaws.services.cloudfront.models import CloudFrontStore, OriginAccessControl, Policy

__all__ = ["Edge", "EdgeResponse", "ObjectReader", "ViewerRequest"]

log = logging.getLogger("miniaws.edge")

HIT, MISS, REFRESH_HIT, ERROR = ("Hit from cloudfront", "Miss from cloudfront", "RefreshHit from cloudfront",
                                 "Error from cloudfront")
REDIRECT = "Redirect from cloudfront"
GENERATED = "LambdaGeneratedResponse from cloudfront"
#: headers a 304 to the viewer repeats (RFC 9110 §15.4.5)
_NOT_MODIFIED_HEADERS = frozenset({"etag", "last-modified", "cache-control", "expires", "vary", "content-location"})
_rng = random.Random()


@dataclass(slots=True)
class EdgeResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None


@dataclass(slots=True)
class Served:
    """A response on its way to the viewer, before the range, custom error and response headers steps."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    x_cache: str = MISS
    age: int | None = None
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None


@dataclass(slots=True)
class Outcome:
    """What one (shared) origin fetch produced."""

    kind: str  # "miss" | "refresh" | "stale" | "generated" (by an origin-request function)
    entry: CacheEntry | None = None
    #: the entry was stored, so requests that waited on this fetch may share it
    shareable: bool = False
    passthrough: OriginResponse | None = None
    error: OriginUnavailable | None = None


@dataclass(slots=True)
class Stats:
    requests: int = 0
    hits: int = 0
    refresh_hits: int = 0
    misses: int = 0
    errors: int = 0
    redirects: int = 0
    origin_fetches: int = 0
    collapsed: int = 0
    bytes_out: int = 0
    bytes_from_cache: int = 0
    bytes_from_origin: int = 0
    #: Lambda@Edge: invocations, the ones that failed (502/503), and responses functions generated
    function_invocations: int = 0
    function_errors: int = 0
    generated: int = 0


class Edge:
    def __init__(self, store: "CloudFrontStore", find_policy: Callable[[str, str], "Policy | None"],
                 find_oac: Callable[[str], "OriginAccessControl | None"], clock: Clock, config: Config,
                 reader: ObjectReader | None, zone_answer: ZoneAnswer | None = None,
                 functions: fx.FunctionInvoker | None = None) -> None:
        self.store = store
        self.clock = clock
        self._policy = lambda kind, ident: (p.config if (p := find_policy(kind, ident)) is not None else None)
        self._oac = lambda ident: (o.config if (o := find_oac(ident)) is not None else None)
        self.cache = EdgeCache(config.edge_cache_bytes)
        resolver = (lambda: ZoneResolver(zone_answer, clock)) if zone_answer is not None else None
        self.origins = OriginClient(reader, config.edge_max_object_bytes, resolver)
        #: runs Lambda@Edge functions (the Lambda service); None: associations answer 503 LambdaExecutionError
        self.functions = functions
        self._table: HostTable | None = None
        self._generation = -1
        self._inflight: dict[CacheKey, asyncio.Future[Outcome]] = {}
        #: moves on every purge of a distribution: a fetch that started before a purge does not store its result
        self._epochs: dict[str, int] = {}
        self._stats: dict[str, Stats] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.via = f"1.1 {_rng.getrandbits(128):032x}.cloudfront.net (CloudFront)"
        self.pop = "LCL50-C1"

    # -- lifecycle and control-plane hooks ---------------------------------------------------------
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.origins.close()

    def clear(self) -> None:
        self.cache.clear()
        self._stats.clear()
        for ident in list(self._epochs):
            self._epochs[ident] += 1

    def purge(self, distribution_id: str, paths: list[str]) -> int:
        """CreateInvalidation: the matching objects are gone before the API call returns."""
        self._epochs[distribution_id] = self._epochs.get(distribution_id, 0) + 1
        return self.cache.purge(distribution_id, paths)

    def forget(self, distribution_id: str) -> None:
        self._epochs[distribution_id] = self._epochs.get(distribution_id, 0) + 1
        self.cache.drop(distribution_id)
        self._stats.pop(distribution_id, None)

    def stats(self, distribution_id: str) -> dict[str, Any]:
        """One distribution's counters (GET /_miniaws/cloudfront/<id>/stats, and its part of /_miniaws/metrics)."""
        return _report(self._stats.get(distribution_id) or Stats(), self.cache.usage.get(distribution_id))

    def metrics(self, domains: Mapping[str, str]) -> dict[str, Any]:
        """CloudFront's section of GET /_miniaws/metrics: the cache as a whole, every distribution's counters
        (`domains`: id → domain name) and their sums."""
        total, usage = Stats(), DistributionUsage()
        per: dict[str, Any] = {}
        for ident in sorted(domains):
            counted, used = self._stats.get(ident) or Stats(), self.cache.usage.get(ident)
            per[ident] = {"domain": domains[ident], **_report(counted, used)}
            for name in _STAT_FIELDS:
                setattr(total, name, getattr(total, name) + getattr(counted, name))
            if used is not None:
                for name in _USAGE_FIELDS:
                    setattr(usage, name, getattr(usage, name) + getattr(used, name))
        return {"cache": {"capacity_bytes": self.cache.capacity, "bytes": self.cache.bytes,
                          "objects": len(self.cache)},
                "totals": _report(total, usage), "distributions": per}

    def _hosts(self) -> HostTable:
        if self._table is None or self._generation != self.store.generation:
            compiled = [compile_distribution(d.id, d.arn, d.domain, d.config, self._policy, self._oac)
                        for d in self.store.distributions.values()]
            self._table = HostTable(compiled)
            self._generation = self.store.generation
        return self._table

    # -- one viewer request ------------------------------------------------------------------------
    async def handle(self, request: ViewerRequest) -> EdgeResponse:
        rid = _cf_id()
        table = self._hosts()
        dist = table.lookup(request.host)
        if dist is None and request.path.startswith("/_distribution/"):
            # path-style fallback for clients that cannot set Host: /_distribution/<id>/<path>
            ident, _, rest = request.path[len("/_distribution/"):].partition("/")
            dist = table.by_id.get(ident.upper())
            request.path = "/" + rest
        if dist is None:
            return self._refuse(403, "Bad request. We can't connect to the server for this app or website at this "
                                     "time. There might be too much traffic or a configuration error.", rid)
        stats = self._stats.get(dist.id)
        if stats is None:
            stats = self._stats[dist.id] = Stats()
        stats.requests += 1
        if not dist.enabled:
            return self._refuse(403, "The distribution is disabled.", rid, stats)
        if request.path == "/" and dist.default_root_object:
            # only the root itself, not subdirectories (Developer Guide, "Default root object")
            request.path = "/" + quote(dist.default_root_object)
        behavior = dist.behavior_for(request.path)
        if request.scheme == "http" and behavior.viewer_protocol != "allow-all":
            if behavior.viewer_protocol == "redirect-to-https":
                stats.redirects += 1
                location = f"https://{request.host}{request.path}" + (f"?{request.query}" if request.query else "")
                return self._finish(Served(301, [("Location", location)], x_cache=REDIRECT), request, behavior,
                                    rid)
            return self._refuse(403, "This distribution only allows HTTPS.", rid, stats)
        if request.method not in behavior.allowed:
            return self._refuse(403, "This distribution is not configured to allow the HTTP request method that was "
                                     "used for this request. The distribution supports only cachable requests.", rid,
                                stats)
        edge_functions = behavior.functions
        if fx.VIEWER_REQUEST in edge_functions:
            # before the cache: a generated response is neither cached nor given to the viewer-response function
            try:
                generated = await self._viewer_request(dist, edge_functions[fx.VIEWER_REQUEST], request, rid, stats)
            except fx.EdgeFunctionError as exc:
                generated = self._function_failed(exc, rid, stats)
            if generated is not None:
                self._count(stats, generated, request.method != "HEAD")
                return self._finish(generated, request, behavior, rid)
        cors = (behavior.response_headers or {}).get("CorsConfig")
        if cors and is_preflight(request.method, request.headers):
            # a response headers policy with CORS answers preflight requests itself
            served = Served(200, [], x_cache=MISS)
        else:
            try:
                served = await self._serve(dist, behavior, request, rid, stats)
            except fx.EdgeFunctionError as exc:
                served = self._function_failed(exc, rid, stats)
            else:
                from_origin = served.status
                if served.status >= 400 and request.method in ("GET", "HEAD"):
                    served = await self._custom_error(dist, request, served, rid, stats)
                # not for origin errors (>= 400) or custom error pages ("CloudFront events that can trigger ...")
                if fx.VIEWER_RESPONSE in edge_functions and from_origin < 400:
                    try:
                        await self._viewer_response(dist, edge_functions[fx.VIEWER_RESPONSE], request, served, rid,
                                                    stats)
                    except fx.EdgeFunctionError as exc:
                        served = self._function_failed(exc, rid, stats)
        self._count(stats, served, request.method != "HEAD")
        return self._finish(served, request, behavior, rid)

    def _count(self, stats: Stats, served: Served, with_body: bool) -> None:
        sent = 0 if not with_body else len(served.body) if served.stream is None else (served.length or 0)
        if served.x_cache == GENERATED:
            stats.generated += 1  # whatever its status: the function answered as it meant to
        elif served.status >= 400 or served.x_cache == ERROR:
            stats.errors += 1
        elif served.x_cache == HIT:
            stats.hits += 1
            stats.bytes_from_cache += sent
        elif served.x_cache == REFRESH_HIT:
            stats.refresh_hits += 1
            stats.bytes_from_cache += sent
        else:
            stats.misses += 1
        stats.bytes_out += sent

    def _refuse(self, status: int, message: str, rid: str, stats: Stats | None = None) -> EdgeResponse:
        if stats is not None:
            stats.errors += 1
        headers = [("Content-Type", "text/html"), ("Server", "CloudFront"), ("X-Cache", ERROR), ("Via", self.via),
                   ("X-Amz-Cf-Pop", self.pop), ("X-Amz-Cf-Id", rid)]
        return EdgeResponse(status, headers, error_page(status, message, rid))

    def _finish(self, served: Served, request: ViewerRequest, behavior: Behavior, rid: str) -> EdgeResponse:
        headers = served.headers
        if served.age is not None:
            headers.append(("Age", str(served.age)))
        headers += [("X-Cache", served.x_cache), ("Via", self.via), ("X-Amz-Cf-Pop", self.pop),
                    ("X-Amz-Cf-Id", rid)]
        if behavior.response_headers is not None:
            timing = "cdn-cache-hit" if served.x_cache in (HIT, REFRESH_HIT) else "cdn-cache-miss"
            apply_response_headers_policy(behavior.response_headers, request.method, request.headers, headers,
                                          f"{timing},cdn-pop;desc=\"{self.pop}\"")
        if request.method == "HEAD":
            length = served.length if served.length is not None else len(served.body)
            if served.stream is not None:
                _close(served.stream)
            return EdgeResponse(served.status, headers, b"", None, length)
        return EdgeResponse(served.status, headers, served.body, served.stream, served.length)

    # -- serving ---------------------------------------------------------------------------------
    async def _serve(self, dist: CompiledDistribution, behavior: Behavior, request: ViewerRequest, rid: str,
                     stats: Stats) -> Served:
        method = request.method
        plan = behavior.cache
        if method not in behavior.cached or plan.ttls.disabled:
            return await self._forward(dist, behavior, request, rid, stats)
        ranged = "Range" in request.headers
        encoding = "" if ranged else normalize_accept_encoding(request.headers.get("Accept-Encoding"), plan.gzip,
                                                                plan.brotli)
        key = (dist.id, cache_key(method, request, plan, encoding))
        now = self.clock.monotonic()
        entry = self.cache.get(key)
        if entry is not None:
            if entry.fresh(now):
                return self._viewer_copy(entry, HIT, request, now)
            if now < entry.expires + entry.stale_while_revalidate:
                # stale-while-revalidate: this viewer gets the stale object, one background fetch refreshes it
                if key not in self._inflight:
                    self._spawn(self._shared(key, stats, lambda: self._fetch(dist, behavior, request, key,
                                                                               encoding, entry, rid, stats)))
                return self._viewer_copy(entry, HIT, request, now)
        elif method == "HEAD":
            # a HEAD miss is forwarded as HEAD and not cached: there is no body to keep
            return await self._forward(dist, behavior, request, rid, stats)
        outcome, leader = await self._shared(key, stats, lambda: self._fetch(dist, behavior, request, key, encoding,
                                                                              entry, rid, stats))
        if not leader and not outcome.shareable and outcome.error is None:
            # the response was not cacheable (or too large): CloudFront sends these requests to the origin too
            outcome = await self._fetch(dist, behavior, request, key, encoding, entry, rid, stats)
            leader = True
        now = self.clock.monotonic()
        if outcome.error is not None:
            return self._unavailable(outcome.error, rid)
        if outcome.passthrough is not None:
            return self._passthrough(outcome.passthrough, request)
        assert outcome.entry is not None
        if outcome.kind == "refresh":
            return self._viewer_copy(outcome.entry, REFRESH_HIT, request, now)
        if outcome.kind == "stale" or not leader:
            return self._viewer_copy(outcome.entry, HIT, request, now)
        return self._viewer_copy(outcome.entry, GENERATED if outcome.kind == "generated" else MISS, request, now,
                                 age=False)

    async def _shared(self, key: CacheKey, stats: Stats,
                      fetch: Callable[[], Awaitable[Outcome]]) -> tuple[Outcome, bool]:
        """Request collapsing: the first miss for a key fetches, every concurrent miss awaits the same future."""
        pending = self._inflight.get(key)
        if pending is not None:
            stats.collapsed += 1
            return await asyncio.shield(pending), False
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future

        async def run() -> None:
            # waiters must wake up whatever happens to the fetch
            try:
                result = await fetch()
            except asyncio.CancelledError:
                future.cancel()
                raise
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
            finally:
                self._inflight.pop(key, None)

        # a task, so a viewer that hangs up does not cancel the fetch the others wait on
        self._spawn(run())
        return await asyncio.shield(future), True

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(_reap(self._tasks))

    async def _fetch(self, dist: CompiledDistribution, behavior: Behavior, request: ViewerRequest, key: CacheKey,
                     encoding: str, stale: CacheEntry | None, rid: str, stats: Stats) -> Outcome:
        epoch = self._epochs.get(dist.id, 0)
        headers = origin_headers(request, behavior, encoding, self.via, rid, cached=True)
        if stale is not None:
            if stale.etag:
                headers.append(("If-None-Match", stale.etag))
            if stale.last_modified:
                headers.append(("If-Modified-Since", stale.last_modified))
        method = "OPTIONS" if request.method == "OPTIONS" else "GET"
        origin_request = OriginRequest(method, request.path, select_query(request.query, behavior.forward_queries),
                                       headers, viewer_scheme=request.scheme)
        try:
            response = await self._exchange(dist, behavior, origin_request, request, rid, stats)
        except OriginUnavailable as exc:
            if stale is not None and self._may_serve_stale(stale):
                return Outcome("stale", stale, shareable=True)
            return Outcome("miss", error=exc, shareable=True)
        now = self.clock.monotonic()
        if response.status == 304 and stale is not None:
            refreshed = self._refreshed(stale, response, dist, behavior, now)
            if self._epochs.get(dist.id, 0) == epoch:
                self.cache.put(refreshed)
            return Outcome("refresh", refreshed, shareable=True)
        if response.status >= 500 and stale is not None and self._may_serve_stale(stale):
            _close(response.stream)
            return Outcome("stale", stale, shareable=True)
        if response.stream is not None:
            return Outcome("miss", passthrough=response)
        entry = self._entry(key, request, response, dist, behavior, encoding, now)
        kind = "generated" if response.generated else "miss"
        if not response.generated:
            stats.bytes_from_origin += len(response.body or b"")
        if entry is None:
            return Outcome(kind, self._uncached(key, request, response))
        # an origin-request function's response is cached like the origin's would be (its Cache-Control, the TTLs)
        stored = self._epochs.get(dist.id, 0) == epoch and self.cache.put(entry)
        return Outcome(kind, entry, shareable=stored)

    def _may_serve_stale(self, entry: CacheEntry) -> bool:
        """An expired object is served while the origin fails (Developer Guide, "Origin unavailable"), within its
        stale-if-error window when it has one."""
        if entry.status >= 400:
            return False
        if entry.stale_if_error is None:
            return True
        return self.clock.monotonic() < entry.expires + entry.stale_if_error

    async def _from_origin(self, dist: CompiledDistribution, behavior: Behavior, request: OriginRequest,
                           stats: Stats) -> OriginResponse:
        """One origin, or an origin group failing over to its secondary on its status codes or a failure
        (GET, HEAD and OPTIONS only, as CloudFront does)."""
        group = dist.groups.get(behavior.target)
        if group is None:
            stats.origin_fetches += 1
            return await self.origins.fetch(dist.origins[behavior.target], request, dist.arn)
        stats.origin_fetches += 1
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return await self.origins.fetch(dist.origins[group.primary], request, dist.arn)
        try:
            response = await self.origins.fetch(dist.origins[group.primary], request, dist.arn)
            if response.status not in group.failover_codes:
                return response
            _close(response.stream)
        except OriginUnavailable as exc:
            log.debug("origin group %s: primary failed (%s), trying %s", group.id, exc.reason, group.secondary)
        stats.origin_fetches += 1
        return await self.origins.fetch(dist.origins[group.secondary], request, dist.arn)

    async def _forward(self, dist: CompiledDistribution, behavior: Behavior, request: ViewerRequest, rid: str,
                       stats: Stats) -> Served:
        """A request the edge does not cache: to the origin and back, as it is."""
        encoding = normalize_accept_encoding(request.headers.get("Accept-Encoding"), True, behavior.cache.brotli)
        headers = origin_headers(request, behavior, encoding, self.via, rid, cached=False)
        origin_request = OriginRequest(request.method, request.path,
                                       select_query(request.query, behavior.forward_queries), headers, request.body,
                                       request.scheme)
        try:
            response = await self._exchange(dist, behavior, origin_request, request, rid, stats)
        except OriginUnavailable as exc:
            return self._unavailable(exc, rid)
        if response.generated:
            return Served(response.status, _replayable(response.headers), response.body or b"", x_cache=GENERATED)
        if response.stream is not None:
            return Served(response.status, _replayable(response.headers), stream=response.stream,
                          length=response.length)
        stats.bytes_from_origin += len(response.body or b"")
        # a HEAD answer carries the object's length with no body
        length = response.length if request.method == "HEAD" else None
        return Served(response.status, _replayable(response.headers), response.body or b"", length=length)

    # -- Lambda@Edge -------------------------------------------------------------------------------
    async def _invoke(self, fn: EdgeFunction, event: dict[str, Any], stats: Stats) -> dict[str, Any]:
        stats.function_invocations += 1
        return await fx.invoke(self.functions, fn.arn, event)

    def _function_failed(self, exc: fx.EdgeFunctionError, rid: str, stats: Stats) -> Served:
        stats.function_errors += 1
        return Served(exc.status, [("Content-Type", "text/html"), ("Server", "CloudFront")],
                      error_page(exc.status, exc.message, rid), x_cache=exc.x_cache)

    async def _viewer_request(self, dist: CompiledDistribution, fn: EdgeFunction, request: ViewerRequest, rid: str,
                              stats: Stats) -> Served | None:
        """Run the viewer-request function: it changes `request` in place, or answers (a Served to send)."""
        before = list(request.headers.items())
        body = request.body if fn.include_body else None
        record = fx.request_object(request.method, request.path, request.query, before, request.client_ip, body,
                                   "viewer")
        result = await self._invoke(fn, fx.event(dist.id, dist.domain, fx.VIEWER_REQUEST, rid, record), stats)
        if fx.is_response(result):
            made = fx.generated_response(result, "viewer")
            return Served(made.status, made.headers, made.body, x_cache=GENERATED)
        change = fx.changed_request(result, before, fx.VIEWER_REQUEST, fn.include_body)
        request.path, request.query = change.uri, change.querystring
        request.headers = CIMultiDict(change.headers + fx.hidden(before))
        if change.body is not None:
            request.body = change.body
        return None

    async def _exchange(self, dist: CompiledDistribution, behavior: Behavior, origin_request: OriginRequest,
                        viewer: ViewerRequest, rid: str, stats: Stats) -> OriginResponse:
        """One trip to the origin, with the behaviour's origin-request and origin-response functions around it."""
        edge_functions = behavior.functions
        if fx.ORIGIN_REQUEST not in edge_functions and fx.ORIGIN_RESPONSE not in edge_functions:
            return await self._from_origin(dist, behavior, origin_request, stats)
        group = dist.groups.get(behavior.target)
        routed = dist.origins[group.primary if group is not None else behavior.target]
        chosen: Origin | None = None  # None: the behaviour's origin (or origin group)
        if fx.ORIGIN_REQUEST in edge_functions:
            outcome = await self._origin_request(dist, edge_functions[fx.ORIGIN_REQUEST], origin_request, routed,
                                                 viewer, rid, stats)
            if isinstance(outcome, OriginResponse):
                return outcome  # generated: no origin, no origin-response function
            chosen = outcome
        if chosen is None:
            response = await self._from_origin(dist, behavior, origin_request, stats)
        else:
            stats.origin_fetches += 1
            response = await self.origins.fetch(chosen, origin_request, dist.arn)
        if fx.ORIGIN_RESPONSE in edge_functions:
            await self._origin_response(dist, edge_functions[fx.ORIGIN_RESPONSE], origin_request, response, viewer,
                                        rid, stats)
        return response

    async def _origin_request(self, dist: CompiledDistribution, fn: EdgeFunction, origin_request: OriginRequest,
                              routed: Origin, viewer: ViewerRequest, rid: str,
                              stats: Stats) -> OriginResponse | Origin | None:
        """Run the origin-request function: it changes `origin_request` in place and may pick another origin
        (returned), or it answers (a generated OriginResponse)."""
        host = routed.domain
        before = list(origin_request.headers)
        if not any(k.lower() == "host" for k, _ in before):
            before.append(("Host", host))  # what the origin will be sent, as AWS's example events show
        shown = fx.origin_object(routed, origin_request.viewer_scheme)
        record = fx.request_object(origin_request.method, origin_request.path, origin_request.query, before,
                                   viewer.client_ip, origin_request.body if fn.include_body else None, "origin")
        record["origin"] = shown
        result = await self._invoke(fn, fx.event(dist.id, dist.domain, fx.ORIGIN_REQUEST, rid, record), stats)
        if fx.is_response(result):
            made = fx.generated_response(result, "origin")
            return OriginResponse(made.status, CIMultiDict(made.headers), made.body, length=len(made.body),
                                  generated=True)
        change = fx.changed_request(result, before, fx.ORIGIN_REQUEST, fn.include_body)
        headers = change.headers + fx.hidden(before)
        if ("Host", host) in headers and not any(k.lower() == "host" for k, _ in origin_request.headers):
            headers.remove(("Host", host))  # left as it was: the fetch names the origin (and its port) itself
        origin_request.path, origin_request.query, origin_request.headers = change.uri, change.querystring, headers
        if change.body is not None:
            origin_request.body = change.body
        if change.origin is None or change.origin == shown:
            return None
        return fx.changed_origin(change.origin, routed)

    async def _origin_response(self, dist: CompiledDistribution, fn: EdgeFunction, origin_request: OriginRequest,
                               response: OriginResponse, viewer: ViewerRequest, rid: str, stats: Stats) -> None:
        """Run the origin-response function (before the response is cached): it may change the status and headers
        and replace the body, which it is never shown."""
        before = list(response.headers.items())
        record = fx.request_object(origin_request.method, origin_request.path, origin_request.query,
                                   origin_request.headers, viewer.client_ip, None, "origin")
        shown = fx.response_object(response.status, before)
        result = await self._invoke(fn, fx.event(dist.id, dist.domain, fx.ORIGIN_RESPONSE, rid, record, shown),
                                    stats)
        status, headers, body = fx.changed_response(result, before, fx.ORIGIN_RESPONSE)
        if status is not None:
            response.status = status
        response.headers = CIMultiDict(headers + fx.hidden(before))
        if body is not None:
            _close(response.stream)
            response.stream, response.body, response.length = None, body, len(body)
            response.headers.popall("Content-Length", None)

    async def _viewer_response(self, dist: CompiledDistribution, fn: EdgeFunction, request: ViewerRequest,
                               served: Served, rid: str, stats: Stats) -> None:
        """Run the viewer-response function on what the viewer is about to get (from the cache or the origin): it
        may change headers and replace the body, not the status ("Restrictions on Lambda@Edge")."""
        record = fx.request_object(request.method, request.path, request.query, request.headers.items(),
                                   request.client_ip, None, "viewer")
        shown = fx.response_object(served.status, served.headers)
        result = await self._invoke(fn, fx.event(dist.id, dist.domain, fx.VIEWER_RESPONSE, rid, record, shown),
                                    stats)
        _, headers, body = fx.changed_response(result, served.headers, fx.VIEWER_RESPONSE)
        served.headers = headers + fx.hidden(served.headers)
        if body is not None:
            _close(served.stream)
            served.stream, served.body, served.length = None, body, None

    def _unavailable(self, exc: OriginUnavailable, rid: str) -> Served:
        message = ("CloudFront attempted to establish a connection with the origin, but either the attempt failed or "
                   "the origin closed the connection." if exc.status == 502 else
                   "We can't connect to the server for this app or website at this time. The origin did not respond "
                   "in time.")
        return Served(exc.status, [("Content-Type", "text/html"), ("Server", "CloudFront")],
                      error_page(exc.status, message, rid), x_cache=ERROR)

    # -- entries ---------------------------------------------------------------------------------
    def _entry(self, key: CacheKey, request: ViewerRequest, response: OriginResponse, dist: CompiledDistribution,
               behavior: Behavior, encoding: str, now: float) -> CacheEntry | None:
        """The response as a cache entry, or None when CloudFront would not cache it."""
        fresh = freshness(response.status, response.headers, behavior.cache.ttls, self.clock.now(),
                          dist.error_ttl(response.status))
        if fresh is None:
            return None
        entry = self._uncached(key, request, response)
        if fresh.ttl <= 0 and not (entry.etag or entry.last_modified):
            return None  # it would be stale at once, with nothing to revalidate it with
        if "gzip" in encoding and behavior.compress and response.status == 200 and compressible(response.headers,
                                                                                                  len(entry.body)):
            entry.body = gzip_body(entry.body)
            entry.headers.append(("Content-Encoding", "gzip"))
        entry.stored, entry.expires = now, now + fresh.ttl
        entry.stale_while_revalidate, entry.stale_if_error = fresh.stale_while_revalidate, fresh.stale_if_error
        return entry

    def _uncached(self, key: CacheKey, request: ViewerRequest, response: OriginResponse) -> CacheEntry:
        headers = _replayable(response.headers)
        now = self.clock.monotonic()
        return CacheEntry(key, unquote(request.path), request.query, response.status, headers, response.body or b"",
                          now, now, etag=response.headers.get("ETag"),
                          last_modified=response.headers.get("Last-Modified"))

    def _refreshed(self, stale: CacheEntry, response: OriginResponse, dist: CompiledDistribution, behavior: Behavior,
                   now: float) -> CacheEntry:
        """A 304 revalidated the stale entry: its headers updated by the 304's, a new TTL from them."""
        updates = {k.lower(): (k, v) for k, v in _replayable(response.headers)}
        headers = [(k, v) for k, v in stale.headers if k.lower() not in updates or k.lower() == "content-encoding"]
        headers += [kv for name, kv in updates.items() if name != "content-encoding"]
        merged = CIMultiDict(headers)
        fresh = freshness(stale.status, merged, behavior.cache.ttls, self.clock.now(), dist.error_ttl(stale.status))
        ttl = fresh.ttl if fresh is not None else 0.0
        return CacheEntry(stale.key, stale.path, stale.query, stale.status, headers, stale.body, now, now + ttl,
                          fresh.stale_while_revalidate if fresh else 0.0, fresh.stale_if_error if fresh else None,
                          merged.get("ETag"), merged.get("Last-Modified"))

    def _viewer_copy(self, entry: CacheEntry, x_cache: str, request: ViewerRequest, now: float,
                     age: bool = True) -> Served:
        """The entry as this viewer asked for it: whole, 304 to a matching conditional request, or a byte range."""
        headers = list(entry.headers)
        shown_age = int(max(now - entry.stored, 0)) if age else None
        if entry.status != 200:
            return Served(entry.status, headers, entry.body,
                          ERROR if entry.status >= 400 and x_cache != GENERATED else x_cache, shown_age)
        if not_modified(request.headers, entry.etag, entry.last_modified):
            kept = [(k, v) for k, v in headers if k.lower() in _NOT_MODIFIED_HEADERS]
            return Served(304, kept, b"", x_cache, shown_age)
        try:
            span = byte_range(request.headers.get("Range"), len(entry.body))
        except Unsatisfiable:
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-encoding")]
            headers.append(("Content-Range", f"bytes */{len(entry.body)}"))
            return Served(416, headers, b"", ERROR, shown_age)
        if span is None:
            return Served(200, headers, entry.body, x_cache, shown_age)
        start, length = span
        headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{len(entry.body)}"))
        return Served(206, headers, entry.body[start:start + length], x_cache, shown_age)

    def _passthrough(self, response: OriginResponse, request: ViewerRequest) -> Served:
        """A body too large to cache, streamed from the origin (a viewer's range is cut from the stream)."""
        headers = _replayable(response.headers)
        assert response.stream is not None
        if response.status == 200 and response.length is not None:
            try:
                span = byte_range(request.headers.get("Range"), response.length)
            except Unsatisfiable:
                _close(response.stream)
                return Served(416, [("Content-Range", f"bytes */{response.length}")], b"", ERROR)
            if span is not None:
                start, length = span
                headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{response.length}"))
                return Served(206, headers, stream=_slice(response.stream, start, length), length=length)
        return Served(response.status, headers, stream=response.stream, length=response.length,
                      x_cache=ERROR if response.status >= 400 else MISS)

    async def _custom_error(self, dist: CompiledDistribution, request: ViewerRequest, served: Served, rid: str,
                            stats: Stats) -> Served:
        """CustomErrorResponses: the configured page (fetched and cached like any object) and response code."""
        custom = dist.errors.get(served.status)
        if custom is None:
            return served
        if not custom.page_path:
            if custom.response_code is not None:
                served.status = custom.response_code
            return served
        page_request = ViewerRequest("GET", request.host, custom.page_path, "", request.headers, b"",
                                     request.client_ip, request.scheme)
        page = await self._serve(dist, dist.behavior_for(custom.page_path), page_request, rid, stats)
        if page.status != 200 or page.stream is not None:
            _close(page.stream)
            return served  # the page itself is missing: the viewer gets the origin's error
        _close(served.stream)
        status = custom.response_code if custom.response_code is not None else served.status
        return Served(status, page.headers, page.body, ERROR, None)


_STAT_FIELDS = tuple(f.name for f in fields(Stats))
_USAGE_FIELDS = tuple(f.name for f in fields(DistributionUsage))


def _report(s: Stats, usage: DistributionUsage | None) -> dict[str, Any]:
    """Counters as JSON: hit ratio by requests (hits and refresh hits over what was served from the cache or the
    origin) and by bytes (bytes sent from the cache over all bytes sent)."""
    served = s.hits + s.refresh_hits + s.misses
    return {
        "requests": s.requests, "hits": s.hits, "refresh_hits": s.refresh_hits, "misses": s.misses,
        "errors": s.errors, "redirects": s.redirects, "origin_fetches": s.origin_fetches,
        "collapsed": s.collapsed, "bytes_out": s.bytes_out, "bytes_from_cache": s.bytes_from_cache,
        "bytes_from_origin": s.bytes_from_origin, "function_invocations": s.function_invocations,
        "function_errors": s.function_errors, "generated_responses": s.generated,
        "hit_ratio": round((s.hits + s.refresh_hits) / served, 4) if served else 0.0,
        "byte_hit_ratio": round(s.bytes_from_cache / s.bytes_out, 4) if s.bytes_out else 0.0,
        "cached_objects": usage.objects if usage else 0, "cached_bytes": usage.bytes if usage else 0,
        "evictions": usage.evictions if usage else 0, "invalidated_objects": usage.invalidated if usage else 0,
    }


def _replayable(headers: CIMultiDict[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP]


async def _slice(stream: AsyncIterator[bytes], start: int, length: int) -> AsyncIterator[bytes]:
    offset = 0
    try:
        async for piece in stream:
            end = offset + len(piece)
            if end > start and offset < start + length:
                yield piece[max(start - offset, 0):min(start + length - offset, len(piece))]
            offset = end
            if offset >= start + length:
                break
    finally:
        _close(stream)


def _close(stream: AsyncIterator[bytes] | None) -> None:
    """Release an unconsumed stream (its generator's finally returns the connection or the blob)."""
    if stream is not None and hasattr(stream, "aclose"):
        asyncio.ensure_future(stream.aclose())


def _reap(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("edge background fetch failed", exc_info=task.exception())
    return done


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _cf_id() -> str:
    """X-Amz-Cf-Id: 56 characters of URL-safe base64, like CloudFront's request ids (once per request: kept cheap)."""
    return binascii.b2a_base64(_rng.getrandbits(336).to_bytes(42, "big"), newline=False).translate(_URLSAFE).decode()
