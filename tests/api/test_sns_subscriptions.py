"""SNS subscriptions with boto3: subscribing queues, functions, email and SMS endpoints; idempotency; attributes
and their validation errors; listing with pagination; unsubscribing; the email confirmation flow through the
outbox and the SubscribeURL."""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def sns(endpoint: str) -> Any:
    return make_client(endpoint, "sns")


@pytest.fixture
def topic(sns: Any) -> str:
    return str(sns.create_topic(Name=f"s-{uuid.uuid4().hex[:16]}")["TopicArn"])


def queue_arn(name: str | None = None) -> str:
    return f"arn:aws:sqs:us-east-1:000000000000:{name or 'q-' + uuid.uuid4().hex[:12]}"


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


def outbox(endpoint: str, destination: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"Destination": destination})
    with urllib.request.urlopen(f"{endpoint}/_miniaws/sns/outbox?{query}") as response:
        return list(json.loads(response.read())["Messages"])


def test_subscribe_a_queue(sns: Any, topic: str) -> None:
    endpoint = queue_arn()
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint,
                        Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    assert arn.startswith(topic + ":")
    # the same endpoint and attributes: the same subscription
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=endpoint)["SubscriptionArn"] == arn
    err = error_of(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint=endpoint,
                   Attributes={"RawMessageDelivery": "false"})
    assert err["Message"] == ("Invalid parameter: Attributes Reason: Subscription already exists with different "
                              "attributes")
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes == {
        "SubscriptionArn": arn, "TopicArn": topic, "Owner": "000000000000", "Protocol": "sqs",
        "Endpoint": endpoint, "PendingConfirmation": "false", "ConfirmationWasAuthenticated": "true",
        "RawMessageDelivery": "true", "SubscriptionPrincipal": "arn:aws:iam::000000000000:root"}
    counts = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert counts["SubscriptionsConfirmed"] == "1"


def test_subscription_attributes(sns: Any, topic: str) -> None:
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn())["SubscriptionArn"]
    policy = json.dumps({"store": ["example_corp"], "price": [{"numeric": [">", 10]}]})
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue=policy)
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["FilterPolicy"] == policy and attributes["FilterPolicyScope"] == "MessageAttributes"
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope",
                                    AttributeValue="MessageBody")
    redrive = json.dumps({"deadLetterTargetArn": queue_arn("dlq")})
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RedrivePolicy", AttributeValue=redrive)
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["FilterPolicyScope"] == "MessageBody" and attributes["RedrivePolicy"] == redrive
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy", AttributeValue="")
    assert "FilterPolicy" not in sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]


@pytest.mark.parametrize("name, value, message", [
    ("FilterPolicy", "{oops", "Invalid parameter: FilterPolicy: failed to parse JSON."),
    ("FilterPolicy", '{"a": []}', "Invalid parameter: FilterPolicy: Empty arrays are not allowed"),
    ("FilterPolicy", '{"a": {"b": ["c"]}}',
     "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"),
    ("FilterPolicy", '{"a": [{"numeric": [">", 5, "<", 1]}]}',
     "Invalid parameter: FilterPolicy: Bottom must be less than top"),
    ("FilterPolicyScope", "Body", "Invalid parameter: FilterPolicyScope: Invalid value [Body]. Please use either "
     "MessageBody or MessageAttributes"),
    ("RawMessageDelivery", "yes", "Invalid parameter: RawMessageDelivery: Invalid value [yes]. Must be true or "
     "false."),
    ("RedrivePolicy", '{"deadLetterTargetArn": "nope"}',
     "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn"),
    ("Unknown", "x", "Invalid parameter: AttributeName"),
])
def test_invalid_subscription_attributes(sns: Any, topic: str, name: str, value: str, message: str) -> None:
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn())["SubscriptionArn"]
    err = error_of(sns.set_subscription_attributes, SubscriptionArn=arn, AttributeName=name, AttributeValue=value)
    assert (err["Code"], err["Message"]) == ("InvalidParameter", message)
    # on Subscribe the same problems are reported as "Attributes Reason: …"
    if name != "Unknown":
        err = error_of(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(),
                       Attributes={name: value})
        assert err["Message"] == message.replace("Invalid parameter: ", "Invalid parameter: Attributes Reason: ", 1)


