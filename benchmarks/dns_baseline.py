"""Bare asyncio + uvloop DNS server: the ceiling for the ``dns`` suite.

It answers every UDP datagram and every TCP message with one precomputed response (an A answer for
``www.bench.test``, with an OPT record), patching only the id. No parsing, no lookup, no cache: no Python DNS
server can do less per query. Run: ``python -m benchmarks.dns_baseline --port 0``; prints
``DNS udp+tcp HOST:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket

from dnslib import EDNS0, QTYPE, RR, A, DNSHeader, DNSQuestion, DNSRecord


def precomputed_answer() -> bytes:
    record = DNSRecord(DNSHeader(id=0, qr=1, aa=1, rd=1), q=DNSQuestion("www.bench.test", QTYPE.A))
    record.add_answer(RR("www.bench.test", QTYPE.A, ttl=60, rdata=A("192.0.2.1")))
    record.add_ar(EDNS0(udp_len=1232))
    return bytes(record.pack())


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, tail: bytes) -> None:
        self.tail = tail
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data[:2] + self.tail, addr)


class _Tcp(asyncio.Protocol):
    def __init__(self, tail: bytes) -> None:
        self.tail = tail
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while len(self.buffer) >= 2:
            size = (self.buffer[0] << 8) | self.buffer[1]
            if len(self.buffer) < 2 + size:
                break
            reply = bytes(self.buffer[2:4]) + self.tail
            del self.buffer[:2 + size]
            self.transport.write(len(reply).to_bytes(2, "big") + reply)


async def serve(host: str, port: int) -> None:
    tail = precomputed_answer()[2:]
    loop = asyncio.get_running_loop()
    udp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_sock.bind((host, port))
    bound = udp_sock.getsockname()[1]
    udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(tail), sock=udp_sock)
    tcp = await loop.create_server(lambda: _Tcp(tail), host, bound, reuse_address=True)
    print(f"DNS udp+tcp {host}:{bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    udp.close()
    tcp.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dns_baseline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
