"""Helpers for the edge tests: a live HTTP origin on loopback that counts what it is asked (its own thread and loop),
a miniaws with a fake clock, distributions in front of either, and a small viewer client."""
from __future__ import annotations

import asyncio
import http.client
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread
from tests.api.conftest import make_client

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"hello"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Origin:
    """An origin server: `replies[path]` says what to answer (404 otherwise); every request is counted and kept.
    A reply with an ETag answers a matching If-None-Match with 304, as a real origin would."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.replies: dict[str, Reply] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        reply = self.replies.get(request.path)
        if reply is None:
            return web.Response(status=404, body=b"not here")
        if reply.delay:
            await asyncio.sleep(reply.delay)
        etag = reply.headers.get("ETag")
        if etag is not None and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={k: v for k, v in reply.headers.items()
                                                     if k in ("ETag", "Cache-Control")})
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)

    def start(self) -> "Origin":
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port)
            loop.run_until_complete(site.start())
            self.port = self._runner.addresses[0][1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None


class Edge:
    """A miniaws with a fake clock: boto3 clients, the edge port, and viewer requests to a distribution."""

    def __init__(self, **settings: Any) -> None:
        # starting now: SigV4 (auth enforced) refuses requests whose time is far from the server's
        self.clock = FakeClock(start=time.time())
        overrides = {"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True, **settings}
        self.thread = ServerThread(load_config(env={}, overrides=overrides), clock=self.clock).start()
        assert self.thread.server.edge is not None
        self.port = self.thread.server.edge.port
        self.cf = make_client(self.thread.endpoint_url, "cloudfront")
        self.s3 = make_client(self.thread.endpoint_url, "s3")

    def stop(self) -> None:
        self.thread.stop()

    def get(self, host: str, path: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None, **named: str) -> tuple[int, CIMultiDict[str], bytes]:
        """One viewer request through the edge (connecting to 127.0.0.1, naming the distribution in Host)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            sent = {"Host": host, **{k.replace("_", "-"): v for k, v in {**(headers or {}), **named}.items()}}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            return response.status, CIMultiDict(response.getheaders()), data
        finally:
            connection.close()

    def stats(self, ident: str) -> dict[str, Any]:
        import json
        import urllib.request

        with urllib.request.urlopen(f"{self.thread.endpoint_url}/_miniaws/cloudfront/{ident}/stats") as resp:
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def distribution(self, origins: list[dict[str, Any]], default: dict[str, Any],
                     **extra: Any) -> tuple[str, str]:
        """Create a distribution; (id, domain name)."""
        config = {"CallerReference": uuid.uuid4().hex, "Comment": "", "Enabled": True,
                  "Origins": {"Quantity": len(origins), "Items": origins},
                  "DefaultCacheBehavior": {"ViewerProtocolPolicy": "allow-all", **default}, **extra}
        dist = self.cf.create_distribution(DistributionConfig=config)["Distribution"]
        return dist["Id"], dist["DomainName"]

    def invalidate(self, ident: str, *paths: str) -> None:
        self.cf.create_invalidation(DistributionId=ident, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": uuid.uuid4().hex})


def custom_origin(origin: Origin, ident: str = "web", **extra: Any) -> dict[str, Any]:
    return {"Id": ident, "DomainName": "127.0.0.1",
            "CustomOriginConfig": {"HTTPPort": origin.port, "HTTPSPort": 443, "OriginProtocolPolicy": "http-only",
                                   "OriginReadTimeout": 5},
            "ConnectionTimeout": 2, "ConnectionAttempts": 1, **extra}


def s3_origin(bucket: str, ident: str = "s3", **extra: Any) -> dict[str, Any]:
    return {"Id": ident, "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}, **extra}


def legacy(target: str = "web", min_ttl: int = 0, default_ttl: int = 86400, max_ttl: int = 31536000,
           **extra: Any) -> dict[str, Any]:
    """A behaviour with legacy cache settings (ForwardedValues + TTLs)."""
    return {"TargetOriginId": target, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "MinTTL": min_ttl, "DefaultTTL": default_ttl, "MaxTTL": max_ttl, **extra}
