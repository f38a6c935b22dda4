"""Flow load client for the ``sqs`` suite: the measurements whose requests depend on earlier answers (receipt
handles, a message arriving), run as its own pinned process like ``benchmarks.loadgen``.

The parent pickles a FlowSpec and runs ``python -m benchmarks.sqsload SPEC``; the child prints one JSON
FlowResult. Requests are raw HTTP/1.1 over keep-alive asyncio streams (uvloop), bodies parsed with orjson:

- ``drain``: fill the queue (untimed), then workers ReceiveMessage(10) + DeleteMessageBatch until it is empty
  (both capped in time for slow targets);
- ``e2e``: producers SendMessage while consumers ReceiveMessage(10, long poll) + DeleteMessageBatch; messages
  consumed per second over the window;
- ``wake``: a consumer long-polls an empty queue, then a producer sends: send start → receive answered (whether or
  not the send was answered yet);
- ``sns``: consumers long-poll every subscribed queue, then one Publish: publish start → the last queue answered.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from benchmarks import child

import orjson  # a miniaws dependency: the harness runs in the project's venv

_dumps = orjson.dumps
_loads = orjson.loads

# auth is off on every target: the credential scope only routes the request to its service
_AUTH = ("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, "
         "Signature=0000000000000000000000000000000000000000000000000000000000000000")
BODY = "x" * 100  # the message body every workload sends
_PARK_S = 0.003  # time a long poll gets to reach the server and park before the message goes out
# a slow target (moto) fills and drains for at most this long; the rate is measured over what it did
FILL_S = 15.0
DRAIN_S = 15.0


@dataclass(slots=True)
class FlowSpec:
    host: str
    port: int
    kind: str  # "drain", "e2e", "wake" or "sns"
    queue_urls: list[str]
    topic_arn: str = ""
    concurrency: int = 1
    count: int = 1000  # drain: messages to fill; wake / sns: samples
    duration_s: float = 3.0
    warmup_s: float = 1.0
    cpu: int | None = None


@dataclass(slots=True)
class FlowResult:
    kind: str
    messages: int = 0
    elapsed_s: float = 0.0
    msgs_per_s: float = 0.0
    samples: int = 0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    first_error: str = ""
    client_cpu: float = 0.0
    server_cpu: float = 0.0  # filled in by the harness
    other_cpu: float = 0.0  # filled in by the harness
    extra: dict[str, Any] = field(default_factory=dict)


class FlowError(Exception):
    """The client process failed, or the target answered something unusable."""


class Http:
    """One keep-alive connection: a request is pre-encoded bytes, the answer is (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def call(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        length = int(lower[at + 17: lower.index(b"\r\n", at + 2)]) if at >= 0 else 0
        body = await self._reader.readexactly(length) if length else b""
        if b"\r\nconnection: close" in lower:
            self.close()
        return int(head[9:12]), body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = self._reader = None


class Requests:
    """Raw SQS (JSON protocol) and SNS (query protocol) requests for one target."""

    def __init__(self, host: str, port: int) -> None:
        self.host_header = f"{host}:{port}"

    def _post(self, service: str, extra: str, body: bytes) -> bytes:
        head = (f"POST / HTTP/1.1\r\nHost: {self.host_header}\r\nUser-Agent: miniaws-bench\r\n{extra}"
                f"Authorization: {_AUTH.format(service=service)}\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def sqs(self, action: str, payload: dict[str, Any]) -> bytes:
        return self._post("sqs", f"Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.{action}\r\n",
                          _dumps(payload))

    def publish(self, topic_arn: str, message: str) -> bytes:
        form = urlencode({"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic_arn, "Message": message})
        return self._post("sns", "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n", form.encode())

    def send(self, queue_url: str) -> bytes:
        return self.sqs("SendMessage", {"QueueUrl": queue_url, "MessageBody": BODY})

    def send_batch(self, queue_url: str) -> bytes:
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(10)]
        return self.sqs("SendMessageBatch", {"QueueUrl": queue_url, "Entries": entries})

    def receive(self, queue_url: str, wait: int, limit: int = 10) -> bytes:
        return self.sqs("ReceiveMessage", {"QueueUrl": queue_url, "MaxNumberOfMessages": limit,
                                           "WaitTimeSeconds": wait, "VisibilityTimeout": 120})

    def delete_batch(self, queue_url: str, handles: list[str]) -> bytes:
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
        return self.sqs("DeleteMessageBatch", {"QueueUrl": queue_url, "Entries": entries})


def _handles(status: int, body: bytes) -> list[str]:
    if status != 200:
        raise FlowError(f"HTTP {status}: {body[:200]!r}")
    return [m["ReceiptHandle"] for m in _loads(body).get("Messages", ())] if body else []


async def _answered_at(http: Http, request: bytes) -> tuple[float, tuple[int, bytes]]:
    """The answer to `request` and when it arrived."""
    answer = await http.call(request)
    return time.perf_counter(), answer


def _percentiles(result: FlowResult, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    n = len(ordered)
    result.samples = n
    if not n:
        return

    def pct(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * n) - 1)] * 1000, 3)

    result.p50_ms, result.p90_ms, result.p99_ms = pct(50), pct(90), pct(99)
    result.max_ms = round(ordered[-1] * 1000, 3)


class Flow:
    def __init__(self, spec: FlowSpec) -> None:
        self.spec = spec
        self.requests = Requests(spec.host, spec.port)
        self.result = FlowResult(spec.kind)

    def connection(self) -> Http:
        return Http(self.spec.host, self.spec.port)

    def _error(self, detail: str) -> None:
        self.result.errors += 1
        self.result.first_error = self.result.first_error or detail

    async def fill(self, queue_url: str, count: int) -> int:
        """Send `count` messages in batches of ten (untimed), or as many as a slow target takes in FILL_S."""
        batches = math.ceil(count / 10)
        request = self.requests.send_batch(queue_url)
        deadline = time.perf_counter() + FILL_S
        sent = 0

        async def worker(share: int) -> None:
            nonlocal sent
            http = self.connection()
            try:
                for _ in range(share):
                    if time.perf_counter() > deadline:
                        return
                    status, body = await http.call(request)
                    if status != 200:
                        raise FlowError(f"filling the queue: HTTP {status}: {body[:200]!r}")
                    sent += 10
            finally:
                http.close()

        workers = 8
        await asyncio.gather(*(worker(batches // workers + (i < batches % workers)) for i in range(workers)))
        return sent

    async def drain(self) -> None:
        url = self.spec.queue_urls[0]
        self.result.extra["filled"] = await self.fill(url, self.spec.count)
        receive = self.requests.receive(url, 0)
        latencies: list[float] = []
        deleted = 0
        deadline = time.perf_counter() + max(self.spec.duration_s, DRAIN_S)

        async def worker() -> None:
            nonlocal deleted
            http = self.connection()
            try:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    handles = _handles(*await http.call(receive))
                    if not handles:
                        return
                    status, body = await http.call(self.requests.delete_batch(url, handles))
                    if status != 200:
                        self._error(f"DeleteMessageBatch HTTP {status}")
                    latencies.append(time.perf_counter() - started)
                    deleted += len(handles)
            finally:
                http.close()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self.spec.concurrency)))
        self._throughput(deleted, time.perf_counter() - started, latencies)

    async def e2e(self) -> None:
        url = self.spec.queue_urls[0]
        send, receive = self.requests.send(url), self.requests.receive(url, 1)
        begin = time.perf_counter() + self.spec.warmup_s
        end = begin + self.spec.duration_s
        consumed = 0
        latencies: list[float] = []

        async def producer() -> None:
            http = self.connection()
            try:
                while time.perf_counter() < end:
                    status, _ = await http.call(send)
                    if status != 200:
                        self._error(f"SendMessage HTTP {status}")
            finally:
                http.close()

        async def consumer() -> None:
            nonlocal consumed
            http = self.connection()
            try:
                while time.perf_counter() < end:
                    started = time.perf_counter()
                    handles = _handles(*await http.call(receive))
                    if handles:
                        await http.call(self.requests.delete_batch(url, handles))
                        done = time.perf_counter()
                        if begin <= done < end:
                            consumed += len(handles)
                            latencies.append(done - started)
            finally:
                http.close()

        n = self.spec.concurrency
        await asyncio.gather(*(producer() for _ in range(n)), *(consumer() for _ in range(n)))
        self._throughput(consumed, self.spec.duration_s, latencies)

    async def wake(self) -> None:
        url = self.spec.queue_urls[0]
        consumer, producer = self.connection(), self.connection()
        receive, send = self.requests.receive(url, 20, limit=1), self.requests.send(url)
        latencies: list[float] = []
        try:
            for _ in range(self.spec.count):
                polling = asyncio.ensure_future(_answered_at(consumer, receive))
                await asyncio.sleep(_PARK_S)
                started = time.perf_counter()
                status, _ = await producer.call(send)
                answered, answer = await polling
                handles = _handles(*answer)
                # until the receive was answered, which may be before the send's own answer (a persistent target
                # acknowledges the send after its commit; the receiver need not wait for that)
                latencies.append(answered - started)
                if status != 200 or len(handles) != 1:
                    self._error(f"SendMessage HTTP {status}, {len(handles)} received")
                await consumer.call(self.requests.delete_batch(url, handles))
        finally:
            consumer.close()
            producer.close()
        self.result.messages = len(latencies)
        _percentiles(self.result, latencies)

    async def sns(self) -> None:
        urls = self.spec.queue_urls
        consumers = [self.connection() for _ in urls]
        publisher = self.connection()
        receives = [self.requests.receive(url, 20, limit=1) for url in urls]
        latencies: list[float] = []
        try:
            for index in range(self.spec.count):
                polls = [asyncio.ensure_future(_answered_at(c, r)) for c, r in zip(consumers, receives)]
                await asyncio.sleep(_PARK_S)
                started = time.perf_counter()
                status, _ = await publisher.call(self.requests.publish(self.spec.topic_arn, f"{BODY}-{index}"))
                answers = await asyncio.gather(*polls)
                latencies.append(max(answered for answered, _ in answers) - started)
                handles = [_handles(*answer) for _, answer in answers]
                if status != 200 or any(len(h) != 1 for h in handles):
                    self._error(f"Publish HTTP {status}, received {[len(h) for h in handles]}")
                await asyncio.gather(*(c.call(self.requests.delete_batch(url, h))
                                       for c, url, h in zip(consumers, urls, handles) if h))
        finally:
            for connection in (*consumers, publisher):
                connection.close()
        self.result.messages = len(latencies)
        _percentiles(self.result, latencies)

    def _throughput(self, messages: int, elapsed: float, latencies: list[float]) -> None:
        self.result.messages = messages
        self.result.elapsed_s = round(elapsed, 4)
        self.result.msgs_per_s = round(messages / elapsed, 1) if elapsed > 0 else 0.0
        _percentiles(self.result, latencies)

    async def run(self) -> FlowResult:
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        await getattr(self, self.spec.kind)()
        self.result.client_cpu = round((time.process_time() - cpu_before) / (time.perf_counter() - wall_before), 3)
        return self.result


def run_flow(spec: FlowSpec, workdir: Path, timeout: float = 300.0) -> FlowResult:
    """Run one flow in a fresh client process (parent side)."""
    return FlowResult(**child.run("benchmarks.sqsload", spec, workdir / "flowspec.pickle", timeout, FlowError,
                                  "flow client"))


def main(argv: list[str] | None = None) -> None:
    child.main("benchmarks.sqsload", lambda spec: Flow(spec).run(), argv)

if __name__ == "__main__":
    main()
