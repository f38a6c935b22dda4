"""The AWS endpoint's HTTP/1.1 server (gateway/http1.py) over real loopback sockets: raw asyncio streams write the
exact bytes (split, pipelined, malformed) and read the exact answers; aiohttp's client checks what a real client
sees. The tests without fixtures also run on uvloop, the loop miniaws serves on."""
from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict

from miniaws.core.errors import RequestEntityTooLarge
from miniaws.core.responses import Response, StreamedResponse
from miniaws.gateway import http1
from miniaws.gateway.http1 import HttpRequest, HttpServer
from miniaws.gateway.httpwire import MAX_HEAD_BYTES

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


# -- keep-alive and pipelining ---------------------------------------------------------------------
async def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        for i in range(5):
            await client.send(put(f"/k{i}", b"x" * i) if i % 2 else get(f"/k{i}"))
            answer = await client.answer()
            assert answer.status == 200 and answer.version == "HTTP/1.1"
            assert answer.body == (f"PUT /k{i} ".encode() + b"x" * i if i % 2 else f"GET /k{i} ".encode())
            assert "Connection" not in answer.headers


async def test_pipelined_requests_are_answered_in_order_one_at_a_time() -> None:
    calls: list[str] = []
    running_now = 0

    async def handler(request: HttpRequest) -> web.Response:
        nonlocal running_now
        running_now += 1
        assert running_now == 1, "requests on one connection are handled one at a time"
        calls.append(request.path)
        body = await request.read()
        for _ in range(10 if request.path == "/1" else 0):
            await asyncio.sleep(0)  # the first one is the slowest: the others must still wait for it
        running_now -= 1
        return web.Response(body=request.path.encode() + b":" + body)

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/1") + put("/2", b"two") + get("/3"))
        answers = [await client.answer() for _ in range(3)]
        assert [a.body for a in answers] == [b"/1:", b"/2:two", b"/3:"]
        assert calls == ["/1", "/2", "/3"]


async def test_pipelined_bodies_split_across_writes() -> None:
    data = put("/a", b"0123456789") + get("/b") + put("/c", b"abc") + chunked("/d", b"hello", b" world") + get("/e")
    pieces = [data[:30], data[30:75], data[75:76], data[76:140], data[140:]]
    async with running(echo) as (_, port), connected(port) as client:
        for piece in pieces:
            await client.send(piece)
            await settle()
        answers = [await client.answer() for _ in range(5)]
    assert [a.body for a in answers] == [b"PUT /a 0123456789", b"GET /b ", b"PUT /c abc", b"PUT /d hello world",
                                         b"GET /e "]


async def test_many_pipelined_requests_in_one_write() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(b"".join(put(f"/{i}", str(i).encode()) for i in range(200)))
        for i in range(200):
            assert (await client.answer()).body == f"PUT /{i} {i}".encode()


async def test_pipelined_flood_pauses_reading_and_every_request_is_answered() -> None:
    release = asyncio.Event()

    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/first":
            await release.wait()
        return await echo(request)

    body = b"p" * 5000
    count = 2 * http1.PIPELINE_BUFFER_LIMIT // len(body)  # twice what the server buffers before it stops reading
    async with running(handler) as (_, port), connected(port) as client:
        client.writer.write(get("/first") + b"".join(put(f"/{i}", body) for i in range(count)))
        await settle()
        release.set()
        await bounded(client.writer.drain())
        assert (await client.answer()).body == b"GET /first "
        for i in range(count):
            assert (await client.answer()).body == f"PUT /{i} ".encode() + body


async def test_pipelined_answers_respect_write_flow_control() -> None:
    big = b"x" * (1 << 20)
    peak = 0

    async def handler(request: HttpRequest) -> web.Response:
        nonlocal peak
        assert request.transport is not None
        peak = max(peak, request.transport.get_write_buffer_size())
        return web.Response(body=big)

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(b"".join(get(f"/{i}") for i in range(40)))
        for _ in range(40):
            assert (await client.answer()).body == big
    assert peak <= 8 << 20


async def test_empty_lines_before_a_request_are_ignored() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(put("/a", b"ab") + b"\r\n" + get("/b"))  # RFC 9112 §2.2: some clients add a CRLF
        assert (await client.answer()).body == b"PUT /a ab"
        assert (await client.answer()).body == b"GET /b "


def _split_points(data: bytes, body_start: int, body_end: int) -> list[int]:
    return sorted({1, body_start - 4, body_start - 3, body_start - 2, body_start - 1, body_start, body_start + 1,
                   body_end - 1, body_end, body_end + 1, len(data) - 1})


