"""The AWS CLI v1 (`aws sqs`, `aws sns`) against a real `python -m miniaws --ephemeral` process.

One server per module; every CLI run gets a clean environment (empty config and credentials files, only
AWS_ENDPOINT_URL and dummy keys). Each CLI run costs ~1 s of start-up, so independent runs are started
together and every queue and topic the module needs is created in a single parallel batch.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers.process import ServerProcess, start_server
from tests.helpers.awscli import aws_executable as _aws_executable

pytestmark = pytest.mark.subprocess

REGION = "us-east-1"


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = start_server("--ephemeral")
    yield proc
    proc.terminate()
    assert proc.proc.stdout is not None
    proc.proc.stdout.close()


class Cli:
    """Runs `aws … --output json` commands, several at once when they do not depend on each other."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.exe = _aws_executable()

    def _endpoint(self, cmd: Sequence[str]) -> list[str]:
        # CLI v1 (1.46) honours AWS_ENDPOINT_URL for sns but not for sqs, which it still sends to
        # https://queue.amazonaws.com/ (a client quirk, not the server's): pass the endpoint explicitly there
        return ["--endpoint-url", self.env["AWS_ENDPOINT_URL"]] if cmd[0] == "sqs" else []

    def many(self, *commands: Sequence[str]) -> list[Any]:
        """Run the commands concurrently; return each one's parsed JSON output (None when it printed nothing)."""
        procs = [(cmd, subprocess.Popen([self.exe, *self._endpoint(cmd), *cmd, "--output", "json"], env=self.env,
                                        cwd=self.cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                 for cmd in commands]
        results = []
        try:
            for _, proc in procs:
                results.append(proc.communicate(timeout=60))
        finally:
            for _, proc in procs:  # after a failure or timeout, do not leave the others running or open
                if proc.returncode is None:
                    proc.kill()
                    proc.communicate()
        for (cmd, proc), (out, err) in zip(procs, results):
            assert proc.returncode == 0, f"aws {' '.join(cmd)} exited {proc.returncode}:\n{out}\n{err}"
        return [json.loads(out) if out.strip() else None for out, _ in results]

    def __call__(self, *args: str) -> Any:
        return self.many(args)[0]


@pytest.fixture(scope="module")
def aws(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    home = tmp_path_factory.mktemp("aws-home")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "HOME": str(home),
    })
    return Cli(env, home)


QUEUES = {  # key -> (name suffix, create-queue extra args)
    "std": ("std", ()),
    "fifo": ("fifo.fifo", ("--attributes", "FifoQueue=true,ContentBasedDeduplication=true")),
    "src": ("src", ()),
    "dlq": ("dlq", ()),
    "sub": ("sub", ()),
    "fsub": ("fsub.fifo", ("--attributes", "FifoQueue=true,ContentBasedDeduplication=true")),
}
TOPICS = {
    "topic": ("topic", ()),
    "ftopic": ("ftopic.fifo", ("--attributes", "FifoTopic=true,ContentBasedDeduplication=true")),
}


@pytest.fixture(scope="module")
def made(aws: Cli) -> dict[str, Any]:
    """Every queue and topic of the module, created by one parallel batch of `create-queue`/`create-topic`."""
    run = uuid.uuid4().hex[:10]
    names = {key: f"cli-{run}-{suffix}" for key, (suffix, _) in {**QUEUES, **TOPICS}.items()}
    commands = [("sqs", "create-queue", "--queue-name", names[k], *extra) for k, (_, extra) in QUEUES.items()]
    commands += [("sns", "create-topic", "--name", names[k], *extra) for k, (_, extra) in TOPICS.items()]
    outputs = aws.many(*commands)
    result: dict[str, Any] = {"names": names, "created": dict(zip([*QUEUES, *TOPICS], outputs))}
    for key in QUEUES:
        result[key] = result["created"][key]["QueueUrl"]
    for key in TOPICS:
        result[key] = result["created"][key]["TopicArn"]
    account = urlsplit(result["std"]).path.strip("/").split("/")[0]
    result["account"] = account
    result["arn"] = arn = {key: f"arn:aws:sqs:{REGION}:{account}:{names[key]}" for key in QUEUES}
    # the first step of several tests, in one more parallel batch (each is asserted by its test)
    result["redrive"] = json.dumps({"deadLetterTargetArn": arn["dlq"], "maxReceiveCount": "2"})
    (result["subscribed"], result["fsubscribed"], result["set_redrive"], result["poison"]) = aws.many(
        ("sns", "subscribe", "--topic-arn", result["topic"], "--protocol", "sqs", "--notification-endpoint",
         arn["sub"], "--attributes", "RawMessageDelivery=true", "--return-subscription-arn"),
        ("sns", "subscribe", "--topic-arn", result["ftopic"], "--protocol", "sqs", "--notification-endpoint",
         arn["fsub"], "--return-subscription-arn"),
        ("sqs", "set-queue-attributes", "--queue-url", result["src"], "--attributes",
         json.dumps({"RedrivePolicy": result["redrive"]})),
        ("sqs", "send-message", "--queue-url", result["src"], "--message-body", "poison pill"))
    return result


# -------------------------------------------------------------------------------------------- helpers
def _aws_md5_of_attributes(attributes: dict[str, dict[str, Any]]) -> str:
    """MD5OfMessageAttributes as AWS documents it, written out here independently of the server's code:
    for each attribute sorted by name, length-prefixed (4-byte big-endian) name, data type, then a transport
    byte (1 string, 2 binary) and the length-prefixed value."""
    digest = hashlib.md5()

    def field(data: bytes) -> None:
        digest.update(struct.pack(">I", len(data)) + data)

    for name in sorted(attributes):
        attribute = attributes[name]
        field(name.encode())
        field(attribute["DataType"].encode())
        if "BinaryValue" in attribute:
            digest.update(b"\x02")
            value = attribute["BinaryValue"]
            field(value if isinstance(value, bytes) else base64.b64decode(value))
        else:
            digest.update(b"\x01")
            field(attribute["StringValue"].encode())
    return digest.hexdigest()


def _receive(aws: Cli, url: str, *extra: str) -> list[dict[str, Any]]:
    out = aws("sqs", "receive-message", "--queue-url", url, "--wait-time-seconds", "1",
              "--max-number-of-messages", "10", "--attribute-names", "All",
              "--message-attribute-names", "All", *extra)
    return (out or {}).get("Messages", [])


def _counts(output: dict[str, Any]) -> tuple[int, int, int]:
    attrs = output["Attributes"]
    return (int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"]),
            int(attrs["ApproximateNumberOfMessagesDelayed"]))


# ------------------------------------------------------------------------------------------------ SQS
def test_create_queue_and_get_queue_url(aws: Cli, made: dict[str, Any], server: ServerProcess) -> None:
    endpoint = urlsplit(server.endpoint_url)
    for key in ("std", "fifo"):
        url = urlsplit(made[key])
        assert (url.scheme, url.netloc) == (endpoint.scheme, endpoint.netloc)  # usable from the host
        assert url.path == f"/{made['account']}/{made['names'][key]}"
    assert made["account"].isdigit() and len(made["account"]) == 12

    std_url, fifo_url, fifo_attrs = aws.many(
        ("sqs", "get-queue-url", "--queue-name", made["names"]["std"]),
        ("sqs", "get-queue-url", "--queue-name", made["names"]["fifo"]),
        ("sqs", "get-queue-attributes", "--queue-url", made["fifo"], "--attribute-names", "All"))
    assert std_url == {"QueueUrl": made["std"]}
    assert fifo_url == {"QueueUrl": made["fifo"]}
    fifo = fifo_attrs["Attributes"]
    assert fifo["FifoQueue"] == "true"
    assert fifo["ContentBasedDeduplication"] == "true"
    assert fifo["QueueArn"] == made["arn"]["fifo"]


def test_send_receive_delete_with_attributes_and_batch(aws: Cli, made: dict[str, Any]) -> None:
    url = made["std"]
    attributes = {
        "event": {"DataType": "String", "StringValue": "OrderPlaced"},
        "amount": {"DataType": "Number", "StringValue": "42.5"},
        # CLI v1 takes a blob given on the command line as its raw text (v2 would base64-decode it)
        "blob": {"DataType": "Binary", "BinaryValue": "binary\u00ffpayload"},
        "trace": {"DataType": "String.custom", "StringValue": "héllo"},
    }
    body = "order 1001 placed — ünïcode"
    batch = [{"Id": f"m{i}", "MessageBody": f"batch body {i}"} for i in range(3)]
    sent, sent_batch, fifo_a, fifo_b = aws.many(
        ("sqs", "send-message", "--queue-url", url, "--message-body", body,
         "--message-attributes", json.dumps(attributes)),
        ("sqs", "send-message-batch", "--queue-url", url, "--entries", json.dumps(batch)),
        # content-based deduplication: the same body twice in the same group is one message
        ("sqs", "send-message", "--queue-url", made["fifo"], "--message-body", "same", "--message-group-id", "g"),
        ("sqs", "send-message", "--queue-url", made["fifo"], "--message-body", "same", "--message-group-id", "g"))

    blob = "binary\u00ffpayload".encode()
    expected_md5 = _aws_md5_of_attributes({**attributes, "blob": {"DataType": "Binary", "BinaryValue": blob}})
    assert sent["MD5OfMessageAttributes"] == expected_md5
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sorted(entry["Id"] for entry in sent_batch["Successful"]) == ["m0", "m1", "m2"]
    assert not sent_batch.get("Failed")
    for entry in sent_batch["Successful"]:
        index = int(entry["Id"][1:])
        assert entry["MD5OfMessageBody"] == hashlib.md5(f"batch body {index}".encode()).hexdigest()
    assert fifo_a["SequenceNumber"] and fifo_b["MessageId"]

    std_attrs, fifo_attrs = aws.many(
        ("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All"),
        ("sqs", "get-queue-attributes", "--queue-url", made["fifo"], "--attribute-names", "All"))
    assert _counts(std_attrs) == (4, 0, 0)
    std = std_attrs["Attributes"]
    assert "FifoQueue" not in std
    assert std["QueueArn"] == made["arn"]["std"]
    assert std["VisibilityTimeout"] == "30"
    assert std["MessageRetentionPeriod"] == "345600"
    assert _counts(fifo_attrs) == (1, 0, 0)  # deduplicated

    messages = _receive(aws, url, "--visibility-timeout", "30")
    assert len(messages) == 4
    by_body = {m["Body"]: m for m in messages}
    assert set(by_body) == {body, "batch body 0", "batch body 1", "batch body 2"}
    first = by_body[body]
    assert first["MessageId"] == sent["MessageId"]
    assert first["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert first["MD5OfMessageAttributes"] == expected_md5
    assert first["MessageAttributes"]["event"] == {"DataType": "String", "StringValue": "OrderPlaced"}
    assert first["MessageAttributes"]["amount"] == {"DataType": "Number", "StringValue": "42.5"}
    assert first["MessageAttributes"]["trace"] == {"DataType": "String.custom", "StringValue": "héllo"}
    # the CLI prints a received blob base64-encoded
    assert first["MessageAttributes"]["blob"] == {"DataType": "Binary",
                                                  "BinaryValue": base64.b64encode(blob).decode()}
    system = first["Attributes"]
    assert system["ApproximateReceiveCount"] == "1"
    assert system["SentTimestamp"].isdigit()
    assert int(system["ApproximateFirstReceiveTimestamp"]) >= int(system["SentTimestamp"])
    assert system["SenderId"]
    for message in messages:
        assert message["MD5OfBody"] == hashlib.md5(message["Body"].encode()).hexdigest()

    deleted = aws("sqs", "delete-message", "--queue-url", url, "--receipt-handle", first["ReceiptHandle"])
    assert deleted is None  # delete-message prints nothing
    after = aws("sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
    assert _counts(after) == (0, 3, 0)  # three left, still in flight


def test_redrive_policy_moves_messages_to_dead_letter_queue(aws: Cli, made: dict[str, Any]) -> None:
    src, dlq = made["src"], made["dlq"]
    # set-queue-attributes RedrivePolicy (maxReceiveCount 2) and send-message ran in the `made` fixture
    assert made["set_redrive"] is None  # set-queue-attributes prints nothing
    sent = made["poison"]
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"poison pill").hexdigest()

    for count in (1, 2):  # visibility timeout 0: visible again at once
        (message,) = _receive(aws, src, "--visibility-timeout", "0")
        assert message["MessageId"] == sent["MessageId"]
        assert message["Attributes"]["ApproximateReceiveCount"] == str(count)

    # third receive: moved, not returned (no need to wait: with a visibility timeout of 0 it would be visible)
    third = aws("sqs", "receive-message", "--queue-url", src, "--visibility-timeout", "0")
    assert third is None or third.get("Messages", []) == []

    moved, src_attrs = aws.many(
        ("sqs", "receive-message", "--queue-url", dlq, "--wait-time-seconds", "1", "--attribute-names", "All"),
        ("sqs", "get-queue-attributes", "--queue-url", src, "--attribute-names", "All"))
    (dead,) = moved["Messages"]
    assert dead["Body"] == "poison pill"
    assert dead["MessageId"] == sent["MessageId"]  # AWS keeps the id when it moves a message
    assert json.loads(src_attrs["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": made["arn"]["dlq"], "maxReceiveCount": 2}
    assert _counts(src_attrs) == (0, 0, 0)  # gone from the source queue


# ------------------------------------------------------------------------------------------------ SNS
def test_sns_subscribe_raw_filter_policy_and_publish(aws: Cli, made: dict[str, Any]) -> None:
    topic, queue = made["topic"], made["sub"]
    # subscribe --protocol sqs --attributes RawMessageDelivery=true ran in the `made` fixture
    sub_arn = made["subscribed"]["SubscriptionArn"]
    assert sub_arn.startswith(topic + ":")

    policy = {"event": ["OrderPlaced"], "amount": [{"numeric": [">=", 10]}]}
    _, listed = aws.many(
        ("sns", "set-subscription-attributes", "--subscription-arn", sub_arn,
         "--attribute-name", "FilterPolicy", "--attribute-value", json.dumps(policy)),
        ("sns", "list-subscriptions-by-topic", "--topic-arn", topic))
    (entry,) = listed["Subscriptions"]
    assert entry == {"SubscriptionArn": sub_arn, "Owner": made["account"], "Protocol": "sqs",
                     "Endpoint": made["arn"]["sub"], "TopicArn": topic}

    delivered_attrs = {"event": {"DataType": "String", "StringValue": "OrderPlaced"},
                       "amount": {"DataType": "Number", "StringValue": "25"}}
    filtered_attrs = {"event": {"DataType": "String", "StringValue": "OrderPlaced"},
                      "amount": {"DataType": "Number", "StringValue": "5"}}
    published, dropped, sub_attrs = aws.many(
        ("sns", "publish", "--topic-arn", topic, "--message", "big order",
         "--message-attributes", json.dumps(delivered_attrs)),
        ("sns", "publish", "--topic-arn", topic, "--message", "small order",
         "--message-attributes", json.dumps(filtered_attrs)),
        ("sns", "get-subscription-attributes", "--subscription-arn", sub_arn))
    assert published["MessageId"] != dropped["MessageId"]
    assert json.loads(sub_attrs["Attributes"]["FilterPolicy"]) == policy
    assert sub_attrs["Attributes"]["RawMessageDelivery"] == "true"

    messages = _receive(aws, queue)
    assert [m["Body"] for m in messages] == ["big order"]  # raw: the message itself, no envelope
    (message,) = messages
    assert message["MessageAttributes"] == delivered_attrs
    assert message["MD5OfMessageAttributes"] == _aws_md5_of_attributes(delivered_attrs)
    after = aws("sqs", "get-queue-attributes", "--queue-url", queue, "--attribute-names", "All")
    assert _counts(after) == (0, 1, 0)  # "small order" was filtered out, not merely late


def test_sns_fifo_topic_to_fifo_queue_in_order(aws: Cli, made: dict[str, Any]) -> None:
    topic, queue = made["ftopic"], made["fsub"]
    assert topic.endswith(":" + made["names"]["ftopic"])
    assert made["fsubscribed"]["SubscriptionArn"].startswith(topic + ":")

    bodies = ["step 1", "step 2", "step 3"]
    published = []
    for body in bodies:  # one after the other: the order is the publish order
        published.append(aws("sns", "publish", "--topic-arn", topic, "--message", body,
                             "--message-group-id", "order-7"))
    sequence = [int(p["SequenceNumber"]) for p in published]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3

    messages = _receive(aws, queue)
    envelopes = [json.loads(m["Body"]) for m in messages]
    assert [e["Message"] for e in envelopes] == bodies
    assert [e["MessageId"] for e in envelopes] == [p["MessageId"] for p in published]
    assert {e["TopicArn"] for e in envelopes} == {topic}
    assert {e["Type"] for e in envelopes} == {"Notification"}
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"order-7"}
    queue_sequence = [int(m["Attributes"]["SequenceNumber"]) for m in messages]
    assert queue_sequence == sorted(queue_sequence)
