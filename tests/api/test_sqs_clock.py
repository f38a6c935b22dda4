"""Time-driven SQS behaviour on a server whose clock the test advances (no sleeping): visibility timeouts,
delays, retention, the FIFO deduplication interval, the purge interval and the 12-hour visibility ceiling."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread
from tests.api.conftest import make_client


@dataclass
class Clocked:
    sqs: Any
    clock: FakeClock


@pytest.fixture(scope="module")
def clocked() -> Iterator[Clocked]:
    clock = FakeClock(start=time.time())
    thread = ServerThread(load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True}), clock=clock).start()
    try:
        yield Clocked(make_client(thread.endpoint_url, "sqs"), clock)
    finally:
        thread.stop()


def new_queue(sqs: Any, fifo: bool = False, **attributes: str) -> str:
    name = f"c-{uuid.uuid4().hex[:16]}" + (".fifo" if fifo else "")
    if fifo:
        attributes["FifoQueue"] = "true"
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"]),
            int(attrs["ApproximateNumberOfMessagesDelayed"]))


def bodies(sqs: Any, url: str, **kwargs: Any) -> list[str]:
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs)
            .get("Messages", [])]


def test_visibility_timeout(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs, VisibilityTimeout="30")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    assert bodies(sqs, url) == ["m"]
    assert counts(sqs, url) == (0, 1, 0)
    clock.advance(29)
    assert bodies(sqs, url) == []
    clock.advance(1)
    assert counts(sqs, url) == (1, 0, 0)
    message = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"],
                                  VisibilityTimeout=100)["Messages"][0]
    assert message["Attributes"]["ApproximateReceiveCount"] == "2"
    clock.advance(50)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=10)
    clock.advance(10)
    assert bodies(sqs, url) == ["m"]


def test_queue_and_message_delays(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs, DelaySeconds="60")
    sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
    sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
    sqs.send_message(QueueUrl=url, MessageBody="long-delay", DelaySeconds=900)
    assert counts(sqs, url) == (1, 0, 2)
    assert bodies(sqs, url, VisibilityTimeout=3600) == ["no-delay"]
    clock.advance(60)
    assert bodies(sqs, url, VisibilityTimeout=3600) == ["queue-delay"]
    clock.advance(840)
    assert bodies(sqs, url, VisibilityTimeout=3600) == ["long-delay"]


def test_retention_expires_messages(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs, MessageRetentionPeriod="60")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    clock.advance(30)
    sqs.send_message(QueueUrl=url, MessageBody="young")
    bodies(sqs, url, VisibilityTimeout=5)
    clock.advance(30)
    assert counts(sqs, url) == (1, 0, 0)
    assert bodies(sqs, url) == ["young"]
    clock.advance(30)
    assert counts(sqs, url) == (0, 0, 0)


def test_fifo_deduplication_interval(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs, fifo=True)
    first = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    clock.advance(299)
    assert sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g",
                            MessageDeduplicationId="d")["MessageId"] == first["MessageId"]
    clock.advance(1)
    assert sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g",
                            MessageDeduplicationId="d")["MessageId"] != first["MessageId"]
    assert counts(sqs, url) == (2, 0, 0)


def test_fifo_queue_delay_keeps_group_order(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs, fifo=True, DelaySeconds="10", ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g")
    clock.advance(5)
    sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="g")
    assert bodies(sqs, url) == []
    clock.advance(5)
    assert bodies(sqs, url, VisibilityTimeout=0) == ["1"]
    clock.advance(5)
    assert bodies(sqs, url) == ["1", "2"]


def test_purge_interval(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs)
    sqs.purge_queue(QueueUrl=url)
    clock.advance(59)
    with pytest.raises(ClientError):
        sqs.purge_queue(QueueUrl=url)
    clock.advance(1)
    sqs.purge_queue(QueueUrl=url)


def test_visibility_ceiling_counts_from_the_receive(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=40_000)["Messages"][0]["ReceiptHandle"]
    clock.advance(3_000)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=40_200)
    with pytest.raises(ClientError) as err:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=40_201)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_receive_attempt_id_expires(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    url = new_queue(sqs, fifo=True, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a", VisibilityTimeout=600)["Messages"]
    clock.advance(299)
    assert sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a")["Messages"] == first
    clock.advance(1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a")


def test_dead_letter_after_visibility_timeouts(clocked: Clocked) -> None:
    sqs, clock = clocked.sqs, clocked.clock
    dlq = new_queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = new_queue(sqs, VisibilityTimeout="30",
                    RedrivePolicy=f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}')
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert bodies(sqs, src) == ["poison"]
        clock.advance(30)
    assert bodies(sqs, src) == []
    assert counts(sqs, dlq) == (1, 0, 0)
