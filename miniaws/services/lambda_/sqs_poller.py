"""The pollers behind an enabled SQS event source mapping.

Each poller long-polls the queue through SQS's in-process receive, which parks on the queue's own wake-ups (a
send, a visibility timeout running out) — there is no sleep-and-poll loop. It gathers a batch (BatchSize,
MaximumBatchingWindowInSeconds, the 6 MB invocation payload limit), invokes the function synchronously with the
SQS event, and deletes what was processed. What failed is left alone: it returns after the queue's visibility
timeout and reaches the queue's dead-letter queue through its redrive policy, as with AWS
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html). A mapping starts with one poller
and adds more, up to a small bound, while batches come back full; extra pollers retire when the queue runs dry.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from miniaws.core.errors import AwsError
from miniaws.services.lambda_.errors import ResourceNotFoundException, TooManyRequestsException
from miniaws.services.lambda_.event_sources import EventSourceMapping

log = logging.getLogger("miniaws.lambda")

#: one long poll lasts this long (injected-clock seconds), as a ReceiveMessage with WaitTimeSeconds=20 would
IDLE_WAIT = 20.0
#: ReceiveMessage returns at most ten messages
MAX_RECEIVE = 10
#: pollers per mapping; ScalingConfig.MaximumConcurrency lowers it (AWS's pollers scale far higher, but one
#: process on a laptop gains nothing past a few concurrent batches)
MAX_POLLERS = 5
#: "the maximum payload size for synchronous invocation is 6 MB" (Lambda quotas)
MAX_PAYLOAD = 6 * 1024 * 1024
#: a throttled batch is retried after this, doubling up to THROTTLE_MAX (real seconds)
THROTTLE_FIRST, THROTTLE_MAX = 0.05, 1.0
#: while the queue is missing nothing can wake a poller, so it looks again after this, doubling up to the max
PROBLEM_FIRST, PROBLEM_MAX = 0.5, 30.0


class QueueConsumer(Protocol):
    """The SQS service's in-process consumer methods (SqsService)."""

    async def receive_from_queue(self, queue_arn: str, limit: int, wait_seconds: float,
                                 visibility_timeout: int | None = None) -> list[dict[str, Any]]: ...

    def delete_from_queue(self, queue_arn: str, receipt_handles: list[str]) -> list[str]: ...

    def change_visibility_in_queue(self, queue_arn: str, receipt_handle: str, timeout: int) -> None: ...

    def queue_attributes(self, queue_arn: str) -> dict[str, str]: ...


#: invokes the mapping's function synchronously: (response payload, True on a function error); raises
#: ResourceNotFoundException when the function is gone, TooManyRequestsException when throttled
BatchInvoker = Callable[[EventSourceMapping, bytes], Awaitable[tuple[bytes, bool]]]


def sqs_record(message: dict[str, Any], source_arn: str, region: str) -> dict[str, Any]:
    """One Records[] entry of the SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = value["BinaryValue"]  # base64 text, as in the JSON wire form
        attributes[name] = entry
    record: dict[str, Any] = {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}), "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": source_arn, "awsRegion": region})
    return record


def batch_item_failures(response: bytes, message_ids: set[str]) -> set[str] | None:
    """The message ids a ReportBatchItemFailures response names; None when the response fails the whole batch.

    A null or empty response, or a null or empty `batchItemFailures`, is complete success; a response that is not
    JSON, or an item whose `itemIdentifier` is missing, empty or not a message of the batch, fails every message
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html, "Success and failure
    conditions")."""
    try:
        document = orjson.loads(response) if response.strip() else None
    except orjson.JSONDecodeError:
        return None
    if document is None:
        return set()
    if not isinstance(document, dict):
        return None
    items = document.get("batchItemFailures")
    if not items:
        return set()
    if not isinstance(items, list):
        return None
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed


