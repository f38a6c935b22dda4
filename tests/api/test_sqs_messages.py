"""SQS messages with boto3: attributes and their digests, system attributes, batches and their per-entry
failures, limits with AWS's errors, receipt handles, visibility changes, and the peek endpoint."""
from __future__ import annotations

import hashlib
import json
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.services.sqs.md5 import md5_of_attributes
from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return make_client(endpoint, "sqs")


@pytest.fixture
def queue(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"m-{uuid.uuid4().hex[:16]}")["QueueUrl"])


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


ATTRIBUTES = {
    "City": {"DataType": "String", "StringValue": "Any City"},
    "Population": {"DataType": "Number", "StringValue": "1250800"},
    "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffbinary"},
    "Custom": {"DataType": "String.custom", "StringValue": "z"},
    "order.id": {"DataType": "Number.int", "StringValue": "17"},
    "order.total": {"DataType": "Number", "StringValue": "12.50"},
}


def _wire(attributes: dict[str, Any]) -> dict[str, Any]:
    import base64

    return {k: ({"DataType": v["DataType"], "BinaryValue": base64.b64encode(v["BinaryValue"]).decode()}
                if "BinaryValue" in v else v) for k, v in attributes.items()}


def test_send_and_receive_with_attributes(sqs: Any, queue: str) -> None:
    sent = sqs.send_message(QueueUrl=queue, MessageBody="héllo wörld", MessageAttributes=ATTRIBUTES)
    assert sent["MD5OfMessageBody"] == hashlib.md5("héllo wörld".encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(_wire(ATTRIBUTES))
    got = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
    [message] = got
    assert message["MessageId"] == sent["MessageId"] and message["Body"] == "héllo wörld"
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    system = message["Attributes"]
    assert system["ApproximateReceiveCount"] == "1"
    assert system["SenderId"].startswith("AIDA") and len(system["SenderId"]) == 21
    assert int(system["SentTimestamp"]) <= int(system["ApproximateFirstReceiveTimestamp"])
    assert "SequenceNumber" not in system


def test_attribute_name_filters_and_their_digest(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=ATTRIBUTES)
    message = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["order.*", "City"],
                                  MessageSystemAttributeNames=["SentTimestamp"],
                                  VisibilityTimeout=0)["Messages"][0]
    assert set(message["MessageAttributes"]) == {"order.id", "order.total", "City"}
    # the digest is over what came back, which is what SDKs check it against
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(_wire(message["MessageAttributes"]))
    assert set(message["Attributes"]) == {"SentTimestamp"}
    bare = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    assert "MessageAttributes" not in bare and "MD5OfMessageAttributes" not in bare and "Attributes" not in bare


def test_trace_header_system_attribute(sqs: Any, queue: str) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    sent = sqs.send_message(QueueUrl=queue, MessageBody="t", MessageSystemAttributes={
        "AWSTraceHeader": {"DataType": "String", "StringValue": trace}})
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_attributes(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}})
    message = sqs.receive_message(QueueUrl=queue, MessageSystemAttributeNames=["AWSTraceHeader"])["Messages"][0]
    assert message["Attributes"] == {"AWSTraceHeader": trace}


@pytest.mark.parametrize(("attributes", "fragment"), [
    ({f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}, "exceeds the allowed maximum"),
    ({"n": {"DataType": "Number", "StringValue": "twelve"}}, "to a number"),
    ({"n": {"DataType": "Float", "StringValue": "1"}}, "supported type prefixes"),
    ({"n": {"DataType": "String", "StringValue": ""}}, "non-empty"),
    ({"AWS.reserved": {"DataType": "String", "StringValue": "v"}}, "is invalid"),
    ({"bad..name": {"DataType": "String", "StringValue": "v"}}, "is invalid"),
])
def test_invalid_message_attributes(sqs: Any, queue: str, attributes: dict[str, Any], fragment: str) -> None:
    err = error_of(sqs.send_message, QueueUrl=queue, MessageBody="x", MessageAttributes=attributes)
    assert err["Code"] == "InvalidParameterValue" and fragment in err["Message"]