def test_nested_filter_policies_need_the_body_scope(sns: Any, topic: str) -> None:
    nested = json.dumps({"order": {"status": ["placed"]}})
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(),
                        Attributes={"FilterPolicyScope": "MessageBody", "FilterPolicy": nested})["SubscriptionArn"]
    # switching back to attribute scope would leave an invalid policy
    err = error_of(sns.set_subscription_attributes, SubscriptionArn=arn, AttributeName="FilterPolicyScope",
                   AttributeValue="MessageAttributes")
    assert "does not support nested filter policy" in err["Message"]


@pytest.mark.parametrize("protocol, address, message", [
    ("smoke-signal", "x", "Invalid parameter: Amazon SNS does not support this protocol string: smoke-signal"),
    ("http", "https://example.com", "Invalid parameter: Endpoint must match the specified protocol"),
    ("sqs", "my-queue", "Invalid parameter: SQS endpoint ARN"),
    ("lambda", "arn:aws:sqs:us-east-1:000000000000:q", "Invalid parameter: Lambda endpoint ARN"),
    ("email", "not-an-address", "Invalid parameter: Email address"),
    ("sqs", "arn:aws:sqs:us-east-1:000000000000:q.fifo", "Invalid parameter: Invalid parameter: Endpoint Reason: "
     "FIFO SQS Queues can not be subscribed to standard SNS topics"),
    ("email", "a@example.com", None),
])
def test_endpoint_rules(sns: Any, topic: str, protocol: str, address: str, message: str | None) -> None:
    if message is None:
        sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=address)
        return
    err = error_of(sns.subscribe, TopicArn=topic, Protocol=protocol, Endpoint=address)
    assert (err["Code"], err["Message"]) == ("InvalidParameter", message)


def test_fifo_topics_take_fifo_queues_only(sns: Any) -> None:
    fifo = sns.create_topic(Name=f"f-{uuid.uuid4().hex[:12]}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    sns.subscribe(TopicArn=fifo, Protocol="sqs", Endpoint=queue_arn("ok.fifo"))
    for protocol, endpoint in [("sqs", queue_arn()), ("email", "a@example.com")]:
        err = error_of(sns.subscribe, TopicArn=fifo, Protocol=protocol, Endpoint=endpoint)
        assert err["Code"] == "InvalidParameter" and "FIFO" in err["Message"]
    err = error_of(sns.subscribe, TopicArn=fifo, Protocol="sqs", Endpoint=queue_arn("x.fifo"),
                   Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn("dlq")})})
    assert "must use a FIFO queue as DLQ" in err["Message"]


