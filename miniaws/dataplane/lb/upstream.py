"""The load balancer's HTTP/1.1 client to its targets: one asyncio Protocol per connection, a keep-alive pool per
target, and the idle timeout.

A request goes out in one write (head and a buffered body together); the response is parsed by `http1`. Body
pieces queue in the connection until the proxy takes them, and the connection stops reading from the target while
more than `HIGH_WATER` bytes wait (backpressure for large bodies). A connection returns to its pool only after a
complete, keep-alive response with nothing after it; one that failed, timed out, or said `Connection: close` is
closed. Pooled connections are closed once idle for the load balancer's idle timeout (AWS closes target
connections idle that long: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/
edit-load-balancer-attributes.html#connection-idle-timeout), and one the target closed is never handed out.

Errors: failing to connect or any broken exchange raises `TargetFailed` (the proxy's 502); no byte from the target
for the idle timeout raises `TargetTimeout` (504).
"""
from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator

from miniaws.dataplane.lb.http1 import ProtocolError, ResponseHead, ResponseParser

#: bytes of response body queued before reading from the target pauses, and resumes
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024

PoolKey = tuple[str, int, bool]


class TargetFailed(Exception):
    """The target refused, reset or broke the exchange (HTTP 502)."""


class TargetTimeout(TargetFailed):
    """The target sent nothing for the idle timeout (HTTP 504)."""


