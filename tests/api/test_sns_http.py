"""SNS to a real HTTP subscriber: an aiohttp server on loopback (its own thread and loop) that confirms its
subscription through the SubscribeURL, receives notifications with SNS's headers, verifies every signature with
`cryptography`, and exercises retries, the dead-letter queue and the unsubscribe confirmation."""
from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from tests.api.conftest import make_client
from tests.api.test_sns_publish import drain, new_queue, verify_like_the_sdk


class Subscriber:
    """Records every POST; answers with the scripted statuses (then 200), optionally after a delay."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.statuses: list[int] = []
        self.delay = 0.0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        assert self._runner is not None
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.received.put({"path": request.path, "headers": dict(request.headers), "body": body})
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def url(self, path: str = "/sns") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.received.get(timeout=timeout)

    def start(self) -> "Subscriber":
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sns(endpoint: str) -> Any:
    return make_client(endpoint, "sns")


@pytest.fixture(scope="module")
def sqs(endpoint: str) -> Any:
    return make_client(endpoint, "sqs")


def confirmed(sns: Any, subscriber: Subscriber, topic: str, path: str = "/sns", **attributes: str) -> str:
    """Subscribe the endpoint and confirm it the way an application does: by visiting the SubscribeURL."""
    assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url(path), Attributes=attributes)[
        "SubscriptionArn"] == "pending confirmation"
    request = subscriber.next()
    assert request["headers"]["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert "x-amz-sns-subscription-arn" not in request["headers"]
    message = json.loads(request["body"])
    verify_like_the_sdk(message)
    with urllib.request.urlopen(message["SubscribeURL"]) as response:
        body = response.read().decode()
    return body.split("<SubscriptionArn>")[1].split("</SubscriptionArn>")[0]


def test_confirm_receive_and_verify(sns: Any, subscriber: Subscriber) -> None:
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:12]}", Attributes={"SignatureVersion": "2"})["TopicArn"]
    arn = confirmed(sns, subscriber, topic)
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
    published = sns.publish(TopicArn=topic, Message="to the web", Subject="Hello",
                            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    request = subscriber.next()
    headers = request["headers"]
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == published["MessageId"]
    assert headers["x-amz-sns-topic-arn"] == topic and headers["x-amz-sns-subscription-arn"] == arn
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert headers["User-Agent"] == "Amazon Simple Notification Service Agent"
    message = json.loads(request["body"])
    assert message["Message"] == "to the web" and message["Subject"] == "Hello"
    assert message["SignatureVersion"] == "2"
    assert message["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    verify_like_the_sdk(message)


def test_raw_delivery_and_content_type(sns: Any, subscriber: Subscriber) -> None:
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:12]}")["TopicArn"]
    arn = confirmed(sns, subscriber, topic, RawMessageDelivery="true",
                    DeliveryPolicy=json.dumps({"requestPolicy": {"headerContentType": "application/json"}}))
    sns.publish(TopicArn=topic, Message='{"raw": 1}')
    request = subscriber.next()
    assert request["body"] == '{"raw": 1}'
    assert request["headers"]["x-amz-sns-rawdelivery"] == "true"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["x-amz-sns-subscription-arn"] == arn


def test_publish_never_waits_for_the_endpoint(sns: Any, subscriber: Subscriber) -> None:
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:12]}")["TopicArn"]
    confirmed(sns, subscriber, topic)
    subscriber.delay = 1.0
    started = time.perf_counter()
    sns.publish(TopicArn=topic, Message="slow endpoint")
    assert time.perf_counter() - started < 0.5
    assert json.loads(subscriber.next()["body"])["Message"] == "slow endpoint"


def test_retries_by_the_delivery_policy(sns: Any, subscriber: Subscriber) -> None:
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:12]}")["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 3, "numNoDelayRetries": 3, "minDelayTarget": 1,
                                     "maxDelayTarget": 1}}
    confirmed(sns, subscriber, topic, DeliveryPolicy=json.dumps(policy))
    subscriber.statuses = [500, 503]
    published = sns.publish(TopicArn=topic, Message="eventually")
    attempts = [subscriber.next() for _ in range(3)]
    assert {a["headers"]["x-amz-sns-message-id"] for a in attempts} == {published["MessageId"]}
    with pytest.raises(queue.Empty):
        subscriber.next(timeout=0.3)  # the third attempt succeeded: no more


def test_exhausted_and_rejected_deliveries_go_to_the_dead_letter_queue(sns: Any, sqs: Any,
                                                                       subscriber: Subscriber) -> None:
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:12]}")["TopicArn"]
    dlq_url, dlq_arn = new_queue(sqs)
    policy = {"healthyRetryPolicy": {"numRetries": 1, "numNoDelayRetries": 1, "minDelayTarget": 1,
                                     "maxDelayTarget": 1}}
    confirmed(sns, subscriber, topic, DeliveryPolicy=json.dumps(policy),
              RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn}))
    subscriber.statuses = [500, 500]
    sns.publish(TopicArn=topic, Message="server error")
    assert [json.loads(subscriber.next()["body"])["Message"] for _ in range(2)] == ["server error"] * 2
    subscriber.statuses = [404]
    sns.publish(TopicArn=topic, Message="client error")
    assert json.loads(subscriber.next()["body"])["Message"] == "client error"
    dead = drain(sqs, dlq_url, 2, wait=5)
    by_message = {json.loads(m["Body"])["Message"]: m["MessageAttributes"] for m in dead}
    assert set(by_message) == {"server error", "client error"}
    assert by_message["client error"]["ErrorCode"]["StringValue"] == "HTTP404"
    with pytest.raises(queue.Empty):
        subscriber.next(timeout=0.3)  # a 404 is not retried


def test_unreachable_endpoint(sns: Any, sqs: Any, subscriber: Subscriber) -> None:
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:12]}")["TopicArn"]
    dlq_url, dlq_arn = new_queue(sqs)
    policy = {"healthyRetryPolicy": {"numRetries": 0}}
    arn = confirmed(sns, subscriber, topic, DeliveryPolicy=json.dumps(policy),
                    RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn}))
    subscriber.stop()  # nobody listens on the port any more
    sns.publish(TopicArn=topic, Message="nobody home")
    [dead] = drain(sqs, dlq_url, 1, wait=5)
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "EndpointUnavailable"
    assert json.loads(dead["Body"])["UnsubscribeURL"].endswith(urllib.request.quote(arn, safe=""))


def test_unsubscribe_confirmation_can_restore(sns: Any, subscriber: Subscriber) -> None:
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:12]}")["TopicArn"]
    arn = confirmed(sns, subscriber, topic)
    sns.unsubscribe(SubscriptionArn=arn)
    request = subscriber.next()
    assert request["headers"]["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
    assert request["headers"]["x-amz-sns-subscription-arn"] == arn
    message = json.loads(request["body"])
    verify_like_the_sdk(message)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    with urllib.request.urlopen(message["SubscribeURL"]) as response:
        assert arn in response.read().decode()
    sns.publish(TopicArn=topic, Message="back again")
    assert json.loads(subscriber.next()["body"])["Message"] == "back again"
