"""SNS Publish / PublishBatch with boto3, delivered to SQS in-process: the signed JSON envelope (verified the
way AWS's message validators do), raw delivery with message attributes, fan-out with filter policies on
attributes and on the body, MessageStructure=json, FIFO topics to FIFO queues in order with deduplication,
validation errors, and dead-letter queues for undeliverable messages."""
from __future__ import annotations

import base64
import json
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sns(endpoint: str) -> Any:
    return make_client(endpoint, "sns")


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return make_client(endpoint, "sqs")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:14]}"


def new_queue(sqs: Any, fifo: bool = False, **attributes: str) -> tuple[str, str]:
    """(url, arn) of a new queue."""
    name = _name("q") + (".fifo" if fifo else "")
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, f"arn:aws:sqs:us-east-1:000000000000:{name}"


def drain(sqs: Any, url: str, expect: int | None = None, wait: int = 1) -> list[dict[str, Any]]:
    """Every message in the queue (deleted as read)."""
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0 if out else wait,
                                  MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        out += got
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(got)])
        if expect is not None and len(out) >= expect:
            break
    return out


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


def verify_like_the_sdk(message: dict[str, Any]) -> None:
    """What AWS's SNS message validators do: fetch SigningCertURL, rebuild the canonical string, verify."""
    fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    if message["Type"] != "Notification":
        fields = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    canonical = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message).encode()
    with urllib.request.urlopen(message["SigningCertURL"]) as response:
        certificate = x509.load_pem_x509_certificate(response.read())
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    digest = hashes.SHA256() if message["SignatureVersion"] == "2" else hashes.SHA1()
    key.verify(base64.b64decode(message["Signature"]), canonical, padding.PKCS1v15(), digest)


@pytest.mark.parametrize("version", ["1", "2"])
def test_envelope_is_signed_and_verifies(sns: Any, sqs: Any, version: str) -> None:
    topic = sns.create_topic(Name=_name("t"), Attributes={"SignatureVersion": version})["TopicArn"]
    url, arn = new_queue(sqs)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    published = sns.publish(TopicArn=topic, Message="héllo\nwörld", Subject="Greetings",
                            MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"},
                                               "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    [received] = drain(sqs, url, 1)
    envelope = json.loads(received["Body"])
    assert list(envelope) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
                              "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL",
                              "MessageAttributes"]
    assert envelope["Type"] == "Notification" and envelope["MessageId"] == published["MessageId"]
    assert envelope["TopicArn"] == topic and envelope["Message"] == "héllo\nwörld"
    assert envelope["SignatureVersion"] == version
    assert envelope["MessageAttributes"] == {"kind": {"Type": "String", "Value": "greeting"},
                                             "blob": {"Type": "Binary", "Value": "AAE="}}
    assert envelope["Timestamp"].endswith("Z") and len(envelope["Timestamp"]) == 24
    assert sub in urllib.request.unquote(envelope["UnsubscribeURL"])
    assert "MessageAttributes" not in received  # attributes travel inside the envelope
    verify_like_the_sdk(envelope)


def test_raw_delivery_carries_attributes(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("t"))["TopicArn"]
    url, arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    attributes = {"s": {"DataType": "String", "StringValue": "v"}, "n": {"DataType": "Number", "StringValue": "1.5"},
                  "b": {"DataType": "Binary", "BinaryValue": b"\xff\x00"},
                  "a": {"DataType": "String.Array", "StringValue": '["x", 1]'}}
    sns.publish(TopicArn=topic, Message='{"raw": true}', MessageAttributes=attributes)
    [received] = drain(sqs, url, 1)
    assert received["Body"] == '{"raw": true}'
    assert received["MessageAttributes"] == attributes


def test_fan_out_with_filter_policies(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("orders"))["TopicArn"]
    queues = {name: new_queue(sqs) for name in ("all", "big", "eu", "body")}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["all"][1])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["big"][1], Attributes={
        "FilterPolicy": json.dumps({"total": [{"numeric": [">=", 100]}], "event": ["OrderPlaced"]}),
        "RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["eu"][1], Attributes={
        "FilterPolicy": json.dumps({"$or": [{"country": ["DE", "FR"]}, {"region": [{"prefix": "eu-"}]}]}),
        "RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queues["body"][1], Attributes={
        "FilterPolicyScope": "MessageBody", "RawMessageDelivery": "true",
        "FilterPolicy": json.dumps({"order": {"items": {"sku": [{"prefix": "GIFT-"}]}}})})

    def publish(body: dict[str, Any], **attributes: str) -> None:
        sns.publish(TopicArn=topic, Message=json.dumps(body), MessageAttributes={
            k: {"DataType": "Number" if k == "total" else "String", "StringValue": v} for k, v in attributes.items()})

    publish({"n": 1}, event="OrderPlaced", total="250", country="DE")
    publish({"n": 2}, event="OrderPlaced", total="20", region="eu-west-1")
    publish({"n": 3, "order": {"items": [{"sku": "A"}, {"sku": "GIFT-9"}]}}, event="OrderCancelled", total="500")
    publish({"n": 4}, event="OrderPlaced", total="99.99", country="US")

    def numbers(name: str) -> list[int]:
        bodies = [m["Body"] for m in drain(sqs, queues[name][0])]
        if name == "all":
            bodies = [json.loads(b)["Message"] for b in bodies]
        return sorted(json.loads(b)["n"] for b in bodies)

    assert numbers("all") == [1, 2, 3, 4]
    assert numbers("big") == [1]
    assert numbers("eu") == [1, 2]
    assert numbers("body") == [3]


