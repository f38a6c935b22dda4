"""The DNS load client: a fixed number of outstanding queries over UDP (one socket) or TCP (one connection each).

Runs in its own process pinned to the client core: ``python -m benchmarks.dnsload SPEC.pickle`` prints one JSON
line. Each query gets a fresh id; a reply is matched by id and timed from send to receipt. A UDP query without an
answer after ``LOST_AFTER_S`` counts as an error and is replaced, so the number outstanding stays fixed.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import child

LOST_AFTER_S = 1.0


@dataclass(frozen=True, slots=True)
class DnsLoadSpec:
    host: str
    port: int
    tcp: bool
    #: query packets sent in turn (their first two bytes are replaced by the id)
    packets: list[bytes]
    concurrency: int
    warmup_s: float
    duration_s: float
    max_requests: int
    cpu: int | None = None


@dataclass(slots=True)
class DnsCell:
    requests: int = 0
    elapsed_s: float = 0.0
    qps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0
    client_cpu: float = 0.0
    rcodes: dict[str, int] = field(default_factory=dict)
    server_cpu: float = 0.0


class _Run:
    def __init__(self, spec: DnsLoadSpec) -> None:
        self.spec = spec
        self.packets = itertools.cycle(spec.packets)
        self.ids = itertools.cycle(range(1, 65536))
        self.sent: dict[int, int] = {}
        self.latencies: list[int] = []
        self.rcodes: dict[int, int] = {}
        self.errors = 0
        self.measuring = False
        self.start_ns = 0
        self.last_ns = 0
        self.done = asyncio.Event()
        self.udp: asyncio.DatagramTransport | None = None

    def _packet(self) -> tuple[int, bytes]:
        ident = next(self.ids)
        while ident in self.sent:
            ident = next(self.ids)
        self.sent[ident] = time.perf_counter_ns()
        return ident, ident.to_bytes(2, "big") + next(self.packets)[2:]

    def _received(self, data: bytes) -> bool:
        ident = int.from_bytes(data[:2], "big")
        began = self.sent.pop(ident, None)
        if began is None:
            return False
        now = time.perf_counter_ns()
        if self.measuring:
            self.latencies.append(now - began)
            self.last_ns = now
            rcode = data[3] & 0xF if len(data) > 3 else -1
            self.rcodes[rcode] = self.rcodes.get(rcode, 0) + 1
            if len(self.latencies) >= self.spec.max_requests:
                self.done.set()
        return True

    async def run(self) -> DnsCell:
        loop = asyncio.get_running_loop()
        if self.spec.tcp:
            await self._start_tcp(loop)
        else:
            await self._start_udp(loop)
        await asyncio.sleep(self.spec.warmup_s)
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        self.measuring, self.start_ns = True, time.perf_counter_ns()
        try:
            await asyncio.wait_for(self.done.wait(), self.spec.duration_s)
        except asyncio.TimeoutError:
            pass
        self.measuring = False
        cpu = (time.process_time() - cpu_before) / max(time.perf_counter() - wall_before, 1e-9)
        return self._summary(cpu)

    # -- UDP: one socket, `concurrency` ids in flight ------------------------------------------------
    async def _start_udp(self, loop: asyncio.AbstractEventLoop) -> None:
        run = self

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                if run._received(data):
                    run._send_udp()

        self.udp, _ = await loop.create_datagram_endpoint(Client, remote_addr=(self.spec.host, self.spec.port))
        for _ in range(self.spec.concurrency):
            self._send_udp()
        loop.call_later(0.1, self._sweep, loop)

    def _send_udp(self) -> None:
        assert self.udp is not None
        self.udp.sendto(self._packet()[1])

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        cutoff = time.perf_counter_ns() - int(LOST_AFTER_S * 1e9)
        lost = [ident for ident, began in self.sent.items() if began < cutoff]
        for ident in lost:
            del self.sent[ident]
            if self.measuring:
                self.errors += 1
            self._send_udp()
        loop.call_later(0.1, self._sweep, loop)

    # -- TCP: `concurrency` connections, one query outstanding on each ----------------------------------
    async def _start_tcp(self, loop: asyncio.AbstractEventLoop) -> None:
        run = self

        class Client(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport: asyncio.Transport = transport  # type: ignore[assignment]
                self.buffer = bytearray()
                self.send()

            def send(self) -> None:
                packet = run._packet()[1]
                self.transport.write(len(packet).to_bytes(2, "big") + packet)

            def data_received(self, data: bytes) -> None:
                self.buffer += data
                while len(self.buffer) >= 2:
                    size = (self.buffer[0] << 8) | self.buffer[1]
                    if len(self.buffer) < 2 + size:
                        return
                    message = bytes(self.buffer[2:2 + size])
                    del self.buffer[:2 + size]
                    run._received(message)
                    self.send()

        for _ in range(self.spec.concurrency):
            await loop.create_connection(Client, self.spec.host, self.spec.port)

    def _summary(self, cpu: float) -> DnsCell:
        lat = sorted(self.latencies)
        n = len(lat)
        elapsed = max(self.last_ns - self.start_ns, 1) / 1e9 if n else 0.0

        def pct(p: float) -> float:
            return lat[max(0, math.ceil(p / 100 * n) - 1)] / 1e6 if n else 0.0

        names = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
        return DnsCell(requests=n, elapsed_s=round(elapsed, 4), qps=round(n / elapsed, 1) if n else 0.0,
                       p50_ms=round(pct(50), 3), p99_ms=round(pct(99), 3), errors=self.errors,
                       client_cpu=round(cpu, 3), rcodes={names.get(k, str(k)): v for k, v in self.rcodes.items()})


class LoadError(Exception):
    """The load client failed; the message quotes its last stderr line."""


def run_cell(spec: DnsLoadSpec, workdir: Path) -> DnsCell:
    """Run one measurement in a fresh client process (parent side)."""
    return DnsCell(**child.run("benchmarks.dnsload", spec, workdir / "dnsload.pickle",
                               spec.warmup_s + spec.duration_s + 60, LoadError))


def main(argv: list[str] | None = None) -> None:
    child.main("benchmarks.dnsload", lambda spec: _Run(spec).run(), argv)

if __name__ == "__main__":
    main()
