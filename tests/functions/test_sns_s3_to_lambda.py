"""Push event sources with real workers: an SNS `lambda` subscription invokes its function with the SNS event, and
S3 event notifications reach functions and topics (S3 → SNS → SQS), all in-process."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.testing import MiniAws
from tests.functions.event_support import RECORDER_ZIP, seen, wait_for

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def sns(miniaws: MiniAws) -> Any:
    return miniaws.client("sns")


@pytest.fixture(scope="module")
def sqs(miniaws: MiniAws) -> Any:
    return miniaws.client("sqs")


@pytest.fixture(scope="module")
def s3(miniaws: MiniAws) -> Any:
    return miniaws.client("s3")


@pytest.fixture
def recorder(lam: Any, make_function: Callable[..., str]) -> tuple[str, str]:
    """(name, ARN) of a function that prints every event it gets."""
    name = make_function("app.record", Code={"ZipFile": RECORDER_ZIP})
    return name, lam.get_function_configuration(FunctionName=name)["FunctionArn"]


def test_publish_invokes_a_subscribed_function(sns: Any, recorder: tuple[str, str], miniaws: MiniAws) -> None:
    name, arn = recorder
    topic = sns.create_topic(Name=f"to-fn-{uuid.uuid4().hex[:12]}")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)["SubscriptionArn"]
    published = sns.publish(TopicArn=topic, Message="order placed", Subject="Orders",
                            MessageAttributes={"total": {"DataType": "Number", "StringValue": "42"}})
    (event,) = wait_for(lambda: seen(miniaws.endpoint_url, name))
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == subscription
    message = record["Sns"]
    assert (message["Type"], message["MessageId"], message["TopicArn"]) == ("Notification", published["MessageId"],
                                                                           topic)
    assert (message["Subject"], message["Message"]) == ("Orders", "order placed")
    assert message["MessageAttributes"]["total"] == {"Type": "Number", "Value": "42"}


def test_a_missing_function_dead_letters_the_delivery(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=f"to-fn-{uuid.uuid4().hex[:12]}")["TopicArn"]
    dlq = sqs.create_queue(QueueName=f"sub-dlq-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn})}, Endpoint="arn:aws:lambda:us-east-1:000000000000:function:nobody-home")
    sns.publish(TopicArn=topic, Message="undeliverable")
    (message,) = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=5, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"])["Records"][0]["Sns"]["Message"] == "undeliverable"
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "ResourceNotFoundException"


def test_put_object_notifies_a_function(s3: Any, recorder: tuple[str, str], miniaws: MiniAws) -> None:
    name, arn = recorder
    bucket = f"to-fn-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "uploads", "LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
                                          "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}]})
    s3.put_object(Bucket=bucket, Key="elsewhere.txt", Body=b"not for the function")
    s3.put_object(Bucket=bucket, Key="in/report 1.csv", Body=b"a,b\n")
    (event,) = wait_for(lambda: seen(miniaws.endpoint_url, name))
    (record,) = event["Records"]
    assert (record["eventSource"], record["eventName"], record["awsRegion"]) == ("aws:s3", "ObjectCreated:Put",
                                                                                 "us-east-1")
    assert record["s3"]["configurationId"] == "uploads" and record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["object"]["key"] == "in/report+1.csv" and record["s3"]["object"]["size"] == 4


def test_put_object_notifies_a_topic(s3: Any, sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name=f"s3-events-{uuid.uuid4().hex[:12]}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"s3-via-sns-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    bucket = f"to-topic-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hi")
    envelopes = []
    while len(envelopes) < 2:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=10)["Messages"]
        envelopes.extend(json.loads(m["Body"]) for m in messages)
    # saving the configuration sent S3's test event first, as AWS does to validate a destination
    test, created = envelopes
    assert test["Subject"] == created["Subject"] == "Amazon S3 Notification" and test["TopicArn"] == topic
    assert json.loads(test["Message"])["Event"] == "s3:TestEvent"
    (record,) = json.loads(created["Message"])["Records"]
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["object"]["key"] == "hello.txt"


def test_a_missing_topic_fails_the_configuration(s3: Any) -> None:
    bucket = f"to-topic-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [
            {"TopicArn": "arn:aws:sns:us-east-1:000000000000:no-such-topic", "Events": ["s3:ObjectCreated:*"]}]})
    assert info.value.response["Error"]["Code"] == "InvalidArgument"
