"""SQS durability of a real `python -m miniaws --data-dir …` process: after a clean restart or a SIGKILL, every
acknowledged and not deleted message is back (in-flight ones when their visibility timeout has passed, with
their receipt handles still valid), deleted messages never return, and queue settings and FIFO deduplication
survive."""
from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from tests.helpers.process import ServerProcess, start_server

pytestmark = pytest.mark.subprocess


class Server:
    """A miniaws process on a data directory whose output is drained (a full pipe would stall it)."""

    def __init__(self, data_dir: Path) -> None:
        self.process: ServerProcess = start_server("--data-dir", str(data_dir))
        self.output = bytearray(self.process.output)
        self._drain = threading.Thread(target=self._read_output, daemon=True)
        self._drain.start()
        self.sqs = boto3.client("sqs", endpoint_url=self.endpoint_url, region_name="us-east-1",
                                aws_access_key_id="test", aws_secret_access_key="test",
                                config=BotoConfig(retries={"max_attempts": 1}, read_timeout=30))

    @property
    def endpoint_url(self) -> str:
        return self.process.endpoint_url

    def _read_output(self) -> None:
        stream = self.process.proc.stdout
        assert stream is not None
        with stream:
            while chunk := os.read(stream.fileno(), 65536):
                self.output += chunk

    def peek(self, name: str) -> list[dict[str, Any]]:
        url = f"{self.endpoint_url}/_miniaws/sqs/000000000000/{name}/messages"
        with urllib.request.urlopen(url) as response:
            return list(json.loads(response.read())["Messages"])

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            assert self.process.terminate() == 0, self.output.decode(errors="replace")
        self._drain.join(10)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.process.kill()


def _start(servers: list[Server], data_dir: Path) -> Server:
    server = Server(data_dir)
    servers.append(server)
    return server


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_messages_survive_a_restart(tmp_path: Path, servers: list[Server], kill: bool) -> None:
    first = _start(servers, tmp_path)
    sqs = first.sqs
    name = f"durable-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"},
                           tags={"team": "orders"})["QueueUrl"]
    ids = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}",
                            MessageAttributes={"n": {"DataType": "Number", "StringValue": str(i)}})["MessageId"]
           for i in range(10)]

    def receive_one(visibility: int) -> dict[str, Any]:
        return dict(sqs.receive_message(QueueUrl=url, VisibilityTimeout=visibility,
                                        AttributeNames=["All"])["Messages"][0])

    deleted = [receive_one(3600) for _ in range(3)]
    for message in deleted:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    held = [receive_one(3600) for _ in range(2)]
    returning = receive_one(1)
    fifo = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dedup = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
    first.stop(kill)

    second = _start(servers, tmp_path)
    sqs = second.sqs
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "45"}
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "orders"}
    peeked = {m["MessageId"]: m for m in second.peek(name)}
    gone = {m["MessageId"] for m in deleted}
    assert set(peeked) == set(ids) - gone
    for message in held:
        assert peeked[message["MessageId"]]["State"] == "inflight"
        assert peeked[message["MessageId"]]["Attributes"]["ApproximateReceiveCount"] == "1"
    # a receipt handle from before the restart still works
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=held[0]["ReceiptHandle"], VisibilityTimeout=0)

    received: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 20
    while len(received) < 6 and time.monotonic() < deadline:
        # long polls: the one with the 1 s visibility timeout comes back by itself, woken by a timer
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                                           VisibilityTimeout=3600, AttributeNames=["All"],
                                           MessageAttributeNames=["All"]).get("Messages", []):
            received[message["MessageId"]] = message
    expected = set(ids) - gone - {held[1]["MessageId"]}
    assert set(received) == expected
    assert returning["MessageId"] in received
    assert received[returning["MessageId"]]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert received[held[0]["MessageId"]]["Attributes"]["ApproximateFirstReceiveTimestamp"] == \
        held[0]["Attributes"]["ApproximateFirstReceiveTimestamp"]
    index = ids.index(returning["MessageId"])
    assert received[returning["MessageId"]]["MessageAttributes"]["n"]["StringValue"] == str(index)
    for message in received.values():
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # FIFO deduplication remembers the send from before the restart
    fifo = sqs.get_queue_url(QueueName=f"{name}.fifo")["QueueUrl"]
    again = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d")
    assert again["MessageId"] == dedup["MessageId"]
    second.stop(kill=False)

    third = _start(servers, tmp_path)
    assert [m["MessageId"] for m in third.peek(name)] == [held[1]["MessageId"]]


def test_sigkill_during_sends_loses_no_acknowledged_message(tmp_path: Path, servers: list[Server]) -> None:
    server = _start(servers, tmp_path)
    name = f"crash-{uuid.uuid4().hex[:8]}"
    url = server.sqs.create_queue(QueueName=name)["QueueUrl"]
    acked: set[str] = set()
    deleted: set[str] = set()
    deleting: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def produce(worker: int) -> None:
        client = boto3.client("sqs", endpoint_url=server.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test",
                              config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5))
        sequence = 0
        while not stop.is_set():
            try:
                if sequence % 5 == 4:
                    got = client.receive_message(QueueUrl=url).get("Messages", [])
                    for message in got:
                        with lock:
                            # a delete the crash cut off may or may not have been committed
                            deleting.add(message["MessageId"])
                        client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                        with lock:
                            deleted.add(message["MessageId"])
                else:
                    message_id = client.send_message(QueueUrl=url, MessageBody=f"{worker}-{sequence}")["MessageId"]
                    with lock:
                        acked.add(message_id)
            except (BotoCoreError, ClientError):
                return
            sequence += 1

    workers = [threading.Thread(target=produce, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    # kill once real traffic is flowing (bounded), so sends and deletes are in flight at the crash
    deadline = time.monotonic() + 10
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop(kill=True)
    stop.set()
    for worker in workers:
        worker.join(10)
    assert len(acked) > 20

    restarted = _start(servers, tmp_path)
    back = {m["MessageId"] for m in restarted.peek(name)}
    assert acked - deleting <= back
    assert not back & deleted
