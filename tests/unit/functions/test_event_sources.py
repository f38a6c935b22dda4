"""Event source mappings without processes or sockets: the SQS event's shape, partial batch responses, the mapping
settings' rules, and the poller driven by a fake queue and a fake invoke."""
from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from miniaws.core.errors import AwsError
from miniaws.services.lambda_ import sqs_poller
from miniaws.services.lambda_.api_event_sources import _settings
from miniaws.services.lambda_.errors import (InvalidParameterValueException, ResourceNotFoundException,
                                            TooManyRequestsException, ValidationException)
from miniaws.services.lambda_.event_sources import EventSourceMapping, MappingStore
from miniaws.services.lambda_.sqs_poller import SqsPoller, batch_item_failures, sqs_record
from miniaws.state.journal import MemoryJournal

QUEUE = "arn:aws:sqs:us-east-1:000000000000:jobs"


def mapping(**changes: Any) -> EventSourceMapping:
    settings: dict[str, Any] = dict(uuid="u-1", account="000000000000", region="us-east-1", source_arn=QUEUE,
                                    function_name="worker", qualifier=None, batch_size=10, window=0, enabled=True,
                                    last_modified=0.0)
    settings.update(changes)
    return EventSourceMapping(**settings)


def message(number: int, **extra: Any) -> dict[str, Any]:
    body = f"m{number}"
    return {"MessageId": f"id-{number}", "ReceiptHandle": f"rh-{number}", "Body": body,
            "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"}, **extra}


# -- the event -------------------------------------------------------------------------------------
def test_sqs_record_shape() -> None:
    record = sqs_record(message(1, MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "a"}, "raw": {"DataType": "Binary", "BinaryValue": "AAE="}},
        MD5OfMessageAttributes="f" * 32), QUEUE, "us-east-1")
    assert list(record) == ["messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                            "md5OfMessageAttributes", "eventSource", "eventSourceARN", "awsRegion"]
    assert record["messageAttributes"] == {
        "kind": {"stringListValues": [], "binaryListValues": [], "dataType": "String", "stringValue": "a"},
        "raw": {"stringListValues": [], "binaryListValues": [], "dataType": "Binary", "binaryValue": "AAE="}}
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", QUEUE, "us-east-1")
    plain = sqs_record(message(2), QUEUE, "us-east-1")
    assert plain["messageAttributes"] == {} and "md5OfMessageAttributes" not in plain


@pytest.mark.parametrize(("response", "expected"), [
    (b"", set()),
    (b"null", set()),
    (b"{}", set()),
    (b'{"batchItemFailures": null}', set()),
    (b'{"batchItemFailures": []}', set()),
    (b'{"batchItemFailures": [{"itemIdentifier": "a"}]}', {"a"}),
    (b'{"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}', {"a", "b"}),
    (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', None),
    (b'{"batchItemFailures": [{"itemIdentifier": null}]}', None),
    (b'{"batchItemFailures": [{"id": "a"}]}', None),
    (b'{"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}', None),
    (b'{"batchItemFailures": "a"}', None),
    (b'"done"', None),
    (b"not json", None),
])
def test_partial_batch_responses(response: bytes, expected: set[str] | None) -> None:
    assert batch_item_failures(response, {"a", "b"}) == expected


# -- the settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("params", "fifo", "error"), [
    ({"BatchSize": 0}, False, ValidationException),
    ({"BatchSize": 10001, "MaximumBatchingWindowInSeconds": 1}, False, ValidationException),
    ({"BatchSize": 11}, False, InvalidParameterValueException),
    ({"BatchSize": 11, "MaximumBatchingWindowInSeconds": 1}, True, InvalidParameterValueException),
    ({"MaximumBatchingWindowInSeconds": 1}, True, InvalidParameterValueException),
    ({"MaximumBatchingWindowInSeconds": 301}, False, ValidationException),
    ({"FunctionResponseTypes": ["Everything"]}, False, ValidationException),
    ({"ScalingConfig": {"MaximumConcurrency": 1}}, False, ValidationException),
])
def test_settings_rules(params: dict[str, Any], fifo: bool, error: type[AwsError]) -> None:
    with pytest.raises(error):
        _settings(params, fifo, None)


def test_settings_defaults_and_updates() -> None:
    assert _settings({}, False, None) == (10, 0, [], None)
    assert _settings({"BatchSize": 10000, "MaximumBatchingWindowInSeconds": 300}, False, None)[:2] == (10000, 300)
    current = mapping(batch_size=100, window=5, response_types=["ReportBatchItemFailures"], max_concurrency=3)
    assert _settings({}, False, current) == (100, 5, ["ReportBatchItemFailures"], 3)
    assert _settings({"ScalingConfig": {}}, False, current)[3] is None
    # lowering the window below 1 s is refused while the batch is larger than 10
    with pytest.raises(InvalidParameterValueException):
        _settings({"MaximumBatchingWindowInSeconds": 0}, False, current)