_SPLIT_DATA = put("/split", b"0123456789") + get("/next")
_BODY_START = _SPLIT_DATA.index(b"\r\n\r\n") + 4


@pytest.mark.parametrize("cut", _split_points(_SPLIT_DATA, _BODY_START, _BODY_START + 10))
async def test_content_length_body_split_at_awkward_boundaries(cut: int) -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(_SPLIT_DATA[:cut])
        await settle()
        await client.send(_SPLIT_DATA[cut:])
        assert (await client.answer()).body == b"PUT /split 0123456789"
        assert (await client.answer()).body == b"GET /next "


async def test_requests_sent_one_byte_at_a_time() -> None:
    data = put("/bytes", b"0123456789") + chunked("/c", b"ab", b"cde") + get("/last")
    async with running(echo) as (_, port), connected(port) as client:
        for i in range(len(data)):
            await client.send(data[i:i + 1])
            await asyncio.sleep(0)
        assert (await client.answer()).body == b"PUT /bytes 0123456789"
        assert (await client.answer()).body == b"PUT /c abcde"
        assert (await client.answer()).body == b"GET /last "


# -- request bodies --------------------------------------------------------------------------------
async def test_chunked_request_body() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        if request.method == "PUT":
            assert request.content_length is None and request.body_exists
        data = bytearray()
        async for piece in request.content.iter_any():
            data += piece
        return web.Response(body=bytes(data))

    body = bytes(range(256)) * 300
    pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)]
    async with running(handler) as (_, port), connected(port) as client:
        data = chunked("/c", *pieces).replace(b"3e8\r\n", b"3E8;ext=1\r\n", 3)
        for i in range(0, len(data), 4099):
            await client.send(data[i:i + 4099])
        assert (await client.answer()).body == body
        await client.send(chunked("/empty") + get("/after"))  # an empty chunked body, then the next request
        assert (await client.answer()).body == b""
        assert (await client.answer()).status == 200


async def test_chunked_body_with_trailers_then_next_request() -> None:
    data = (b"PUT /t HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nwiki\r\n0\r\nx-amz-checksum-crc32: AAAAAA==\r\n\r\n") + get("/next")
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(data)
        assert (await client.answer()).body == b"PUT /t wiki"
        assert (await client.answer()).body == b"GET /next "


async def test_request_body_properties() -> None:
    seen: dict[str, Any] = {}

    async def handler(request: HttpRequest) -> web.Response:
        seen[request.path] = (request.content_length, request.body_exists, request.can_read_body)
        await request.read()
        seen[request.path + " after"] = request.can_read_body
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/none") + put("/cl", b"abc") + put("/zero", b"") + chunked("/te", b"x"))
        for _ in range(4):
            assert (await client.answer()).status == 200
    assert seen["/none"] == (None, False, False)
    assert seen["/cl"] == (3, True, True) and seen["/cl after"] is False
    assert seen["/zero"] == (0, False, False)
    assert seen["/te"] == (None, True, True) and seen["/te after"] is False


async def test_aiohttp_client_bodies() -> None:
    big = bytes(range(256)) * 4096  # 1 MiB: more than the body buffer, so reading pauses and resumes

    async def generated() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 100_000):
            yield big[i:i + 100_000]

    async with running(echo) as (_, port), aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        async with session.put("/bytes", data=big) as response:
            assert response.status == 200 and await response.read() == b"PUT /bytes " + big
        async with session.put("/chunked", data=generated()) as response:  # sent with Transfer-Encoding: chunked
            assert response.status == 200 and await response.read() == b"PUT /chunked " + big
        async with session.put("/expect", data=b"abc", expect100=True) as response:
            assert response.status == 200 and await response.read() == b"PUT /expect abc"
        async with session.get("/q?a=1") as response:
            assert await response.read() == b"GET /q?a=1 "


async def test_large_response_body_intact() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: head and body go out in separate writes

    async def handler(request: HttpRequest) -> web.Response:
        return web.Response(body=big)

    async with running(handler) as (_, port), aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        for _ in range(2):
            async with session.get("/big") as response:
                assert await response.read() == big


async def test_multipart_body() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        reader = await request.multipart()
        parts: list[str] = []
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader)
            parts.append(f"{part.name}={(await part.read()).decode()}")
        return web.Response(text="&".join(parts))

    form = aiohttp.FormData()
    form.add_field("key", "uploads/${filename}")
    form.add_field("file", b"file body", filename="a.txt", content_type="text/plain")
    async with running(handler) as (_, port), aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        async with session.post("/bucket", data=form) as response:
            assert await response.text() == "key=uploads/${filename}&file=file body"