def test_message_structure_json(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("t"))["TopicArn"]
    url, arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "fallback", "sqs": "for queues", "email": "for people"}))
    sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "only default", "sqs": 5}))
    assert [m["Body"] for m in drain(sqs, url, 2)] == ["for queues", "only default"]
    err = error_of(sns.publish, TopicArn=topic, MessageStructure="json", Message="not json")
    assert err["Message"] == "Invalid parameter: Message Structure - JSON message body failed to parse"
    err = error_of(sns.publish, TopicArn=topic, MessageStructure="json", Message=json.dumps({"sqs": "x"}))
    assert err["Message"] == "Invalid parameter: Message Structure - No default entry in JSON message body"


@pytest.mark.parametrize("kwargs, code, message", [
    ({"Message": ""}, "InvalidParameter", "Invalid parameter: Empty message"),
    ({"Message": "x" * 262_145}, "InvalidParameter", "Invalid parameter: Message too long"),
    ({"Message": "x", "Subject": ""}, "InvalidParameter", "Invalid parameter: Subject"),
    ({"Message": "x", "Subject": "line\nbreak"}, "InvalidParameter", "Invalid parameter: Subject"),
    ({"Message": "x", "Subject": "s" * 100}, "InvalidParameter", "Invalid parameter: Subject"),
    ({"Message": "x", "MessageDeduplicationId": "d"}, "InvalidParameter", "Invalid parameter: "
     "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for "
     "this topic type"),
    ({"Message": "x", "MessageAttributes": {"a": {"DataType": "Float", "StringValue": "1"}}},
     "ParameterValueInvalid", "The message attribute 'a' has an invalid message attribute type, the set of "
     "supported type prefixes is Binary, Number, and String."),
    ({"Message": "x", "MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}}},
     "ParameterValueInvalid", "The message attribute 'a' must contain non-empty message attribute value for "
     "message attribute type 'String'."),
    ({"Message": "x", "MessageAttributes": {"a": {"DataType": "Number", "StringValue": "ten"}}},
     "ParameterValueInvalid", "Could not cast message attribute 'a' value to number."),
    ({"Message": "x", "MessageAttributes": {"a": {"DataType": "String", "BinaryValue": b"1"}}},
     "ParameterValueInvalid", "The message attribute 'a' with type 'String' must use field 'String'."),
    ({"Message": "x", "MessageAttributes": {"a b": {"DataType": "String", "StringValue": "1"}}},
     "ParameterValueInvalid", "Invalid non-alphanumeric character '#x20' was found in the message attribute name. "
     "Can only include alphanumeric characters, hyphens, underscores, or dots."),
    ({"Message": "x", "MessageAttributes": {".a": {"DataType": "String", "StringValue": "1"}}},
     "ParameterValueInvalid", "Invalid message attribute name starting with character '.' was found."),
])
def test_publish_validation(sns: Any, kwargs: dict[str, Any], code: str, message: str) -> None:
    topic = sns.create_topic(Name=_name("t"))["TopicArn"]
    err = error_of(sns.publish, TopicArn=topic, **kwargs)
    assert (err["Code"], err["Message"]) == (code, message)


def test_publish_to_a_missing_topic(sns: Any) -> None:
    err = error_of(sns.publish, TopicArn=f"arn:aws:sns:us-east-1:000000000000:{_name('gone')}", Message="x")
    assert (err["Code"], err["Message"]) == ("NotFound", "Topic does not exist")


def test_fifo_topic_to_fifo_queues_in_order(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("f") + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    first, second = new_queue(sqs, fifo=True), new_queue(sqs, fifo=True)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=first[1])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=second[1], Attributes={"RawMessageDelivery": "true"})
    sequences = []
    for i in range(30):
        result = sns.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId=f"g{i % 3}",
                             MessageDeduplicationId=f"d{i}")
        sequences.append(int(result["SequenceNumber"]))
    assert sequences == sorted(sequences) and len(set(sequences)) == 30
    # a duplicate within five minutes is accepted but not delivered again
    again = sns.publish(TopicArn=topic, Message="m0", MessageGroupId="g0", MessageDeduplicationId="d0")
    assert int(again["SequenceNumber"]) == sequences[0]
    raw = drain(sqs, second[0])
    by_group: dict[str, list[str]] = {}
    for message in raw:
        by_group.setdefault(message["Attributes"]["MessageGroupId"], []).append(message["Body"])
    assert by_group == {f"g{g}": [f"m{i}" for i in range(30) if i % 3 == g] for g in range(3)}
    enveloped = [json.loads(m["Body"]) for m in drain(sqs, first[0])]
    assert sorted(int(e["Message"][1:]) for e in enveloped) == list(range(30))
    assert all("SequenceNumber" in e for e in enveloped)