def test_message_size_limits(sqs: Any) -> None:
    small = sqs.create_queue(QueueName=f"small-{uuid.uuid4().hex[:12]}",
                             Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=small, MessageBody="x" * 1024)
    err = error_of(sqs.send_message, QueueUrl=small, MessageBody="x" * 1025)
    assert err["Code"] == "InvalidParameterValue"
    assert err["Message"] == ("One or more parameters are invalid. Reason: Message must be shorter than "
                              "1024 bytes.")
    # attributes count towards the size too
    assert error_of(sqs.send_message, QueueUrl=small, MessageBody="x" * 1000, MessageAttributes={
        "pad": {"DataType": "String", "StringValue": "y" * 30}})["Code"] == "InvalidParameterValue"
    default = sqs.create_queue(QueueName=f"big-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    sqs.send_message(QueueUrl=default, MessageBody="x" * 1_048_576)
    assert error_of(sqs.send_message, QueueUrl=default, MessageBody="x" * 1_048_577)["Code"] == \
        "InvalidParameterValue"
    received = sqs.receive_message(QueueUrl=default)["Messages"][0]
    assert len(received["Body"]) == 1_048_576


def test_body_rules(sqs: Any, queue: str) -> None:
    assert error_of(sqs.send_message, QueueUrl=queue, MessageBody="bad \x00 char")["Code"] == \
        "InvalidMessageContents"
    assert error_of(sqs.send_message, QueueUrl=queue, MessageBody="")["Code"] == "MissingParameter"
    sqs.send_message(QueueUrl=queue, MessageBody="tab\tnewline\n emoji \U0001f600")
    assert error_of(sqs.send_message, QueueUrl=queue, MessageBody="x", DelaySeconds=901)["Code"] == \
        "InvalidParameterValue"
    standard_dedup = error_of(sqs.send_message, QueueUrl=queue, MessageBody="x", MessageDeduplicationId="d")
    assert standard_dedup["Code"] == "InvalidParameterValue"
    # standard queues accept a MessageGroupId (fair queues) and report it back
    sqs.purge_queue(QueueUrl=queue)
    sqs.send_message(QueueUrl=queue, MessageBody="tenant", MessageGroupId="tenant-1")
    message = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"][0]
    assert message["Attributes"]["MessageGroupId"] == "tenant-1"


@pytest.mark.parametrize(("params", "code"), [
    ({"MaxNumberOfMessages": 11}, "InvalidParameterValue"),
    ({"MaxNumberOfMessages": 0}, "InvalidParameterValue"),
    ({"WaitTimeSeconds": 21}, "InvalidParameterValue"),
    ({"VisibilityTimeout": 43201}, "InvalidParameterValue"),
])
def test_receive_parameter_ranges(sqs: Any, queue: str, params: dict[str, Any], code: str) -> None:
    assert error_of(sqs.receive_message, QueueUrl=queue, **params)["Code"] == code


def test_send_batch_with_partial_failure(sqs: Any, queue: str) -> None:
    result = sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "ok-1", "MessageBody": "one", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "bad", "MessageBody": "two", "DelaySeconds": 1000},
        {"Id": "ok_2", "MessageBody": "three", "DelaySeconds": 0},
    ])
    assert [e["Id"] for e in result["Successful"]] == ["ok-1", "ok_2"]
    assert result["Successful"][0]["MD5OfMessageAttributes"] == md5_of_attributes(
        {"k": {"DataType": "String", "StringValue": "v"}})
    [failed] = result["Failed"]
    assert failed["Id"] == "bad" and failed["Code"] == "InvalidParameterValue" and failed["SenderFault"] is True
    bodies = {m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]}
    assert bodies == {"one", "three"}


