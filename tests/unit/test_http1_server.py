"""The AWS endpoint's HTTP/1.1 server (gateway/http1.py) over real loopback sockets, parsing and answering: keep-alive,
pipelining, request bodies, Expect: 100-continue, what answers look like, HTTP/1.0, malformed requests, handler
failures. Raw asyncio streams write the exact bytes and read the exact answers; aiohttp's client checks what a real
client sees. The tests without fixtures also run on uvloop, the loop miniaws serves on."""
from __future__ import annotations

import asyncio
import http.client
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from miniaws.core.errors import RequestEntityTooLarge
from miniaws.core.responses import PlainResponse, Response, StreamedResponse
from miniaws.gateway import http1
from miniaws.gateway.http1 import HttpRequest
from miniaws.gateway.httpwire import MAX_HEAD_BYTES
from tests.helpers.http1_client import run_on_uvloop, bounded, settle, running, connected, echo, get, put, chunked


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


async def test_a_body_longer_than_its_content_length_closes_the_connection() -> None:
    """A handler bug must not desynchronise the connection: the extra bytes would be read as the next answer."""
    async def handler(request: HttpRequest) -> Response:
        return PlainResponse(200, {"Content-Length": "3"}, b"abcdef")

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(get("/bad"))
        answer = await client.answer()
        assert answer.headers["Connection"] == "close"


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


async def test_expect_continue_not_sent_when_the_body_came_with_the_head() -> None:
    async with running(echo) as (_, port), connected(port) as client:
        await client.send(_expecting("/e", 5) + b"hello" + get("/after"))
        answer = await client.answer()
        assert answer.status == 200 and answer.body == b"PUT /e hello"  # the client did not wait: no 100 first
        assert (await client.answer()).body == b"GET /after "


async def test_a_body_that_came_with_its_head_still_streams() -> None:
    seen: list[tuple[bool, bytes, bool]] = []

    async def handler(request: HttpRequest) -> web.Response:
        before = request.can_read_body
        data = b"".join([piece async for piece in request.content.iter_any()])
        seen.append((before, data, request.can_read_body))
        return web.Response(body=data)

    async with running(handler) as (_, port), connected(port) as client:
        await client.send(put("/whole", b"0123456789") + put("/next", b"ab"))  # one write: both bodies complete
        assert (await client.answer()).body == b"0123456789"
        assert (await client.answer()).body == b"ab"
    assert seen == [(True, b"0123456789", False), (True, b"ab", False)]


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


# -- the same on uvloop (the loop miniaws serves on) ---------------------------------------------------
_ON_UVLOOP = [
    test_keep_alive_serves_several_requests_on_one_connection,
    test_pipelined_requests_are_answered_in_order_one_at_a_time,
    test_pipelined_bodies_split_across_writes,
    test_pipelined_flood_pauses_reading_and_every_request_is_answered,
    test_requests_sent_one_byte_at_a_time,
    test_chunked_request_body,
    test_aiohttp_client_bodies,
    test_expect_continue_sent_when_the_handler_reads,
    test_expect_continue_not_sent_when_the_body_came_with_the_head,
    test_a_body_that_came_with_its_head_still_streams,
    test_expect_continue_not_sent_when_the_handler_answers_without_the_body,
    test_head_has_content_length_and_no_body,
    test_http_1_0_closes_unless_keep_alive,
    test_connection_close_from_the_client,
    test_half_closed_client_gets_its_answer,
    test_malformed_request_after_a_good_one,
    test_malformed_chunked_body_while_the_handler_reads,
    test_handler_exception_before_reading_an_incomplete_body_closes,
]


@pytest.mark.parametrize("scenario", _ON_UVLOOP, ids=lambda f: f.__name__.removeprefix("test_"))
def test_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    run_on_uvloop(scenario)