# -- Expect: 100-continue ---------------------------------------------------------------------------
def _expecting(path: str, length: int, version: str = "HTTP/1.1") -> bytes:
    return (f"PUT {path} {version}\r\nHost: test\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
            .encode())


async def test_expect_continue_sent_when_the_handler_reads() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(_expecting("/e", 5))
        interim = await client.answer()
        assert (interim.version, interim.status, interim.reason) == ("HTTP/1.1", 100, "Continue")
        assert len(interim.headers) == 0
        await client.send(b"hello")
        answer = await client.answer()
        assert answer.status == 200 and answer.body == b"PUT /e hello"
        await client.send(get("/after"))  # the connection is still good
        assert (await client.answer()).body == b"GET /after "


async def test_expect_continue_sent_by_send_continue() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        await request.send_continue()
        await request.send_continue()  # once only
        return web.Response(body=await request.content.read())

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(_expecting("/e", 3))
        assert (await client.answer()).status == 100
        await client.send(b"abc")
        answer = await client.answer()
        assert answer.status == 200 and answer.body == b"abc"


async def test_expect_continue_not_sent_when_the_handler_answers_without_the_body() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        return web.Response(status=403, text="denied")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(_expecting("/e", 100_000))
        answer = await client.answer()
        assert answer.status == 403 and answer.body == b"denied"  # no 100 before it
        assert answer.headers["Connection"] == "close"  # the body never came: its bytes must not be parsed
        assert await client.rest() == b""


async def test_expect_continue_ignored_from_http_1_0() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(_expecting("/e", 2, "HTTP/1.0") + b"ab")
        answer = await client.answer()
        assert answer.status == 200 and answer.body == b"PUT /e ab"  # not a 100 first


async def test_expect_continue_not_sent_for_a_body_over_the_read_limit() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        try:
            await request.read(limit=10)
        except RequestEntityTooLarge:
            return web.Response(status=413)
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(_expecting("/e", 1000))
        assert (await client.answer()).status == 413


async def test_read_limit() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        try:
            return web.Response(body=await request.read(limit=5))
        except RequestEntityTooLarge:
            return web.Response(status=413)

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/ok", b"12345"))
        assert (await client.answer()).body == b"12345"
        await client.send(chunked("/big", b"123", b"456"))  # no Content-Length to check first: counted as read
        assert (await client.answer()).status == 413


# -- what answers look like ------------------------------------------------------------------------
async def test_head_has_content_length_and_no_body() -> None:
    iterated = False

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal iterated
        iterated = True
        yield b"x" * 1000

    async def handler(request: HttpRequest) -> Response:
        if request.path == "/plain":
            return web.Response(body=b"hello")
        if request.path == "/explicit":  # S3 HeadObject: the length of a body it does not send
            return web.Response(headers={"Content-Length": "1234", "Content-Type": "text/plain"})
        if request.path == "/streamed":
            return StreamedResponse(200, {"ETag": '"e"'}, 1000, chunks())
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(b"".join(f"HEAD /{p} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
                                   for p in ("plain", "explicit", "streamed", "empty")) + get("/plain"))
        plain, explicit, streamed, empty = [await client.answer(head=True) for _ in range(4)]
        assert plain.status == 200 and plain.headers["Content-Length"] == "5"
        assert explicit.headers["Content-Length"] == "1234" and explicit.headers["Content-Type"] == "text/plain"
        assert streamed.headers["Content-Length"] == "1000" and streamed.headers["ETag"] == '"e"'
        assert "Content-Length" not in empty.headers or empty.headers["Content-Length"] == "0"
        # no body bytes were sent for any of them: the GET's answer comes next
        after = await client.answer()
        assert after.status == 200 and after.body == b"hello"
    assert not iterated


async def test_head_has_the_same_content_type_as_get() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        return web.Response(body=b"hello")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/x") + b"HEAD /x HTTP/1.1\r\nHost: t\r\n\r\n")
        got = await client.answer()
        head = await client.answer(head=True)
        assert head.headers.get("Content-Type") == got.headers["Content-Type"]


