"""FIFO queues with boto3: per-group order and group locking, deduplication (explicit, content-based, per group),
ReceiveRequestAttemptId, FIFO-only parameters, and order and dedup under concurrent producers and consumers."""
from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return make_client(endpoint, "sqs")


def fifo_queue(sqs: Any, **attributes: str) -> str:
    name = f"f-{uuid.uuid4().hex[:16]}.fifo"
    return str(sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"])


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


def test_order_within_groups_and_group_lock(sqs: Any) -> None:
    url = fifo_queue(sqs)
    for i in range(3):
        for group in ("a", "b"):
            sqs.send_message(QueueUrl=url, MessageBody=f"{group}{i}", MessageGroupId=group,
                             MessageDeduplicationId=f"{group}{i}")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in first] == ["a0", "a1"]
    assert first[0]["Attributes"]["MessageGroupId"] == "a"
    assert int(first[0]["Attributes"]["SequenceNumber"]) < int(first[1]["Attributes"]["SequenceNumber"])
    # group a is locked while a0 and a1 are in flight
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == ["b0", "b1", "b2"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    for message in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a2"]


def test_explicit_deduplication(sqs: Any) -> None:
    url = fifo_queue(sqs)
    first = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="d")
    again = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g", MessageDeduplicationId="d")
    assert again["MessageId"] == first["MessageId"] and again["SequenceNumber"] == first["SequenceNumber"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in messages] == ["one"]
    assert messages[0]["Attributes"]["MessageDeduplicationId"] == "d"
    # still a duplicate after the original was consumed (the interval is five minutes from the send)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="d")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_content_based_deduplication(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    a = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    b = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="other-group")
    c = sqs.send_message(QueueUrl=url, MessageBody="different", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"] != c["MessageId"]
    # an explicit id overrides the generated one
    d = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="explicit")
    assert d["MessageId"] != a["MessageId"]
    assert error_of(sqs.send_message, QueueUrl=fifo_queue(sqs), MessageBody="x",
                    MessageGroupId="g")["Code"] == "InvalidParameterValue"


def test_deduplication_per_message_group(sqs: Any) -> None:
    url = fifo_queue(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    a = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="d")
    b = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g2", MessageDeduplicationId="d")
    c = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g1", MessageDeduplicationId="d")
    assert a["MessageId"] != b["MessageId"] and c["MessageId"] == a["MessageId"]
    bad = error_of(sqs.create_queue, QueueName=f"t-{uuid.uuid4().hex[:12]}.fifo", Attributes={
        "FifoQueue": "true", "DeduplicationScope": "queue", "FifoThroughputLimit": "perMessageGroupId"})
    assert bad["Code"] == "InvalidParameterValue"


def test_fifo_only_parameters(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    assert error_of(sqs.send_message, QueueUrl=url, MessageBody="x")["Code"] == "MissingParameter"
    assert error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g",
                    DelaySeconds=5)["Code"] == "InvalidParameterValue"
    assert error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g" * 129)["Code"] == \
        "InvalidParameterValue"
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "ok", "MessageBody": "1", "MessageGroupId": "g"},
        {"Id": "nogroup", "MessageBody": "2"}])
    assert [e["Id"] for e in batch["Successful"]] == ["ok"] and "SequenceNumber" in batch["Successful"][0]
    assert batch["Failed"][0]["Code"] == "MissingParameter"


def test_receive_request_attempt_id(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i), MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")
    retry = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")
    assert [m["ReceiptHandle"] for m in retry["Messages"]] == [m["ReceiptHandle"] for m in first["Messages"]]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-2")
    # once a message of the attempt is modified, the attempt id no longer replays it
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["Messages"][0]["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-1")


def test_stale_receipt_handle_after_redelivery(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    old = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    new = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"][0]
    assert error_of(sqs.delete_message, QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])["Code"] == \
        "ReceiptHandleIsInvalid"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])


def test_order_and_dedup_under_concurrency(endpoint: str) -> None:
    setup = make_client(endpoint, "sqs")
    url = fifo_queue(setup)
    groups, per_group = 4, 25
    local = threading.local()

    def client() -> Any:
        if not hasattr(local, "sqs"):
            local.sqs = make_client(endpoint, "sqs")
        return local.sqs

    def produce(group: int) -> None:
        for i in range(per_group):
            # every message is sent twice, racing another producer thread with the same dedup id
            client().send_message(QueueUrl=url, MessageBody=f"{group}:{i}", MessageGroupId=f"g{group}",
                                  MessageDeduplicationId=f"{group}-{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(produce, [g for g in range(groups) for _ in range(2)]))

    received: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()

    def consume(_: int) -> None:
        while True:
            messages = client().receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            with lock:
                for message in messages:
                    group, index = message["Body"].split(":")
                    received[group].append(int(index))
            client().delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(consume, range(4)))
    assert {g: sorted(v) for g, v in received.items()} == {str(g): list(range(per_group)) for g in range(groups)}
    # group locking means each group's messages arrived in send order even with competing consumers
    assert all(v == sorted(v) for v in received.values())
