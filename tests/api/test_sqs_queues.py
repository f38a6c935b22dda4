"""SQS queues with boto3 (JSON protocol): create rules and idempotency, URLs, listing, attributes, tags, purge,
delete, dead-letter configuration, and the legacy error codes SDKs see."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return make_client(endpoint, "sqs")


def unique(prefix: str = "q", fifo: bool = False) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}" + (".fifo" if fifo else "")


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


def test_create_get_list_delete(sqs: Any, endpoint: str) -> None:
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == f"{endpoint}/000000000000/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix=name)["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=name)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as err:
        sqs.get_queue_url(QueueName=name)
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert err.value.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_queue_url_follows_the_host_the_client_used(endpoint: str) -> None:
    via_localhost = make_client(endpoint.replace("127.0.0.1", "localhost"), "sqs")
    name = unique()
    url = via_localhost.create_queue(QueueName=name)["QueueUrl"]
    assert url.startswith("http://localhost:")
    # any host in a QueueUrl is fine: the account and name in its path pick the queue, as on AWS
    via_localhost.send_message(QueueUrl=f"https://sqs.us-east-1.amazonaws.com/000000000000/{name}",
                               MessageBody="x")
    assert via_localhost.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "x"


def test_bad_queue_url(sqs: Any) -> None:
    assert error_of(sqs.send_message, QueueUrl="not-a-url", MessageBody="x")["Code"] == "InvalidAddress"
    missing = error_of(sqs.send_message, QueueUrl="http://h/000000000000/missing-queue", MessageBody="x")
    assert missing["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_create_is_idempotent_for_the_same_attributes(sqs: Any) -> None:
    name = unique()
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"] == url
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueNameExists) as err:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "61"})
    assert err.value.response["Error"]["Code"] == "QueueAlreadyExists"
    assert "VisibilityTimeout" in err.value.response["Error"]["Message"]


@pytest.mark.parametrize(("name", "code"), [
    ("", "MissingParameter"), ("a" * 81, "InvalidParameterValue"), ("has space", "InvalidParameterValue"),
    ("dot.name", "InvalidParameterValue"), ("bad/slash", "InvalidParameterValue"),
])
def test_invalid_names(sqs: Any, name: str, code: str) -> None:
    assert error_of(sqs.create_queue, QueueName=name)["Code"] == code
    sqs.create_queue(QueueName="a" * 80)


def test_fifo_naming_rules(sqs: Any) -> None:
    no_suffix = error_of(sqs.create_queue, QueueName=unique(), Attributes={"FifoQueue": "true"})
    assert no_suffix["Code"] == "InvalidParameterValue" and ".fifo" in no_suffix["Message"]
    not_fifo = error_of(sqs.create_queue, QueueName=unique(fifo=True))
    assert not_fifo["Code"] == "InvalidParameterValue"
    fifo_only = error_of(sqs.create_queue, QueueName=unique(), Attributes={"ContentBasedDeduplication": "true"})
    assert fifo_only == {**fifo_only, "Code": "InvalidAttributeName"}
    name = unique(fifo=True)
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true" and attrs["ContentBasedDeduplication"] == "false"
    assert attrs["DeduplicationScope"] == "queue" and attrs["FifoThroughputLimit"] == "perQueue"
    # the queue type cannot change
    assert error_of(sqs.set_queue_attributes, QueueUrl=url,
                    Attributes={"FifoQueue": "false"})["Code"] == "InvalidAttributeValue"


@pytest.mark.parametrize(("name", "value"), [
    ("VisibilityTimeout", "43201"), ("VisibilityTimeout", "-1"), ("DelaySeconds", "901"),
    ("MaximumMessageSize", "1023"), ("MaximumMessageSize", "1048577"), ("MessageRetentionPeriod", "59"),
    ("MessageRetentionPeriod", "1209601"), ("ReceiveMessageWaitTimeSeconds", "21"), ("VisibilityTimeout", "ten"),
    ("SqsManagedSseEnabled", "yes"), ("Policy", "{not json"),
])
def test_attribute_ranges(sqs: Any, name: str, value: str) -> None:
    err = error_of(sqs.create_queue, QueueName=unique(), Attributes={name: value})
    assert err["Code"] == "InvalidAttributeValue"
    assert err["Message"] == f"Invalid value for the parameter {name}."


def test_unknown_and_read_only_attributes(sqs: Any) -> None:
    assert error_of(sqs.create_queue, QueueName=unique(),
                    Attributes={"Nonsense": "1"})["Message"] == "Unknown Attribute Nonsense."
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    assert error_of(sqs.set_queue_attributes, QueueUrl=url,
                    Attributes={"QueueArn": "x"})["Code"] == "InvalidAttributeName"
    assert error_of(sqs.get_queue_attributes, QueueUrl=url,
                    AttributeNames=["Bogus"])["Code"] == "InvalidAttributeName"


def test_default_attributes_and_exact_counters(sqs: Any) -> None:
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {k: attrs[k] for k in ("VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
                                  "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled")} == {
        "VisibilityTimeout": "30", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
        "DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0", "SqsManagedSseEnabled": "true"}
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:000000000000:{name}"
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"],
            attrs["ApproximateNumberOfMessagesDelayed"]) == ("2", "1", "1")
    assert "FifoQueue" not in attrs and "RedrivePolicy" not in attrs
    assert int(attrs["CreatedTimestamp"]) <= int(attrs["LastModifiedTimestamp"])
    only = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]
    assert only == {"DelaySeconds": "0"}
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)


def test_set_attributes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5", "Policy": policy,
                                                       "KmsMasterKeyId": "alias/aws/sqs"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "5" and attrs["Policy"] == policy
    assert attrs["KmsMasterKeyId"] == "alias/aws/sqs" and attrs["KmsDataKeyReusePeriodSeconds"] == "300"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_list_queues_pagination(sqs: Any) -> None:
    prefix = unique("page")
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5))
    first = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert len(first["QueueUrls"]) == 2 and "NextToken" in first
    seen = list(first["QueueUrls"])
    token = first["NextToken"]
    while token:
        page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=token)
        seen += page["QueueUrls"]
        token = page.get("NextToken")
    assert sorted(seen) == urls
    paginated = [u for p in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix,
                                                                      PaginationConfig={"PageSize": 3})
                 for u in p.get("QueueUrls", [])]
    assert sorted(paginated) == urls
    assert "NextToken" not in sqs.list_queues(QueueNamePrefix=prefix)
    assert error_of(sqs.list_queues, MaxResults=1001)["Code"] == "InvalidParameterValue"


def test_tags(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique(), tags={"team": "storefront"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "storefront"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev", "team": "orders"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "orders", "env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)


def test_purge(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.receive_message(QueueUrl=url)
    sqs.purge_queue(QueueUrl=url)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as err:
        sqs.purge_queue(QueueUrl=url)
    assert err.value.response["Error"]["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_redrive_policy_rules(sqs: Any) -> None:
    dlq_url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    src = sqs.create_queue(QueueName=unique("src"), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    stored = json.loads(sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["RedrivePolicy"])[
        "Attributes"]["RedrivePolicy"])
    assert stored == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [src]

    missing = json.dumps({"deadLetterTargetArn": dlq_arn + "-nope", "maxReceiveCount": 3})
    assert error_of(sqs.create_queue, QueueName=unique(),
                    Attributes={"RedrivePolicy": missing})["Code"] == "InvalidParameterValue"
    no_count = json.dumps({"deadLetterTargetArn": dlq_arn})
    assert error_of(sqs.create_queue, QueueName=unique(),
                    Attributes={"RedrivePolicy": no_count})["Code"] == "InvalidParameterValue"
    fifo_src = error_of(sqs.create_queue, QueueName=unique(fifo=True),
                        Attributes={"FifoQueue": "true", "RedrivePolicy": policy})
    assert fifo_src["Code"] == "InvalidParameterValue"

    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={
        "RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})
    assert error_of(sqs.create_queue, QueueName=unique(),
                    Attributes={"RedrivePolicy": policy})["Code"] == "InvalidParameterValue"
    allowed_name = unique("allowed")
    allowed_arn = f"arn:aws:sqs:us-east-1:000000000000:{allowed_name}"
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [allowed_arn]})})
    sqs.create_queue(QueueName=allowed_name, Attributes={"RedrivePolicy": policy})
    assert error_of(sqs.create_queue, QueueName=unique(),
                    Attributes={"RedrivePolicy": policy})["Code"] == "InvalidParameterValue"
    bad_allow = json.dumps({"redrivePermission": "sometimes"})
    assert error_of(sqs.set_queue_attributes, QueueUrl=dlq_url,
                    Attributes={"RedriveAllowPolicy": bad_allow})["Code"] == "InvalidAttributeValue"
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]


def test_unimplemented_operation_is_named(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    err = error_of(sqs.add_permission, QueueUrl=url, Label="l", AWSAccountIds=["111122223333"],
                   Actions=["SendMessage"])
    assert err["Code"] == "NotImplemented" and "AddPermission" in err["Message"]