@pytest.mark.parametrize("status", [204, 304])
async def test_204_and_304_have_no_content_length_and_no_body(status: int) -> None:
    async def handler(request: HttpRequest) -> Response:
        if request.path == "/with-body":
            return web.Response(status=status, body=b"must not be sent", headers={"ETag": '"e"'})
        if request.path == "/with-length":
            return web.Response(status=status, headers={"Content-Length": "16", "Transfer-Encoding": "chunked"})
        if request.path == "/streamed":
            return StreamedResponse(status, {}, 5, None)
        return web.Response(body=b"next")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/with-body") + get("/with-length") + get("/streamed") + get("/next"))
        for _ in range(3):
            answer = await client.answer()
            assert answer.status == status
            assert "Content-Length" not in answer.headers and "Transfer-Encoding" not in answer.headers
            assert "Content-Type" not in answer.headers
        assert (await client.answer()).body == b"next"  # nothing was sent after those heads


async def test_default_content_type_only_with_a_body() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/bytes":
            return web.Response(body=b"x")
        if request.path == "/typed":
            return web.Response(body=b"<a/>", content_type="application/xml")
        if request.path == "/text":
            return web.Response(text="t")
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/bytes") + get("/typed") + get("/text") + get("/empty"))
        by_type = [(await client.answer()).headers.get("Content-Type") for _ in range(4)]
    assert by_type == ["application/octet-stream", "application/xml", "text/plain; charset=utf-8", None]


async def test_date_server_length_and_reason() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/own":
            return web.Response(status=200, reason="Fine", headers={"Server": "AmazonS3", "Date": "custom"})
        return web.Response(status=404, body=b"nope")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/default") + get("/own"))
        default, own = await client.answer(), await client.answer()
    assert (default.status, default.reason) == (404, "Not Found")
    assert default.headers["Server"].startswith("miniaws/")
    assert parsedate_to_datetime(default.headers["Date"]).tzname() == "UTC"
    assert default.headers["Content-Length"] == "4" and len(default.headers.getall("Date")) == 1
    assert (own.status, own.reason) == (200, "Fine")
    assert own.headers.getall("Server") == ["AmazonS3"] and own.headers.getall("Date") == ["custom"]
    assert own.headers["Content-Length"] == "0"


async def test_header_injection_never_reaches_the_wire() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        return web.Response(headers={"X-Bad": "a\r\nSet-Cookie: evil=1"})

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/"))
        assert b"evil" not in await client.rest()


# -- HTTP/1.0 and Connection ---------------------------------------------------------------------------
async def test_http_1_0_closes_unless_keep_alive() -> None:
    async with running(echo) as (_, port):
        async with connected(port) as client:
            await client.send(b"GET /old HTTP/1.0\r\n\r\n")
            answer = await client.answer()
            assert answer.version == "HTTP/1.0" and answer.status == 200 and answer.body == b"GET /old "
            assert answer.headers["Connection"] == "close"
            assert await client.rest() == b""
        async with connected(port) as client:
            for i in range(2):
                await client.send(f"PUT /ka{i} HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx"
                                  .encode())
                answer = await client.answer()
                assert answer.version == "HTTP/1.0" and answer.body == f"PUT /ka{i} x".encode()
                assert answer.headers["Connection"] == "keep-alive"


async def test_connection_close_from_the_client() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(get("/bye", "Connection: close") + get("/never"))
        answer = await client.answer()
        assert answer.body == b"GET /bye " and answer.headers["Connection"] == "close"
        assert await client.rest() == b""  # the pipelined request after "close" is not answered


async def test_handler_can_close_the_connection() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        response = web.Response(text="last")
        response.force_close()
        return response

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/"))
        answer = await client.answer()
        assert answer.body == b"last" and answer.headers["Connection"] == "close"
        assert await client.rest() == b""


async def test_half_closed_client_gets_its_answer() -> None:
    # `printf 'GET / ...' | nc -N`: the client shuts its side down after the request and waits for the answer
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(put("/half", b"abc"))
        client.writer.write_eof()
        answer = await client.answer()
        assert answer.status == 200 and answer.body == b"PUT /half abc"
        assert await client.rest() == b""  # then the server closes its side too


async def test_half_closed_client_gets_all_pipelined_answers() -> None:
    eof_sent = asyncio.Event()

    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/1":
            await eof_sent.wait()  # the server has seen the end of the client's stream while answering /1
        return await echo(request)

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/1") + get("/2") + get("/3"))
        client.writer.write_eof()
        await settle()
        eof_sent.set()
        assert [(await client.answer()).body for _ in range(3)] == [b"GET /1 ", b"GET /2 ", b"GET /3 "]


