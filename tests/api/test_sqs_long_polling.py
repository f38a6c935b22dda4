"""Long polling is event-driven: a parked ReceiveMessage returns as soon as a message arrives from another
client, when a visibility timeout runs out, or when its queue is deleted; otherwise at WaitTimeSeconds."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return make_client(endpoint, "sqs", config=BotoConfig(retries={"max_attempts": 1}, read_timeout=60))


@pytest.fixture
def queue(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"lp-{uuid.uuid4().hex[:16]}")["QueueUrl"])


def _send_later(endpoint: str, url: str, delay: float, body: str = "wake") -> threading.Thread:
    sender = make_client(endpoint, "sqs")

    def run() -> None:
        time.sleep(delay)
        sender.send_message(QueueUrl=url, MessageBody=body)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_long_poll_returns_promptly_after_a_send(sqs: Any, queue: str, endpoint: str) -> None:
    sender = _send_later(endpoint, queue, 0.3)
    started = time.monotonic()
    result = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)
    elapsed = time.monotonic() - started
    sender.join()
    assert [m["Body"] for m in result["Messages"]] == ["wake"]
    # woken by the send, not by a polling interval or the 20 s wait
    assert elapsed < 5


def test_queue_default_wait_time(sqs: Any, endpoint: str) -> None:
    url = sqs.create_queue(QueueName=f"lpd-{uuid.uuid4().hex[:12]}",
                           Attributes={"ReceiveMessageWaitTimeSeconds": "20"})["QueueUrl"]
    sender = _send_later(endpoint, url, 0.3)
    started = time.monotonic()
    assert "Messages" in sqs.receive_message(QueueUrl=url)
    assert time.monotonic() - started < 5
    sender.join()


def test_empty_long_poll_waits_its_time(sqs: Any, queue: str) -> None:
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    assert time.monotonic() - started >= 0.9


def test_many_waiters_each_get_a_message(sqs: Any, queue: str, endpoint: str) -> None:
    def receive(_: int) -> list[str]:
        client = make_client(endpoint, "sqs", config=BotoConfig(retries={"max_attempts": 1}, read_timeout=60))
        return [m["Body"] for m in client.receive_message(QueueUrl=queue, WaitTimeSeconds=10).get("Messages", [])]

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(receive, i) for i in range(4)]
        time.sleep(0.3)
        started = time.monotonic()
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(4)])
        got = sorted(body for future in futures for body in future.result())
    assert got == ["0", "1", "2", "3"]
    assert time.monotonic() - started < 5


def test_wakes_when_a_visibility_timeout_runs_out(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1)["Messages"][0]
    started = time.monotonic()
    second = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert 0.5 < time.monotonic() - started < 5


def test_wakes_when_a_fifo_group_unlocks(sqs: Any, endpoint: str) -> None:
    url = sqs.create_queue(QueueName=f"lpf-{uuid.uuid4().hex[:12]}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"][0]
    deleter = make_client(endpoint, "sqs")

    def delete_later() -> None:
        time.sleep(0.3)
        deleter.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])

    thread = threading.Thread(target=delete_later)
    thread.start()
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    thread.join()
    assert [m["Body"] for m in got] == ["second"] and time.monotonic() - started < 5


def test_deleting_the_queue_ends_the_wait(sqs: Any, queue: str, endpoint: str) -> None:
    deleter = make_client(endpoint, "sqs")
    thread = threading.Timer(0.3, lambda: deleter.delete_queue(QueueUrl=queue))
    thread.start()
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)
    thread.join()
    assert time.monotonic() - started < 5
