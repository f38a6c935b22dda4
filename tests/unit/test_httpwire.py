"""The sans-IO half of the AWS endpoint's HTTP/1.1 server (gateway/httpwire.py): request heads, chunked bodies,
response heads. Every malformed input the server must refuse is checked for its status (400, 431-free here, 501,
505) and every framing edge against a known body."""
from __future__ import annotations

import random

import pytest

from miniaws.gateway.httpwire import (MAX_CHUNK_LINE, MAX_TRAILER_BYTES, BadRequest, ChunkedDecoder,
                                      must_be_empty, parse_head, serialize_head, status_line)


def head(*lines: str) -> bytes:
    """A request head from its lines (CRLF between them, none after the last: parse_head's input)."""
    return "\r\n".join(lines).encode()


def bad(data: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse_head(data)
    return info.value


# -- request line ----------------------------------------------------------------------------------
def test_request_line_fields() -> None:
    parsed = parse_head(head("PUT /bucket/key%20x?uploads&a=b HTTP/1.1", "Host: example"))
    assert parsed.method == "PUT"
    assert parsed.target == "/bucket/key%20x?uploads&a=b"  # raw: decoding is the request object's job
    assert parsed.version == (1, 1)
    assert parsed.headers["Host"] == "example"
    assert (parsed.content_length, parsed.chunked) == (0, False)


def test_head_without_header_fields() -> None:
    parsed = parse_head(b"GET / HTTP/1.0")
    assert (parsed.method, parsed.target, parsed.version) == ("GET", "/", (1, 0))
    assert len(parsed.headers) == 0


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS", "PATCH", "M-SEARCH", "x~y!"])
def test_any_token_is_a_method(method: str) -> None:
    assert parse_head(head(f"{method} / HTTP/1.1")).method == method


@pytest.mark.parametrize("line", [
    "GET / HTTP/1.1 ",       # trailing space: four fields
    "GET  / HTTP/1.1",       # two spaces
    "GET /",                 # no version
    "GET",
    "",
    "GET\t/\tHTTP/1.1",      # tabs are not separators here
    "GE(T / HTTP/1.1",       # "(" is not a token character
    "G@T / HTTP/1.1",
    "GET / http/1.1",        # the HTTP name is case-sensitive
    "GET / FOO/1.1",
    "GET / 1.1",
])
def test_malformed_request_line_is_400(line: str) -> None:
    assert bad(head(line, "Host: x")).status == 400


@pytest.mark.parametrize("target", ["/a\x00b", "/a\x7fb", "/a\x01b", "/a\x1bb"])
def test_control_character_in_target_is_400(target: str) -> None:
    assert bad(head(f"GET {target} HTTP/1.1", "Host: x")).status == 400


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/2", "HTTP/3.0", "HTTP/0.9"])
def test_unsupported_http_version_is_505(version: str) -> None:
    assert bad(head(f"GET / {version}", "Host: x")).status == 505


def test_505_needs_a_valid_method() -> None:
    # a request line that is garbage from its first field on is malformed, whatever its last field says
    assert bad(head("G(T / HTTP/2.0")).status == 400


@pytest.mark.parametrize("version", ["HTTP/", "HTTP/x.y", "HTTP/1.1x", "HTTP/11"])
def test_garbage_after_http_slash_is_400(version: str) -> None:
    assert bad(head(f"GET / {version}")).status == 400


# -- header fields ---------------------------------------------------------------------------------
def test_header_names_are_case_insensitive_and_repeats_kept_in_order() -> None:
    parsed = parse_head(head("GET / HTTP/1.1", "x-amz-meta-a: 1", "X-Amz-Meta-A: 2", "HOST: h", "x-AMZ-meta-a: 3"))
    assert parsed.headers["host"] == "h" and parsed.headers["Host"] == "h"
    assert parsed.headers.getall("X-AMZ-META-A") == ["1", "2", "3"]
    assert parsed.headers["x-amz-meta-a"] == "1"  # the first one
    assert len(parsed.headers) == 4
    with pytest.raises(TypeError):
        parsed.headers["New"] = "x"  # type: ignore[index]  # read-only proxy


@pytest.mark.parametrize("raw, value", [
    ("A: b", "b"),
    ("A:b", "b"),
    ("A:    b   ", "b"),
    ("A:\tb\t", "b"),
    ("A: \t b c \t ", "b c"),   # inner whitespace kept
    ("A:", ""),
    ("A:   ", ""),
    ("A: b:c: d", "b:c: d"),     # only the first colon separates
    ("A: \"quoted ; value\"", "\"quoted ; value\""),
])
def test_header_value_whitespace_trimmed(raw: str, value: str) -> None:
    assert parse_head(head("GET / HTTP/1.1", raw)).headers["A"] == value


def test_header_value_keeps_non_ascii_bytes() -> None:
    parsed = parse_head("GET / HTTP/1.1\r\nx-amz-meta-name: caf\u00e9".encode())
    assert parsed.headers["x-amz-meta-name"] == "caf\u00e9"
    latin1 = parse_head(b"GET / HTTP/1.1\r\nX: caf\xe9")  # not UTF-8: kept byte for byte (surrogateescape)
    assert latin1.headers["X"].encode("utf-8", "surrogateescape") == b"caf\xe9"


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\nHost: x",                # bare LF between lines
    b"GET / HTTP/1.1\r\nHost: x\nA: b",
    b"GET / HTTP/1.1\rHost: x",                # bare CR
    b"GET / HTTP/1.1\r\nA: b\rc",              # bare CR inside a value
    b"GET / HTTP/1.1\r\nA: b\r\n",             # a line break left at the end (an empty field line)
    b"GET /\r HTTP/1.1\r\nHost: x",
    b"GET / HTTP/1.1\r\n\r\nHost: x",          # an empty line inside the head
])
def test_bare_cr_or_lf_is_400(data: bytes) -> None:
    assert bad(data).status == 400