def test_store_round_trip() -> None:
    store = MappingStore(MemoryJournal())
    original = mapping(qualifier="live", response_types=["ReportBatchItemFailures"], max_concurrency=2)
    copy = EventSourceMapping.from_record(orjson.loads(orjson.dumps(original.record())))
    assert copy == original and copy.function_arn.endswith(":function:worker:live")
    store.save(original)
    assert list(store.of("000000000000", "us-east-1")) == [original] and list(store.of("1", "us-east-1")) == []
    wire = original.wire("Creating")
    assert wire["State"] == "Creating" and wire["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert wire["EventSourceMappingArn"] == "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:u-1"


# -- the poller ------------------------------------------------------------------------------------
class FakeQueue:
    """In-process consumer methods over a deque; a receive waits on an asyncio.Event, at most `max_wait` s."""

    def __init__(self, count: int = 0, max_wait: float = 60.0) -> None:
        self.all: dict[str, dict[str, Any]] = {}
        self.visible: deque[str] = deque()
        self.deleted: list[str] = []
        self.handed_back: list[str] = []
        self.attributes = {"VisibilityTimeout": "30"}
        self.max_wait = max_wait
        self._arrived = asyncio.Event()
        for number in range(count):
            self.put(number)

    def put(self, number: int) -> None:
        self.all[f"rh-{number}"] = message(number)
        self.visible.append(f"rh-{number}")
        self._arrived.set()

    async def receive_from_queue(self, queue_arn: str, limit: int, wait_seconds: float,
                                 visibility_timeout: int | None = None) -> list[dict[str, Any]]:
        if not self.visible and wait_seconds > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(wait_seconds, self.max_wait))
            except TimeoutError:
                pass
        out = []
        while self.visible and len(out) < limit:
            out.append(self.all[self.visible.popleft()])
        return out

    def delete_from_queue(self, queue_arn: str, receipt_handles: list[str]) -> list[str]:
        self.deleted.extend(receipt_handles)
        return []

    def change_visibility_in_queue(self, queue_arn: str, receipt_handle: str, timeout: int) -> None:
        self.handed_back.append(receipt_handle)
        self.visible.append(receipt_handle)
        self._arrived.set()

    def queue_attributes(self, queue_arn: str) -> dict[str, str]:
        return self.attributes


class FakeFunction:
    """Records each batch's bodies; answers with `respond(records)` -> (payload, failed) or raises."""

    def __init__(self, respond: Callable[[list[dict[str, Any]]], tuple[bytes, bool]] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.respond = respond or (lambda records: (b"null", False))
        self.gate: asyncio.Event | None = None
        self.running = 0
        self.peak = 0

    async def __call__(self, mapping: EventSourceMapping, payload: bytes) -> tuple[bytes, bool]:
        records = orjson.loads(payload)["Records"]
        self.batches.append([r["body"] for r in records])
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            return self.respond(records)
        finally:
            self.running -= 1


async def settle(condition: Callable[[], bool], turns: int = 200) -> None:
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the poller did not get there")


async def test_a_processed_batch_is_deleted() -> None:
    queue, function = FakeQueue(3), FakeFunction()
    poller = SqsPoller(mapping(), queue, function)
    poller.start()
    await settle(lambda: len(queue.deleted) == 3)
    await poller.close()
    assert function.batches == [["m0", "m1", "m2"]] and poller.mapping.last_result == "OK"


async def test_a_failed_batch_is_left_for_the_visibility_timeout() -> None:
    queue = FakeQueue(2)
    function = FakeFunction(lambda records: (b'{"errorMessage": "no"}', True))
    poller = SqsPoller(mapping(), queue, function)
    poller.start()
    await settle(lambda: poller.mapping.last_result != "No records processed")
    await poller.close()
    assert queue.deleted == [] and poller.mapping.last_result == "PROBLEM: Function call failed"


async def test_reported_item_failures_stay() -> None:
    queue = FakeQueue(3)
    function = FakeFunction(lambda records: (b'{"batchItemFailures": [{"itemIdentifier": "id-1"}]}', False))
    poller = SqsPoller(mapping(response_types=["ReportBatchItemFailures"]), queue, function)
    poller.start()
    await settle(lambda: bool(queue.deleted))
    await poller.close()
    assert queue.deleted == ["rh-0", "rh-2"]


async def test_without_report_batch_item_failures_the_response_is_ignored() -> None:
    queue = FakeQueue(2)
    function = FakeFunction(lambda records: (b'{"batchItemFailures": [{"itemIdentifier": "id-1"}]}', False))
    poller = SqsPoller(mapping(), queue, function)
    poller.start()
    await settle(lambda: len(queue.deleted) == 2)
    await poller.close()


async def test_a_throttled_batch_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqs_poller, "THROTTLE_FIRST", 0.0)
    queue, calls = FakeQueue(1), []

    def respond(records: list[dict[str, Any]]) -> tuple[bytes, bool]:
        calls.append(1)
        if len(calls) < 3:
            raise TooManyRequestsException()
        return b"{}", False

    poller = SqsPoller(mapping(), queue, FakeFunction(respond))
    poller.start()
    await settle(lambda: queue.deleted == ["rh-0"])
    await poller.close()
    assert len(calls) == 3


