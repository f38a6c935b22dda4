"""A retrying SNS → HTTP delivery survives a crash: the endpoint fails the first attempt, the server is killed with
SIGKILL while the retry is pending, and the restarted server (same data directory) resumes the retry — with the
attempt count it had reached — so the notification arrives, byte for byte the one that failed."""
from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_sns_durability import Server
from tests.api.test_sns_http import Subscriber

pytestmark = pytest.mark.subprocess

#: seconds between attempts: long enough that the restarted server still owes the retry when we look
RETRY_DELAY = 3


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop(kill=True)


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    endpoint = Subscriber().start()
    yield endpoint
    endpoint.stop()


def _deliveries(server: Server) -> list[dict[str, Any]]:
    """The HTTP posts the server still owes, as committed to its journal."""
    with urllib.request.urlopen(f"{server.endpoint_url}/_miniaws/sns/deliveries") as response:
        return list(json.loads(response.read())["Deliveries"])


def test_a_retrying_http_delivery_survives_sigkill(tmp_path: Path, servers: list[Server],
                                                   subscriber: Subscriber) -> None:
    first = Server(tmp_path)
    servers.append(first)
    topic = first.sns.create_topic(Name="hooks")["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": RETRY_DELAY, "maxDelayTarget": RETRY_DELAY}}
    first.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url(),
                        Attributes={"DeliveryPolicy": json.dumps(policy)})
    confirmation = json.loads(subscriber.next()["body"])
    with urllib.request.urlopen(confirmation["SubscribeURL"]) as response:
        subscription = response.read().decode().split("<SubscriptionArn>")[1].split("</SubscriptionArn>")[0]

    subscriber.statuses = [500]
    published = first.sns.publish(TopicArn=topic, Message="survives a crash")
    failed = subscriber.next()
    assert failed["headers"]["x-amz-sns-message-id"] == published["MessageId"]
    # wait (bounded) until the failed attempt is journaled, then crash while the retry is pending
    pending: list[dict[str, Any]] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pending = _deliveries(first)
        if pending and pending[0]["Attempts"] == 1:
            break
        time.sleep(0.02)
    assert [(p["MessageId"], p["SubscriptionArn"], p["Type"], p["Attempts"]) for p in pending] == [
        (published["MessageId"], subscription, "Notification", 1)]
    first.stop(kill=True)

    second = Server(tmp_path)
    servers.append(second)
    restored = _deliveries(second)
    if restored:  # unless a very slow restart let the retry go out already
        assert [(p["MessageId"], p["Attempts"]) for p in restored] == [(published["MessageId"], 1)]
    retried = subscriber.next(timeout=RETRY_DELAY + 10)
    assert retried["body"] == failed["body"]
    for header in ("x-amz-sns-message-type", "x-amz-sns-message-id", "x-amz-sns-topic-arn",
                   "x-amz-sns-subscription-arn"):
        assert retried["headers"][header] == failed["headers"][header]
    # accepted: nothing is owed any more
    deadline = time.monotonic() + 5
    while _deliveries(second) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _deliveries(second) == []