@pytest.mark.parametrize("lines", [
    ("Host: x", " folded"),          # obs-fold with a space
    ("Host: x", "\tfolded"),         # obs-fold with a tab
    (" Host: x",),                   # whitespace before the first field's name
    ("Host : x",),                   # whitespace before the colon (RFC 9112 §5.1: MUST reject)
    ("Host\t: x",),
    ("Host x",),                     # no colon
    (": x",),                        # empty name
    ("Ho st: x",),
    ("Ho\"st: x",),                  # not a token
    ("H(ost): x",),
    ("Hóst: x",),
])
def test_malformed_header_field_is_400(lines: tuple[str, ...]) -> None:
    assert bad(head("GET / HTTP/1.1", *lines)).status == 400


def test_nul_in_header_value_is_rejected_or_replaced() -> None:
    try:
        parsed = parse_head(b"GET / HTTP/1.1\r\nX-Amz-Meta-A: a\x00b")
    except BadRequest as err:
        assert err.status == 400
    else:
        assert "\x00" not in parsed.headers["X-Amz-Meta-A"]


def test_two_host_lines_are_400() -> None:
    assert bad(head("GET / HTTP/1.1", "Host: a.example", "Host: b.example")).status == 400


# -- body framing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("value, length", [("0", 0), ("5", 5), (" 7 ", 7), ("007", 7), ("5, 5", 5), ("5,5,5", 5),
                                           ("123456789012345678", 123456789012345678)])
def test_content_length(value: str, length: int) -> None:
    parsed = parse_head(head("PUT / HTTP/1.1", f"Content-Length: {value}"))
    assert (parsed.content_length, parsed.chunked) == (length, False)


def test_repeated_equal_content_lengths_are_one() -> None:
    parsed = parse_head(head("PUT / HTTP/1.1", "Content-Length: 12", "content-length: 12"))
    assert parsed.content_length == 12


@pytest.mark.parametrize("values", [
    ("5", "6"),
    ("5, 6",),
    ("5,",),          # an empty list member is not the same value
    ("0", "00x"),
])
def test_conflicting_content_lengths_are_400(values: tuple[str, ...]) -> None:
    assert bad(head("PUT / HTTP/1.1", *(f"Content-Length: {v}" for v in values))).status == 400


@pytest.mark.parametrize("value", ["", "-1", "+5", "0x10", "1e3", "5.0", "five", "\u0665", "\uff15", "\u00b2",
                                   "1234567890123456789", "1 2"])
def test_non_digit_content_length_is_400(value: str) -> None:
    line = f"PUT / HTTP/1.1\r\nContent-Length: {value}".encode()
    assert bad(line).status == 400


