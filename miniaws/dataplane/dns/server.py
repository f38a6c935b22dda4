"""UDP and TCP listeners around the resolver (DESIGN §7): bytes from a socket in, the resolver's bytes out.

UDP answers each datagram inside `datagram_received`, so nothing queues between packets; replies are dropped
rather than buffered when the socket cannot keep up. TCP uses the 2-byte length prefix of RFC 1035 §4.2.2,
answers pipelined queries in order (RFC 7766 §6.2.1), stops reading while the peer is not reading its answers,
closes idle connections, and caps how many connections may be open at once.

With a forwarder (`dns_forwarder`), a query the resolver REFUSED (not in our zones) is forwarded instead and
answered when the upstream answers (forward.py); over TCP the answers still go out in query order.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import socket
from collections import deque
from collections.abc import Callable

from miniaws.dataplane.dns.forward import Forwarder, is_refused

log = logging.getLogger("miniaws.dns")

Handler = Callable[[bytes, str, bool], "bytes | None"]

#: RFC 7766 §6.2.3 recommends closing idle connections after some seconds
TCP_IDLE_SECONDS = 10.0
MAX_TCP_CONNECTIONS = 256
#: attempts to find a port free for both UDP and TCP when the port is 0
_PORT_ATTEMPTS = 20


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handle: Handler, forwarder: Forwarder | None = None) -> None:
        self.handle = handle
        self.forwarder = forwarder
        self.transport: asyncio.DatagramTransport | None = None
        #: the transport's send buffer is over its high-water mark: drop replies instead of queueing them
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = self.handle(data, addr[0], False)
        except Exception:  # a resolver bug must cost one query, not the listener
            log.exception("DNS query from %s failed", addr[0])
            return
        if self.forwarder is not None and is_refused(reply):
            self.forwarder.submit(data, False, lambda answer: self._send(answer, addr))
            return
        if reply is not None:
            self._send(reply, addr)

    def _send(self, reply: bytes, addr: tuple[str, int]) -> None:
        transport = self.transport
        if transport is not None and not self.paused and not transport.is_closing():
            transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away; nothing to do
        log.debug("DNS UDP error: %s", exc)


class _Tcp(asyncio.Protocol):
    def __init__(self, server: "DnsServer") -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.peer = ""
        self.idle: asyncio.TimerHandle | None = None
        #: answers not yet written, in query order, while a forwarded one is pending (None: still waiting)
        self.pending: deque[list[bytes | None]] = deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else ""
        if len(self.server.connections) >= MAX_TCP_CONNECTIONS:
            transport.close()
            return
        self.server.connections.add(self)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self.idle is not None:
            self.idle.cancel()

    def _arm(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        assert self.transport is not None
        self.idle = asyncio.get_running_loop().call_later(TCP_IDLE_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self._arm()
        buffer = self.buffer
        buffer += data
        while len(buffer) >= 2:
            length = (buffer[0] << 8) | buffer[1]
            if len(buffer) < 2 + length:
                break
            message = bytes(buffer[2:2 + length])
            del buffer[:2 + length]
            try:
                reply = self.server.handle(message, self.peer, True)
            except Exception:
                log.exception("DNS query from %s failed", self.peer)
                reply = None
            if reply is None:
                # a message we drop (a response, a runt) means the peer is not speaking DNS to us: hang up
                transport.close()
                return
            forwarder = self.server.forwarder
            if forwarder is not None and is_refused(reply):
                slot: list[bytes | None] = [None]
                self.pending.append(slot)
                forwarder.submit(message, True, functools.partial(self._fill, slot))
            elif self.pending:
                self.pending.append([reply])
            else:
                transport.write(len(reply).to_bytes(2, "big") + reply)

    def _fill(self, slot: list[bytes | None], answer: bytes) -> None:
        slot[0] = answer
        transport = self.transport
        while self.pending and self.pending[0][0] is not None:
            ready = self.pending.popleft()[0]
            assert ready is not None
            if transport is not None and not transport.is_closing():
                transport.write(len(ready).to_bytes(2, "big") + ready)

    # flow control: a client that does not read its answers stops being read
    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()


class DnsServer:
    """The DNS listeners on one host and port (UDP and TCP share the port number)."""

    def __init__(self, handle: Handler, host: str, port: int, forwarder: Forwarder | None = None) -> None:
        self.handle = handle
        #: where queries for names outside our zones go; None: they are REFUSED
        self.forwarder = forwarder
        self.host = host
        self.requested_port = port
        self.port = 0
        self.connections: set[_Tcp] = set()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        attempts = _PORT_ATTEMPTS if self.requested_port == 0 else 1
        for attempt in range(attempts):
            # bind the sockets ourselves: a failed bind inside create_datagram_endpoint leaks a transport (uvloop)
            udp_sock = _bind(self.host, self.requested_port, socket.SOCK_DGRAM)
            port = int(udp_sock.getsockname()[1])
            try:
                tcp_sock = _bind(self.host, port, socket.SOCK_STREAM)
            except OSError as exc:
                udp_sock.close()
                # port 0: the kernel's free UDP port may be taken for TCP; try another one
                if exc.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    raise
                continue
            with contextlib.suppress(OSError):
                udp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
            udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self.handle, self.forwarder), sock=udp_sock)
            tcp = await loop.create_server(lambda: _Tcp(self), sock=tcp_sock)
            self._udp, self._tcp, self.port = udp, tcp, port
            return

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            for connection in list(self.connections):
                if connection.transport is not None:
                    connection.transport.close()
            await self._tcp.wait_closed()
            self._tcp = None
        if self.forwarder is not None:
            await self.forwarder.close()

    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _bind(host: str, port: int, kind: socket.SocketKind) -> socket.socket:
    family, _, _, _, address = socket.getaddrinfo(host, port, type=kind, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        if kind == socket.SOCK_STREAM:
            sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