# -- malformed requests ----------------------------------------------------------------------------
@pytest.mark.parametrize("data, status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    # CL.TE smuggling: the body holds a request; it must never be parsed as one
    (b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400),
    (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400),
])
async def test_malformed_request_is_answered_then_closed(data: bytes, status: int) -> None:
    calls: list[str] = []

    async def handler(request: HttpRequest) -> web.Response:
        calls.append(request.raw_path)
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(data)
        answer = await client.answer()
        assert answer.status == status and answer.headers["Connection"] == "close"
        assert answer.headers["Content-Length"] == str(len(answer.body))
        assert await client.rest() == b""
    assert calls == []


async def test_malformed_request_after_a_good_one() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(get("/ok") + b"NOT A REQUEST\r\n\r\n" + get("/never"))
        assert (await client.answer()).status == 200
        answer = await client.answer()
        assert answer.status == 400 and answer.headers["Connection"] == "close"
        assert await client.rest() == b""


async def test_malformed_chunked_body_while_the_handler_reads() -> None:
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def handler(request: HttpRequest) -> web.Response:
        try:
            await request.read()
        except ConnectionResetError:
            outcome.set_result("reset")
            return web.Response(status=400, text="bad body")
        outcome.set_result("read")
        return web.Response()

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(b"PUT / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
        await settle()
        await client.send(b"lo\r\nZZ\r\n" + get("/never"))
        assert await bounded(outcome) == "reset"
        answer = await client.answer()
        assert answer.status == 400 and answer.headers["Connection"] == "close"
        assert await client.rest() == b""


@pytest.mark.parametrize("terminated", [False, True])
async def test_too_large_head_is_431(terminated: bool) -> None:
    calls: list[str] = []

    async def handler(request: HttpRequest) -> web.Response:
        calls.append(request.raw_path)
        return web.Response()

    data = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 70_000 + (b"\r\n\r\n" if terminated else b"")
    async with running(handler) as (_, port), connected(port) as client:
        await client.send(data)
        answer = await client.answer()
        assert answer.status == 431 and answer.headers["Connection"] == "close"
        assert await client.rest() == b""
    assert calls == []


async def test_head_just_under_the_limit_is_fine() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        data = get("/", "X-Big: " + "a" * 60_000)
        assert len(data) < MAX_HEAD_BYTES
        await client.send(data)
        assert (await client.answer()).status == 200


# -- handler failures -------------------------------------------------------------------------------
async def test_handler_exception_is_500_and_the_server_keeps_serving(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(request: HttpRequest) -> web.Response:
        if request.path == "/boom":
            raise RuntimeError("secret detail")
        return web.Response(text="fine")

    with caplog.at_level(logging.ERROR, logger="miniaws.http"):
        async with running(handler) as (_, port):
            async with connected(port) as first, connected(port) as second:
                await first.send(get("/boom"))
                answer = await first.answer()
                assert answer.status == 500 and b"secret" not in answer.body
                await second.send(get("/ok"))
                assert (await second.answer()).body == b"fine"
                await first.send(get("/ok"))  # the failed request's connection goes on too
                assert (await first.answer()).body == b"fine"
    assert "secret detail" in caplog.text


async def test_handler_exception_before_reading_an_incomplete_body_closes() -> None:
    async def handler(request: HttpRequest) -> web.Response:
        raise RuntimeError("boom")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/", b"x" * 10)[:-5])
        answer = await client.answer()
        assert answer.status == 500 and answer.headers["Connection"] == "close"
        await client.send(b"x" * 5 + get("/smuggled"))  # the rest is drained, then the connection closes
        assert await client.rest() == b""


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
    # back-pressure held: the server never buffered more than a little beyond its transport's high-water mark
    assert peak <= 1024 * 1024
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


# -- the same on uvloop (the loop miniaws serves on) -----------------------------------------------------
_ON_UVLOOP = [
    test_keep_alive_serves_several_requests_on_one_connection,
    test_pipelined_requests_are_answered_in_order_one_at_a_time,
    test_pipelined_bodies_split_across_writes,
    test_pipelined_flood_pauses_reading_and_every_request_is_answered,
    test_requests_sent_one_byte_at_a_time,
    test_chunked_request_body,
    test_aiohttp_client_bodies,
    test_expect_continue_sent_when_the_handler_reads,
    test_expect_continue_not_sent_when_the_handler_answers_without_the_body,
    test_head_has_content_length_and_no_body,
    test_http_1_0_closes_unless_keep_alive,
    test_connection_close_from_the_client,
    test_half_closed_client_gets_its_answer,
    test_malformed_request_after_a_good_one,
    test_malformed_chunked_body_while_the_handler_reads,
    test_handler_exception_before_reading_an_incomplete_body_closes,
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
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())  # type: ignore[arg-type]
