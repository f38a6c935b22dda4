"""The load balancer's HTTP/1.1 response parser (targets' answers), fed whole and byte by byte: Content-Length,
chunked and close-delimited bodies, bodiless responses, interim 1xx, connection reuse, and the framing errors that
make a target's answer a 502."""
from __future__ import annotations

import pytest

from miniaws.dataplane.lb.http1 import ProtocolError, ResponseParser


def parse(data: bytes, head_request: bool = False, split: bool = False,
          eof: bool = False) -> tuple[ResponseParser, bytes]:
    parser = ResponseParser(head_request)
    pieces: list[bytes] = []
    for part in ([data[i:i + 1] for i in range(len(data))] if split else [data]):
        pieces += parser.feed(part)
    if eof:
        parser.feed_eof()
    return parser, b"".join(pieces)


@pytest.mark.parametrize("split", [False, True])
def test_content_length_body(split: bool) -> None:
    parser, body = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  v  \r\nSet-Cookie: a=1\r\n"
                         b"Set-Cookie: b=2\r\n\r\nhello", split=split)
    assert parser.done and parser.reusable and body == b"hello"
    assert parser.head is not None
    assert (parser.head.status, parser.head.reason, parser.head.length) == (200, "OK", 5)
    assert parser.head.headers == [("Content-Length", "5"), ("X-A", "v  "), ("Set-Cookie", "a=1"),
                                   ("Set-Cookie", "b=2")]


@pytest.mark.parametrize("split", [False, True])
def test_chunked_body_with_extensions_and_trailers(split: bool) -> None:
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    parser, body = parse(raw, split=split)
    assert parser.done and parser.reusable and body == b"hello world"
    assert parser.head is not None and parser.head.length is None


def test_close_delimited_body_ends_with_the_connection() -> None:
    parser, body = parse(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", eof=True)
    assert parser.done and body == b"until close" and not parser.reusable


@pytest.mark.parametrize("raw, head_request", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", True),
    (b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", False),
    (b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", False),
])
def test_bodiless_responses_end_at_their_head(raw: bytes, head_request: bool) -> None:
    parser, body = parse(raw, head_request=head_request)
    assert parser.done and parser.reusable and body == b""


def test_interim_responses_are_skipped() -> None:
    parser, body = parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                         b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    assert parser.head is not None and parser.head.status == 201 and body == b"ok"


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",  # more than it framed
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
])
def test_connections_not_reused(raw: bytes) -> None:
    parser, body = parse(raw)
    assert parser.done and body == b"ok" and not parser.reusable


def test_http10_keep_alive_is_reused() -> None:
    parser, _ = parse(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    assert parser.done and parser.reusable


@pytest.mark.parametrize("raw", [
    b"HTTP/2 200 OK\r\n\r\n",
    b"HTTP/1.1 20 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n",
])
def test_framing_errors(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse(raw)


def test_truncated_response_is_an_error() -> None:
    with pytest.raises(ProtocolError):
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", eof=True)


def test_same_content_length_twice_is_one_length() -> None:
    parser, body = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nok")
    assert parser.done and body == b"ok"
