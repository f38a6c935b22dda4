"""SQS event source mappings with real workers: the API and its validation, a queue drained through a function,
the batching window, failures returning to the queue and reaching its dead-letter queue, ReportBatchItemFailures,
disabling, and mappings surviving a restart."""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.server import ServerThread
from miniaws.testing import MiniAws
from tests.api.conftest import make_client
from tests.functions.event_support import RECORDER_ZIP, counts, seen, wait_for
from tests.helpers.lambda_code import ROLE

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def sqs(miniaws: MiniAws) -> Any:
    return miniaws.client("sqs")


@pytest.fixture
def recorder(make_function: Callable[..., str]) -> Callable[..., str]:
    """A function from the recording module (tests/functions/event_support.py)."""

    def make(handler: str = "record", **params: Any) -> str:
        params.setdefault("Timeout", 1)
        return make_function(f"app.{handler}", Code={"ZipFile": RECORDER_ZIP}, **params)

    return make


def new_queue(sqs: Any, fifo: bool = False, **attributes: str) -> tuple[str, str]:
    name = f"esm-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def with_dead_letters(sqs: Any, max_receives: int) -> tuple[str, str, str]:
    """(source url, source arn, dead-letter url): a queue with a 1 s visibility timeout and a redrive policy."""
    dlq_url, dlq_arn = new_queue(sqs)
    url, arn = new_queue(sqs, VisibilityTimeout="1", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}))
    return url, arn, dlq_url


def records(endpoint: str, name: str) -> list[dict[str, Any]]:
    return [record for event in seen(endpoint, name) for record in event["Records"]]


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return dict(info.value.response["Error"])


