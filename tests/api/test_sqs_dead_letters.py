"""Dead-letter queues with boto3: redrive after maxReceiveCount, then StartMessageMoveTask /
ListMessageMoveTasks / CancelMessageMoveTask to move messages back to their source or elsewhere."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return make_client(endpoint, "sqs")


def arn_of(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def make_pair(sqs: Any, max_receive: int = 1, fifo: bool = False) -> tuple[str, str]:
    suffix = ".fifo" if fifo else ""
    extra = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:12]}{suffix}", Attributes=extra)["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": max_receive})
    src = sqs.create_queue(QueueName=f"src-{uuid.uuid4().hex[:12]}{suffix}",
                           Attributes={**extra, "RedrivePolicy": policy})["QueueUrl"]
    return str(src), str(dlq)


def fail_delivery(sqs: Any, url: str, times: int) -> None:
    """Receive without deleting: each receive with VisibilityTimeout=0 counts as a failed delivery."""
    for _ in range(times):
        sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, MaxNumberOfMessages=10)


def count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return sum(int(attrs[k]) for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                       "ApproximateNumberOfMessagesDelayed"))


def wait_for_task(sqs: Any, source_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        task = sqs.list_message_move_tasks(SourceArn=source_arn)["Results"][0]
        if task["Status"] != "RUNNING" or time.monotonic() > deadline:
            return dict(task)
        time.sleep(0.05)


def test_redrive_after_max_receive_count(sqs: Any) -> None:
    src, dlq = make_pair(sqs, max_receive=2)
    sent = sqs.send_message(QueueUrl=src, MessageBody="poison",
                            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    fail_delivery(sqs, src, 2)
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    [dead] = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], MessageAttributeNames=["All"],
                                 VisibilityTimeout=0)["Messages"]
    assert dead["MessageId"] == sent["MessageId"] and dead["Body"] == "poison"
    assert dead["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, src)
    assert count(sqs, src) == 0 and count(sqs, dlq) == 1


def test_fifo_redrive_keeps_group(sqs: Any) -> None:
    src, dlq = make_pair(sqs, max_receive=1, fifo=True)
    sqs.send_message(QueueUrl=src, MessageBody="a", MessageGroupId="g")
    sqs.send_message(QueueUrl=src, MessageBody="b", MessageGroupId="g")
    sqs.receive_message(QueueUrl=src, VisibilityTimeout=0, MaxNumberOfMessages=1)
    # the head went to the DLQ on the next receive; the group continues with the next message
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10)["Messages"]] == ["b"]
    dead = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert dead["Body"] == "a" and dead["Attributes"]["MessageGroupId"] == "g"


def test_move_task_back_to_source(sqs: Any) -> None:
    src, dlq = make_pair(sqs)
    sqs.send_message_batch(QueueUrl=src, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(5)])
    fail_delivery(sqs, src, 2)
    assert count(sqs, dlq) == 5
    handle = sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq))["TaskHandle"]
    task = wait_for_task(sqs, arn_of(sqs, dlq))
    assert task["Status"] == "COMPLETED" and "TaskHandle" not in task
    assert task["ApproximateNumberOfMessagesMoved"] == task["ApproximateNumberOfMessagesToMove"] == 5
    assert count(sqs, dlq) == 0
    moved = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in moved) == ["0", "1", "2", "3", "4"]
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in moved)
    with pytest.raises(ClientError) as err:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_move_task_to_a_destination_with_rate_and_cancel(sqs: Any) -> None:
    src, dlq = make_pair(sqs)
    other = sqs.create_queue(QueueName=f"dest-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=src, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(6)])
    fail_delivery(sqs, src, 2)
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, other),
                                         MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    listed = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert listed[0]["Status"] == "RUNNING" and listed[0]["TaskHandle"] == handle
    assert listed[0]["MaxNumberOfMessagesPerSecond"] == 1
    with pytest.raises(ClientError) as err:
        sqs.start_message_move_task(SourceArn=dlq_arn)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert moved < 6
    task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert task["Status"] == "CANCELLED" and task["DestinationArn"] == arn_of(sqs, other)
    assert count(sqs, other) == moved and count(sqs, dlq) == 6 - moved


def test_move_task_errors(sqs: Any) -> None:
    plain = sqs.create_queue(QueueName=f"plain-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    for call, kwargs, code in [
        (sqs.start_message_move_task, {"SourceArn": arn_of(sqs, plain)}, "InvalidParameterValue"),
        (sqs.start_message_move_task, {"SourceArn": "arn:aws:sqs:us-east-1:000000000000:nope"},
         "ResourceNotFoundException"),
        (sqs.list_message_move_tasks, {"SourceArn": "arn:aws:sqs:us-east-1:000000000000:nope"},
         "ResourceNotFoundException"),
        (sqs.cancel_message_move_task, {"TaskHandle": "bm90LWEtdGFzaw=="}, "ResourceNotFoundException"),
    ]:
        with pytest.raises(ClientError) as err:
            call(**kwargs)
        assert err.value.response["Error"]["Code"] == code
    _, dlq = make_pair(sqs)
    with pytest.raises(ClientError) as err:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), MaxNumberOfMessagesPerSecond=501)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert sqs.list_message_move_tasks(SourceArn=arn_of(sqs, dlq))["Results"] == []