class SqsPoller:
    """The pollers of one mapping. `mapping` is live: an update changes the next batch, not the running one."""

    def __init__(self, mapping: EventSourceMapping, queues: QueueConsumer, invoke: BatchInvoker,
                 time_scale: float = 1.0) -> None:
        self.mapping = mapping
        self.queues = queues
        self.invoke = invoke
        self.time_scale = time_scale
        self._workers: set[asyncio.Task[None]] = set()
        #: workers between receiving a batch and finishing with it (a graceful stop lets them finish)
        self._invoking: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def limit(self) -> int:
        return min(self.mapping.max_concurrency or MAX_POLLERS, MAX_POLLERS)

    @property
    def pollers(self) -> int:
        return len(self._workers)

    def start(self) -> None:
        self._spawn()

    def stop(self, graceful: bool = True) -> None:
        """Stop polling now. Graceful: batches being processed are finished (and deleted) in the background;
        otherwise they are abandoned too and return after their visibility timeout."""
        self._stopping = True
        for task in list(self._workers):
            if not graceful or task not in self._invoking:
                task.cancel()

    async def close(self) -> None:
        """Stop everything at once and wait for the pollers to end (server shutdown)."""
        tasks = list(self._workers)
        self.stop(graceful=False)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self) -> None:
        if self._stopping:
            return
        task = asyncio.get_running_loop().create_task(self._work())
        self._workers.add(task)
        task.add_done_callback(self._workers.discard)

    # -- one poller -----------------------------------------------------------------------------
    async def _work(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        problems = 0
        while not self._stopping:
            try:
                batch = await self._gather()
            except AwsError as err:
                # the queue is gone (deleted, or not created again yet): nothing will wake us but time
                self.mapping.last_result = f"PROBLEM: {err.message or err.error_code}"
                await asyncio.sleep(min(PROBLEM_MAX, PROBLEM_FIRST * 2 ** problems) / self.time_scale)
                problems += 1
                continue
            problems = 0
            if not batch:
                if len(self._workers) > 1:
                    self._workers.discard(me)  # now, so that two idle pollers never both retire
                    return
                continue
            if len(batch) >= self.mapping.batch_size and len(self._workers) < self.limit:
                self._spawn()  # a full batch: the queue has more, so another poller joins in
            self._invoking.add(me)
            try:
                await self._process(batch)
            except Exception:  # a bug must not end the mapping's polling silently
                log.exception("event source mapping %s failed a batch", self.mapping.uuid)
            finally:
                self._invoking.discard(me)

    async def _gather(self) -> list[dict[str, Any]]:
        """A batch: the first messages as soon as any arrive, then more until BatchSize or the batching window."""
        mapping = self.mapping
        arn = mapping.source_arn
        batch = await self.queues.receive_from_queue(arn, min(MAX_RECEIVE, mapping.batch_size), IDLE_WAIT)
        if not batch or len(batch) >= mapping.batch_size:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + mapping.window / self.time_scale
        try:
            while len(batch) < mapping.batch_size:
                remaining = max(0.0, deadline - loop.time())
                more = await self.queues.receive_from_queue(
                    arn, min(MAX_RECEIVE, mapping.batch_size - len(batch)), remaining * self.time_scale)
                if not more:
                    break
                batch.extend(more)
        except asyncio.CancelledError:
            self._hand_back(batch)  # stopped while gathering: the messages need not wait out their timeout
            raise
        return batch

    def _fit(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bytes]:
        """The records that fit one invocation payload (at least one), and that payload; the rest go back."""
        sizes = [len(orjson.dumps(record)) + 1 for record in records]
        total, keep = 16, 0
        for size in sizes:
            if keep and total + size > MAX_PAYLOAD:
                break
            total += size
            keep += 1
        if keep < len(records):
            self._hand_back([{"ReceiptHandle": r["receiptHandle"]} for r in records[keep:]])
            records = records[:keep]
        return records, orjson.dumps({"Records": records})

    def _hand_back(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            try:
                self.queues.change_visibility_in_queue(self.mapping.source_arn, message["ReceiptHandle"], 0)
            except AwsError:
                pass  # already visible again, or the queue is gone

    async def _process(self, batch: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        records, payload = self._fit([sqs_record(m, mapping.source_arn, mapping.region) for m in batch])
        loop = asyncio.get_running_loop()
        received = loop.time()
        give_up: float | None = None
        delay = THROTTLE_FIRST
        while True:
            try:
                response, failed = await self.invoke(mapping, payload)
                break
            except TooManyRequestsException:
                # a throttled batch is retried while its messages are still in flight
                # (services-sqs-errorhandling.html). The queue's attributes are read only now: building them
                # walks every message, which per batch made draining a deep queue quadratic
                if give_up is None:
                    give_up = received + self._visibility_timeout() / self.time_scale
                if loop.time() + delay >= give_up:
                    mapping.last_result = "PROBLEM: Function call throttled"
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, THROTTLE_MAX)
            except ResourceNotFoundException:
                mapping.last_result = "PROBLEM: Function not found"
                return
        if failed:
            mapping.last_result = "PROBLEM: Function call failed"
            return
        handles = {record["messageId"]: record["receiptHandle"] for record in records}
        failures: set[str] = set()
        if mapping.reports_item_failures:
            reported = batch_item_failures(response, set(handles))
            if reported is None:
                mapping.last_result = "PROBLEM: Function returned an invalid partial batch response"
                return
            failures = reported
        done = [handle for message_id, handle in handles.items() if message_id not in failures]
        try:
            self.queues.delete_from_queue(mapping.source_arn, done)
        except AwsError:
            pass  # the queue was deleted while the function ran
        mapping.last_result = "OK"

    def _visibility_timeout(self) -> float:
        try:
            return float(self.queues.queue_attributes(self.mapping.source_arn)["VisibilityTimeout"])
        except (AwsError, KeyError, ValueError):
            return 30.0