# -- the API ---------------------------------------------------------------------------------------
def test_create_get_list_update_delete(lam: Any, sqs: Any, recorder: Callable[..., str]) -> None:
    name = recorder()
    _, arn = new_queue(sqs)
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, Enabled=False)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating" and created["BatchSize"] == 10
    assert created["MaximumBatchingWindowInSeconds"] == 0 and created["EventSourceArn"] == arn
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    mapping_id = created["UUID"]
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{mapping_id}")
    got = lam.get_event_source_mapping(UUID=mapping_id)
    assert got["State"] == "Disabled" and got["StateTransitionReason"] == "USER_INITIATED"
    assert got["LastModified"].year >= 2024
    assert [m["UUID"] for m in lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]] == [
        mapping_id]
    assert [m["UUID"] for m in lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]] == [
        mapping_id]

    updated = lam.update_event_source_mapping(UUID=mapping_id, Enabled=True, BatchSize=50,
                                              MaximumBatchingWindowInSeconds=2,
                                              FunctionResponseTypes=["ReportBatchItemFailures"],
                                              ScalingConfig={"MaximumConcurrency": 3})
    assert updated["State"] == "Enabling" and updated["BatchSize"] == 50
    got = lam.get_event_source_mapping(UUID=mapping_id)
    assert got["State"] == "Enabled" and got["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert got["MaximumBatchingWindowInSeconds"] == 2 and got["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert lam.update_event_source_mapping(UUID=mapping_id, Enabled=False)["State"] == "Disabling"
    assert lam.update_event_source_mapping(UUID=mapping_id, BatchSize=5)["State"] == "Updating"

    assert lam.delete_event_source_mapping(UUID=mapping_id)["State"] == "Deleting"
    err = error_of(lam.get_event_source_mapping, UUID=mapping_id)
    assert err["Code"] == "ResourceNotFoundException"
    assert lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"] == []


def test_list_pages(lam: Any, sqs: Any, recorder: Callable[..., str]) -> None:
    name = recorder()
    made = {lam.create_event_source_mapping(EventSourceArn=new_queue(sqs)[1], FunctionName=name,
                                            Enabled=False)["UUID"] for _ in range(3)}
    first = lam.list_event_source_mappings(FunctionName=name, MaxItems=2)
    rest = lam.list_event_source_mappings(FunctionName=name, Marker=first["NextMarker"])
    assert len(first["EventSourceMappings"]) == 2 and "NextMarker" not in rest
    assert {m["UUID"] for m in first["EventSourceMappings"] + rest["EventSourceMappings"]} == made


def test_validation(lam: Any, sqs: Any, recorder: Callable[..., str]) -> None:
    name = recorder()
    _, arn = new_queue(sqs)
    _, fifo = new_queue(sqs, fifo=True)

    def code_and_message(**params: Any) -> tuple[str, str]:
        err = error_of(lam.create_event_source_mapping, FunctionName=name, **params)
        return err["Code"], err["Message"]

    assert code_and_message(EventSourceArn=arn, BatchSize=11) == (
        "InvalidParameterValueException",
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
    assert code_and_message(EventSourceArn=arn, BatchSize=10001, MaximumBatchingWindowInSeconds=1)[0] == (
        "ValidationException")
    assert code_and_message(EventSourceArn=arn, MaximumBatchingWindowInSeconds=301)[0] == "ValidationException"
    assert code_and_message(EventSourceArn=fifo, BatchSize=11, MaximumBatchingWindowInSeconds=1)[0] == (
        "InvalidParameterValueException")
    assert code_and_message(EventSourceArn=fifo, MaximumBatchingWindowInSeconds=1) == (
        "InvalidParameterValueException", "Batching window is not supported for FIFO queues.")
    code, message = code_and_message(EventSourceArn=arn + "-missing")
    assert code == "InvalidParameterValueException" and "NonExistentQueue" in message
    _, short = new_queue(sqs, VisibilityTimeout="2")
    err = error_of(lam.create_event_source_mapping, FunctionName=recorder(Timeout=5), EventSourceArn=short)
    assert err["Message"] == "Queue visibility timeout: 2 seconds is less than Function timeout: 5 seconds"
    assert error_of(lam.create_event_source_mapping, FunctionName="no-such-function",
                    EventSourceArn=arn)["Code"] == "ResourceNotFoundException"

    first = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, Enabled=False)
    err = error_of(lam.create_event_source_mapping, EventSourceArn=arn, FunctionName=name)
    assert err["Code"] == "ResourceConflictException" and first["UUID"] in err["Message"]
    lam.delete_event_source_mapping(UUID=first["UUID"])


# -- polling ---------------------------------------------------------------------------------------
def test_a_mapping_drains_a_queue_with_the_sqs_event(lam: Any, sqs: Any, recorder: Callable[..., str],
                                                     miniaws: MiniAws) -> None:
    name = recorder()
    url, arn = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="with attributes", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "order"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    for start in range(0, 20, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"}
                                                      for i in range(start, start + 10)])
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=10)
    try:
        got = wait_for(lambda: len(records(miniaws.endpoint_url, name)) >= 21 and records(miniaws.endpoint_url, name))
        assert sorted(r["body"] for r in got) == sorted(["with attributes", *(f"m{i}" for i in range(20))])
        assert all(len(event["Records"]) <= 10 for event in seen(miniaws.endpoint_url, name))
        wait_for(lambda: counts(sqs, url) == (0, 0))  # each batch is deleted once the function returned
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    first = next(r for r in got if r["body"] == "with attributes")
    assert first["eventSource"] == "aws:sqs" and first["eventSourceARN"] == arn and first["awsRegion"] == "us-east-1"
    assert first["md5OfBody"] == hashlib.md5(b"with attributes").hexdigest()
    assert first["receiptHandle"] and len(first["messageId"]) == 36
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(first["attributes"]) >= {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert first["messageAttributes"] == {
        "kind": {"stringValue": "order", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"}}
    assert len(first["md5OfMessageAttributes"]) == 32


def test_the_batching_window_gathers_messages_sent_apart(lam: Any, sqs: Any, recorder: Callable[..., str],
                                                         miniaws: MiniAws) -> None:
    name = recorder()
    url, arn = new_queue(sqs)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=20,
                                              MaximumBatchingWindowInSeconds=1)
    try:
        time.sleep(0.1)  # the poller is parked on the empty queue
        for i in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=f"spaced {i}")
            time.sleep(0.05)
        events = wait_for(lambda: seen(miniaws.endpoint_url, name), timeout=5)
        wait_for(lambda: counts(sqs, url) == (0, 0))
        assert [len(e["Records"]) for e in seen(miniaws.endpoint_url, name)] == [5]
        assert [r["body"] for r in events[0]["Records"]] == [f"spaced {i}" for i in range(5)]
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_failed_batches_return_and_reach_the_dead_letter_queue(lam: Any, sqs: Any, recorder: Callable[..., str],
                                                               miniaws: MiniAws) -> None:
    name = recorder("fail")
    url, arn, dlq_url = with_dead_letters(sqs, max_receives=2)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"doomed {i}"} for i in range(3)])
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)
    try:
        wait_for(lambda: counts(sqs, dlq_url)[0] == 3, timeout=8)
        assert counts(sqs, url) == (0, 0)
        receives = sorted((r["body"], r["attributes"]["ApproximateReceiveCount"])
                          for r in records(miniaws.endpoint_url, name))
        # each message was handed to the function maxReceiveCount times, then SQS moved it
        assert receives == sorted((f"doomed {i}", n) for i in range(3) for n in ("1", "2"))
        assert lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == (
            "PROBLEM: Function call failed")
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"])
    assert bodies == [f"doomed {i}" for i in range(3)]


