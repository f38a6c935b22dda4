"""WebSocket upgrades through a load balancer listener: the upgrade reaches an aiohttp websocket target with the
forwarding headers, messages go both ways, the subprotocol is negotiated end to end, a close on either side ends
both, and a target that does not upgrade is ALB's 502."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from miniaws.server import ServerThread
from tests.dataplane.lb_support import Backend, forward, listener_url, load_balancer, states, target_group


class EchoBackend(Backend):
    """A target whose /ws is a websocket echo: the first message it sends names it and the headers it got;
    "bye" makes it close with 4000; it counts websockets whose client closed."""

    def __init__(self, thread: Any, name: str) -> None:
        super().__init__(thread, name)
        self.client_closed = 0

    async def _handler(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        if request.path != "/ws":
            return await super()._handler(request)
        ws = web.WebSocketResponse(protocols=("chat.v2",))
        await ws.prepare(request)
        await ws.send_str(json.dumps({"backend": self.name, "headers": dict(request.headers),
                                      "protocol": ws.ws_protocol}))
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                if message.data == "bye":
                    await ws.close(code=4000, message=b"done")
                    break
                await ws.send_str(f"echo:{message.data}")
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        if ws.close_code != 4000:
            self.client_closed += 1
        return ws


@pytest.fixture(scope="module")
def backend(server: ServerThread) -> Iterator[EchoBackend]:
    started = EchoBackend(server, "echo")
    started.start()
    yield started
    started.stop()


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


async def conversation(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url.replace('http', 'ws', 1)}/ws", protocols=("chat.v1", "chat.v2"),
                                      headers={"X-Forwarded-For": "203.0.113.9"}) as ws:
            hello = json.loads(await ws.receive_str(timeout=5))
            await ws.send_str("hi")
            text = await ws.receive_str(timeout=5)
            await ws.send_bytes(b"\x00\x01\x02")
            binary = await ws.receive_bytes(timeout=5)
            await ws.send_str("bye")
            closing = await ws.receive(timeout=5)
            return {"hello": hello, "text": text, "binary": binary, "protocol": ws.protocol,
                    "closing": closing.type, "code": ws.close_code}


async def client_closes(url: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url.replace('http', 'ws', 1)}/ws") as ws:
            await ws.receive_str(timeout=5)
            await ws.send_str("one")
            reply = await ws.receive_str(timeout=5)
            await ws.close()
            return reply


async def refused(url: str) -> int:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await session.ws_connect(f"{url.replace('http', 'ws', 1)}/ws")
        return caught.value.status


def test_websocket_messages_both_ways_and_target_close(server: ServerThread, elb: Any,
                                                       backend: EchoBackend) -> None:
    tg = target_group(elb, [backend])
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})
    got = asyncio.run(conversation(url))
    assert got["hello"]["backend"] == "echo" and got["hello"]["protocol"] == "chat.v2"
    seen = got["hello"]["headers"]
    assert seen["X-Forwarded-For"] == "203.0.113.9, 127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http" and seen["X-Forwarded-Port"] == url.rsplit(":", 1)[1]
    assert seen["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert (got["text"], got["binary"], got["protocol"]) == ("echo:hi", b"\x02\x01\x00", "chat.v2")
    assert got["closing"] == aiohttp.WSMsgType.CLOSE and got["code"] == 4000


def test_client_close_reaches_the_target(server: ServerThread, elb: Any, backend: EchoBackend) -> None:
    tg = target_group(elb, [backend])
    _, listener = load_balancer(elb, forward(tg))
    url = listener_url(server.endpoint_url, listener)
    before = backend.client_closed
    assert asyncio.run(client_closes(url)) == "echo:one"
    wait_for(lambda: backend.client_closed == before + 1)
    # the target group counted the upgrade, and it did not skew the response times
    with urllib.request.urlopen(f"{server.endpoint_url}/_miniaws/metrics") as response:
        group = json.loads(response.read())["elbv2"]["TargetGroups"][tg]
    assert group["RequestCount"] == 1 and group["TargetResponseTime"]["p50"] is None


def test_target_that_does_not_upgrade_is_a_502(server: ServerThread, elb: Any) -> None:
    plain = Backend(server, "plain").start()
    try:
        tg = target_group(elb, [plain])
        _, listener = load_balancer(elb, forward(tg))
        wait_for(lambda: set(states(elb, tg).values()) == {"healthy"})
        assert asyncio.run(refused(listener_url(server.endpoint_url, listener))) == 502
    finally:
        plain.stop()
