"""SNS topics with boto3: standard and FIFO creation, idempotency and its conflicts, name rules, listing with
pagination, attributes and tags."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sns(endpoint: str) -> Any:
    return make_client(endpoint, "sns")


def _name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return {**err.value.response["Error"], "Status": err.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def test_create_is_idempotent_for_the_same_settings(sns: Any) -> None:
    name = _name()
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "Orders"}, Tags=[{"Key": "team", "Value": "a"}])[
        "TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:000000000000:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "Orders"})["TopicArn"] == arn
    err = error_of(sns.create_topic, Name=name, Attributes={"DisplayName": "Other"})
    assert err["Code"] == "InvalidParameter" and err["Status"] == 400
    assert err["Message"] == "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
    err = error_of(sns.create_topic, Name=name, Tags=[{"Key": "team", "Value": "b"}])
    assert err["Message"] == "Invalid parameter: Tags Reason: Topic already exists with different tags"


def test_default_attributes(sns: Any) -> None:
    arn = sns.create_topic(Name=_name())["TopicArn"]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn and attributes["Owner"] == "000000000000"
    assert attributes["SubscriptionsConfirmed"] == "0" and attributes["SubscriptionsPending"] == "0"
    policy = json.loads(attributes["Policy"])
    assert policy["Statement"][0]["Resource"] == arn
    delivery = json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]
    assert delivery["numRetries"] == 3 and delivery["minDelayTarget"] == 20
    assert "FifoTopic" not in attributes


def test_fifo_topics(sns: Any) -> None:
    name = _name("f") + ".fifo"
    arn = sns.create_topic(Name=name, Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})[
        "TopicArn"]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["FifoTopic"] == "true" and attributes["ContentBasedDeduplication"] == "true"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="false")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["ContentBasedDeduplication"] == "false"


@pytest.mark.parametrize("name, attributes, message", [
    ("bad.name", {}, "Invalid parameter: Topic Name"),
    ("x" * 257, {}, "Invalid parameter: Topic Name"),
    ("ends.fifo", {}, "Invalid parameter: Topic Name"),
    ("no-suffix", {"FifoTopic": "true"}, "Fifo Topic names must end with .fifo and must be made up of only "
     "uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 "
     "characters long."),
    ("std", {"ContentBasedDeduplication": "true"}, "Invalid parameter: ContentBasedDeduplication Reason: "
     "Content-based deduplication can only be set for FIFO topics"),
    ("std", {"NoSuchAttribute": "1"}, "Invalid parameter: AttributeName"),
    ("std", {"SignatureVersion": "3"}, "Invalid parameter: SignatureVersion"),
    ("std", {"Policy": "{not json"}, "Invalid parameter: Policy: failed to parse JSON."),
])
def test_invalid_creates(sns: Any, name: str, attributes: dict[str, str], message: str) -> None:
    err = error_of(sns.create_topic, Name=name, Attributes=attributes)
    assert (err["Code"], err["Message"]) == ("InvalidParameter", message)


def test_set_attributes(sns: Any) -> None:
    arn = sns.create_topic(Name=_name())["TopicArn"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Shop")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    policy = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1, "maxDelayTarget": 4,
                                                     "backoffFunction": "exponential"}}}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(policy))
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Shop" and attributes["SignatureVersion"] == "2"
    effective = json.loads(attributes["EffectiveDeliveryPolicy"])["http"]["defaultHealthyRetryPolicy"]
    assert effective["numRetries"] == 5 and effective["backoffFunction"] == "exponential"
    err = error_of(sns.set_topic_attributes, TopicArn=arn, AttributeName="FifoTopic", AttributeValue="true")
    assert err["Message"] == "Invalid parameter: AttributeName"
    err = error_of(sns.set_topic_attributes, TopicArn=arn, AttributeName="DeliveryPolicy",
                   AttributeValue=json.dumps({"http": {"defaultHealthyRetryPolicy": {"numRetries": 500}}}))
    assert err["Code"] == "InvalidParameter" and "numRetries" in err["Message"]


def test_missing_and_malformed_topics(sns: Any) -> None:
    missing = f"arn:aws:sns:us-east-1:000000000000:{_name()}"
    err = error_of(sns.get_topic_attributes, TopicArn=missing)
    assert (err["Code"], err["Message"], err["Status"]) == ("NotFound", "Topic does not exist", 404)
    err = error_of(sns.get_topic_attributes, TopicArn="not-an-arn")
    assert err["Code"] == "InvalidParameter"
    sns.delete_topic(TopicArn=missing)  # deleting what does not exist is not an error


def test_delete_removes_the_topic_and_its_subscriptions(sns: Any) -> None:
    arn = sns.create_topic(Name=_name())["TopicArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:q")[
        "SubscriptionArn"]
    sns.delete_topic(TopicArn=arn)
    assert arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert error_of(sns.get_subscription_attributes, SubscriptionArn=sub)["Code"] == "NotFound"


def test_list_topics_pages_by_100(endpoint: str) -> None:
    # a fresh account (a 12-digit access key is its own account) so the count is exact
    account = str(uuid.uuid4().int)[:12].rjust(12, "1")
    sns = make_client(endpoint, "sns", aws_access_key_id=account)
    created = {sns.create_topic(Name=f"p-{i:03d}")["TopicArn"] for i in range(150)}
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and first["NextToken"]
    second = sns.list_topics(NextToken=first["NextToken"])
    assert "NextToken" not in second
    assert {t["TopicArn"] for t in first["Topics"] + second["Topics"]} == created
    assert all(arn.split(":")[4] == account for arn in created)
    paged = [t["TopicArn"] for p in sns.get_paginator("list_topics").paginate() for t in p["Topics"]]
    assert len(paged) == 150


def test_tags(sns: Any) -> None:
    arn = sns.create_topic(Name=_name(), Tags=[{"Key": "a", "Value": "1"}])["TopicArn"]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "3"},
                                                                   {"Key": "b", "Value": "2"}]
    sns.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    err = error_of(sns.tag_resource, ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])
    assert err["Code"] == "TagLimitExceeded"
    err = error_of(sns.list_tags_for_resource, ResourceArn=f"arn:aws:sns:us-east-1:000000000000:{_name()}")
    assert (err["Code"], err["Status"]) == ("ResourceNotFound", 404)
    err = error_of(sns.tag_resource, ResourceArn=arn, Tags=[{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}])
    assert err["Message"] == "Invalid parameter: Duplicated keys are not allowed."
