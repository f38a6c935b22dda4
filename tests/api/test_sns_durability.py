"""SNS durability of a real `python -m miniaws --data-dir …` process: after a clean restart or a SIGKILL, topics
(attributes, tags), subscriptions (filter policies, raw delivery, pending confirmations and their tokens), FIFO
deduplication and the signing key are all back, and delivery carries on."""
from __future__ import annotations

import json
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.helpers.process import ServerProcess, start_server

pytestmark = pytest.mark.subprocess


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.process: ServerProcess = start_server("--data-dir", str(data_dir), "--dns-port", "0")
        self.endpoint_url = self.process.endpoint_url
        # drain the output (a full pipe would stall the server) and close it when the process ends
        self._drain = threading.Thread(target=self._read_output, daemon=True)
        self._drain.start()
        settings = {"endpoint_url": self.endpoint_url, "region_name": "us-east-1", "aws_access_key_id": "test",
                    "aws_secret_access_key": "test", "config": BotoConfig(retries={"max_attempts": 1})}
        self.sns = boto3.client("sns", **settings)
        self.sqs = boto3.client("sqs", **settings)

    def _read_output(self) -> None:
        stream = self.process.proc.stdout
        assert stream is not None
        with stream:
            while os.read(stream.fileno(), 65536):
                pass

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            assert self.process.terminate() == 0
        self._drain.join(10)

    def outbox(self, destination: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"Destination": destination})
        with urllib.request.urlopen(f"{self.endpoint_url}/_miniaws/sns/outbox?{query}") as response:
            return list(json.loads(response.read())["Messages"])

    def local(self, url: str) -> str:
        """A URL minted by an earlier process, pointed at this one (the port changed)."""
        return self.endpoint_url + "/_miniaws/" + url.split("/_miniaws/", 1)[1]


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop(kill=True)


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_topics_and_subscriptions_survive_a_restart(tmp_path: Path, servers: list[Server], kill: bool) -> None:
    first = Server(tmp_path)
    servers.append(first)
    sns, sqs = first.sns, first.sqs
    topic = sns.create_topic(Name="orders", Attributes={"DisplayName": "Orders", "SignatureVersion": "2"},
                             Tags=[{"Key": "team", "Value": "shop"}])["TopicArn"]
    fifo = sns.create_topic(Name="ledger.fifo", Attributes={"FifoTopic": "true",
                                                            "ContentBasedDeduplication": "true"})["TopicArn"]
    url = sqs.create_queue(QueueName="big-orders")["QueueUrl"]
    fifo_url = sqs.create_queue(QueueName="ledger.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:big-orders",
                        Attributes={"RawMessageDelivery": "true",
                                    "FilterPolicy": json.dumps({"total": [{"numeric": [">", 100]}]})})[
        "SubscriptionArn"]
    sns.subscribe(TopicArn=fifo, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:ledger.fifo",
                  Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    [confirmation] = first.outbox("ops@example.com")
    subscribe_url = next(line for line in confirmation["Body"].splitlines() if line.startswith("http"))
    sns.publish(TopicArn=fifo, Message="entry-1", MessageGroupId="g")
    sns.publish(TopicArn=topic, Message="before", MessageAttributes={"total": {"DataType": "Number",
                                                                              "StringValue": "500"}})
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    certificate_url = None
    first.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery",
                                          AttributeValue="false")
    sns.publish(TopicArn=topic, Message="envelope", MessageAttributes={"total": {"DataType": "Number",
                                                                                "StringValue": "101"}})
    for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10)["Messages"]:
        if message["Body"].startswith("{"):
            certificate_url = json.loads(message["Body"])["SigningCertURL"]
    assert received and certificate_url
    with urllib.request.urlopen(certificate_url) as response:
        certificate = response.read()
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    first.stop(kill)

    second = Server(tmp_path)
    servers.append(second)
    sns, sqs = second.sns, second.sqs
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["DisplayName"] == "Orders" and attributes["SignatureVersion"] == "2"
    assert attributes["SubscriptionsConfirmed"] == "1" and attributes["SubscriptionsPending"] == "1"
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == [{"Key": "team", "Value": "shop"}]
    assert {t["TopicArn"] for t in sns.list_topics()["Topics"]} == {topic, fifo}
    sub_attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert sub_attributes["RawMessageDelivery"] == "true" and "numeric" in sub_attributes["FilterPolicy"]
    # the filter policy still filters, and raw delivery is still raw
    for total in ("5", "250"):
        sns.publish(TopicArn=topic, Message=f"after {total}",
                    MessageAttributes={"total": {"DataType": "Number", "StringValue": total}})
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1,
                                                      MaxNumberOfMessages=10).get("Messages", [])]
    assert "after 250" in bodies and "after 5" not in bodies
    # the same key signs, under the same certificate URL
    with urllib.request.urlopen(second.local(certificate_url)) as response:
        assert response.read() == certificate
    # the pending email subscription's token still confirms it
    with urllib.request.urlopen(second.local(subscribe_url)) as response:
        assert b"ConfirmSubscriptionResult" in response.read()
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "0"
    # FIFO deduplication remembers the message published before the restart
    sns.publish(TopicArn=fifo, Message="entry-1", MessageGroupId="g")
    sns.publish(TopicArn=fifo, Message="entry-2", MessageGroupId="g")
    ledger = []
    while batch := sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10).get("Messages", []):
        ledger += [m["Body"] for m in batch]
        sqs.delete_message_batch(QueueUrl=fifo_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                             for i, m in enumerate(batch)])
    assert ledger == ["entry-1", "entry-2"]
