"""Load balancer test support: aiohttp backends on the miniaws loop that say who answered, a plain HTTP client
that neither follows redirects nor raises on errors, and builders for a load balancer in front of backends."""
from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import threading
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web


class Runs(Protocol):
    """Something that runs coroutines on its loop for a caller on another thread (a ServerThread, a LoopThread)."""

    def call(self, coro: Any, timeout: float = 30.0) -> Any: ...


class LoopThread:
    """An event loop of its own in a thread, for backends that must outlive a miniaws server (restarts)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="lb-backends", daemon=True)
        self._thread.start()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Backend:
    """A target: answers JSON naming itself and echoing what it received; `health_status` is what /health says;
    /slow?s=… waits; stop() makes its port refuse connections."""

    def __init__(self, thread: Runs, name: str) -> None:
        self.thread = thread
        self.name = name
        self.port = 0
        self.health_status = 200
        self.hits = 0
        self._runner: web.AppRunner | None = None

    async def _handler(self, request: web.Request) -> web.Response:
        if request.path == "/health":
            return web.Response(status=self.health_status, text="health")
        self.hits += 1
        if request.path == "/blob":
            return web.Response(body=b"x" * int(request.query["n"]), content_type="application/octet-stream")
        if request.path.startswith("/slow"):
            await asyncio.sleep(float(request.query.get("s", "1")))
        body = await request.read()
        payload = {"backend": self.name, "method": request.method, "path": request.path,
                   "raw": request.raw_path, "headers": dict(request.headers), "body": body[:1024].decode("latin-1"),
                   "length": len(body)}
        response = web.json_response(payload)
        if "set" in request.query:
            response.set_cookie(request.query["set"], "v1")
        return response

    async def _start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> "Backend":
        self.thread.call(self._start())
        return self

    def stop(self) -> None:
        self.thread.call(self._stop())


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def backend(self) -> str:
        return str(self.json()["backend"])


def request(url: str, path: str = "/", method: str = "GET", headers: dict[str, str] | None = None,
            body: bytes | None = None, context: ssl.SSLContext | None = None, timeout: float = 10) -> Reply:
    scheme, _, rest = url.partition("://")
    host, _, port = rest.partition(":")
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def listeners(endpoint: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{endpoint}/_miniaws/elbv2/listeners") as response:
        return list(json.loads(response.read())["Listeners"])


def listener_url(endpoint: str, listener_arn: str) -> str:
    for row in listeners(endpoint):
        if row["ListenerArn"] == listener_arn:
            return str(row["Url"])
    raise AssertionError(f"listener {listener_arn} is not bound")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def target_group(elb: Any, backends: list[Backend], **settings: Any) -> str:
    """An ip target group over `backends`, health-checked at /health every 10 s with an 8 s timeout (0.1 s and
    0.08 s at the tests' scale: a probe on a busy machine must not time out and flap a healthy target)."""
    params = {"Protocol": "HTTP", "Port": backends[0].port if backends else 80, "VpcId": "vpc-1", "TargetType": "ip",
              "HealthCheckPath": "/health", "HealthCheckIntervalSeconds": 10, "HealthCheckTimeoutSeconds": 8,
              "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2, **settings}
    arn: str = elb.create_target_group(Name=unique("tg"), **params)["TargetGroups"][0]["TargetGroupArn"]
    if backends:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": b.port} for b in backends])
    return arn


def load_balancer(elb: Any, default_actions: list[dict[str, Any]], protocol: str = "HTTP",
                  port: int = 80) -> tuple[str, str]:
    """(load balancer ARN, listener ARN) for a new load balancer with one listener."""
    lb = elb.create_load_balancer(Name=unique("lb"), Subnets=["subnet-1", "subnet-2"])["LoadBalancers"][0]
    extra: dict[str, Any] = {}
    if protocol == "HTTPS":
        extra["Certificates"] = [{"CertificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/x"}]
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol=protocol, Port=port,
                                   DefaultActions=default_actions, **extra)["Listeners"][0]
    return lb["LoadBalancerArn"], listener["ListenerArn"]


def forward(tg_arn: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": tg_arn}]


def states(elb: Any, tg_arn: str) -> dict[int, str]:
    return {d["Target"]["Port"]: d["TargetHealth"]["State"]
            for d in elb.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]}
