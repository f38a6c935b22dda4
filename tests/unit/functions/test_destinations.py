"""Asynchronous invocation outcomes without processes: the invocation record, the dead-letter message, and which
service each destination ARN goes to."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from miniaws.services.lambda_.destinations import AsyncOutcome, Destinations, error_message, invocation_record

FN = "arn:aws:lambda:us-east-1:000000000000:function:worker:$LATEST"


def outcome(condition: str = "Success", **changes: Any) -> AsyncOutcome:
    settings: dict[str, Any] = dict(request_id="r-1", function_arn=FN, condition=condition, attempts=1,
                                    request_payload=b'{"in": 1}', response_payload=b'{"out": 2}',
                                    timestamp=1_700_000_000.25, executed_version="$LATEST")
    settings.update(changes)
    return AsyncOutcome(**settings)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def send_to_queue(self, queue_arn: str, body: str, *, attributes: Mapping[str, Any] | None = None,
                      group_id: str | None = None, dedup_id: str | None = None,
                      sender_id: str = "") -> dict[str, Any]:
        self.calls.append(("sqs", queue_arn, (body, attributes)))
        return {}

    def publish_to_topic(self, topic_arn: str, message: str, *, subject: str | None = None,
                         attributes: Mapping[str, Any] | None = None) -> str:
        self.calls.append(("sns", topic_arn, (message, attributes)))
        return "id"

    def queue_event(self, function_arn: str, payload: bytes) -> None:
        self.calls.append(("lambda", function_arn, payload))


def test_success_record() -> None:
    record = orjson.loads(invocation_record(outcome()))
    assert record == {
        "version": "1.0", "timestamp": "2023-11-14T22:13:20.250Z",
        "requestContext": {"requestId": "r-1", "functionArn": FN, "condition": "Success",
                           "approximateInvokeCount": 1},
        "requestPayload": {"in": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": {"out": 2},
    }


def test_failure_record_and_dead_letter_message() -> None:
    failed = outcome("RetriesExhausted", attempts=3, function_error="Unhandled",
                     response_payload=b'{"errorMessage": "boom", "errorType": "ValueError"}')
    record = orjson.loads(invocation_record(failed))
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert error_message(failed) == "boom"
    throttled = outcome("EventAgeExceeded", status_code=429, executed_version=None, response_payload=b"")
    record = orjson.loads(invocation_record(throttled))
    assert record["responseContext"] == {"statusCode": 429} and "responsePayload" not in record
    assert error_message(outcome(response_payload=b"x" * 5000)) == "x" * 1024


def test_destinations_by_service() -> None:
    services = Recorder()
    destinations = Destinations(services, services, services)
    queue, topic = "arn:aws:sqs:us-east-1:000000000000:q", "arn:aws:sns:us-east-1:000000000000:t"
    function = "arn:aws:lambda:us-east-1:000000000000:function:next"
    config = {"OnSuccess": {"Destination": function}, "OnFailure": {"Destination": queue}}
    destinations.finished(outcome(), config, dead_letter_arn=topic)
    destinations.finished(outcome("RetriesExhausted"), config, dead_letter_arn=topic)
    kinds = [(kind, arn) for kind, arn, _ in services.calls]
    # success: the OnSuccess destination only; failure: OnFailure and the dead-letter topic
    assert kinds == [("lambda", function), ("sqs", queue), ("sns", topic)]
    body, attributes = services.calls[2][2]
    assert body == '{"in": 1}' and attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}


def test_an_unusable_destination_is_skipped() -> None:
    destinations = Destinations()  # nothing wired
    destinations.finished(outcome("RetriesExhausted"), {"OnFailure": {"Destination": "arn:aws:events:x"}},
                          dead_letter_arn="arn:aws:sqs:us-east-1:000000000000:gone")
