"""The load balancer's connections to its targets, against a scripted raw-socket target: keep-alive reuse, no reuse
after `Connection: close` or a connection the target dropped, pooled connections closed after the idle timeout,
chunked and close-delimited bodies, and ALB's 502 for a target that breaks HTTP or the connection, 504 for one that
says nothing; plus a chunked upload and a large streamed download through an aiohttp target."""
from __future__ import annotations

import asyncio
import http.client
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from miniaws.server import ServerThread
from miniaws.services.elbv2.certs import self_signed
from tests.dataplane.lb_support import Backend, forward, listener_url, load_balancer, request, states, target_group

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
ANSWERS = {
    "/keep": OK,
    "/health": OK,
    "/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nchun\r\n3\r\nked\r\n0\r\n\r\n",
    "/garbage": b"SPDY/3 200 Fine\r\n\r\n",
    "/truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
}


class ScriptedTarget:
    """Answers each path with fixed bytes; /eof sends a close-delimited body, /drop closes the connection soon
    after a keep-alive answer, /silent never answers. Records (connection number, path) per request."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.port = 0
        self.requests: list[tuple[int, str]] = []
        self.closed: set[int] = set()
        self._count = 0
        self._server: asyncio.AbstractServer | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._count += 1
        number = self._count
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                path = head.split(b" ", 2)[1].decode()
                self.requests.append((number, path))
                if path == "/silent":
                    await reader.read()  # until the load balancer gives up
                    return
                if path == "/eof":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
                    return
                writer.write(ANSWERS.get(path, OK))
                await writer.drain()
                if path in ("/close", "/garbage", "/truncated"):
                    return
                if path == "/drop":
                    await asyncio.sleep(0.05)
                    return
        finally:
            self.closed.add(number)
            writer.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def connection_of(self, path: str) -> int:
        return [number for number, seen in self.requests if seen == path][-1]


@pytest.fixture(scope="module")
def target(server: ServerThread) -> Iterator[ScriptedTarget]:
    scripted = ScriptedTarget(server)
    server.call(scripted._start())
    yield scripted
    server.call(scripted._stop())


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def url(server: ServerThread, elb: Any, target: ScriptedTarget) -> str:
    tg = target_group(elb, [], Port=target.port)
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    lb_arn, listener = load_balancer(elb, forward(tg))
    elb.modify_load_balancer_attributes(LoadBalancerArn=lb_arn, Attributes=[
        {"Key": "idle_timeout.timeout_seconds", "Value": "1"}])
    wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})
    return listener_url(server.endpoint_url, listener)


def test_keep_alive_reuse_and_close(url: str, target: ScriptedTarget) -> None:
    before = len(target.requests)
    for _ in range(4):
        assert request(url, "/keep").body == b"ok"
    pooled = {number for number, path in target.requests[before:] if path == "/keep"}
    assert len(pooled) == 1
    assert request(url, "/close").status == 200
    wait_for(lambda: target.connection_of("/close") in target.closed)
    assert request(url, "/keep").body == b"ok"
    assert target.connection_of("/keep") != target.connection_of("/close")


def test_connection_dropped_by_the_target_is_not_reused(url: str, target: ScriptedTarget) -> None:
    assert request(url, "/drop").status == 200
    dropped = target.connection_of("/drop")
    wait_for(lambda: dropped in target.closed)
    time.sleep(0.2)  # the FIN reaches the load balancer's pooled connection
    assert request(url, "/keep").body == b"ok"
    assert target.connection_of("/keep") != dropped


def test_pooled_connections_close_after_the_idle_timeout(url: str, target: ScriptedTarget) -> None:
    assert request(url, "/keep").body == b"ok"
    pooled = target.connection_of("/keep")
    wait_for(lambda: pooled in target.closed, timeout=5)  # idle_timeout.timeout_seconds is 1


def test_chunked_and_close_delimited_bodies(url: str) -> None:
    chunked = request(url, "/chunked")
    assert (chunked.status, chunked.body) == (200, b"chunked")
    until_eof = request(url, "/eof")
    assert (until_eof.status, until_eof.body) == (200, b"until the end")


@pytest.mark.parametrize("path, status", [("/garbage", 502), ("/truncated", 502), ("/silent", 504)])
def test_broken_targets(url: str, path: str, status: int) -> None:
    reply = request(url, path)
    assert reply.status == status and reply.headers["Server"] == "awselb/2.0"
    assert request(url, "/keep").body == b"ok"  # the next request is fine


def test_chunked_upload_and_large_download(server: ServerThread, elb: Any) -> None:
    backend = Backend(server, "big").start()
    try:
        tg = target_group(elb, [backend])
        _, listener = load_balancer(elb, forward(tg))
        wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})
        host, port = listener_url(server.endpoint_url, listener).split("//", 1)[1].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            pieces = (bytes([i]) * 65536 for i in range(40))  # 2.5 MiB without a length: chunked both hops
            conn.request("POST", "/upload", body=pieces, encode_chunked=True)
            echoed = conn.getresponse()
            assert echoed.status == 200 and b'"length": 2621440' in echoed.read()
            conn.request("GET", "/blob?n=5000000")
            big = conn.getresponse()
            assert big.getheader("Content-Length") == "5000000" and len(big.read()) == 5000000
        finally:
            conn.close()
    finally:
        backend.stop()


def test_https_target_group(server: ServerThread, elb: Any, tmp_path: Any) -> None:
    """An HTTPS target group: the load balancer speaks TLS to the target (and, like ALB, does not verify its
    self-signed certificate); health checks use HTTPS too."""
    cert, key = self_signed("target.internal", time.time())
    (tmp_path / "cert.pem").write_text(cert)
    (tmp_path / "key.pem").write_text(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"tls": request.secure, "path": request.path})

    async def serve() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        return runner, int(runner.addresses[0][1])

    runner, port = server.call(serve())
    try:
        tg = elb.create_target_group(Name=f"tls-{port}", Protocol="HTTPS", Port=port, VpcId="vpc-1",
                                     TargetType="ip", HealthCheckPath="/health", HealthCheckIntervalSeconds=10,
                                     HealthCheckTimeoutSeconds=8)["TargetGroups"][0]["TargetGroupArn"]
        elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": "127.0.0.1", "Port": port}])
        _, listener = load_balancer(elb, forward(tg))
        wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})
        url = listener_url(server.endpoint_url, listener)
        assert [request(url, f"/secure/{i}").json() for i in range(3)] == [
            {"tls": True, "path": f"/secure/{i}"} for i in range(3)]
    finally:
        server.call(runner.cleanup())
