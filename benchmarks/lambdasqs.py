"""SQS → function throughput for the ``lambda`` suite, run as its own pinned client process like ``benchmarks.sqsload``.

The parent pickles a FeedSpec and runs ``python -m benchmarks.lambdasqs SPEC``; the child prints one JSON FeedResult.
Both kinds send ``count`` messages (SendMessageBatch of ten over a few keep-alive connections, raw HTTP) and time
from the first send to the moment the last message is done with:

- ``ceiling``: no function. Consumers do what a mapping's poller does minus the invocation — ReceiveMessage
  (MaxNumberOfMessages = the batch size, long poll) then DeleteMessageBatch — until every message is deleted;
- ``mapping``: an event source mapping feeds the function, which appends each batch's record count to a file
  (``count_file``, shared by all its environments; O_APPEND lines from several processes do not interleave). Done
  when the function has counted every message and GetQueueAttributes shows the queue empty (nothing visible,
  nothing in flight). The file is watched, not the server: it costs the server nothing.

Both are bounded by ``cap_s``; a capped run reports what got done in that time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import child
from benchmarks.sqsload import Http, Requests, _handles

import orjson  # a miniaws dependency: the harness runs in the project's venv

#: how often the mapping run looks at the count file, then at the queue (client side only)
_WATCH_S = 0.002


@dataclass(slots=True)
class FeedSpec:
    host: str
    port: int
    kind: str  # "ceiling" or "mapping"
    queue_url: str
    count: int = 5000  # messages, a multiple of ten
    batch: int = 10  # ceiling: MaxNumberOfMessages per receive (the mapping's BatchSize)
    producers: int = 4
    consumers: int = 5  # ceiling only: as many as a mapping's pollers (sqs_poller.MAX_POLLERS)
    cap_s: float = 60.0
    count_file: str = ""  # mapping: the function's count file
    count_offset: int = 0  # mapping: bytes of the count file written before this run (warm-up)
    cpu: int | None = None


@dataclass(slots=True)
class FeedResult:
    kind: str
    messages: int = 0  # processed: deleted (ceiling) or counted by the function (mapping)
    elapsed_s: float = 0.0  # first send → the last message done with (or the cap)
    msgs_per_s: float = 0.0
    send_s: float = 0.0  # first send → the last send answered
    capped: bool = False
    errors: int = 0
    first_error: str = ""
    client_cpu: float = 0.0
    server_cpu: float = 0.0  # share of a core: the server and its function workers (filled in by the harness)
    other_cpu: float = 0.0  # cores used by everything else on the machine (filled in by the harness)


class FeedError(Exception):
    """The client process failed."""


class Feed:
    def __init__(self, spec: FeedSpec) -> None:
        self.spec = spec
        self.requests = Requests(spec.host, spec.port)
        self.result = FeedResult(spec.kind)
        self.started = 0.0

    def _error(self, detail: str) -> None:
        self.result.errors += 1
        self.result.first_error = self.result.first_error or detail

    async def _produce(self, deadline: float) -> None:
        request = self.requests.send_batch(self.spec.queue_url)
        batches = self.spec.count // 10

        async def producer(share: int) -> None:
            http = Http(self.spec.host, self.spec.port)
            try:
                for _ in range(share):
                    if time.perf_counter() > deadline:
                        return
                    status, body = await http.call(request)
                    if status != 200:
                        self._error(f"SendMessageBatch HTTP {status}: {body[:200]!r}")
            finally:
                http.close()

        n = self.spec.producers
        await asyncio.gather(*(producer(batches // n + (i < batches % n)) for i in range(n)))
        self.result.send_s = round(time.perf_counter() - self.started, 4)

    async def ceiling(self, deadline: float) -> int:
        receive = self.requests.receive(self.spec.queue_url, 1, limit=self.spec.batch)
        done = 0
        finished = asyncio.get_running_loop().create_future()

        async def consumer() -> None:
            nonlocal done
            http = Http(self.spec.host, self.spec.port)
            try:
                while done < self.spec.count and time.perf_counter() < deadline:
                    handles = _handles(*await http.call(receive))
                    if not handles:
                        continue
                    status, body = await http.call(self.requests.delete_batch(self.spec.queue_url, handles))
                    if status != 200:
                        self._error(f"DeleteMessageBatch HTTP {status}: {body[:200]!r}")
                        continue
                    done += len(handles)
                    if done >= self.spec.count and not finished.done():
                        finished.set_result(time.perf_counter())
            finally:
                http.close()

        tasks = [asyncio.ensure_future(consumer()) for _ in range(self.spec.consumers)]
        await asyncio.wait([finished, *tasks], timeout=max(0.0, deadline - time.perf_counter()),
                           return_when=asyncio.FIRST_COMPLETED)
        if finished.done():
            self._finish(done, finished.result())
        for task in tasks:  # the others are parked in a long poll: closing their connections ends them
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return done

    async def mapping(self, deadline: float) -> int:
        counted = 0
        with open(self.spec.count_file, "rb") as fh:
            fh.seek(self.spec.count_offset)
            pending = b""
            while counted < self.spec.count and time.perf_counter() < deadline:
                pending += fh.read()
                lines, _, pending = pending.rpartition(b"\n")
                counted += sum(int(n) for n in lines.split()) if lines else 0
                if counted < self.spec.count:
                    await asyncio.sleep(_WATCH_S)
        http = Http(self.spec.host, self.spec.port)
        attributes = self.requests.sqs("GetQueueAttributes", {
            "QueueUrl": self.spec.queue_url,
            "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]})
        try:
            while time.perf_counter() < deadline:
                status, body = await http.call(attributes)
                if status != 200:
                    self._error(f"GetQueueAttributes HTTP {status}: {body[:200]!r}")
                    break
                values = orjson.loads(body)["Attributes"]
                if values["ApproximateNumberOfMessages"] == "0" and values["ApproximateNumberOfMessagesNotVisible"] == "0":
                    if counted >= self.spec.count:
                        self._finish(counted, time.perf_counter())
                    break
                await asyncio.sleep(_WATCH_S)
        finally:
            http.close()
        return counted

    def _finish(self, messages: int, at: float) -> None:
        self.result.messages = messages
        self.result.elapsed_s = round(at - self.started, 4)
        self.result.msgs_per_s = round(messages / (at - self.started), 1)

    async def run(self) -> FeedResult:
        cpu_before = time.process_time()
        self.started = time.perf_counter()
        deadline = self.started + self.spec.cap_s
        produce = asyncio.ensure_future(self._produce(deadline))
        done = await getattr(self, self.spec.kind)(deadline)
        await produce
        if not self.result.elapsed_s:  # capped: the rate over the cap
            self.result.capped = True
            self._finish(done, time.perf_counter())
        self.result.client_cpu = round((time.process_time() - cpu_before) / (time.perf_counter() - self.started), 3)
        return self.result


def run_feed(spec: FeedSpec, workdir: Path) -> FeedResult:
    """Run one feed in a fresh client process (parent side)."""
    return FeedResult(**child.run("benchmarks.lambdasqs", spec, workdir / "feedspec.pickle", spec.cap_s + 60,
                                  FeedError, "feed client"))


def main(argv: list[str] | None = None) -> None:
    child.main("benchmarks.lambdasqs", lambda spec: Feed(spec).run(), argv)

if __name__ == "__main__":
    main()
