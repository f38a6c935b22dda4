"""Where an asynchronous invocation's outcome goes once Lambda is done with the event.

OnSuccess / OnFailure destinations (PutFunctionEventInvokeConfig) get an invocation record — a JSON document with
the request and the response — on an SQS queue, an SNS topic or another function (invoked asynchronously). The
function's DeadLetterConfig (a queue or a topic) gets the event itself after the retries, with RequestID, ErrorCode
and ErrorMessage as message attributes. Both may be set; both are then used.
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)

Delivery is a method call on the destination service, wired in by the composition root. A destination that
refuses the record (deleted, a FIFO queue, not wired) is logged and skipped: AWS counts it in the
DestinationDeliveryFailures metric and drops it too.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from miniaws.core.timestamps import iso8601_ms

log = logging.getLogger("miniaws.lambda")

#: "ErrorMessage – The first 1 KB of the error message text" (dead-letter queue message attributes)
DLQ_MESSAGE_LIMIT = 1024


class QueueSender(Protocol):
    """SqsService.send_to_queue."""

    def send_to_queue(self, queue_arn: str, body: str, *, attributes: Mapping[str, Any] | None = None,
                      group_id: str | None = None, dedup_id: str | None = None,
                      sender_id: str = ...) -> dict[str, Any]: ...


class TopicPublisher(Protocol):
    """SnsService.publish_to_topic."""

    def publish_to_topic(self, topic_arn: str, message: str, *, subject: str | None = None,
                         attributes: Mapping[str, Any] | None = None) -> str: ...


class FunctionInvoker(Protocol):
    """LambdaService.queue_event: an asynchronous invocation of another function."""

    def queue_event(self, function_arn: str, payload: bytes) -> None: ...


@dataclass(slots=True)
class AsyncOutcome:
    """How one asynchronous invocation ended."""

    request_id: str
    #: the invoked function's ARN with its qualifier ($LATEST when none was given)
    function_arn: str
    #: Success, RetriesExhausted or EventAgeExceeded
    condition: str
    attempts: int
    request_payload: bytes
    response_payload: bytes
    timestamp: float
    status_code: int = 200
    executed_version: str | None = None
    #: "Unhandled" for a function error; None for success or when the function never ran (throttled)
    function_error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.condition == "Success"


def _json_or_text(data: bytes) -> Any:
    try:
        return orjson.loads(data) if data else None
    except orjson.JSONDecodeError:
        return data.decode("utf-8", "replace")


def invocation_record(outcome: AsyncOutcome) -> bytes:
    """The invocation record a destination receives (invocation-async-retain-records.html)."""
    response: dict[str, Any] = {"statusCode": outcome.status_code}
    if outcome.executed_version is not None:
        response["executedVersion"] = outcome.executed_version
    if outcome.function_error is not None:
        response["functionError"] = outcome.function_error
    record: dict[str, Any] = {
        "version": "1.0", "timestamp": iso8601_ms(outcome.timestamp),
        "requestContext": {"requestId": outcome.request_id, "functionArn": outcome.function_arn,
                           "condition": outcome.condition, "approximateInvokeCount": outcome.attempts},
        "requestPayload": _json_or_text(outcome.request_payload),
        "responseContext": response,
    }
    if outcome.response_payload:
        record["responsePayload"] = _json_or_text(outcome.response_payload)
    return orjson.dumps(record)


def error_message(outcome: AsyncOutcome) -> str:
    """The dead-letter ErrorMessage: the function's errorMessage, or the response text."""
    document = _json_or_text(outcome.response_payload)
    if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
        text = document["errorMessage"]
    else:
        text = outcome.response_payload.decode("utf-8", "replace")
    return text.encode()[:DLQ_MESSAGE_LIMIT].decode("utf-8", "ignore") or "Unhandled"


def _service_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


class Destinations:
    """The services outcomes can go to; each is None until the composition root wires it in."""

    def __init__(self, queues: QueueSender | None = None, topics: TopicPublisher | None = None,
                 functions: FunctionInvoker | None = None) -> None:
        self.queues, self.topics, self.functions = queues, topics, functions

    def finished(self, outcome: AsyncOutcome, destination_config: Mapping[str, Any] | None,
                 dead_letter_arn: str | None) -> None:
        """Send `outcome` where the function's settings say; never raises."""
        branch = "OnSuccess" if outcome.succeeded else "OnFailure"
        target = ((destination_config or {}).get(branch) or {}).get("Destination")
        if target:
            try:
                self._deliver(str(target), invocation_record(outcome))
            except Exception as exc:
                log.warning("%s destination %s of %s refused the invocation record: %s", branch, target,
                            outcome.function_arn, exc)
        if not outcome.succeeded and dead_letter_arn:
            try:
                self._dead_letter(dead_letter_arn, outcome)
            except Exception as exc:
                log.warning("dead-letter queue %s of %s refused the event: %s", dead_letter_arn,
                            outcome.function_arn, exc)

    def _deliver(self, arn: str, record: bytes) -> None:
        service = _service_of(arn)
        if service == "sqs" and self.queues is not None:
            self.queues.send_to_queue(arn, record.decode(), sender_id="AIDALAMBDADESTINATION")
        elif service == "sns" and self.topics is not None:
            self.topics.publish_to_topic(arn, record.decode())
        elif service == "lambda" and self.functions is not None:
            self.functions.queue_event(arn, record)
        else:
            raise LookupError(f"no {service or 'such'} destination service is available")

    def _dead_letter(self, arn: str, outcome: AsyncOutcome) -> None:
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": outcome.request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": str(outcome.status_code)},
            "ErrorMessage": {"DataType": "String", "StringValue": error_message(outcome)},
        }
        body = outcome.request_payload.decode("utf-8", "replace")
        service = _service_of(arn)
        if service == "sqs" and self.queues is not None:
            self.queues.send_to_queue(arn, body, attributes=attributes, sender_id="AIDALAMBDADEADLETTER0")
        elif service == "sns" and self.topics is not None:
            self.topics.publish_to_topic(arn, body, attributes=attributes)
        else:
            raise LookupError(f"a dead-letter target must be an SQS queue or an SNS topic, not {arn}")