def test_lambda_subscriptions_are_stored(sns: Any, topic: str) -> None:
    function = "arn:aws:lambda:us-east-1:000000000000:function:on-order"
    arn = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)["SubscriptionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["Protocol"] == "lambda" and attributes["PendingConfirmation"] == "false"
    err = error_of(sns.set_subscription_attributes, SubscriptionArn=arn, AttributeName="RawMessageDelivery",
                   AttributeValue="true")
    assert err["Message"] == "Invalid parameter: Delivery protocol [lambda] does not support raw message delivery."


def test_email_confirmation_through_the_outbox(sns: Any, topic: str, endpoint: str) -> None:
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    assert sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=address)["SubscriptionArn"] == \
        "pending confirmation"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == ["PendingConfirmation"]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "1"
    [mail] = outbox(endpoint, address)
    assert mail["Type"] == "SubscriptionConfirmation"
    assert mail["Subject"] == "AWS Notification - Subscription Confirmation"
    url = next(line for line in mail["Body"].splitlines() if line.startswith("http"))
    sns.publish(TopicArn=topic, Message="before confirmation")
    assert len(outbox(endpoint, address)) == 1  # pending subscriptions get nothing
    with urllib.request.urlopen(url) as response:
        body = response.read().decode()
    assert "<ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:" in body
    [confirmed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert confirmed["SubscriptionArn"].startswith(topic)
    attributes = sns.get_subscription_attributes(SubscriptionArn=confirmed["SubscriptionArn"])["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    assert attributes["ConfirmationWasAuthenticated"] == "false"  # a visit to a URL is not a signed call
    sns.publish(TopicArn=topic, Message="after confirmation", Subject="Hi")
    mails = outbox(endpoint, address)
    assert mails[-1]["Subject"] == "Hi" and mails[-1]["Body"].startswith("after confirmation")
    assert "unsubscribe" in mails[-1]["Body"]


def test_confirm_with_the_api_and_bad_tokens(sns: Any, topic: str, endpoint: str) -> None:
    address = f"{uuid.uuid4().hex[:8]}@example.com"
    arn = sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=address,
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert arn.startswith(topic)
    [mail] = outbox(endpoint, address)
    token = json.loads(mail["Body"])["Token"]
    err = error_of(sns.confirm_subscription, TopicArn=topic, Token="0" * 40)
    assert err["Message"] == "Invalid parameter: Token"
    assert sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"] == arn
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["ConfirmationWasAuthenticated"] == "true"
    sns.publish(TopicArn=topic, Message="json mail")
    envelope = json.loads(outbox(endpoint, address)[-1]["Body"])
    assert envelope["Type"] == "Notification" and envelope["Message"] == "json mail"


def test_sms_subscriptions_and_direct_sms(sns: Any, topic: str, endpoint: str) -> None:
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550100")
    sns.publish(TopicArn=topic, Message="your code is 1234")
    assert outbox(endpoint, "+15555550100")[-1]["Body"] == "your code is 1234"
    sns.publish(PhoneNumber="+15555550199", Message="direct")
    assert outbox(endpoint, "+15555550199")[-1]["Body"] == "direct"
    err = error_of(sns.publish, PhoneNumber="555", Message="x")
    assert err["Message"] == "Invalid parameter: PhoneNumber Reason: 555 is not valid to publish to"


def test_unsubscribe(sns: Any, topic: str) -> None:
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn())["SubscriptionArn"]
    sns.unsubscribe(SubscriptionArn=arn)
    sns.unsubscribe(SubscriptionArn=arn)  # idempotent
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    err = error_of(sns.get_subscription_attributes, SubscriptionArn=arn)
    assert (err["Code"], err["Message"]) == ("NotFound", "Subscription does not exist")
    assert error_of(sns.unsubscribe, SubscriptionArn="arn:aws:sns")["Code"] == "InvalidParameter"


def test_unsubscribe_url(sns: Any, topic: str, endpoint: str) -> None:
    arn = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn())["SubscriptionArn"]
    url = f"{endpoint}/_miniaws/sns/unsubscribe?Action=Unsubscribe&SubscriptionArn={urllib.parse.quote(arn)}"
    with urllib.request.urlopen(url) as response:
        assert b"<UnsubscribeResponse" in response.read()
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_list_subscriptions_pages(endpoint: str) -> None:
    account = str(uuid.uuid4().int)[:12].rjust(12, "2")
    sns = make_client(endpoint, "sns", aws_access_key_id=account)
    topic = sns.create_topic(Name="many")["TopicArn"]
    arns = {sns.subscribe(TopicArn=topic, Protocol="sqs",
                          Endpoint=f"arn:aws:sqs:us-east-1:{account}:q{i}")["SubscriptionArn"] for i in range(120)}
    by_topic = [s["SubscriptionArn"] for p in sns.get_paginator("list_subscriptions_by_topic").paginate(
        TopicArn=topic) for s in p["Subscriptions"]]
    every = [s["SubscriptionArn"] for p in sns.get_paginator("list_subscriptions").paginate()
             for s in p["Subscriptions"]]
    assert set(by_topic) == arns == set(every)
    first = sns.list_subscriptions()
    assert len(first["Subscriptions"]) == 100 and "NextToken" in first


def test_queues_of_other_accounts_confirm(sns: Any, topic: str) -> None:
    # "If the endpoint and the topic are in different AWS accounts, the endpoint owner must confirm"
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:theirs")[
        "SubscriptionArn"] == "pending confirmation"
