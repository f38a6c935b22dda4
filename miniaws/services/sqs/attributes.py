"""Queue attributes: which exist, their defaults and ranges, and how CreateQueue/SetQueueAttributes validate them.

Ranges and defaults are from the CreateQueue and SetQueueAttributes references
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html); the message size
ceiling and default are 1 MiB since AWS raised them in 2025.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from miniaws.services.sqs.errors import InvalidAttributeName, InvalidAttributeValue, InvalidParameterValue

MAX_MESSAGE_SIZE = 1_048_576

#: integer attributes: (minimum, maximum, default)
INTEGER_ATTRIBUTES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, MAX_MESSAGE_SIZE, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (60, 1_209_600, 345_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43_200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400, 300),
}
BOOLEAN_ATTRIBUTES = ("SqsManagedSseEnabled", "ContentBasedDeduplication", "FifoQueue")
CHOICE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
#: attributes only a FIFO queue has: a standard queue calls them unknown
FIFO_ONLY = frozenset({"FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})
SETTABLE = frozenset({*INTEGER_ATTRIBUTES, *BOOLEAN_ATTRIBUTES, *CHOICE_ATTRIBUTES, "Policy", "RedrivePolicy",
                      "RedriveAllowPolicy", "KmsMasterKeyId"})
READ_ONLY = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn")
#: every name GetQueueAttributes accepts, in the order AWS lists them
ALL_NAMES = ("Policy", "VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
             "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp",
             "LastModifiedTimestamp", "QueueArn", "ApproximateNumberOfMessagesDelayed", "DelaySeconds",
             "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication",
             "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "DeduplicationScope", "FifoThroughputLimit",
             "RedriveAllowPolicy", "SqsManagedSseEnabled")

REDRIVE_PERMISSIONS = ("allowAll", "denyAll", "byQueue")


def defaults(fifo: bool) -> dict[str, str]:
    """The stored attributes of a new queue before the request's own are applied."""
    out = {name: str(default) for name, (_, _, default) in INTEGER_ATTRIBUTES.items()
           if name != "KmsDataKeyReusePeriodSeconds"}
    # SSE-SQS is on by default for new queues since 2022 (SQS Developer Guide, "Encryption at rest")
    out["SqsManagedSseEnabled"] = "true"
    if fifo:
        out.update(FifoQueue="true", ContentBasedDeduplication="false", DeduplicationScope="queue",
                   FifoThroughputLimit="perQueue")
    return out


def invalid_value(name: str) -> InvalidAttributeValue:
    return InvalidAttributeValue(f"Invalid value for the parameter {name}.")


def unknown(name: str) -> InvalidAttributeName:
    return InvalidAttributeName(f"Unknown Attribute {name}.")


def _integer(name: str, value: str) -> str:
    low, high, _ = INTEGER_ATTRIBUTES[name]
    try:
        number = int(value.strip())
    except ValueError:
        raise invalid_value(name) from None
    if not low <= number <= high:
        raise invalid_value(name)
    return str(number)


def _boolean(name: str, value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise invalid_value(name)
    return lowered


def _json_object(name: str, value: str) -> dict[str, Any]:
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise invalid_value(name) from None
    if not isinstance(parsed, dict):
        raise invalid_value(name)
    return parsed


def _redrive_error(value: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}")


def parse_redrive_policy(value: str) -> tuple[str, int] | None:
    """(deadLetterTargetArn, maxReceiveCount) from a RedrivePolicy; None for the empty string (removal)."""
    if value == "":
        return None
    policy = _json_object("RedrivePolicy", value)
    target = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if not isinstance(target, str) or not target:
        raise _redrive_error(value, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
    if count is None:
        raise _redrive_error(value, "Redrive policy does not contain mandatory attribute: maxReceiveCount.")
    try:
        number = int(count)
    except (TypeError, ValueError):
        raise _redrive_error(value, "Invalid value for maxReceiveCount: "
                                    f"{count}, valid values are from 1 to 1000 both inclusive.") from None
    if not 1 <= number <= 1000:
        raise _redrive_error(value, "Invalid value for maxReceiveCount: "
                                    f"{count}, valid values are from 1 to 1000 both inclusive.")
    return target, number


def parse_redrive_allow_policy(value: str) -> tuple[str, list[str]]:
    """(redrivePermission, sourceQueueArns) from a RedriveAllowPolicy."""
    if value == "":
        return "allowAll", []
    policy = _json_object("RedriveAllowPolicy", value)
    permission = policy.get("redrivePermission")
    sources = policy.get("sourceQueueArns") or []
    if permission not in REDRIVE_PERMISSIONS or not isinstance(sources, list):
        raise invalid_value("RedriveAllowPolicy")
    if permission == "byQueue":
        if not sources or len(sources) > 10:
            raise invalid_value("RedriveAllowPolicy")
    elif sources:
        # sourceQueueArns is only allowed with byQueue (CreateQueue reference, RedriveAllowPolicy)
        raise invalid_value("RedriveAllowPolicy")
    return str(permission), [str(arn) for arn in sources]


def _policy(name: str, value: str) -> str:
    if value != "":
        _json_object(name, value)
    return value


_VALIDATORS: dict[str, Callable[[str, str], str]] = {
    **{name: _integer for name in INTEGER_ATTRIBUTES},
    **{name: _boolean for name in BOOLEAN_ATTRIBUTES},
    "Policy": _policy,
    "KmsMasterKeyId": lambda name, value: value,
}


def _choice(name: str, value: str) -> str:
    if value not in CHOICE_ATTRIBUTES[name]:
        raise invalid_value(name)
    return value


def normalize(attributes: Mapping[str, Any], fifo: bool, creating: bool) -> dict[str, str]:
    """Validated attributes in their stored text form (RedrivePolicy checks that need other queues come later)."""
    out: dict[str, str] = {}
    for name, raw in attributes.items():
        if name not in SETTABLE or (name in FIFO_ONLY and not fifo):
            raise unknown(name)
        if name == "FifoQueue" and not creating:
            # the queue type is fixed at creation (CreateQueue reference, FifoQueue)
            raise invalid_value(name)
        value = raw if isinstance(raw, str) else str(raw)
        if name in CHOICE_ATTRIBUTES:
            out[name] = _choice(name, value)
        elif name == "RedrivePolicy":
            parsed = parse_redrive_policy(value)
            out[name] = "" if parsed is None else orjson.dumps(
                {"deadLetterTargetArn": parsed[0], "maxReceiveCount": parsed[1]}).decode()
        elif name == "RedriveAllowPolicy":
            permission, sources = parse_redrive_allow_policy(value)
            policy: dict[str, Any] = {"redrivePermission": permission}
            if sources:
                policy["sourceQueueArns"] = sources
            out[name] = "" if value == "" else orjson.dumps(policy).decode()
        else:
            out[name] = _VALIDATORS[name](name, value)
    return out


def check_combination(merged: Mapping[str, str]) -> None:
    """Rules across attributes, checked on the queue's attributes after the change."""
    if merged.get("FifoThroughputLimit") == "perMessageGroupId" and merged.get("DeduplicationScope") == "queue":
        # perMessageGroupId is allowed only with DeduplicationScope=messageGroup (CreateQueue reference)
        raise InvalidParameterValue("Value perMessageGroupId for parameter FifoThroughputLimit is invalid. Reason: "
                                    "The perMessageGroupId value is allowed only when the value for "
                                    "DeduplicationScope is messageGroup.")
