"""Topic and subscription attributes: which names may be set, how each value is validated (with AWS's wording),
the defaults GetTopicAttributes reports, and HTTP/S delivery (retry) policies.

https://docs.aws.amazon.com/sns/latest/api/API_SetTopicAttributes.html, API_SetSubscriptionAttributes.html and
https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from miniaws.services.sns import filter_policy
from miniaws.services.sns.errors import InvalidParameter

_FEEDBACK = tuple(f"{kind}{suffix}" for kind in ("Application", "Firehose", "HTTP", "Lambda", "SQS")
                  for suffix in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn"))
#: settable with CreateTopic and SetTopicAttributes
TOPIC_ATTRIBUTES = frozenset({"DeliveryPolicy", "DisplayName", "Policy", "TracingConfig", "KmsMasterKeyId",
                              "SignatureVersion", "ContentBasedDeduplication", "FifoThroughputScope",
                              "ArchivePolicy", *_FEEDBACK})
#: settable only when the topic is created
CREATE_ONLY_TOPIC_ATTRIBUTES = frozenset({"FifoTopic"})
SUBSCRIPTION_ATTRIBUTES = frozenset({"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                                     "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"})
#: "RawMessageDelivery – ... enables raw message delivery to Amazon SQS or HTTP/S endpoints" (and Firehose)
RAW_PROTOCOLS = frozenset({"sqs", "http", "https", "firehose"})

_BACKOFF_FUNCTIONS = ("linear", "arithmetic", "geometric", "exponential")
#: "The total policy retry time for an HTTP/S endpoint cannot be greater than 3,600 seconds"
MAX_RETRY_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """An HTTP/S healthyRetryPolicy; the defaults are SNS's: three retries, 20 seconds apart."""

    min_delay: int = 20
    max_delay: int = 20
    retries: int = 3
    max_delay_retries: int = 0
    no_delay_retries: int = 0
    min_delay_retries: int = 0
    backoff: str = "linear"

    def delays(self) -> list[float]:
        """Seconds to wait before each retry: the immediate, pre-backoff, backoff and post-backoff phases."""
        out: list[float] = [0.0] * self.no_delay_retries + [float(self.min_delay)] * self.min_delay_retries
        backoff = max(0, self.retries - self.no_delay_retries - self.min_delay_retries - self.max_delay_retries)
        low, high = float(self.min_delay), float(self.max_delay)
        for step in range(1, backoff + 1):
            share = step / backoff
            if self.backoff in ("geometric", "exponential") and low > 0:
                out.append(low * (high / low) ** share)
            else:
                out.append(low + (high - low) * share)
        out += [high] * self.max_delay_retries
        return out[: self.retries]

    def as_json(self) -> dict[str, Any]:
        return {"minDelayTarget": self.min_delay, "maxDelayTarget": self.max_delay, "numRetries": self.retries,
                "numMaxDelayRetries": self.max_delay_retries, "numNoDelayRetries": self.no_delay_retries,
                "numMinDelayRetries": self.min_delay_retries, "backoffFunction": self.backoff}


DEFAULT_RETRY = RetryPolicy()
DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"


def retry_policy_of(document: Mapping[str, Any]) -> RetryPolicy:
    """A validated healthyRetryPolicy document as a RetryPolicy (missing fields take SNS's defaults)."""
    def number(name: str, default: int, low: int, high: int) -> int:
        value = document.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidParameter(f"Invalid parameter: DeliveryPolicy: {name} must be an integer between {low} "
                                   f"and {high}")
        return value

    policy = RetryPolicy(
        min_delay=number("minDelayTarget", 20, 1, MAX_RETRY_SECONDS),
        max_delay=number("maxDelayTarget", 20, 1, MAX_RETRY_SECONDS),
        retries=number("numRetries", 3, 0, 100),
        max_delay_retries=number("numMaxDelayRetries", 0, 0, 100),
        no_delay_retries=number("numNoDelayRetries", 0, 0, 100),
        min_delay_retries=number("numMinDelayRetries", 0, 0, 100),
        backoff=str(document.get("backoffFunction", "linear")),
    )
    if policy.backoff not in _BACKOFF_FUNCTIONS:
        raise InvalidParameter("Invalid parameter: DeliveryPolicy: backoffFunction must be one of "
                               f"{', '.join(_BACKOFF_FUNCTIONS)}")
    if policy.min_delay > policy.max_delay:
        raise InvalidParameter("Invalid parameter: DeliveryPolicy: minDelayTarget must be less than or equal to "
                               "maxDelayTarget")
    if policy.no_delay_retries + policy.min_delay_retries + policy.max_delay_retries > policy.retries:
        raise InvalidParameter("Invalid parameter: DeliveryPolicy: numRetries must be at least the sum of "
                               "numNoDelayRetries, numMinDelayRetries and numMaxDelayRetries")
    if sum(policy.delays()) > MAX_RETRY_SECONDS:
        raise InvalidParameter("Invalid parameter: DeliveryPolicy: total retry time must not exceed "
                               f"{MAX_RETRY_SECONDS} seconds")
    return policy


def _json_object(name: str, value: str, prefix: str) -> dict[str, Any]:
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise InvalidParameter(f"{prefix}{name}: failed to parse JSON.")
    return document


