"""SNS's data: topics and their subscriptions, and the settings parsed from their attributes once, when they are
set, so publishing never re-parses text; and the HTTP/S posts still owed to endpoints. Synchronous, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from miniaws.services.sns import filter_policy
from miniaws.services.sns.attributes import RetryPolicy, retry_policy_of


@dataclass(slots=True, eq=False)
class Subscription:
    arn: str
    topic_arn: str
    owner: str
    protocol: str
    endpoint: str
    created: float
    #: attributes the user set (RawMessageDelivery, FilterPolicy, FilterPolicyScope, RedrivePolicy, ...)
    attributes: dict[str, str]
    pending: bool = False
    #: ConfirmationWasAuthenticated: confirmed by a signed ConfirmSubscription call (or needing no confirmation)
    authenticated: bool = True
    #: the confirmation token of a pending subscription and when it stops working
    token: str | None = None
    token_expires: float = 0.0
    # -- parsed from `attributes` by configure() --
    raw: bool = False
    policy: filter_policy.Policy | None = None
    dead_letter_arn: str | None = None
    #: the subscription's own DeliveryPolicy (HTTP/S), None to use the topic's
    retry: RetryPolicy | None = None
    content_type: str | None = None
    #: the UnsubscribeURL, made on first delivery (messages.Urls.unsubscribe_of)
    unsubscribe_url: str | None = None

    def configure(self) -> None:
        a = self.attributes
        self.raw = a.get("RawMessageDelivery", "false").lower() == "true"
        scope = a.get("FilterPolicyScope") or filter_policy.SCOPE_ATTRIBUTES
        self.policy = filter_policy.parse(a.get("FilterPolicy"), scope)
        redrive = a.get("RedrivePolicy")
        self.dead_letter_arn = orjson.loads(redrive).get("deadLetterTargetArn") if redrive else None
        self.retry, self.content_type = None, None
        if a.get("DeliveryPolicy"):
            policy = orjson.loads(a["DeliveryPolicy"])
            if policy.get("healthyRetryPolicy"):
                self.retry = retry_policy_of(policy["healthyRetryPolicy"])
            self.content_type = (policy.get("requestPolicy") or {}).get("headerContentType")

    def record(self) -> dict[str, Any]:
        return {"a": self.arn, "t": self.topic_arn, "o": self.owner, "p": self.protocol, "e": self.endpoint,
                "c": self.created, "at": self.attributes, "pe": self.pending, "au": self.authenticated,
                "tk": self.token, "tx": self.token_expires}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Subscription":
        return cls(r["a"], r["t"], r["o"], r["p"], r["e"], r["c"], r["at"], r["pe"], r["au"], r["tk"], r["tx"])


@dataclass(slots=True, eq=False)
class Topic:
    name: str
    account: str
    region: str
    fifo: bool
    created: float
    #: attributes the user set (DisplayName, Policy, DeliveryPolicy, SignatureVersion, ContentBasedDeduplication...)
    attributes: dict[str, str]
    tags: dict[str, str] = field(default_factory=dict)
    #: subscriptions by ARN, oldest first (the order deliveries go out in)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    #: FIFO deduplication key -> (expires at, message id, sequence number), oldest first
    dedup: dict[str, tuple[float, str, int]] = field(default_factory=dict)
    last_seq: int = 0
    # -- parsed from `attributes` by configure() --
    signature_version: str = "1"
    content_dedup: bool = False
    dedup_per_group: bool = False
    retry: RetryPolicy | None = None
    content_type: str | None = None
    subscription_overrides: bool = True

    arn: str = field(init=False)

    def __post_init__(self) -> None:
        self.arn = f"arn:aws:sns:{self.region}:{self.account}:{self.name}"

    def configure(self) -> None:
        a = self.attributes
        self.signature_version = a.get("SignatureVersion") or "1"
        self.content_dedup = a.get("ContentBasedDeduplication", "false").lower() == "true"
        # "FifoThroughputScope ... MessageGroup: the message deduplication scope is within each message group"
        self.dedup_per_group = a.get("FifoThroughputScope") == "MessageGroup"
        self.retry, self.content_type, self.subscription_overrides = None, None, True
        if a.get("DeliveryPolicy"):
            http = orjson.loads(a["DeliveryPolicy"]).get("http") or {}
            if http.get("defaultHealthyRetryPolicy"):
                self.retry = retry_policy_of(http["defaultHealthyRetryPolicy"])
            self.content_type = (http.get("defaultRequestPolicy") or {}).get("headerContentType")
            self.subscription_overrides = not http.get("disableSubscriptionOverrides", False)

    def next_seq(self, now: float) -> int:
        """Increasing across restarts (time-based), like SNS FIFO's large, non-consecutive sequence numbers."""
        self.last_seq = max(self.last_seq + 1, int(now * 1_000_000))
        return self.last_seq

    def record(self) -> dict[str, Any]:
        return {"n": self.name, "a": self.account, "r": self.region, "f": self.fifo, "c": self.created,
                "at": self.attributes, "t": self.tags}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Topic":
        return cls(r["n"], r["a"], r["r"], r["f"], r["c"], r["at"], r["t"])


@dataclass(slots=True, eq=False)
class PendingPost:
    """An HTTP/S POST SNS owes an endpoint (a notification or a subscription confirmation) until the endpoint
    accepts it or it fails for good. Journaled, so the retries a delivery policy promises survive a restart."""

    post_id: str
    subscription_arn: str
    url: str
    body: str
    headers: dict[str, str]
    #: seconds to wait before each retry: the delivery policy in force when the message went out
    delays: list[float]
    #: a notification (dropped when its subscription goes, dead-lettered when it fails for good), else a confirmation
    notify: bool
    #: attempts made so far, and the clock time of the next one
    attempts: int = 0
    next_at: float = 0.0

    def record(self) -> dict[str, Any]:
        return {"i": self.post_id, "s": self.subscription_arn, "u": self.url, "b": self.body, "h": self.headers,
                "d": self.delays, "n": self.notify, "a": self.attempts, "t": self.next_at}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "PendingPost":
        return cls(r["i"], r["s"], r["u"], r["b"], r["h"], r["d"], r["n"], r["a"], r["t"])


def parse_topic_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of an SNS topic ARN."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        return None
    return parts[3], parts[4], parts[5]