def test_fifo_publish_rules(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("f") + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    err = error_of(sns.publish, TopicArn=topic, Message="x")
    assert err["Message"] == "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    err = error_of(sns.publish, TopicArn=topic, Message="x", MessageGroupId="g")
    assert err["Message"] == ("Invalid parameter: The topic should either have ContentBasedDeduplication enabled "
                              "or MessageDeduplicationId provided explicitly")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="ContentBasedDeduplication", AttributeValue="true")
    url, arn = new_queue(sqs, fifo=True)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    first = sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")
    assert sns.publish(TopicArn=topic, Message="same", MessageGroupId="g")["MessageId"] == first["MessageId"]
    sns.publish(TopicArn=topic, Message="different", MessageGroupId="g")
    assert [m["Body"] for m in drain(sqs, url)] == ["same", "different"]


def test_publish_batch(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("t"))["TopicArn"]
    url, arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    entries = [{"Id": f"e{i}", "Message": f"body {i}",
                "MessageAttributes": {"i": {"DataType": "Number", "StringValue": str(i)}}} for i in range(10)]
    result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    assert [r["Id"] for r in result["Successful"]] == [f"e{i}" for i in range(10)] and not result["Failed"]
    assert sorted(m["Body"] for m in drain(sqs, url, 10)) == sorted(f"body {i}" for i in range(10))
    for bad, code in [([], "EmptyBatchRequest"), (entries + [{"Id": "x", "Message": "m"}], "TooManyEntriesInBatchRequest"),
                      ([{"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}], "BatchEntryIdsNotDistinct"),
                      ([{"Id": "bad id!", "Message": "1"}], "InvalidBatchEntryId"),
                      ([{"Id": "a", "Message": "x" * 200_000}, {"Id": "b", "Message": "x" * 100_000}],
                       "BatchRequestTooLong")]:
        assert error_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=bad)["Code"] == code
    # one invalid entry fails the request and nothing is delivered
    err = error_of(sns.publish_batch, TopicArn=topic,
                   PublishBatchRequestEntries=[{"Id": "ok", "Message": "fine"}, {"Id": "no", "Message": ""}])
    assert err["Message"] == "Invalid parameter: Empty message"
    assert drain(sqs, url, wait=0) == []


def test_fifo_publish_batch_sequence(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("f") + ".fifo", Attributes={"FifoTopic": "true",
                                                                    "ContentBasedDeduplication": "true"})["TopicArn"]
    url, arn = new_queue(sqs, fifo=True)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": str(i), "Message": f"m{i}", "MessageGroupId": "g"} for i in range(5)])
    assert all("SequenceNumber" in r for r in result["Successful"])
    assert [m["Body"] for m in drain(sqs, url)] == [f"m{i}" for i in range(5)]


def test_message_group_reaches_standard_queues(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("t"))["TopicArn"]
    url, arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="fair", MessageGroupId="tenant-1")
    [message] = drain(sqs, url, 1)
    assert message["Attributes"]["MessageGroupId"] == "tenant-1"


def test_undeliverable_messages_go_to_the_dead_letter_queue(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=_name("t"))["TopicArn"]
    dlq_url, dlq_arn = new_queue(sqs)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn})
    missing = f"arn:aws:sqs:us-east-1:000000000000:{_name('missing')}"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=missing,
                  Attributes={"RedrivePolicy": redrive, "RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint="arn:aws:lambda:us-east-1:000000000000:function:nope",
                  Attributes={"RedrivePolicy": redrive})
    sns.publish(TopicArn=topic, Message="lost")
    dead = drain(sqs, dlq_url, 2)
    assert len(dead) == 2
    raw = next(m for m in dead if m["Body"] == "lost")
    assert raw["MessageAttributes"]["ErrorCode"]["StringValue"] == "AWS.SimpleQueueService.NonExistentQueue"
    event = json.loads(next(m for m in dead if m["Body"] != "lost")["Body"])
    record = event["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["Sns"]["Message"] == "lost"