# -- topics -----------------------------------------------------------------------------------------
def check_topic_attribute(name: str, value: str, fifo: bool) -> str:
    """The value to store for a topic attribute, or InvalidParameter (CreateTopic and SetTopicAttributes)."""
    if name not in TOPIC_ATTRIBUTES:
        raise InvalidParameter("Invalid parameter: AttributeName")
    if name == "SignatureVersion" and value not in ("1", "2"):
        raise InvalidParameter("Invalid parameter: SignatureVersion")
    if name == "TracingConfig" and value not in ("PassThrough", "Active"):
        raise InvalidParameter("Invalid parameter: TracingConfig")
    if name == "ContentBasedDeduplication":
        if not fifo:
            raise InvalidParameter("Invalid parameter: ContentBasedDeduplication Reason: Content-based "
                                   "deduplication can only be set for FIFO topics")
        if value.lower() not in ("true", "false"):
            raise InvalidParameter("Invalid parameter: ContentBasedDeduplication")
        return value.lower()
    if name in ("FifoThroughputScope", "ArchivePolicy") and not fifo:
        raise InvalidParameter(f"Invalid parameter: {name} Reason: {name} can only be set for FIFO topics")
    if name == "FifoThroughputScope" and value not in ("Topic", "MessageGroup"):
        raise InvalidParameter("Invalid parameter: FifoThroughputScope")
    if name in ("Policy", "ArchivePolicy"):
        _json_object(name, value, "Invalid parameter: ")
    if name == "DeliveryPolicy" and value:
        http = _json_object(name, value, "Invalid parameter: ").get("http") or {}
        if http.get("defaultHealthyRetryPolicy"):
            retry_policy_of(http["defaultHealthyRetryPolicy"])
    return value


def default_policy(arn: str, account: str) -> str:
    """The access policy every new topic gets (GetTopicAttributes `Policy`)."""
    return orjson.dumps({
        "Version": "2008-10-17", "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                       "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
                       "SNS:Publish"],
            "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
        }],
    }).decode()


def effective_delivery_policy(retry: RetryPolicy | None, content_type: str | None,
                              overrides: bool = True) -> str:
    return orjson.dumps({"http": {
        "defaultHealthyRetryPolicy": (retry or DEFAULT_RETRY).as_json(),
        "disableSubscriptionOverrides": not overrides,
        "defaultRequestPolicy": {"headerContentType": content_type or DEFAULT_CONTENT_TYPE},
    }}).decode()


# -- subscriptions ----------------------------------------------------------------------------------
def check_subscription_attribute(name: str, value: str, protocol: str, fifo_topic: bool,
                                 current: Mapping[str, str], on_subscribe: bool) -> str:
    """The value to store for a subscription attribute, or InvalidParameter. `current` holds the subscription's
    other attributes (a FilterPolicy is checked against the scope it will be read in, and vice versa)."""
    prefix = "Invalid parameter: Attributes Reason: " if on_subscribe else "Invalid parameter: "
    if name not in SUBSCRIPTION_ATTRIBUTES:
        raise InvalidParameter("Invalid parameter: AttributeName")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise InvalidParameter(f"{prefix}RawMessageDelivery: Invalid value [{value}]. Must be true or false.")
        if protocol not in RAW_PROTOCOLS:
            raise InvalidParameter(f"{prefix}Delivery protocol [{protocol}] does not support raw message "
                                   "delivery.")
        return value.lower()
    if name == "FilterPolicyScope":
        if value not in (filter_policy.SCOPE_ATTRIBUTES, filter_policy.SCOPE_BODY):
            raise InvalidParameter(f"{prefix}FilterPolicyScope: Invalid value [{value}]. Please use either "
                                   "MessageBody or MessageAttributes")
        _check_filter(current.get("FilterPolicy"), value, prefix)
        return value
    if name == "FilterPolicy":
        _check_filter(value, current.get("FilterPolicyScope") or filter_policy.SCOPE_ATTRIBUTES, prefix)
        return value
    if name == "RedrivePolicy":
        if not value:
            return value
        target = _json_object(name, value, prefix).get("deadLetterTargetArn")
        parts = str(target or "").split(":")
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not parts[5]:
            raise InvalidParameter(f"{prefix}RedrivePolicy: deadLetterTargetArn is an invalid arn")
        # "FIFO topic subscriptions use FIFO queues [as dead-letter queues], and standard topic subscriptions use
        # standard queues" (Developer Guide, "Amazon SNS dead-letter queues")
        if fifo_topic and not parts[5].endswith(".fifo"):
            raise InvalidParameter(f"{prefix}RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription "
                                   "to a FIFO Topic.")
        if not fifo_topic and parts[5].endswith(".fifo"):
            raise InvalidParameter(f"{prefix}RedrivePolicy: must use a standard queue as DLQ for a Subscription "
                                   "to a standard Topic.")
        return value
    if name == "DeliveryPolicy" and value:
        document = _json_object(name, value, prefix)
        if document.get("healthyRetryPolicy"):
            retry_policy_of(document["healthyRetryPolicy"])
    return value


def _check_filter(text: str | None, scope: str, prefix: str) -> None:
    try:
        filter_policy.parse(text, scope)
    except filter_policy.FilterPolicyError as err:
        raise InvalidParameter(f"{prefix}{err}") from None
