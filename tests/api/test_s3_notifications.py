"""S3 event notifications through boto3: configuration validation, the s3:TestEvent, and events reaching a real
SQS queue of the same server (filtered by prefix/suffix, in S3's Records[...] JSON)."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.testing import MiniAws, miniaws_server
from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def aws() -> Iterator[MiniAws]:
    with miniaws_server() as server:
        services = server.server_thread.server.services
        s3 = services["s3"]
        if s3.destinations.queues is None:  # type: ignore[attr-defined]
            # until the composition root passes queues= (and topics=, functions=) to S3Service
            s3.destinations.queues = services["sqs"]  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def s3(aws: MiniAws) -> Any:
    return make_client(aws.endpoint_url, "s3")


@pytest.fixture(scope="module")
def sqs(aws: MiniAws) -> Any:
    return make_client(aws.endpoint_url, "sqs")


@pytest.fixture
def queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"events-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"events-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def test_events_reach_the_queue(s3: Any, sqs: Any, bucket: str, queue: tuple[str, str]) -> None:
    url, arn = queue
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"Id": "images", "QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"},
                                            {"Name": "suffix", "Value": ".jpg"}]}}}]})
    config = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"][0]
    assert config["Id"] == "images" and config["QueueArn"] == arn
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "Prefix", "Value": "images/"},
                                                      {"Name": "Suffix", "Value": ".jpg"}]
    test = _drain(sqs, url)
    assert [m["Event"] for m in test] == ["s3:TestEvent"] and test[0]["Bucket"] == bucket

    put = s3.put_object(Bucket=bucket, Key="images/cat one.jpg", Body=b"meow")
    s3.put_object(Bucket=bucket, Key="images/readme.txt", Body=b"no")  # suffix does not match
    s3.put_object(Bucket=bucket, Key="docs/x.jpg", Body=b"no")  # prefix does not match
    s3.copy_object(Bucket=bucket, Key="images/copy.jpg", CopySource={"Bucket": bucket, "Key": "images/cat one.jpg"})
    s3.delete_object(Bucket=bucket, Key="images/copy.jpg")
    records = [r for m in _drain(sqs, url) for r in m["Records"]]
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [
        ("ObjectCreated:Put", "images/cat+one.jpg"), ("ObjectCreated:Copy", "images/copy.jpg"),
        ("ObjectRemoved:Delete", "images/copy.jpg")]
    first = records[0]
    assert first["eventVersion"] == "2.1" and first["eventSource"] == "aws:s3"
    assert first["awsRegion"] == "us-east-1" and first["s3"]["configurationId"] == "images"
    assert first["s3"]["bucket"]["name"] == bucket and first["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert first["s3"]["object"]["size"] == 4 and first["s3"]["object"]["eTag"] == put["ETag"].strip('"')
    assert "size" not in records[2]["s3"]["object"]


def test_versioned_deletes_report_markers(s3: Any, sqs: Any, bucket: str, queue: tuple[str, str]) -> None:
    url, arn = queue
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectRemoved:*", "s3:ObjectTagging:*"]}]})
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version)
    records = [r for m in _drain(sqs, url) if "Records" in m for r in m["Records"]]
    assert [(r["eventName"], r["s3"]["object"].get("versionId")) for r in records] == [
        ("ObjectTagging:Put", version), ("ObjectRemoved:DeleteMarkerCreated", marker),
        ("ObjectRemoved:Delete", version)]


def test_configuration_is_validated(s3: Any, bucket: str, queue: tuple[str, str]) -> None:
    _, arn = queue
    with pytest.raises(ClientError) as err:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:Sideways"]}]})
    assert _error(err) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]},
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:Put"]}]})
    assert _error(err) == ("InvalidArgument", 400)
    missing = arn.rsplit(":", 1)[0] + ":no-such-queue"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": missing, "Events": ["s3:ObjectCreated:*"]}]})
    assert _error(err) == ("InvalidArgument", 400)
    assert s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations") is None
    # an empty configuration turns notifications off
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
