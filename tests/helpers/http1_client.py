"""Talking HTTP/1.1 to miniaws's own server (gateway/http1.py) byte by byte: a server on a free loopback port in
the test's loop, a raw client that writes exact bytes and reads exact answers, and request builders."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict

from miniaws.core.responses import Response
from miniaws.gateway.http1 import HttpRequest, HttpServer

#: every wait on the network is bounded by this (the tests take milliseconds; this only stops a hang)
WAIT = 5.0

Handler = Callable[[HttpRequest], Awaitable[Response]]


async def bounded(awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, WAIT)


async def settle() -> None:
    """Let the server's side of the loop see what the client just wrote (a few loop iterations, not a delay)."""
    for _ in range(3):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(handler: Handler, **kwargs: Any) -> AsyncIterator[tuple[HttpServer, int]]:
    server = HttpServer(handler, **kwargs)
    (_, port), *_ = await server.start("127.0.0.1", 0)
    try:
        yield server, port
    finally:
        await server.stop(1.0)


class Answer:
    def __init__(self, version: str, status: int, reason: str, headers: CIMultiDict[str], body: bytes) -> None:
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<{self.version} {self.status} {self.reason} {dict(self.headers)} {self.body[:60]!r}>"


class Client:
    """One raw connection: write exact bytes, read exact answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> "Client":
        reader, writer = await bounded(asyncio.open_connection("127.0.0.1", port))
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await bounded(self.writer.drain())

    async def answer(self, *, head: bool = False) -> Answer:
        """The next answer; its body framed by Content-Length (none for HEAD, 1xx, 204 and 304)."""
        raw = await bounded(self.reader.readuntil(b"\r\n\r\n"))
        lines = raw[:-4].decode("utf-8").split("\r\n")
        version, status_text, reason = lines[0].split(" ", 2)
        headers: CIMultiDict[str] = CIMultiDict()
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.add(name, value.strip())
        status = int(status_text)
        if head or status < 200 or status in (204, 304):
            body = b""
        elif "Content-Length" in headers:
            body = await bounded(self.reader.readexactly(int(headers["Content-Length"])))
        else:
            body = await bounded(self.reader.read())
        return Answer(version, status, reason, headers, body)

    async def rest(self) -> bytes:
        """Everything until the server closes the connection (b"" when it closes right away)."""
        try:
            data: bytes = await bounded(self.reader.read())
        except ConnectionResetError:
            return b""
        return data

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await bounded(self.writer.wait_closed())


@contextlib.asynccontextmanager
async def connected(port: int) -> AsyncIterator[Client]:
    client = await Client.connect(port)
    try:
        yield client
    finally:
        await client.close()


async def echo(request: HttpRequest) -> web.Response:
    """Answers with what it was sent: method, target and the body it read."""
    body = await request.read()
    return web.Response(body=f"{request.method} {request.raw_path} ".encode() + body,
                        headers={"X-Length": str(len(body))})


def get(path: str, *extra: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: test", *extra, "", ""]).encode()


def put(path: str, body: bytes, *extra: str) -> bytes:
    head = "\r\n".join([f"PUT {path} HTTP/1.1", "Host: test", f"Content-Length: {len(body)}", *extra, "", ""])
    return head.encode() + body


def chunked(path: str, *pieces: bytes) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p) + b"0\r\n\r\n"
    return f"PUT {path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + body


def run_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run a fixture-free test coroutine again on uvloop, the loop miniaws serves on."""
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())  # type: ignore[arg-type]
