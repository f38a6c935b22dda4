"""The AWS endpoint's HTTP/1.1 server (gateway/http1.py) over real loopback sockets, connection lifecycle: streamed
answers and write flow control, bodies the handler does not read, clients that go away, where a request was sent,
stopping and the idle sweep. The tests without fixtures also run on uvloop, the loop miniaws serves on."""
from __future__ import annotations

import asyncio
import http.client
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from miniaws.core.responses import Response, StreamedResponse
from miniaws.gateway import http1
from miniaws.gateway.http1 import HttpRequest, HttpServer
from tests.helpers.http1_client import run_on_uvloop, WAIT, bounded, settle, running, connected, get, put


# -- streamed answers -------------------------------------------------------------------------------
async def test_streamed_response_large_body_with_write_flow_control() -> None:
    size, piece = 16 * 1024 * 1024, 64 * 1024  # more than loopback's socket buffers can hold
    pattern = bytes(range(256)) * (piece // 256)
    full = asyncio.Event()
    peak = 0
    closed = False

    async def handler(request: HttpRequest) -> StreamedResponse:
        transport = request.transport
        assert transport is not None

        async def chunks() -> AsyncIterator[bytes]:
            nonlocal peak, closed
            try:
                for i in range(size // piece):
                    buffered = transport.get_write_buffer_size()
                    peak = max(peak, buffered)
                    if buffered:
                        full.set()  # the socket is full: from now on the server must wait for the reader
                    yield pattern[i % 256:] + pattern[:i % 256]
            finally:
                closed = True

        return StreamedResponse(200, {"Content-Type": "application/octet-stream"}, size, chunks())

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/stream"))
        await bounded(full.wait())  # nothing is read until the server has had to hold back
        answer = await client.answer()
        assert answer.headers["Content-Length"] == str(size) and len(answer.body) == size
        for i in range(0, size // piece, 37):
            assert answer.body[i * piece:(i + 1) * piece] == pattern[i % 256:] + pattern[:i % 256]
        await client.send(get("/stream"))  # the connection is still usable after it
        assert len((await client.answer()).body) == size
    # back-pressure held: the server never buffered more than one piece beyond its transport's high-water mark
    assert peak <= http1.WRITE_BUFFER_HIGH + piece < size // 4
    assert closed


@pytest.mark.parametrize("produced", [50, 150])
async def test_streamed_response_of_the_wrong_length_closes(produced: int) -> None:
    async def handler(request: HttpRequest) -> StreamedResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a" * (produced // 2)
            yield b"b" * (produced - produced // 2)

        return StreamedResponse(200, {}, 100, chunks())

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/short") + get("/never"))
        head = await client.answer(head=True)
        assert head.headers["Content-Length"] == "100"
        assert len(await client.rest()) == produced  # then EOF: the client does not wait for more


async def test_streamed_response_failing_midway_closes(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: HttpRequest) -> StreamedResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a" * 10
            raise OSError("disk gone")

        return StreamedResponse(200, {}, 100, chunks())

    with caplog.at_level(logging.ERROR, logger="miniaws.http"):
        async with running(handler) as (_, port), connected(port) as client:
            await client.send(get("/fail") + get("/never"))
            assert (await client.answer(head=True)).status == 200
            assert await client.rest() == b"a" * 10


async def test_client_gone_mid_stream_closes_the_stream() -> None:
    finished = asyncio.Event()

    async def handler(request: HttpRequest) -> StreamedResponse:
        async def chunks() -> AsyncIterator[bytes]:
            try:
                for _ in range(256):
                    yield b"s" * 65536
            finally:
                finished.set()

        return StreamedResponse(200, {}, 256 * 65536, chunks())

    async with running(handler) as (_, port):
        async with connected(port) as client:
            await client.send(get("/stream"))
            assert (await client.answer(head=True)).status == 200
            await bounded(client.reader.readexactly(100_000))
        await bounded(finished.wait())  # the producer was stopped and closed, not left suspended
        async with connected(port) as other:
            await other.send(get("/stream", "Connection: close"))
            assert len(await other.rest()) > 256 * 65536  # head and whole body: the server is fine


async def test_client_gone_while_the_handler_runs() -> None:
    started, release, answered = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/slow":
            started.set()
            await release.wait()
            answered.set()
        return web.Response(text=request.path)

    async with running(handler) as (server, port):
        async with connected(port) as client:
            await client.send(get("/slow"))
            await bounded(started.wait())
        await settle()
        release.set()
        await bounded(answered.wait())
        await settle()
        async with connected(port) as other:
            await other.send(get("/ok"))
            assert (await other.answer()).body == b"/ok"
        assert len(server.connections) <= 1


# -- unread bodies --------------------------------------------------------------------------------
async def test_answer_before_the_body_arrived_closes_the_connection() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        return web.Response(status=403, text="no")

    async with running(handler) as (_, port), connected(port) as client:
        # the rest of the body would look like a request: it must never be parsed as one
        upload = put("/", b"x" * 100_000)
        await client.send(upload[:200])
        answer = await client.answer()
        assert answer.status == 403 and answer.headers["Connection"] == "close"
        await client.send(upload[200:] + get("/smuggled"))  # drained to its end, then closed: never parsed
        assert await client.rest() == b""


async def test_a_body_that_never_ends_is_drained_only_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http1, "LINGER_SECONDS", 0.2)

    async def handler(request: HttpRequest) -> web.Response:
        return web.Response(status=403, text="no")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/", b"x" * 100_000)[:200])
        answer = await client.answer()
        assert answer.status == 403 and answer.headers["Connection"] == "close"
        assert await client.rest() == b""  # closed by the linger timer although the body never ended


def _blocking_upload(port: int, body: bytes) -> int | str:
    """PUT `body` the way urllib3 (boto3) does: the whole body is sent before the answer is read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.request("PUT", "/upload", body=body)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError as err:
        return type(err).__name__
    finally:
        connection.close()


async def test_early_answer_reaches_a_client_still_uploading() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        return web.Response(status=403, text="denied")

    async with running(handler) as (_, port):
        outcomes = [await bounded(asyncio.to_thread(_blocking_upload, port, b"x" * (8 << 20))) for _ in range(3)]
    assert outcomes == [403, 403, 403]


async def test_unread_small_body_that_arrived_keeps_the_connection() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        if request.method == "PUT":
            await bounded(request.content.wait_eof())  # all of it arrived; the handler still does not read it
            return web.Response(status=403, text="no")
        return web.Response(text="next")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/", b"GET /smuggled HTTP/1.1\r\n\r\n") + get("/next"))
        answer = await client.answer()
        assert answer.status == 403 and "Connection" not in answer.headers
        assert (await client.answer()).body == b"next"


async def test_unread_large_body_that_arrived_keeps_the_connection_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    # the body is more than twice the buffer limit, so the body stream pauses reading when it is fed; its end must
    # resume it (a small limit stands in for a body of more than 512 KiB arriving in one read)
    monkeypatch.setattr(http1, "BODY_BUFFER_LIMIT", 1024)

    async def handler(request: HttpRequest) -> web.Response:
        if request.method == "PUT":
            await bounded(request.content.wait_eof())
            return web.Response(status=403, text="no")
        return web.Response(text="next")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/", b"x" * 5000))
        answer = await client.answer()
        assert answer.status == 403 and "Connection" not in answer.headers
        await client.send(get("/next"))
        assert (await client.answer()).body == b"next"


async def test_large_body_read_by_the_handler_with_back_pressure() -> None:
    size = 3 * 1024 * 1024

    async def handler(request: HttpRequest) -> web.Response:
        total = 0
        while True:
            piece = await request.content.read(10_000)
            if not piece:
                break
            total += len(piece)
            await asyncio.sleep(0)
        return web.Response(text=str(total))

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/big", b"z" * size) + get("/after"))
        assert (await client.answer()).body == str(size).encode()
        assert (await client.answer()).body == b"0"


@pytest.mark.parametrize("how", ["half-close", "close"])
async def test_client_gone_mid_body_makes_reading_raise(how: str) -> None:
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def handler(request: HttpRequest) -> web.Response:
        try:
            await request.content.read()
        except ConnectionResetError:
            outcome.set_result("reset")
        else:
            outcome.set_result("read without error")
        return web.Response(status=400)

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/", b"x" * 1000)[:-990])
        await settle()
        if how == "half-close":
            client.writer.write_eof()
        else:
            client.writer.close()
        assert await bounded(outcome) == "reset"


# -- where the request was sent -----------------------------------------------------------------------
async def test_path_query_host_and_remote() -> None:
    seen: list[dict[str, Any]] = []

    async def handler(request: HttpRequest) -> web.Response:
        seen.append({"path": request.path, "raw_path": request.raw_path, "query": list(request.query.items()),
                     "query_string": request.query_string, "host": request.host, "remote": request.remote,
                     "version": request.version})
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(b"GET /b%20k/a%2Fb/caf%C3%A9+x?x=1%202&x=3&flag&e=&p=a+b HTTP/1.1\r\n"
                          b"Host: bucket.s3.local:4566\r\n\r\n" + get("/plain")
                          + b"GET /nohost?a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        for _ in range(3):
            await client.answer()
    first, plain, nohost = seen
    assert first["path"] == "/b k/a/b/café+x"  # "+" is a plus in a path
    assert first["raw_path"] == "/b%20k/a%2Fb/caf%C3%A9+x?x=1%202&x=3&flag&e=&p=a+b"
    assert first["query"] == [("x", "1 2"), ("x", "3"), ("flag", ""), ("e", ""), ("p", "a b")]
    assert first["query_string"] == "x=1%202&x=3&flag&e=&p=a+b"
    assert first["host"] == "bucket.s3.local:4566" and first["remote"] == "127.0.0.1"
    assert (plain["path"], plain["raw_path"], plain["query"], plain["query_string"]) == ("/plain", "/plain", [], "")
    assert plain["host"] == "test" and plain["version"] == (1, 1)
    assert nohost["host"] == f"127.0.0.1:{port}" and nohost["version"] == (1, 0)
    assert nohost["query"] == [("a", "")]


async def test_absolute_form_target() -> None:
    seen: list[tuple[str, str]] = []

    async def handler(request: HttpRequest) -> web.Response:
        seen.append((request.path, request.query_string))
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(f"GET http://127.0.0.1:{port}/bucket/key?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert (await client.answer()).status == 200
    assert seen == [("/bucket/key", "x=1")]


# -- stopping -----------------------------------------------------------------------------------------
async def test_stop_lets_an_in_flight_request_finish_and_closes_idle_connections() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/slow":
            started.set()
            await release.wait()
            return web.Response(text="finished")
        return web.Response(text="quick")

    server = HttpServer(handler)
    (_, port), *_ = await server.start("127.0.0.1", 0)
    stopping: asyncio.Task[None] | None = None
    try:
        async with connected(port) as idle, connected(port) as busy, connected(port) as silent:
            await idle.send(get("/quick"))
            assert (await idle.answer()).body == b"quick"
            await busy.send(get("/slow"))
            await bounded(started.wait())
            stopping = asyncio.create_task(server.stop(WAIT))
            assert await idle.rest() == b""  # the idle keep-alive connection is closed at once
            assert await silent.rest() == b""
            with pytest.raises(OSError):
                await bounded(asyncio.open_connection("127.0.0.1", port))  # no new connections
            assert not stopping.done()
            release.set()
            answer = await busy.answer()
            assert answer.body == b"finished" and answer.headers["Connection"] == "close"
            assert await busy.rest() == b""
            await bounded(stopping)
    finally:
        release.set()
        if stopping is None:
            await server.stop(1.0)


async def test_stop_closes_a_request_that_outlives_the_grace() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(request: HttpRequest) -> web.Response:
        started.set()
        await release.wait()
        return web.Response(text="too late")

    server = HttpServer(handler)
    (_, port), *_ = await server.start("127.0.0.1", 0)
    try:
        async with connected(port) as client:
            await client.send(get("/stuck"))
            await bounded(started.wait())
            await bounded(server.stop(0.05))
            assert await client.rest() == b""
    finally:
        release.set()
        await settle()


@pytest.mark.parametrize("in_flight", [True, False])
async def test_stop_does_not_cut_off_an_answer_being_written(in_flight: bool) -> None:
    big = bytes(range(256)) * (64 * 1024)
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(request: HttpRequest) -> web.Response:
        started.set()
        if in_flight:
            await release.wait()
        return web.Response(body=big)

    server = HttpServer(handler)
    (_, port), *_ = await server.start("127.0.0.1", 0)
    try:
        async with connected(port) as client:
            await client.send(get("/big"))
            await bounded(started.wait())
            await settle()  # without in_flight: the answer is written (mostly into the transport's buffer)
            stopping = asyncio.create_task(server.stop(WAIT))
            await settle()
            release.set()
            answer = await client.answer()
            assert answer.body == big
            await bounded(stopping)
    finally:
        release.set()
        await server.stop(0.1)


async def test_idle_sweep_closes_idle_keep_alive_connections_only() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/slow":
            started.set()
            await release.wait()
        return web.Response(text=request.path)

    async with running(handler, keepalive_timeout=0.2) as (_, port):
        async with connected(port) as busy, connected(port) as idle, connected(port) as silent:
            # the busy connection is the oldest: only its request in flight keeps it from being swept
            await busy.send(get("/slow"))
            await bounded(started.wait())
            await idle.send(get("/quick"))
            assert (await idle.answer()).body == b"/quick"
            assert await idle.rest() == b""  # swept (the sweep runs every max(1 s, timeout / 5))
            assert await silent.rest() == b""  # never sent anything: swept too
            release.set()
            answer = await busy.answer()
            assert answer.body == b"/slow" and "Connection" not in answer.headers
            await busy.send(get("/again"))
            assert (await busy.answer()).body == b"/again"


# -- the same on uvloop (the loop miniaws serves on) ---------------------------------------------------
_ON_UVLOOP = [
    test_streamed_response_large_body_with_write_flow_control,
    test_client_gone_mid_stream_closes_the_stream,
    test_client_gone_while_the_handler_runs,
    test_answer_before_the_body_arrived_closes_the_connection,
    test_unread_small_body_that_arrived_keeps_the_connection,
    test_large_body_read_by_the_handler_with_back_pressure,
    test_path_query_host_and_remote,
    test_stop_lets_an_in_flight_request_finish_and_closes_idle_connections,
    test_stop_closes_a_request_that_outlives_the_grace,
]


@pytest.mark.parametrize("scenario", _ON_UVLOOP, ids=lambda f: f.__name__.removeprefix("test_"))
def test_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    run_on_uvloop(scenario)