@pytest.mark.parametrize("te", ["chunked", "Chunked", "CHUNKED", " chunked "])
def test_chunked(te: str) -> None:
    parsed = parse_head(head("PUT / HTTP/1.1", f"Transfer-Encoding: {te}"))
    assert parsed.chunked and parsed.content_length == 0


@pytest.mark.parametrize("lines", [
    ("Transfer-Encoding: chunked", "Content-Length: 5"),
    ("Content-Length: 5", "Transfer-Encoding: chunked"),
    ("Content-Length: 0", "Transfer-Encoding: chunked"),
    ("Transfer-Encoding: gzip", "Content-Length: 5"),
])
def test_content_length_and_transfer_encoding_together_is_400(lines: tuple[str, ...]) -> None:
    assert bad(head("PUT / HTTP/1.1", *lines)).status == 400


@pytest.mark.parametrize("lines", [
    ("Transfer-Encoding: gzip",),
    ("Transfer-Encoding: gzip, chunked",),
    ("Transfer-Encoding: chunked, gzip",),
    ("Transfer-Encoding: chunked, chunked",),
    ("Transfer-Encoding: gzip", "Transfer-Encoding: chunked"),
    ("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
    ("Transfer-Encoding: identity",),
    ("Transfer-Encoding: xchunked",),
    ("Transfer-Encoding:",),
])
def test_transfer_coding_other_than_chunked_is_501(lines: tuple[str, ...]) -> None:
    assert bad(head("PUT / HTTP/1.1", *lines)).status == 501


def test_transfer_encoding_on_http_1_0_is_400() -> None:
    # RFC 9112 §6.1: a 1.0 message with Transfer-Encoding has faulty framing
    assert bad(head("PUT / HTTP/1.0", "Transfer-Encoding: chunked")).status == 400
    assert bad(head("PUT / HTTP/1.0", "Transfer-Encoding: gzip")).status == 400


@pytest.mark.parametrize("version, connection, keep_alive", [
    ("HTTP/1.1", None, True),
    ("HTTP/1.1", "keep-alive", True),
    ("HTTP/1.1", "close", False),
    ("HTTP/1.1", "Close", False),
    ("HTTP/1.1", "Upgrade, close", False),
    ("HTTP/1.0", None, False),
    ("HTTP/1.0", "keep-alive", True),
    ("HTTP/1.0", "Keep-Alive", True),
    ("HTTP/1.0", "close", False),
])
def test_keep_alive(version: str, connection: str | None, keep_alive: bool) -> None:
    lines = [f"GET / {version}", "Host: x"] + ([f"Connection: {connection}"] if connection else [])
    assert parse_head(head(*lines)).keep_alive is keep_alive


def test_close_in_a_second_connection_line() -> None:
    assert parse_head(head("GET / HTTP/1.1", "Connection: TE", "Connection: close")).keep_alive is False


@pytest.mark.parametrize("version, expect, expected", [
    ("HTTP/1.1", "100-continue", True),
    ("HTTP/1.1", "100-Continue", True),
    ("HTTP/1.1", " 100-continue ", True),
    ("HTTP/1.1", None, False),
    ("HTTP/1.1", "something-else", False),
    ("HTTP/1.0", "100-continue", False),  # RFC 9110 §10.1.1: ignore it from a 1.0 client
])
def test_expect_continue(version: str, expect: str | None, expected: bool) -> None:
    lines = [f"PUT / {version}", "Content-Length: 3"] + ([f"Expect: {expect}"] if expect is not None else [])
    assert parse_head(head(*lines)).expect_continue is expected


# -- chunked bodies --------------------------------------------------------------------------------
def encode_chunked(body: bytes, rng: random.Random, *, extensions: bool = False, trailers: bool = False) -> bytes:
    """`body` as a chunked body with random chunk sizes (hex in either case, with leading zeros now and then)."""
    out = bytearray()
    pos = 0
    while pos < len(body):
        size = rng.choice([1, 2, 3, 15, 16, 17, 255, 256, 4096, 70000, rng.randint(1, 5000)])
        piece = body[pos:pos + size]
        pos += len(piece)
        size_text = format(len(piece), rng.choice(["x", "X"]))
        if rng.random() < 0.1:
            size_text = "00" + size_text
        ext = ""
        if extensions and rng.random() < 0.5:
            ext = rng.choice([";a=b", ";name", ' ;n="quoted;value"', ";a=1;b=2", "\t;x"])
        out += f"{size_text}{ext}\r\n".encode() + piece + b"\r\n"
    out += b"0" + (b";last=1" if extensions else b"") + b"\r\n"
    if trailers:
        out += b"x-amz-checksum-crc32: AAAAAA==\r\nOther-Trailer: v\r\n"
    out += b"\r\n"
    return bytes(out)


def decode_all(decoder: ChunkedDecoder, pieces: list[bytes]) -> tuple[bytes, bytes]:
    """Feed `pieces` in order; the body and whatever followed the end."""
    body = bytearray()
    rest = b""
    for index, piece in enumerate(pieces):
        assert not decoder.done
        out, rest = decoder.feed(piece)
        for part in out:
            assert part, "no empty pieces"
            body += part
        if decoder.done:
            # nothing after the end may be lost: what was not consumed is returned
            rest += b"".join(pieces[index + 1:])
            break
    return bytes(body), rest


def random_splits(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 40)))) if len(data) > 1 else []
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


