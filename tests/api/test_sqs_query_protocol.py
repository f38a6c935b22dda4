"""SQS's legacy query protocol, as older SDKs speak it: signed form posts (`Action=…`, to the endpoint or to
the queue URL itself) answered with XML in the 2012-11-05 namespace, errors with their legacy codes.

Forms and response elements follow the query examples of the SQS API reference (e.g.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_Examples).
"""
from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from miniaws.services.sqs.md5 import md5_of_attributes

NS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}


def call(url: str, form: dict[str, str]) -> tuple[int, ET.Element]:
    body = urllib.parse.urlencode({**form, "Version": "2012-11-05"})
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("test", "test"), "sqs", "us-east-1").add_auth(request)
    prepared = urllib.request.Request(url, data=body.encode(), headers=dict(request.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(prepared) as response:
            return response.status, ET.fromstring(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, ET.fromstring(err.read())


def text(root: ET.Element, path: str) -> str:
    found = root.find(path, NS)
    assert found is not None, (path, ET.tostring(root))
    return found.text or ""


def pairs(parent: ET.Element, tag: str) -> dict[str, ET.Element]:
    return {text(e, "q:Name"): e.find("q:Value", NS) for e in parent.findall(f"q:{tag}", NS)}  # type: ignore[misc]


def test_queue_lifecycle_over_query(endpoint: str) -> None:
    name = f"query-{uuid.uuid4().hex[:12]}"
    status, created = call(endpoint + "/", {"Action": "CreateQueue", "QueueName": name,
                                            "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "40",
                                            "Tag.1.Key": "team", "Tag.1.Value": "orders"})
    assert status == 200 and created.tag == "{%s}CreateQueueResponse" % NS["q"]
    url = text(created, "q:CreateQueueResult/q:QueueUrl")
    assert url == f"{endpoint}/000000000000/{name}"
    assert text(created, "q:ResponseMetadata/q:RequestId")

    _, attrs = call(url, {"Action": "GetQueueAttributes", "AttributeName.1": "All"})
    values = {k: (v.text or "") for k, v in pairs(attrs.find("q:GetQueueAttributesResult", NS), "Attribute").items()}  # type: ignore[arg-type]
    assert values["VisibilityTimeout"] == "40" and values["QueueArn"].endswith(":" + name)

    _, tags = call(url, {"Action": "ListQueueTags", "QueueUrl": url})
    tag = tags.find("q:ListQueueTagsResult/q:Tag", NS)
    assert tag is not None and text(tag, "q:Key") == "team" and text(tag, "q:Value") == "orders"

    _, listed = call(endpoint + "/", {"Action": "ListQueues", "QueueNamePrefix": name})
    assert [e.text for e in listed.findall("q:ListQueuesResult/q:QueueUrl", NS)] == [url]

    status, _ = call(endpoint + "/", {"Action": "DeleteQueue", "QueueUrl": url})
    assert status == 200
    status, error = call(endpoint + "/", {"Action": "GetQueueUrl", "QueueName": name})
    assert status == 400
    assert text(error, "q:Error/q:Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert text(error, "q:Error/q:Type") == "Sender"


def test_messages_over_query_to_the_queue_url(endpoint: str) -> None:
    name = f"query-{uuid.uuid4().hex[:12]}"
    _, created = call(endpoint + "/", {"Action": "CreateQueue", "QueueName": name})
    url = text(created, "q:CreateQueueResult/q:QueueUrl")
    blob = b"\x00\x01binary"
    # no QueueUrl parameter: the request goes to the queue URL, as the old SDKs send it
    _, sent = call(url, {
        "Action": "SendMessage", "MessageBody": "This is a test message",
        "MessageAttribute.1.Name": "City", "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "Any City",
        "MessageAttribute.2.Name": "Blob", "MessageAttribute.2.Value.DataType": "Binary",
        "MessageAttribute.2.Value.BinaryValue": base64.b64encode(blob).decode()})
    expected_md5 = md5_of_attributes({"City": {"DataType": "String", "StringValue": "Any City"},
                                      "Blob": {"DataType": "Binary", "BinaryValue": blob}})
    assert text(sent, "q:SendMessageResult/q:MD5OfMessageBody") == \
        hashlib.md5(b"This is a test message").hexdigest()
    assert text(sent, "q:SendMessageResult/q:MD5OfMessageAttributes") == expected_md5
    message_id = text(sent, "q:SendMessageResult/q:MessageId")

    _, received = call(url, {"Action": "ReceiveMessage", "AttributeName.1": "All", "MessageAttributeName.1": "All",
                             "MaxNumberOfMessages": "5", "VisibilityTimeout": "60"})
    [message] = received.findall("q:ReceiveMessageResult/q:Message", NS)
    assert text(message, "q:MessageId") == message_id and text(message, "q:Body") == "This is a test message"
    assert text(message, "q:MD5OfMessageAttributes") == expected_md5
    system = pairs(message, "Attribute")
    assert system["ApproximateReceiveCount"].text == "1" and "SentTimestamp" in system
    attributes = pairs(message, "MessageAttribute")
    assert text(attributes["City"], "q:StringValue") == "Any City"
    assert text(attributes["City"], "q:DataType") == "String"
    assert base64.b64decode(text(attributes["Blob"], "q:BinaryValue")) == blob
    handle = text(message, "q:ReceiptHandle")
    status, _ = call(url, {"Action": "ChangeMessageVisibility", "ReceiptHandle": handle, "VisibilityTimeout": "0"})
    assert status == 200
    status, _ = call(url, {"Action": "DeleteMessage", "ReceiptHandle": handle})
    assert status == 200
    _, empty = call(url, {"Action": "ReceiveMessage"})
    assert empty.findall("q:ReceiveMessageResult/q:Message", NS) == []


def test_batches_over_query(endpoint: str) -> None:
    name = f"query-{uuid.uuid4().hex[:12]}"
    _, created = call(endpoint + "/", {"Action": "CreateQueue", "QueueName": name})
    url = text(created, "q:CreateQueueResult/q:QueueUrl")
    _, batch = call(url, {
        "Action": "SendMessageBatch",
        "SendMessageBatchRequestEntry.1.Id": "test_msg_001",
        "SendMessageBatchRequestEntry.1.MessageBody": "test message body 1",
        "SendMessageBatchRequestEntry.2.Id": "test_msg_002",
        "SendMessageBatchRequestEntry.2.MessageBody": "test message body 2",
        "SendMessageBatchRequestEntry.2.DelaySeconds": "901"})
    result = batch.find("q:SendMessageBatchResult", NS)
    assert result is not None
    [ok] = result.findall("q:SendMessageBatchResultEntry", NS)
    [failed] = result.findall("q:BatchResultErrorEntry", NS)
    assert text(ok, "q:Id") == "test_msg_001"
    assert text(failed, "q:Id") == "test_msg_002" and text(failed, "q:Code") == "InvalidParameterValue"
    assert text(failed, "q:SenderFault") == "true"
    _, received = call(url, {"Action": "ReceiveMessage", "MaxNumberOfMessages": "10"})
    handle = text(received, "q:ReceiveMessageResult/q:Message/q:ReceiptHandle")
    _, deleted = call(url, {"Action": "DeleteMessageBatch",
                            "DeleteMessageBatchRequestEntry.1.Id": "d1",
                            "DeleteMessageBatchRequestEntry.1.ReceiptHandle": handle})
    assert text(deleted, "q:DeleteMessageBatchResult/q:DeleteMessageBatchResultEntry/q:Id") == "d1"
    status, error = call(url, {"Action": "SendMessageBatch"})
    assert status == 400 and text(error, "q:Error/q:Code") == "AWS.SimpleQueueService.EmptyBatchRequest"
    status, error = call(url, {"Action": "NoSuchAction"})
    assert status == 400 and text(error, "q:Error/q:Code") == "InvalidAction"