def test_batch_request_errors(sqs: Any, queue: str) -> None:
    too_many = error_of(sqs.send_message_batch, QueueUrl=queue,
                        Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    assert too_many["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    assert too_many["QueryErrorCode"] == "TooManyEntriesInBatchRequest"
    repeated = error_of(sqs.send_message_batch, QueueUrl=queue,
                        Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
    assert repeated["Code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    bad_id = error_of(sqs.send_message_batch, QueueUrl=queue, Entries=[{"Id": "no spaces", "MessageBody": "x"}])
    assert bad_id["Code"] == "AWS.SimpleQueueService.InvalidBatchEntryId"
    empty = error_of(sqs.send_message_batch, QueueUrl=queue, Entries=[])
    assert empty["Code"] == "AWS.SimpleQueueService.EmptyBatchRequest"
    too_long = error_of(sqs.send_message_batch, QueueUrl=queue,
                        Entries=[{"Id": str(i), "MessageBody": "x" * 300_000} for i in range(4)])
    assert too_long["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert error_of(sqs.delete_message_batch, QueueUrl=queue, Entries=[])["Code"] == \
        "AWS.SimpleQueueService.EmptyBatchRequest"


def test_delete_and_visibility_batches(sqs: Any, queue: str) -> None:
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(4)])
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=300)["Messages"]
    assert len(messages) == 4
    changed = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[
        {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "b", "ReceiptHandle": "garbage!", "VisibilityTimeout": 0}])
    assert [e["Id"] for e in changed["Successful"]] == ["a"]
    assert changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(QueueUrl=queue, Entries=[
        {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages[1:])])
    assert len(deleted["Successful"]) == 3 and deleted["Failed"] == []
    [again] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert again["MessageId"] == messages[0]["MessageId"]


def test_receipt_handles(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    message = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=300)["Messages"][0]
    assert error_of(sqs.delete_message, QueueUrl=queue, ReceiptHandle="not-a-handle")["Code"] == \
        "ReceiptHandleIsInvalid"
    other = sqs.create_queue(QueueName=f"other-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    assert error_of(sqs.delete_message, QueueUrl=other, ReceiptHandle=message["ReceiptHandle"])["Code"] == \
        "ReceiptHandleIsInvalid"
    too_long = error_of(sqs.change_message_visibility, QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=43_200)
    assert too_long["Code"] == "InvalidParameterValue"
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    with pytest.raises(sqs.exceptions.MessageNotInflight) as err:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"],
                                      VisibilityTimeout=10)
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.MessageNotInflight"
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    # deleting again succeeds, as on AWS
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)


def test_peek_does_not_consume(sqs: Any, queue: str, endpoint: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="visible", MessageAttributes=ATTRIBUTES)
    sqs.send_message(QueueUrl=queue, MessageBody="delayed", DelaySeconds=300)
    sqs.send_message(QueueUrl=queue, MessageBody="flying")
    name = queue.rsplit("/", 1)[1]
    url = f"{endpoint}/_miniaws/sqs/000000000000/{name}/messages"
    # receive one of the two visible messages so the peek shows all three states
    flying = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=300)["Messages"][0]["Body"]
    peeked = _get_json(url)
    states = {m["Body"]: m["State"] for m in peeked["Messages"]}
    assert states["delayed"] == "delayed" and states[flying] == "inflight"
    assert sorted(states.values()) == ["delayed", "inflight", "visible"]
    assert peeked["QueueUrl"] == queue
    assert _get_json(url) == peeked
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"
    with pytest.raises(urllib.error.HTTPError) as err:
        _get_json(f"{endpoint}/_miniaws/sqs/000000000000/nope/messages")
    assert err.value.code == 404
    err.value.close()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url) as response:
        return json.loads(response.read())


def test_in_process_producers_send_by_arn(sqs: Any, queue: str, miniaws: Any) -> None:
    """The seam SNS delivery uses: a method call on the service, no HTTP hop."""
    service = miniaws.server_thread.server.services["sqs"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    async def deliver() -> dict[str, Any]:
        return dict(service.send_to_queue(arn, "from sns", attributes={
            "k": {"DataType": "String", "StringValue": "v"}}))

    sent = miniaws.server_thread.call(deliver())
    [message] = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageId"] == sent["MessageId"] and message["Body"] == "from sns"
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
