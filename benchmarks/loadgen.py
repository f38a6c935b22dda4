"""HTTP/1.1 keep-alive load client on raw asyncio transports (uvloop), run as its own pinned process.

The parent pickles a LoadSpec to a file and runs ``python -m benchmarks.loadgen SPEC``; the child prints
one JSON CellResult. Requests are pre-built bytes, so the timed loop only writes and parses minimally.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from benchmarks import child

_INLINE_BODY_MAX = 64 * 1024
_RECV_BUFFER = 256 * 1024
_MAX_HEAD = 64 * 1024
# A cell that has not completed one request per connection by the end of its window runs on to here.
_SLOW_CELL_S = 30.0
# How long in-flight requests may run past the cell before they count as timed out.
_GRACE_S = 10.0


@dataclass(slots=True)
class LoadSpec:
    host: str
    port: int
    heads: list[bytes]  # request line + headers, each ending in CRLF CRLF; cycled in order
    body: bytes  # sent after every head (b"" for GET)
    concurrency: int
    warmup_s: float
    duration_s: float
    max_requests: int
    cpu: int | None = None


@dataclass(slots=True)
class CellResult:
    requests: int  # completed in the timed window (errors included)
    elapsed_s: float
    ops_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors: int
    statuses: dict[str, int] = field(default_factory=dict)
    client_cpu: float = 0.0  # share of one core the client used; near 1.0 means it may be the limit
    server_cpu: float = 0.0  # share of one core the server used (filled in by the harness)
    other_cpu: float = 0.0  # cores used by everything else on the machine (filled in by the harness)
    bytes_received: int = 0  # all response bytes, warm-up included: a check that bodies really arrived
    first_error: str = ""


class LoadgenError(Exception):
    """The load client process itself failed."""


_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_BODY, _TRAILER, _UNTIL_CLOSE = range(6)


class _Connection(asyncio.BufferedProtocol):
    """One keep-alive connection; parses just enough of each response to find where it ends.

    Bodies land in one reusable buffer and are only counted: with StreamReader every body byte was
    copied two or three times and the client, not the server, capped 1 MiB GETs.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray(_RECV_BUFFER)
        self._view = memoryview(self._buf)
        self._pending = bytearray()  # a head or chunk line split across reads
        self._state = _HEAD
        self._remaining = 0
        self._status = 0
        self._keep = True
        self._waiter: asyncio.Future[tuple[int, bool]] | None = None
        self.received = 0

    # asyncio.BufferedProtocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport does not subclass asyncio.Transport, so no isinstance check here.
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self.received += nbytes
        try:
            self._feed(nbytes)
        except Exception as exc:  # a malformed response fails this request, not the run
            self._fail(exc)
            assert self.transport is not None
            self.transport.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._state == _UNTIL_CLOSE:
            self._finish()
        self._fail(exc or ConnectionResetError("server closed the connection"))

    # client side

    async def request(self, data: bytes, body: bytes) -> tuple[int, bool]:
        """Send one request; returns (status, connection reusable)."""
        if self.transport is None:
            raise ConnectionResetError("connection already closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        if body:
            self.transport.write(body)
        return await self._waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # parsing

    def _fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _finish(self) -> None:
        self._state = _HEAD
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((self._status, self._keep))

    def _until(self, pos: int, end: int, delim: bytes) -> tuple[bytes | None, int]:
        """The bytes up to and including ``delim`` and the position after it, or (None, end)."""
        buf, pending = self._buf, self._pending
        if not pending:
            at = buf.find(delim, pos, end)
            if at >= 0:
                return bytes(buf[pos : at + len(delim)]), at + len(delim)
        kept = len(pending)
        pending += buf[pos:end]
        at = pending.find(delim, max(0, kept - len(delim) + 1))
        if at < 0:
            if len(pending) > _MAX_HEAD:
                raise ValueError("response head too long")
            return None, end
        found = bytes(pending[: at + len(delim)])
        pending.clear()
        return found, pos + at + len(delim) - kept

    def _feed(self, end: int) -> None:
        pos = 0
        while pos < end:
            state = self._state
            if state in (_BODY, _CHUNK_BODY):
                take = min(self._remaining, end - pos)
                self._remaining -= take
                pos += take
                if not self._remaining:
                    if state == _BODY:
                        self._finish()
                    else:
                        self._state = _CHUNK_SIZE
            elif state == _HEAD:
                head, pos = self._until(pos, end, b"\r\n\r\n")
                if head is not None:
                    self._start_body(head)
            elif state == _CHUNK_SIZE:
                line, pos = self._until(pos, end, b"\r\n")
                if line is not None:
                    size = int(line.split(b";", 1)[0], 16)
                    self._state, self._remaining = (_CHUNK_BODY, size + 2) if size else (_TRAILER, 0)
            elif state == _TRAILER:
                line, pos = self._until(pos, end, b"\r\n")
                if line == b"\r\n":
                    self._finish()
            else:  # _UNTIL_CLOSE: the body ends when the server closes
                pos = end

    def _start_body(self, head: bytes) -> None:
        self._status = status = int(head[9:12])
        lower = head.lower()
        self._keep = b"\r\nconnection: close" not in lower and (
            not head.startswith(b"HTTP/1.0") or b"\r\nconnection: keep-alive" in lower
        )
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            self._remaining = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
            if self._remaining:
                self._state = _BODY
            else:
                self._finish()
            return
        at = lower.find(b"\r\ntransfer-encoding:")
        if at >= 0 and b"chunked" in lower[at : lower.index(b"\r\n", at + 2)]:
            self._state = _CHUNK_SIZE
        elif status < 200 or status in (204, 304):
            self._finish()
        else:
            self._state, self._keep = _UNTIL_CLOSE, False


class _Run:
    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        inline = len(spec.body) <= _INLINE_BODY_MAX
        # One write per request for small bodies; a big body is written after its head, uncopied.
        self.requests = [head + spec.body for head in spec.heads] if inline else list(spec.heads)
        self.body = b"" if inline else spec.body
        self.next = 0
        self.latencies: list[int] = []
        self.statuses: Counter[str] = Counter()
        self.errors = 0
        self.first_error = ""
        self.last_done = 0
        self.received = 0
        # A slow server still gets one completed request per connection, up to a hard limit.
        self.min_requests = spec.concurrency
        now = time.perf_counter_ns()
        self.measure_start = now + int(spec.warmup_s * 1e9)
        self.measure_end = self.measure_start + int(spec.duration_s * 1e9)
        self.hard_end = self.measure_start + int(max(spec.duration_s, _SLOW_CELL_S) * 1e9)

    def _stop(self, now: int) -> bool:
        done = len(self.latencies)
        return (
            done >= self.spec.max_requests
            or now >= self.hard_end
            or (now >= self.measure_end and done >= self.min_requests)
        )

    def _record(self, started: int, status: str, ok: bool, detail: str) -> None:
        done = time.perf_counter_ns()
        # Completions inside the window count, wherever they started: what a server finishes per second.
        if done < self.measure_start:
            return
        self.latencies.append(done - started)
        self.statuses[status] += 1
        self.last_done = max(self.last_done, done)
        if not ok:
            self.errors += 1
            self.first_error = self.first_error or detail

    async def worker(self) -> None:
        spec, requests, body = self.spec, self.requests, self.body
        count = len(requests)
        loop = asyncio.get_running_loop()
        conn: _Connection | None = None
        try:
            while True:
                started = time.perf_counter_ns()
                if self._stop(started):
                    return
                try:
                    if conn is None:
                        _, conn = await loop.create_connection(_Connection, spec.host, spec.port)
                    data = requests[self.next % count]
                    self.next += 1
                    status, keep = await conn.request(data, body)
                except (OSError, ValueError) as exc:
                    self._record(started, "conn-error", False, f"{type(exc).__name__}: {exc}")
                    if conn is not None:
                        self.received += conn.received
                        conn.close()
                        conn = None
                    await asyncio.sleep(0.001)  # don't spin on a refusing server
                    continue
                self._record(started, str(status), 200 <= status < 300, f"HTTP {status}")
                if not keep:
                    self.received += conn.received
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                self.received += conn.received
                conn.close()

    async def run(self) -> CellResult:
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        tasks = [asyncio.create_task(self.worker()) for _ in range(self.spec.concurrency)]
        budget = (self.hard_end - time.perf_counter_ns()) / 1e9 + _GRACE_S
        _, pending = await asyncio.wait(tasks, timeout=budget)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            self.errors += len(pending)
            self.statuses["timeout"] += len(pending)
            self.first_error = self.first_error or f"no response within {_GRACE_S:g} s after the window"
        for task in tasks:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
        cpu = (time.process_time() - cpu_before) / max(time.perf_counter() - wall_before, 1e-9)
        return self._summary(cpu)

    def _summary(self, cpu: float) -> CellResult:
        lat = sorted(self.latencies)
        n = len(lat)
        elapsed = max(self.last_done - self.measure_start, 1) / 1e9 if n else 0.0

        def pct(p: float) -> float:
            return lat[max(0, math.ceil(p / 100 * n) - 1)] / 1e6 if n else 0.0

        return CellResult(
            requests=n,
            elapsed_s=round(elapsed, 4),
            ops_per_s=round(n / elapsed, 1) if n else 0.0,
            p50_ms=round(pct(50), 3),
            p90_ms=round(pct(90), 3),
            p99_ms=round(pct(99), 3),
            max_ms=round(lat[-1] / 1e6, 3) if n else 0.0,
            mean_ms=round(sum(lat) / n / 1e6, 3) if n else 0.0,
            errors=self.errors,
            statuses=dict(self.statuses),
            client_cpu=round(cpu, 3),
            bytes_received=self.received,
            first_error=self.first_error,
        )


def run_cell(spec: LoadSpec, workdir: Path) -> CellResult:
    """Run one measurement in a fresh client process (parent side)."""
    limit = spec.warmup_s + max(spec.duration_s, _SLOW_CELL_S) + _GRACE_S + 30
    return CellResult(**child.run("benchmarks.loadgen", spec, workdir / "loadspec.pickle", limit, LoadgenError))


def main(argv: list[str] | None = None) -> None:
    child.main("benchmarks.loadgen", lambda spec: _Run(spec).run(), argv)

if __name__ == "__main__":
    main()