class UpstreamConnection(asyncio.Protocol):
    """One connection to a target, carrying one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, key: PoolKey) -> None:
        self.loop = loop
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        #: loop.time() after which a pooled connection is closed
        self.expires = 0.0
        self._parser: ResponseParser | None = None
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._paused_reading = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._paused_writing = False
        self._error: TargetFailed | None = None
        self._idle = 0.0
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # -- protocol callbacks -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # each request is one write: never hold it back waiting for an ACK (Nagle)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self._error is not None:
            # nothing was asked: an unsolicited answer means the connection cannot be reused
            self.close()
            return
        self._last = self.loop.time()
        try:
            pieces = parser.feed(data)
        except ProtocolError as exc:
            self._fail(TargetFailed(str(exc)))
            return
        if pieces:
            self._chunks.extend(pieces)
            for piece in pieces:
                self._queued += len(piece)
            if self._queued > HIGH_WATER and not self._paused_reading and self.transport is not None:
                self._paused_reading = True
                self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        parser = self._parser
        if parser is not None and self._error is None:
            try:
                parser.feed_eof()
            except ProtocolError as exc:
                self._fail(TargetFailed(str(exc)))
        self.closed = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        parser = self._parser
        if parser is not None and not parser.done and self._error is None:
            self._error = TargetFailed(f"connection lost: {exc}" if exc else "connection closed")
        self._cancel_timer()
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    # -- one exchange -------------------------------------------------------------------------------
    def begin(self, idle: float, head_request: bool) -> None:
        """Start an exchange: a fresh response parser and the idle timer."""
        self._parser = ResponseParser(head_request)
        self._chunks.clear()
        self._queued = 0
        self._error = None
        self._last = self.loop.time()
        # one timer per connection, re-armed from `_last` when it fires early: a busy connection does not make
        # (and cancel) a timer per request
        if self._timer is not None and idle != self._idle:
            self._cancel_timer()
        self._idle = idle
        if self._timer is None:
            self._timer = self.loop.call_at(self._last + idle, self._check_idle)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.closed:
            raise self._error or TargetFailed("connection closed")
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the target is not reading what we send."""
        if self._paused_writing and self.transport is not None:
            self._drained = self.loop.create_future()
            await self._drained
        if self._error is not None:
            raise self._error

    async def response_head(self) -> ResponseHead:
        parser = self._parser
        assert parser is not None
        while parser.head is None:
            await self._wait()
        return parser.head

    def complete_body(self) -> bytes | None:
        """The whole body when it has all arrived already (the fast path for small responses), else None."""
        parser = self._parser
        if parser is None or not parser.done:
            return None
        body = b"".join(self._chunks) if len(self._chunks) != 1 else self._chunks[0]
        self._chunks.clear()
        self._queued = 0
        return body

    async def read(self) -> bytes:
        """The next piece of the body; b"" at its end."""
        parser = self._parser
        assert parser is not None
        while not self._chunks:
            if parser.done:
                return b""
            await self._wait()
        piece = self._chunks.popleft()
        self._queued -= len(piece)
        self._last = self.loop.time()
        if self._paused_reading and self._queued <= LOW_WATER and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()
        return piece

    async def read_all(self) -> bytes:
        parts: list[bytes] = []
        while True:
            piece = await self.read()
            if not piece:
                return b"".join(parts)
            parts.append(piece)

    async def iter_body(self) -> AsyncIterator[bytes]:
        while True:
            piece = await self.read()
            if not piece:
                return
            yield piece

    @property
    def reusable(self) -> bool:
        parser = self._parser
        return (parser is not None and parser.reusable and self._error is None and not self.closed
                and not self._chunks and self.transport is not None and not self._paused_reading)

    def finish(self) -> None:
        """The exchange is over (either way); later bytes from the target are unsolicited. The idle timer stays
        armed: it finds no exchange when it fires and stops (a pooled connection's expiry is the pool's)."""
        self._parser = None

    def close(self) -> None:
        self.closed = True
        self._cancel_timer()
        if self.transport is not None:
            self.transport.close()

    # -- internals ----------------------------------------------------------------------------------
    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        if self.closed:
            raise TargetFailed("connection closed")
        waiter = self._waiter = self.loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
        if self._error is not None:
            raise self._error

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: TargetFailed) -> None:
        if self._error is None:
            self._error = error
        self.close()
        self._wake()

    def _check_idle(self) -> None:
        self._timer = None
        parser = self._parser
        if parser is None or parser.done or self.closed:
            return
        due = self._last + self._idle
        if self.loop.time() >= due:
            self._fail(TargetTimeout("no data from the target within the idle timeout"))
        else:
            self._timer = self.loop.call_at(due, self._check_idle)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class UpstreamPool:
    """Idle keep-alive connections per target (host, port, TLS), newest first."""

    def __init__(self) -> None:
        self._idle: dict[PoolKey, deque[UpstreamConnection]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    async def acquire(self, host: str, port: int, tls: bool, timeout: float) -> UpstreamConnection:
        key = (host, port, tls)
        idle = self._idle.get(key)
        loop = asyncio.get_running_loop()
        if idle:
            now = loop.time()
            while idle:
                conn = idle.pop()
                if not conn.closed and conn.expires > now:
                    return conn
                conn.close()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(
                lambda: UpstreamConnection(loop, key), host, port, ssl=self._context() if tls else None),
                timeout)
        except asyncio.TimeoutError:
            raise TargetTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise TargetFailed(f"connecting to {host}:{port}: {exc}") from None
        return conn

    def release(self, conn: UpstreamConnection, keep_for: float) -> None:
        """Back to the pool after a clean exchange, else closed."""
        reusable = conn.reusable
        conn.finish()
        if self._closed or not reusable:
            conn.close()
            return
        loop = self._loop = conn.loop
        conn.expires = loop.time() + keep_for
        idle = self._idle.get(conn.key)
        if idle is None:
            idle = self._idle[conn.key] = deque()
        idle.append(conn)
        if self._sweeper is None:
            self._sweeper = loop.call_at(conn.expires, self._sweep)

    def discard(self, conn: UpstreamConnection) -> None:
        conn.finish()
        conn.close()

    def _sweep(self) -> None:
        """Close pooled connections idle past their expiry; run again at the next expiry."""
        self._sweeper = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        nearest = None
        for key, idle in list(self._idle.items()):
            kept: deque[UpstreamConnection] = deque()
            for conn in idle:
                if not conn.closed and conn.expires > now:
                    kept.append(conn)
                else:
                    conn.close()
            if kept:
                self._idle[key] = kept
                soonest = min(c.expires for c in kept)
                nearest = soonest if nearest is None else min(nearest, soonest)
            else:
                del self._idle[key]
        if nearest is not None:
            self._sweeper = loop.call_at(nearest, self._sweep)

    def _context(self) -> ssl.SSLContext:
        # ALB does not validate target certificates (target-group-register-targets.html#register-https-targets)
        if self._tls is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls

    def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
