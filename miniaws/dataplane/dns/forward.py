"""The upstream forwarder (`dns_forwarder`): queries for names outside our zones go to one upstream resolver.

The resolver stays synchronous; the listeners (server.py) hand a query here when the resolver REFUSED it (a name
in no hosted zone and owned by no service, or a class other than IN). The query goes to the upstream over UDP
from a fresh socket with a fresh random id (so an off-path answer must guess both); a UDP client gets the
upstream's answer as is (TC included: the client retries over TCP), a TCP client gets it over TCP from the
upstream when the UDP answer was truncated. The answer carries the client's id. No answer within the timeout (or
an unreachable upstream) is SERVFAIL. At most `limit` forwards are outstanding; beyond that, SERVFAIL at once, so a
flood cannot grow memory without bound. Nothing is cached.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

from miniaws.dataplane.dns import wire

log = logging.getLogger("miniaws.dns")

#: seconds for the whole exchange with the upstream (UDP, and TCP after a truncated answer)
FORWARD_TIMEOUT = 2.0
#: forwarded queries in flight at once
MAX_OUTSTANDING = 1024


def parse_upstream(text: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` → (host, port); port 53 when not given. ValueError if bad."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(text)
        port_text = rest[1:] if rest else "53"
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, "53"  # a bare IPv6 address (no port) or a host name
    port = int(port_text)
    if not host or not 0 < port <= 65535:
        raise ValueError(text)
    return host, port


def is_refused(reply: bytes | None) -> bool:
    """Whether the resolver's reply is REFUSED (the only way it says "not ours")."""
    return reply is not None and len(reply) >= 4 and reply[3] & 0xF == wire.REFUSED


def servfail(data: bytes) -> bytes:
    try:
        return wire.question_only(wire.parse_query(data), wire.SERVFAIL)
    except (wire.Malformed, wire.Ignored):
        flags = int.from_bytes(data[2:4], "big") if len(data) >= 4 else 0
        return wire.header_only(int.from_bytes(data[:2], "big") if len(data) >= 2 else 0, flags, wire.SERVFAIL)


class _OneAnswer(asyncio.DatagramProtocol):
    """A connected UDP socket waiting for the one datagram answering `ident`."""

    def __init__(self, ident: int, answer: asyncio.Future[bytes]) -> None:
        self.ident = ident
        self.answer = answer

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) >= 12 and int.from_bytes(data[:2], "big") == self.ident and data[2] & 0x80 \
                and not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


class Forwarder:
    def __init__(self, upstream: str, timeout: float = FORWARD_TIMEOUT, limit: int = MAX_OUTSTANDING) -> None:
        self.host, self.port = parse_upstream(upstream)
        self.timeout = timeout
        self.limit = limit
        self.tasks: set[asyncio.Task[bytes]] = set()
        self.stats = {"forwarded": 0, "failed": 0}

    def submit(self, data: bytes, tcp: bool, deliver: Callable[[bytes], None]) -> asyncio.Task[bytes] | None:
        """Forward `data`; `deliver` gets the answer (never called if the forwarder closes first). None (and
        SERVFAIL delivered at once) when too many forwards are outstanding."""
        if len(self.tasks) >= self.limit:
            self.stats["failed"] += 1
            deliver(servfail(data))
            return None
        task = asyncio.get_running_loop().create_task(self.forward(data, tcp))
        self.tasks.add(task)

        def done(finished: asyncio.Task[bytes]) -> None:
            self.tasks.discard(finished)
            if not finished.cancelled():
                deliver(finished.result())

        task.add_done_callback(done)
        return task

    async def forward(self, data: bytes, tcp: bool) -> bytes:
        """The upstream's answer to `data` with the client's id; SERVFAIL on timeout or error. Never raises."""
        ident = secrets.randbelow(65536)
        query = ident.to_bytes(2, "big") + data[2:]
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self._udp(query, ident)
                if tcp and answer[2] & (wire.TC >> 8):
                    answer = await self._tcp(query, ident)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            log.debug("DNS forward to %s:%s failed: %r", self.host, self.port, exc)
            self.stats["failed"] += 1
            return servfail(data)
        self.stats["forwarded"] += 1
        return data[:2] + answer[2:]

    async def _udp(self, query: bytes, ident: int) -> bytes:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(lambda: _OneAnswer(ident, answer),
                                                           remote_addr=(self.host, self.port))
        try:
            transport.sendto(query)
            return await answer
        finally:
            transport.close()

    async def _tcp(self, query: bytes, ident: int) -> bytes:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(len(query).to_bytes(2, "big") + query)
            await writer.drain()
            while True:
                length = int.from_bytes(await reader.readexactly(2), "big")
                answer = await reader.readexactly(length)
                if len(answer) >= 12 and int.from_bytes(answer[:2], "big") == ident:
                    return answer
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
