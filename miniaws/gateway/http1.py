"""The AWS endpoint's HTTP/1.1 server: connections, keep-alive and pipelining, request bodies, flow control, shutdown.

Why not aiohttp's server here: per request it costs ~45 µs of CPU outside our handler on this machine (yarl URL,
request/response objects, payload writer), more than the whole rest of a GetObject. This server does only what
the endpoint needs and hands handlers an `HttpRequest` that offers the part of aiohttp's request API they use
(headers, body stream, multipart), so aiohttp stays everywhere else (edge, load balancers, Runtime API, clients).

Handlers answer with one of core/responses.py's types. Requests on one connection are answered in order; when the
handler answered before its request's body fully arrived, the rest is drained and the connection then closed, so
those bytes are never parsed as the next request.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import MultipartReader, StreamReader, web
from aiohttp.streams import EMPTY_PAYLOAD
from multidict import CIMultiDict, MultiDict, MultiDictProxy

from miniaws import __version__
from miniaws.core.errors import RequestEntityTooLarge
from miniaws.core.responses import PlainResponse, Response, StreamedResponse
from miniaws.core.timestamps import http_date
from miniaws.gateway.httpwire import (MAX_HEAD_BYTES, BadRequest, ChunkedDecoder, RequestHead, must_be_empty,
                                      parse_head, serialize_head, status_line)
from miniaws.protocols.querystring import split_query

log = logging.getLogger("miniaws.http")

SERVER_HEADER = f"miniaws/{__version__}"
#: an idle keep-alive connection is closed after this long (aiohttp's and nginx's default is 75 s)
KEEPALIVE_TIMEOUT = 75.0
#: body bytes buffered per request before reading from the socket pauses (back-pressure on uploads)
BODY_BUFFER_LIMIT = 256 * 1024
#: pipelined bytes buffered while a request is being answered before reading pauses
PIPELINE_BUFFER_LIMIT = 1024 * 1024
#: response bytes buffered per connection before the answer waits for the client to read (back-pressure)
WRITE_BUFFER_HIGH = 2 * 1024 * 1024
#: how long an unread request body is drained after the answer before the connection is closed anyway
LINGER_SECONDS = 5.0
#: a response body at most this large goes out in the same write as its head
_JOIN_BODY_MAX = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


Handler = Callable[["HttpRequest"], Awaitable[Response]]


class HttpRequest:
    """One request as handlers see it: the part of aiohttp's `BaseRequest` API the endpoint's code uses."""

    __slots__ = ("method", "raw_path", "version", "headers", "_content", "_body", "keep_alive", "_conn", "_expect",
                 "_path", "_query", "_content_length", "_has_body", "_read_bytes")

    def __init__(self, head: RequestHead, content: StreamReader | None, conn: "_Connection",
                 body: bytes | None = None) -> None:
        """`content`: the body as it streams in; or None with `body`, a whole body that came with the head."""
        self.method = head.method
        self.raw_path = head.target
        self.version = head.version
        self.headers = head.headers
        self._content = content
        self._body = body
        self.keep_alive = head.keep_alive
        self._conn = conn
        # a client that sent its whole body without waiting needs no 100 Continue (RFC 9110 §10.1.1 lets us omit it)
        self._expect = head.expect_continue and body is None
        self._path: str | None = None
        self._query: MultiDictProxy[str] | None = None
        self._content_length = head.content_length
        self._has_body = head.chunked or head.content_length > 0
        self._read_bytes: bytes | None = None

    @property
    def content(self) -> StreamReader:
        """The body as a stream (aiohttp's StreamReader). A body that came whole with its head gets one only when
        asked: read() hands such a body over as it is (a stream to feed and drain cost ~6 µs of a small PUT)."""
        content = self._content
        if content is None:
            content = self._content = StreamReader(self._conn, BODY_BUFFER_LIMIT,  # type: ignore[arg-type]
                                                   loop=self._conn.loop)
            if self._body and self._read_bytes is None:
                content.feed_data(self._body)
            content.feed_eof()
        return content

    # -- where it was sent --------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The path, percent-decoded (like aiohttp's `request.path`)."""
        if self._path is None:
            raw = self.raw_path.partition("?")[0]
            self._path = unquote(raw) if "%" in raw else raw
        return self._path

    @property
    def query(self) -> MultiDictProxy[str]:
        if self._query is None:
            self._query = MultiDictProxy(MultiDict(split_query(self.raw_path.partition("?")[2])))
        return self._query

    @property
    def query_string(self) -> str:
        return self.raw_path.partition("?")[2]

    @property
    def host(self) -> str:
        return self.headers.get("Host") or self._conn.local_host

    @property
    def remote(self) -> str | None:
        return self._conn.peer_host

    @property
    def transport(self) -> asyncio.Transport | None:
        return self._conn.transport

    scheme = "http"
    secure = False

    # -- the body -----------------------------------------------------------------------------------
    @property
    def can_read_body(self) -> bool:
        if self._content is None:
            return self._has_body and self._read_bytes is None
        return self._has_body and not self._content.at_eof()

    @property
    def body_exists(self) -> bool:
        return self._has_body

    @property
    def content_length(self) -> int | None:
        if "Content-Length" in self.headers:
            return self._content_length
        return None

    @property
    def awaiting_continue(self) -> bool:
        """The client asked for 100 Continue and has not been sent it: it is holding the body back."""
        return self._expect

    async def send_continue(self) -> None:
        """Answer `Expect: 100-continue` (once, and only if nothing else was written for this request)."""
        if self._expect:
            self._expect = False
            self._conn.write_interim(_CONTINUE)

    async def read(self, limit: int | None = None) -> bytes:
        """The whole body (kept: a second call returns it again, as aiohttp's does); RequestEntityTooLarge (413, in
        the caller's protocol shape) past `limit` bytes."""
        if self._read_bytes is not None:
            return self._read_bytes
        if not self._has_body:
            return b""
        if limit is not None and self._content_length > limit:
            raise RequestEntityTooLarge()  # before any 100 Continue: the client need not send what we refuse
        if self._content is None and self._body is not None:
            data = self._body
        elif limit is None or "Content-Length" in self.headers:
            await self.send_continue()
            data = await self.content.read()  # bounded by the Content-Length just checked
        else:
            await self.send_continue()
            parts = []
            size = 0
            while chunk := await self.content.readany():
                size += len(chunk)
                if size > limit:
                    raise RequestEntityTooLarge()
                parts.append(chunk)
            data = b"".join(parts)
        self._read_bytes = data
        return data

    async def multipart(self) -> MultipartReader:
        await self.send_continue()
        return MultipartReader(self.headers, self.content)


class _Connection(asyncio.Protocol):
    """One client connection: parses requests, runs the handler for one at a time, writes answers in order."""

    def __init__(self, server: "HttpServer") -> None:
        self._server = server
        self._loop = self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self.peer_host: str | None = None
        self.local_host = ""
        self._buffer = b""
        self._handling = False
        self._closing = False
        # the body of the request being read: exactly one of these is set while its bytes are still arriving
        self._body: StreamReader | None = None
        self._body_left = 0
        self._chunks: ChunkedDecoder | None = None
        # flow control
        self._reading_paused = False
        self._pipeline_paused = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._eof = False
        self._lingering = False
        self.idle_since = self._loop.time()

    # -- asyncio.Protocol -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport (uvloop's is no asyncio.Transport)
        # a streamed body goes out in ~1 MiB batches (S3 GET): with the default 64 KiB high-water mark every batch
        # paused and resumed writing a dozen times
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)  # type: ignore[attr-defined]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer_host = str(peer[0])
        local = transport.get_extra_info("sockname")
        if isinstance(local, tuple):
            host = str(local[0])
            self.local_host = f"[{host}]:{local[1]}" if ":" in host else f"{host}:{local[1]}"
        self._server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self._closing and not self._handling:
            return
        if self._body is not None:
            data = self._feed_body(data)
            if not data:
                return
        if self._lingering:
            return  # bytes after an unread body we are draining: the connection closes once it ends
        self._buffer = self._buffer + data if self._buffer else data
        if not self._handling:
            self._next_request()
        elif len(self._buffer) > PIPELINE_BUFFER_LIMIT and not self._pipeline_paused:
            self._pipeline_paused = True
            self._pause()

    def eof_received(self) -> bool:
        self._eof = True
        if self._body is not None:
            self._body.set_exception(ConnectionResetError("the client closed the connection mid-body"))
            self._body = None
            self._chunks = None
        if not self._handling:
            self._next_request()  # complete requests still buffered are answered, then the connection closes
            if not self._handling:
                self.close()
        return True  # half-closed: answers in progress (and pipelined ones) still go out; we close after them

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self.transport = None
        self._server.connections.discard(self)
        if self._body is not None:
            self._body.set_exception(ConnectionResetError("connection lost"))
            self._body = None
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionResetError("connection lost"))
        self._drain_waiter = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._drain_waiter = None

    # -- what aiohttp's StreamReader asks of its protocol -------------------------------------------
    @property
    def connected(self) -> bool:
        return self.transport is not None

    def pause_reading(self) -> None:
        if not self._lingering:
            self._pause()

    def resume_reading(self, resume_parser: bool = True) -> None:
        if not self._pipeline_paused:
            self._resume()

    # -- parsing ----------------------------------------------------------------------------------
    def _next_request(self) -> None:
        """Start the next buffered request, if its head is complete."""
        buffer = self._buffer
        if buffer.startswith(b"\r\n"):
            buffer = buffer.lstrip(b"\r\n")  # RFC 9112 §2.2: ignore empty lines before a request line
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self._buffer = buffer
            if len(buffer) > MAX_HEAD_BYTES:
                self._reject(BadRequest("request head too large", 431))
            return
        if end > MAX_HEAD_BYTES:
            self._reject(BadRequest("request head too large", 431))
            return
        try:
            head = parse_head(buffer[:end])
        except BadRequest as err:
            self._reject(err)
            return
        rest = buffer[end + 4:]
        self._buffer = b""
        content: StreamReader | None
        body = None
        if not head.chunked and 0 < head.content_length <= len(rest):
            # the whole body came with the head (most small requests)
            content = None
            body, rest = rest[:head.content_length], rest[head.content_length:]
            self._buffer = rest
        elif head.chunked or head.content_length:
            content = StreamReader(self, BODY_BUFFER_LIMIT, loop=self._loop)  # type: ignore[arg-type]
            self._body = content
            if head.chunked:
                self._chunks = ChunkedDecoder()
            else:
                self._body_left = head.content_length
            if rest:
                try:
                    rest = self._feed_body(rest)
                except BadRequest as err:
                    self._reject(err)
                    return
            self._buffer = rest
        else:
            content = EMPTY_PAYLOAD
            self._buffer = rest
        if self._server.closing:
            head.keep_alive = False
        self._handling = True
        self._loop.create_task(self._answer(HttpRequest(head, content, self, body)))

    def _feed_body(self, data: bytes) -> bytes:
        """Give body bytes to the current request's stream; returns what follows the body."""
        body = self._body
        assert body is not None
        keep = not self._lingering  # a lingering body is drained, not buffered
        chunks = self._chunks
        if chunks is None:
            left = self._body_left
            if len(data) < left:
                self._body_left = left - len(data)
                if keep:
                    body.feed_data(data)
                return b""
            if keep:
                body.feed_data(data[:left] if len(data) > left else data)
            self._body_left = 0
            rest = data[left:]
        else:
            try:
                pieces, rest = chunks.feed(data)
            except BadRequest as err:
                body.set_exception(ConnectionResetError(f"malformed chunked body: {err}"))
                self._body = self._chunks = None
                if self._lingering:
                    self.close()
                    return b""
                if self._handling:
                    self._closing = True  # the answer goes out, then the connection closes
                    return b""
                raise
            if keep:
                for piece in pieces:
                    body.feed_data(piece)
            if not chunks.done:
                return b""
            self._chunks = None
        body.feed_eof()
        self._body = None
        if self._lingering:
            self.close()
            return b""
        return rest

    def _reject(self, err: BadRequest) -> None:
        """Answer a request we cannot parse, then close (we no longer know where the next request starts)."""
        self._buffer = b""
        transport = self.transport
        if transport is None:
            return
        body = f"{err}\n".encode()
        head = serialize_head(status_line((1, 1), err.status), (
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Date", http_date(time.time())), ("Server", SERVER_HEADER), ("Connection", "close")), 5)
        transport.write(head + body)
        self.close()

    # -- answering --------------------------------------------------------------------------------
    async def _answer(self, request: HttpRequest) -> None:
        try:
            try:
                response = await self._server.handler(request)
            except Exception:
                log.exception("unhandled error answering %s %s", request.method, request.raw_path)
                response = web.Response(status=500, text="Internal Server Error")
            keep_alive = request.keep_alive and not self._closing and not self._server.closing
            unread = self._body is not None
            if unread:
                # the handler answered without the rest of the body: its bytes must not become the next request
                keep_alive = False
            if isinstance(response, StreamedResponse):
                keep_alive = await self._send_streamed(request, response, keep_alive)
            else:
                keep_alive = self._send(request, response, keep_alive)
            if keep_alive and self._write_paused:
                await self._drain()  # the client reads this answer before we produce the next pipelined one
            if unread and self._body is not None and self.transport is not None:
                if request.awaiting_continue:
                    # no 100 Continue went out, so the client sends no body after a final answer (RFC 9110 §10.1.1)
                    keep_alive = False
                else:
                    self._linger()
        except ConnectionError:
            keep_alive = False  # the client went away while we answered
        except Exception:
            log.exception("failed to send the answer to %s %s", request.method, request.raw_path)
            keep_alive = False
        self._handling = False
        self.idle_since = self._loop.time()
        if self._server.closing:
            keep_alive = False
            self._server.answered()
        if self._lingering and self.transport is not None:
            return
        if not keep_alive or self.transport is None:
            self.close()
            return
        if self._pipeline_paused:
            self._pipeline_paused = False
            self._resume()
        if self._buffer:
            self._next_request()
        if self._eof and not self._handling:
            self.close()

    def _linger(self) -> None:
        """Read and drop the rest of an unread body before closing. Closing with unread bytes in the socket makes the
        kernel send a reset that can destroy the answer before the client reads it (an upload's 403 would surface as
        a connection error in boto3); aiohttp and nginx linger the same way. Bounded by LINGER_SECONDS."""
        self._lingering = True
        body = self._body
        if body is not None:
            body.set_exception(ConnectionResetError("answered before the body was read"))
        self._resume()
        self._loop.call_later(LINGER_SECONDS, self.close)

    def _head(self, request: HttpRequest, status: int, reason: str | None, headers: CIMultiDict[str],
              length: int, keep_alive: bool) -> bytes:
        if status < 200 or status == 204 or status == 304:
            headers.popall("Content-Length", None)
            headers.popall("Transfer-Encoding", None)
        else:
            if "Content-Length" not in headers:
                if length or request.method != "HEAD":
                    headers["Content-Length"] = str(length)
            elif request.method == "HEAD" and not length:
                length = 1 if headers["Content-Length"] != "0" else 0  # HEAD: the length GET would have
            if length and "Content-Type" not in headers:
                # RFC 9110 §8.3 (and §9.3.2: HEAD answers with GET's header fields)
                headers["Content-Type"] = "application/octet-stream"
        if "Date" not in headers:
            headers["Date"] = http_date(time.time())
        if "Server" not in headers:
            headers["Server"] = SERVER_HEADER
        if not keep_alive:
            headers["Connection"] = "close"
        elif request.version < (1, 1):
            headers["Connection"] = "keep-alive"
        return serialize_head(status_line(request.version, status, reason), headers.items(), len(headers))

    def _send(self, request: HttpRequest, response: web.Response | PlainResponse, keep_alive: bool) -> bool:
        if response.keep_alive is False:
            keep_alive = False
        body = response.body
        if body is None:
            data = b""
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            raise TypeError(f"unsupported response body {type(body).__name__} (use StreamedResponse)")
        status = response.status
        declared = response.headers.get("Content-Length")
        if data and declared is not None and declared != str(len(data)) and not must_be_empty(request.method, status):
            # a handler bug: the client reads `declared` bytes, and the rest would be parsed as the next answer
            log.error("answer to %s %s has %d body bytes but Content-Length %s: closing the connection after it",
                      request.method, request.raw_path, len(data), declared)
            keep_alive = False
        head = self._head(request, status, response.reason, response.headers, len(data),
                          keep_alive)
        transport = self.transport
        if transport is None:
            return False
        if not data or must_be_empty(request.method, status):
            transport.write(head)
        elif len(data) <= _JOIN_BODY_MAX:
            transport.write(head + data)
        else:
            transport.write(head)
            transport.write(data)
        return keep_alive

    async def _send_streamed(self, request: HttpRequest, response: StreamedResponse, keep_alive: bool) -> bool:
        chunks = response.chunks
        try:
            head = self._head(request, response.status, None, response.headers, response.content_length, keep_alive)
            if self.transport is None:
                return False
            self.transport.write(head)
            if chunks is None or must_be_empty(request.method, response.status):
                return keep_alive
            sent = 0
            async for chunk in chunks:
                if self.transport is None:
                    return False
                self.transport.write(chunk)
                sent += len(chunk)
                if self._write_paused:
                    await self._drain()
            if sent != response.content_length:
                # the body came out shorter or longer than its Content-Length: the client must not wait for more
                log.error("streamed body for %s was %d bytes, not %d", request.raw_path, sent, response.content_length)
                return False
            return keep_alive
        finally:
            if chunks is not None:
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()

    async def _drain(self) -> None:
        if self.transport is None:
            raise ConnectionResetError("connection lost")
        waiter = self._drain_waiter
        if waiter is None:
            waiter = self._drain_waiter = self._loop.create_future()
        await waiter

    def write_interim(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    # -- flow control and closing -----------------------------------------------------------------
    def _pause(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    @property
    def idle(self) -> bool:
        return not self._handling

    def close(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.close()  # flushes what is buffered first


class HttpServer:
    """Listens on one address and serves `handler`; `stop()` lets in-flight requests finish."""

    def __init__(self, handler: Handler, keepalive_timeout: float = KEEPALIVE_TIMEOUT) -> None:
        self.handler = handler
        self.keepalive_timeout = keepalive_timeout
        self.connections: set[_Connection] = set()
        self.closing = False
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._drained = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    async def start(self, host: str, port: int) -> list[tuple[str, int]]:
        """Bind and listen; returns the bound (host, port) addresses."""
        self._server = await self.loop.create_server(lambda: _Connection(self), host, port, reuse_address=True,
                                                     backlog=1024)
        for sock in self._server.sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._schedule_sweep()
        return [tuple(sock.getsockname()[:2]) for sock in self._server.sockets]

    def _schedule_sweep(self) -> None:
        self._sweeper = self.loop.call_later(max(1.0, self.keepalive_timeout / 5), self._sweep)

    def _sweep(self) -> None:
        """Close keep-alive connections idle past the timeout (one timer for all, not one per request)."""
        deadline = self.loop.time() - self.keepalive_timeout
        for conn in [c for c in self.connections if c.idle and c.idle_since < deadline]:
            conn.close()
        self._schedule_sweep()

    def answered(self) -> None:
        """While stopping: a connection finished its last answer (and is closing)."""
        if not any(not c.idle for c in self.connections):
            self._drained.set()

    async def stop(self, grace: float) -> None:
        """Stop accepting, close idle connections, give in-flight requests `grace` seconds, then close the rest."""
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._server is not None:
            self._server.close()
        for conn in [c for c in self.connections if c.idle]:
            conn.close()
        if any(not c.idle for c in self.connections):
            try:
                await asyncio.wait_for(self._drained.wait(), grace)
            except asyncio.TimeoutError:
                log.warning("stopping with %d request(s) still in flight", sum(not c.idle for c in self.connections))
        for conn in list(self.connections):
            # a connection still answering after the grace is cut; one that finished (closing) flushes what it
            # wrote first
            if not conn.idle and conn.transport is not None:
                conn.transport.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None


__all__ = ["Handler", "HttpRequest", "HttpServer", "Response", "StreamedResponse"]