def test_chunked_fed_whole() -> None:
    decoder = ChunkedDecoder()
    pieces, rest = decoder.feed(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert b"".join(pieces) == b"hello world" and rest == b"" and decoder.done


def test_chunked_empty_body() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"0\r\n\r\n") == ([], b"")
    assert decoder.done


def test_chunked_not_done_until_the_final_crlf() -> None:
    decoder = ChunkedDecoder()
    data = b"3\r\nabc\r\n0\r\n\r\n"
    body = bytearray()
    for i in range(len(data) - 1):
        out, rest = decoder.feed(data[i:i + 1])
        body += b"".join(out)
        assert rest == b"" and not decoder.done
    out, rest = decoder.feed(data[-1:])
    assert decoder.done and rest == b"" and bytes(body) == b"abc" and out == []


def test_chunked_fed_one_byte_at_a_time() -> None:
    rng = random.Random(1)
    body = rng.randbytes(3000)
    data = encode_chunked(body, rng, extensions=True, trailers=True)
    decoder = ChunkedDecoder()
    got, rest = decode_all(decoder, [data[i:i + 1] for i in range(len(data))])
    assert got == body and rest == b"" and decoder.done


@pytest.mark.parametrize("seed", range(60))
def test_chunked_random_bodies_and_splits(seed: int) -> None:
    rng = random.Random(seed)
    body = rng.randbytes(rng.choice([0, 1, 2, 17, 255, 256, 1000, rng.randint(0, 20000), 150000]))
    # bodies full of framing look-alikes: CRLFs, digits and semicolons inside the data must not confuse the decoder
    if seed % 3 == 0:
        body = bytes(rng.choice(b"\r\n0;:a") for _ in range(len(body)))
    data = encode_chunked(body, rng, extensions=seed % 2 == 0, trailers=seed % 4 < 2)
    after = rng.choice([b"", b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n", b"\r\n", b"x"])
    decoder = ChunkedDecoder()
    got, rest = decode_all(decoder, random_splits(data + after, rng))
    assert decoder.done
    assert got == body
    assert rest == after


def test_leftover_after_the_end_is_returned() -> None:
    decoder = ChunkedDecoder()
    pieces, rest = decoder.feed(b"2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert pieces == [b"ab"] and rest == b"GET / HTTP/1.1\r\n\r\n"
    # the same when the end arrives in a later piece than the data
    decoder = ChunkedDecoder()
    assert decoder.feed(b"2\r\nab\r\n0\r") == ([b"ab"], b"")
    assert decoder.feed(b"\n\r\nNEXT") == ([], b"NEXT")


def test_trailers_are_dropped() -> None:
    decoder = ChunkedDecoder()
    pieces, rest = decoder.feed(b"3\r\nabc\r\n0\r\nx-amz-checksum-sha256: abc=\r\nA: b\r\n\r\nrest")
    assert b"".join(pieces) == b"abc" and rest == b"rest" and decoder.done


def test_chunk_extensions_are_ignored() -> None:
    decoder = ChunkedDecoder()
    data = b"3;chunk-signature=deadbeef\r\nabc\r\n2 ; a=\"b;c\"\r\nde\r\n0;chunk-signature=0\r\n\r\n"
    pieces, rest = decoder.feed(data)
    assert b"".join(pieces) == b"abcde" and rest == b"" and decoder.done


def test_hex_sizes() -> None:
    decoder = ChunkedDecoder()
    pieces, _ = decoder.feed(b"A\r\n" + b"x" * 10 + b"\r\nf\r\n" + b"y" * 15 + b"\r\n0010\r\n" + b"z" * 16
                             + b"\r\n0\r\n\r\n")
    assert b"".join(pieces) == b"x" * 10 + b"y" * 15 + b"z" * 16


@pytest.mark.parametrize("data", [
    b"x\r\n",                 # not hex
    b"\r\n",                  # empty size
    b"-1\r\n",
    b"+5\r\n",
    b"0x5\r\nhello\r\n",
    b" 5\r\nhello\r\n",       # whitespace before the size
    b"5 5\r\nhello\r\n",
    b"12345678901234567\r\n",  # 17 hex digits: over 64 bits
    b";ext\r\n",               # an extension without a size
])
def test_malformed_chunk_size_is_400(data: bytes) -> None:
    with pytest.raises(BadRequest) as info:
        ChunkedDecoder().feed(data)
    assert info.value.status == 400


@pytest.mark.parametrize("data", [
    b"3\r\nabcd\r\n0\r\n\r\n",    # data longer than its size
    b"3\r\nabc0\r\n\r\n",         # no CRLF after the data
    b"3\r\nabc\n0\r\n\r\n",       # bare LF after the data
    b"3\r\nabc\r0\r\n\r\n",       # bare CR after the data
    b"3\nabc\r\n0\r\n\r\n",       # bare LF after the size
    b"3\r\r\nabc\r\n0\r\n\r\n",   # CR CR LF
    b"3\r\nabc\r\n0\n\r\n",       # bare LF after the last size
    b"3\r\nabc\r\n0\r\n\n",       # bare LF ending the trailer section
    b"3\r\nabc\r\n0\r\nno colon here\r\n\r\n",   # malformed trailer field
])
def test_malformed_chunk_framing_is_400(data: bytes) -> None:
    with pytest.raises(BadRequest) as info:
        ChunkedDecoder().feed(data)
    assert info.value.status == 400
    # and the same when fed a byte at a time
    decoder = ChunkedDecoder()
    with pytest.raises(BadRequest):
        for i in range(len(data)):
            decoder.feed(data[i:i + 1])


def test_over_long_size_line_fed_in_pieces_is_400() -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(BadRequest):
        for _ in range(MAX_CHUNK_LINE // 100 + 2):
            decoder.feed(b"5;" + b"a" * 98)


def test_over_long_trailer_section_fed_in_pieces_is_400() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"0\r\n")
    with pytest.raises(BadRequest):
        for _ in range(MAX_TRAILER_BYTES // 1000 + 2):
            decoder.feed(b"X-T: " + b"v" * 993 + b"\r\n")


def test_size_line_never_ending_is_400_without_buffering_it_all() -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(BadRequest):
        for _ in range(MAX_CHUNK_LINE // 1000 + 2):
            decoder.feed(b"0" * 1000)  # a size line that never ends is refused once past the limit


def test_over_long_size_line_fed_whole_is_400() -> None:
    data = b"5;" + b"a" * (MAX_CHUNK_LINE + 10) + b"\r\nhello\r\n0\r\n\r\n"
    with pytest.raises(BadRequest):
        ChunkedDecoder().feed(data)


def test_feed_after_done_returns_everything() -> None:
    decoder = ChunkedDecoder()
    decoder.feed(b"0\r\n\r\n")
    assert decoder.feed(b"more") == ([], b"more")


# -- response heads --------------------------------------------------------------------------------
def serialize(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    return serialize_head(first_line, headers, len(headers))


def test_serialize_head() -> None:
    data = serialize("HTTP/1.1 200 OK\r\n", [("Content-Length", "3"), ("x-amz-meta-a", "caf\u00e9"),
                                             ("Set-Cookie", "a"), ("Set-Cookie", "b")])
    assert data == ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nx-amz-meta-a: caf\u00e9\r\n"
                    "Set-Cookie: a\r\nSet-Cookie: b\r\n\r\n").encode()
    assert serialize("HTTP/1.1 204 No Content\r\n", [("Date", "d")]) == b"HTTP/1.1 204 No Content\r\nDate: d\r\n\r\n"


@pytest.mark.parametrize("name, value", [
    ("X-Injected", "a\r\nSet-Cookie: evil=1"),
    ("X-Injected", "a\nSet-Cookie: evil=1"),
    ("X-Injected", "a\rb"),
    ("X-Injected", "\r\n"),
    ("X-Injected", "trailing\r\n"),
    ("Bad\r\nName", "v"),
    ("Bad\nName", "v"),
    ("Bad\rName", "v"),
])
def test_serialize_head_refuses_cr_lf_injection(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        serialize("HTTP/1.1 200 OK\r\n", [("Content-Length", "0"), (name, value), ("Date", "x")])


@pytest.mark.parametrize("version, status, reason, line", [
    ((1, 1), 200, None, "HTTP/1.1 200 OK\r\n"),
    ((1, 0), 200, None, "HTTP/1.0 200 OK\r\n"),
    ((1, 1), 404, None, "HTTP/1.1 404 Not Found\r\n"),
    ((1, 1), 204, None, "HTTP/1.1 204 No Content\r\n"),
    ((1, 1), 431, None, "HTTP/1.1 431 Request Header Fields Too Large\r\n"),
    ((1, 1), 505, None, "HTTP/1.1 505 HTTP Version Not Supported\r\n"),
    ((1, 1), 599, None, "HTTP/1.1 599 Unknown\r\n"),
    ((1, 1), 200, "Fine", "HTTP/1.1 200 Fine\r\n"),
    ((1, 1), 404, "Not Here", "HTTP/1.1 404 Not Here\r\n"),
])
def test_status_line(version: tuple[int, int], status: int, reason: str | None, line: str) -> None:
    assert status_line(version, status, reason) == line
    assert status_line(version, status, reason) == line  # the cached one too


def test_status_line_cache_keeps_versions_apart() -> None:
    assert status_line((1, 1), 201) == "HTTP/1.1 201 Created\r\n"
    assert status_line((1, 0), 201) == "HTTP/1.0 201 Created\r\n"
    assert status_line((1, 1), 201, "Custom") == "HTTP/1.1 201 Custom\r\n"
    assert status_line((1, 1), 201) == "HTTP/1.1 201 Created\r\n"  # a custom reason is not cached


@pytest.mark.parametrize("method, status, empty", [
    ("HEAD", 200, True), ("HEAD", 404, True), ("GET", 100, True), ("GET", 101, True), ("GET", 199, True),
    ("GET", 200, False), ("GET", 204, True), ("GET", 304, True), ("GET", 301, False),
    ("GET", 404, False), ("PUT", 500, False), ("DELETE", 204, True),
])
def test_must_be_empty(method: str, status: int, empty: bool) -> None:
    assert must_be_empty(method, status) is empty


# -- the one-regex fast path agrees with the field-by-field checks --------------------------------------
def _outcome(parse: object, data: bytes) -> object:
    try:
        parsed = parse(data)  # type: ignore[operator]
    except BadRequest as err:
        return ("bad", err.status)
    return (parsed.method, parsed.target, parsed.version, list(parsed.headers.items()), parsed.content_length,
            parsed.chunked, parsed.keep_alive, parsed.expect_continue)


def test_the_fast_path_accepts_and_refuses_exactly_what_the_checks_do() -> None:
    from miniaws.gateway.httpwire import _parse_head_checked
    seed = head("PUT /b/k%20x?X-Amz-Credential=AK%2F1&a=b HTTP/1.1", "Host: 127.0.0.1:4566", "Content-Length: 5",
                "x-amz-meta-a:  v\tw ", "Expect: 100-continue")
    alphabet = b"\r\n\x00 \t:\x7f\x80\xc3/?%aZ0-.1"
    rng = random.Random(1234)
    refused = 0
    for _ in range(4000):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            if rng.random() < 0.5 and at < len(data):
                data[at] = rng.choice(alphabet)
            else:
                data[at:at] = bytes([rng.choice(alphabet)])
        fast, checked = _outcome(parse_head, bytes(data)), _outcome(_parse_head_checked, bytes(data))
        assert fast == checked, bytes(data)
        refused += fast[0] == "bad"
    assert 500 < refused < 3500  # both kinds of input were exercised