def test_report_batch_item_failures(lam: Any, sqs: Any, recorder: Callable[..., str], miniaws: MiniAws) -> None:
    name = recorder("partial")
    url, arn, dlq_url = with_dead_letters(sqs, max_receives=2)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i, body in
                                                  enumerate(["good 1", "bad 1", "good 2", "bad 2"])])
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])
    try:
        wait_for(lambda: counts(sqs, dlq_url)[0] == 2, timeout=8)
        assert counts(sqs, url) == (0, 0)
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    bodies = [r["body"] for r in records(miniaws.endpoint_url, name)]
    # the successes were deleted after the first batch; only the reported failures came back
    assert sorted(bodies) == ["bad 1", "bad 1", "bad 2", "bad 2", "good 1", "good 2"]
    dead = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"])
    assert dead == ["bad 1", "bad 2"]


def test_an_invalid_partial_response_fails_the_whole_batch(lam: Any, sqs: Any, recorder: Callable[..., str],
                                                           miniaws: MiniAws) -> None:
    name = recorder("bogus_partial")
    url, arn, dlq_url = with_dead_letters(sqs, max_receives=1)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(2)])
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])
    try:
        wait_for(lambda: counts(sqs, dlq_url)[0] == 2, timeout=8)
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_disabled_mapping_leaves_the_queue_alone(lam: Any, sqs: Any, recorder: Callable[..., str],
                                                   miniaws: MiniAws) -> None:
    name = recorder()
    url, arn = new_queue(sqs)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, Enabled=False)
    try:
        sqs.send_message(QueueUrl=url, MessageBody="waits")
        time.sleep(0.3)
        assert counts(sqs, url) == (1, 0) and seen(miniaws.endpoint_url, name) == []
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
        wait_for(lambda: counts(sqs, url) == (0, 0))
        assert [r["body"] for r in records(miniaws.endpoint_url, name)] == ["waits"]
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    sqs.send_message(QueueUrl=url, MessageBody="after delete")
    time.sleep(0.3)
    assert counts(sqs, url) == (1, 0)


def test_mappings_survive_a_restart(tmp_path: Path) -> None:
    config = load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": False,
                                            "data_dir": str(tmp_path)})
    first = ServerThread(config).start()
    try:
        lam, sqs = make_client(first.endpoint_url, "lambda"), make_client(first.endpoint_url, "sqs")
        lam.create_function(FunctionName="survivor", Runtime="python3.12", Role=ROLE, Handler="app.record",
                            Timeout=1, Code={"ZipFile": RECORDER_ZIP})
        url, arn = new_queue(sqs)
        mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="survivor", BatchSize=3)
    finally:
        first.stop()
    second = ServerThread(config).start()
    try:
        lam, sqs = make_client(second.endpoint_url, "lambda"), make_client(second.endpoint_url, "sqs")
        restored = lam.get_event_source_mapping(UUID=mapping["UUID"])
        assert (restored["State"], restored["BatchSize"], restored["EventSourceArn"]) == ("Enabled", 3, arn)
        sqs.send_message(QueueUrl=url, MessageBody="after the restart")  # the restored mapping polls again
        wait_for(lambda: counts(sqs, url) == (0, 0))
        assert [r["body"] for r in records(second.endpoint_url, "survivor")] == ["after the restart"]
    finally:
        second.stop()
