"""The SNS service called directly (no sockets, fake clock): the Lambda hook's event, the envelope text against
its dict form, and what a lambda subscription does while no function runtime is wired."""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from miniaws.config import Config
from miniaws.core.clock import FakeClock
from miniaws.core.context import Principal, RequestContext
from miniaws.services.sns.api import SnsService
from miniaws.services.sns.messages import Published, Urls, notification, notification_text, render
from miniaws.services.sns.signing import Signer
from miniaws.state.journal import MemoryJournal

ACCOUNT = "000000000000"


class FakeFunctions:
    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    def queue_event(self, function_arn: str, payload: bytes) -> None:
        if function_arn.endswith(":missing"):
            raise LookupError(f"Function not found: {function_arn}")
        self.events.append((function_arn, payload))


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.generate()


def _service(signer: Signer, functions: FakeFunctions | None) -> tuple[SnsService, RequestContext]:
    clock = FakeClock()
    service = SnsService(Config(), clock, MemoryJournal(), functions=functions,
                         endpoint=lambda: "http://127.0.0.1:4566")
    service.store.signer = signer
    return service, RequestContext("sns", "x", ACCOUNT, "us-east-1", "rid", clock, Principal(None, ACCOUNT), None)


def test_lambda_subscriptions_get_the_sns_event(signer: Signer) -> None:
    functions = FakeFunctions()
    service, ctx = _service(signer, functions)
    topic = service.create_topic(ctx, {"Name": "events"})["TopicArn"]
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler"
    sub = service.subscribe(ctx, {"TopicArn": topic, "Protocol": "lambda", "Endpoint": function})["SubscriptionArn"]
    published = service.publish(ctx, {"TopicArn": topic, "Message": "hi", "MessageAttributes": {
        "k": {"DataType": "String", "StringValue": "v"}}})
    [(arn, payload)] = functions.events
    assert arn == function
    record = orjson.loads(payload)["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == sub
    sns = record["Sns"]
    assert sns["MessageId"] == published["MessageId"] and sns["Message"] == "hi" and sns["Subject"] is None
    assert sns["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert sns["SigningCertUrl"].startswith("http://127.0.0.1:4566/_miniaws/sns/SimpleNotificationService-")
    assert "UnsubscribeUrl" in sns and "Signature" in sns


def test_without_a_runtime_lambda_deliveries_fail_cleanly(signer: Signer) -> None:
    service, ctx = _service(signer, None)
    topic = service.create_topic(ctx, {"Name": "events"})["TopicArn"]
    service.subscribe(ctx, {"TopicArn": topic, "Protocol": "lambda",
                            "Endpoint": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"})
    assert "MessageId" in service.publish(ctx, {"TopicArn": topic, "Message": "hi"})


def test_missing_functions_are_failed_deliveries(signer: Signer) -> None:
    functions = FakeFunctions()
    service, ctx = _service(signer, functions)
    topic = service.create_topic(ctx, {"Name": "events"})["TopicArn"]
    service.subscribe(ctx, {"TopicArn": topic, "Protocol": "lambda",
                            "Endpoint": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:missing"})
    service.publish(ctx, {"TopicArn": topic, "Message": "hi"})
    assert functions.events == []


@pytest.mark.parametrize("attributes", [{}, {"a": {"DataType": "Binary", "BinaryValue": b"\x01"},
                                             "n": {"DataType": "Number", "StringValue": "1"}}])
@pytest.mark.parametrize("seq", [None, 42])
def test_envelope_text_is_the_rendered_envelope(signer: Signer, attributes: dict[str, Any], seq: int | None) -> None:
    service, ctx = _service(signer, None)
    arn = service.create_topic(ctx, {"Name": "t"})["TopicArn"]
    sub_arn = service.subscribe(ctx, {"TopicArn": arn, "Protocol": "sqs",
                                      "Endpoint": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"})["SubscriptionArn"]
    topic = service.store.topics[arn]
    subscription = service.store.subscriptions[sub_arn]
    published = Published(topic, "id-1", "body \"quoted\" ü", None, "subject", attributes,
                          "2024-01-01T00:00:00.000Z", seq=seq)
    urls = Urls("http://localhost:1")
    text = notification_text(published, published.message, subscription, signer, urls)
    assert text == render(notification(published, published.message, subscription, signer, urls))
    assert orjson.loads(text)["UnsubscribeURL"].endswith("SubscriptionArn=" + sub_arn.replace(":", "%3A"))