async def test_throttling_gives_up_when_the_visibility_timeout_runs_out() -> None:
    queue = FakeQueue(1)
    queue.attributes["VisibilityTimeout"] = "0"

    def respond(records: list[dict[str, Any]]) -> tuple[bytes, bool]:
        raise TooManyRequestsException()

    poller = SqsPoller(mapping(), queue, FakeFunction(respond))
    poller.start()
    await settle(lambda: poller.mapping.last_result.startswith("PROBLEM"))
    await poller.close()
    assert poller.mapping.last_result == "PROBLEM: Function call throttled" and queue.deleted == []


async def test_a_missing_function_leaves_the_messages() -> None:
    def respond(records: list[dict[str, Any]]) -> tuple[bytes, bool]:
        raise ResourceNotFoundException()

    queue = FakeQueue(1)
    poller = SqsPoller(mapping(), queue, FakeFunction(respond))
    poller.start()
    await settle(lambda: poller.mapping.last_result.startswith("PROBLEM"))
    await poller.close()
    assert poller.mapping.last_result == "PROBLEM: Function not found" and queue.deleted == []


async def test_full_batches_scale_the_pollers_up_to_the_bound_and_back() -> None:
    queue, function = FakeQueue(40, max_wait=0.001), FakeFunction()
    function.gate = asyncio.Event()
    poller = SqsPoller(mapping(batch_size=5, max_concurrency=3), queue, function)
    poller.start()
    await settle(lambda: function.running == 3)
    await asyncio.sleep(0)
    assert poller.pollers == 3 and function.peak == 3  # bounded by ScalingConfig.MaximumConcurrency
    function.gate.set()
    await settle(lambda: len(queue.deleted) == 40)
    for _ in range(50):  # idle pollers retire after an empty long poll; one always stays
        if poller.pollers == 1:
            break
        await asyncio.sleep(0.002)
    assert poller.pollers == 1
    await poller.close()
    assert sorted(len(batch) for batch in function.batches) == [5] * 8


async def test_an_oversized_batch_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqs_poller, "MAX_PAYLOAD", 700)
    queue, function = FakeQueue(3), FakeFunction()
    poller = SqsPoller(mapping(), queue, function)
    poller.start()
    await settle(lambda: len(queue.deleted) == 3)
    await poller.close()
    assert len(function.batches) > 1 and all(len(batch) < 3 for batch in function.batches)
    assert queue.handed_back  # what did not fit went back to the queue at once


async def test_a_graceful_stop_finishes_the_running_batch() -> None:
    queue, function = FakeQueue(2), FakeFunction()
    function.gate = asyncio.Event()
    poller = SqsPoller(mapping(), queue, function)
    poller.start()
    await settle(lambda: function.running == 1)
    poller.stop()
    function.gate.set()
    await settle(lambda: poller.pollers == 0)
    assert queue.deleted == ["rh-0", "rh-1"]


async def test_stopping_inside_the_batching_window_hands_the_messages_back() -> None:
    queue, function = FakeQueue(1), FakeFunction()
    poller = SqsPoller(mapping(batch_size=20, window=60), queue, function)
    poller.start()
    await settle(lambda: not queue.visible)
    poller.stop()
    await settle(lambda: poller.pollers == 0)
    assert queue.handed_back == ["rh-0"] and function.batches == []


async def test_an_unthrottled_batch_does_not_read_the_queue_attributes() -> None:
    # building a queue's attributes walks every message: once per batch it made draining a deep queue quadratic
    queue, function = FakeQueue(3), FakeFunction()
    reads: list[str] = []
    queue.queue_attributes = lambda arn: reads.append(arn) or queue.attributes  # type: ignore[method-assign]
    poller = SqsPoller(mapping(batch_size=1), queue, function)
    poller.start()
    await settle(lambda: len(queue.deleted) == 3)
    await poller.close()
    assert reads == [] and len(function.batches) == 3
