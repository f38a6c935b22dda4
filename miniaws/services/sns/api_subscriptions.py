"""SNS subscription operations: subscribe (with the confirmation flow for HTTP/S and email endpoints),
unsubscribe, confirm, list, and subscription attributes."""
from __future__ import annotations

import re
import secrets
from typing import Any

import orjson

from miniaws.core.context import RequestContext
from miniaws.core.errors import AwsError
from miniaws.core.ids import request_id
from miniaws.services.base import operation
from miniaws.services.sns.api_common import check_subscription_arn
from miniaws.services.sns.api_topics import page
from miniaws.services.sns.attributes import check_subscription_attribute
from miniaws.services.sns.delivery import Delivery
from miniaws.services.sns.errors import InvalidParameter
from miniaws.services.sns.models import Subscription, Topic

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
#: "Amazon SNS ... confirmation ... The URL is valid for three days" (ConfirmSubscription / Subscribe reference)
TOKEN_LIFETIME = 3 * 24 * 3600.0
PENDING = "pending confirmation"
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class UnsupportedProtocol(AwsError):
    """A real SNS protocol miniaws does not deliver to (mobile push, Firehose): named, never faked."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


def _arn_of(service: str, endpoint: str) -> list[str] | None:
    parts = endpoint.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != service or not parts[4] or not parts[5]:
        return None
    return parts


class SubscriptionOperations(Delivery):
    @operation("Subscribe")
    def subscribe(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html"""
        protocol = str(params.get("Protocol") or "")
        if protocol not in PROTOCOLS:
            raise InvalidParameter(f"Invalid parameter: Amazon SNS does not support this protocol string: "
                                   f"{protocol}")
        if protocol in ("application", "firehose"):
            raise UnsupportedProtocol(f"miniaws does not deliver to {protocol} subscriptions")
        topic = self.topic_for(ctx, params.get("TopicArn"))
        endpoint = str(params.get("Endpoint") or "")
        endpoint_account = self._check_endpoint(topic, protocol, endpoint)
        attributes: dict[str, str] = {}
        for name, value in (params.get("Attributes") or {}).items():
            attributes[str(name)] = check_subscription_attribute(str(name), str(value), protocol, topic.fifo,
                                                                 attributes, on_subscribe=True)
        want_arn = bool(params.get("ReturnSubscriptionArn"))
        for existing in topic.subscriptions.values():
            if existing.protocol == protocol and existing.endpoint == endpoint:
                # Subscribe is idempotent for the same endpoint and attributes
                if any(existing.attributes.get(k) != v for k, v in attributes.items()):
                    raise InvalidParameter("Invalid parameter: Attributes Reason: Subscription already exists with "
                                           "different attributes")
                if existing.pending and existing.token is not None:
                    self.send_confirmation("SubscriptionConfirmation", topic, existing, existing.token)
                return {"SubscriptionArn": PENDING if existing.pending and not want_arn else existing.arn}
        # HTTP/S and email endpoints confirm; so do queues and functions of another account (Subscribe reference)
        confirm = protocol in ("http", "https", "email", "email-json") or (
            endpoint_account is not None and endpoint_account != topic.account)
        now = ctx.clock.now()
        subscription = Subscription(f"{topic.arn}:{request_id()}", topic.arn, ctx.account_id, protocol, endpoint,
                                    now, attributes, pending=confirm, authenticated=not confirm)
        if confirm:
            # AWS's tokens are long hex strings; this one is random and unguessable, as a confirmation secret must be
            subscription.token, subscription.token_expires = secrets.token_hex(64), now + TOKEN_LIFETIME
        self.store.save_subscription(subscription)
        if subscription.token is not None:
            self.send_confirmation("SubscriptionConfirmation", topic, subscription, subscription.token)
        return {"SubscriptionArn": PENDING if confirm and not want_arn else subscription.arn}

    @staticmethod
    def _check_endpoint(topic: Topic, protocol: str, endpoint: str) -> str | None:
        """Validate the endpoint for its protocol; the endpoint's account for queues and functions."""
        if not endpoint:
            raise InvalidParameter("Invalid parameter: Endpoint")
        account = None
        if protocol in ("http", "https"):
            if not endpoint.lower().startswith(f"{protocol}://"):
                raise InvalidParameter("Invalid parameter: Endpoint must match the specified protocol")
        elif protocol == "sqs":
            parts = _arn_of("sqs", endpoint)
            if parts is None:
                raise InvalidParameter("Invalid parameter: SQS endpoint ARN")
            account = parts[4]
        elif protocol == "lambda":
            parts = _arn_of("lambda", endpoint)
            if parts is None or parts[5] != "function":
                raise InvalidParameter("Invalid parameter: Lambda endpoint ARN")
            account = parts[4]
        elif protocol in ("email", "email-json"):
            if "@" not in endpoint.strip("@"):
                raise InvalidParameter("Invalid parameter: Email address")
        elif protocol == "sms" and not _E164.fullmatch(endpoint):
            raise InvalidParameter(f"Invalid SMS endpoint: {endpoint}")
        fifo_queue = protocol == "sqs" and endpoint.endswith(".fifo")
        if topic.fifo and not fifo_queue:
            # FIFO topics deliver in order, which only FIFO queues keep (Developer Guide, "FIFO topics")
            raise InvalidParameter("Invalid parameter: Invalid parameter: Endpoint Reason: FIFO topics can only be "
                                   "subscribed by FIFO SQS queues")
        if fifo_queue and not topic.fifo:
            raise InvalidParameter("Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not "
                                   "be subscribed to standard SNS topics")
        return account

    @operation("Unsubscribe")
    def unsubscribe(self, ctx: RequestContext | None, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("SubscriptionArn")
        check_subscription_arn(arn)
        subscription = self.store.subscriptions.get(str(arn))
        if subscription is None:
            return {}  # already gone: Unsubscribe succeeds
        self.store.remove_subscription(subscription)
        topic = self.store.topics.get(subscription.topic_arn)
        if topic is not None and subscription.protocol in ("http", "https") and not subscription.pending:
            # the endpoint hears about it, with a SubscribeURL that restores the subscription
            token = secrets.token_hex(64)
            self.resubscribe[token] = subscription
            self.send_confirmation("UnsubscribeConfirmation", topic, subscription, token)
        return {}

    @operation("ConfirmSubscription")
    def confirm_subscription(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/sns/latest/api/API_ConfirmSubscription.html"""
        topic = self.topic_for(ctx, params.get("TopicArn"))
        return {"SubscriptionArn": self.confirm(topic, str(params.get("Token") or ""), authenticated=True)}

    def confirm(self, topic: Topic, token: str, authenticated: bool) -> str:
        """Confirm the pending subscription `token` belongs to (the API call, or a visit to its SubscribeURL)."""
        now = self.clock.now()
        arn = self.store.tokens.get(token)
        if arn is None:
            restored = self.resubscribe.get(token)
            if restored is None or restored.topic_arn != topic.arn:
                raise InvalidParameter("Invalid parameter: Token")
            del self.resubscribe[token]
            restored.pending, restored.token = False, None
            self.store.save_subscription(restored)
            return restored.arn
        subscription = self.store.subscriptions[arn]
        if subscription.topic_arn != topic.arn:
            raise InvalidParameter("Invalid parameter: Topic")
        if subscription.token_expires <= now:
            raise InvalidParameter("Invalid parameter: Token")
        self.store.confirm(subscription, authenticated)
        return subscription.arn

    # -- listing --------------------------------------------------------------------------------
    @staticmethod
    def _listed(subscriptions: list[Subscription]) -> list[dict[str, str]]:
        return [{"SubscriptionArn": "PendingConfirmation" if s.pending else s.arn, "Owner": s.owner,
                 "Protocol": s.protocol, "Endpoint": s.endpoint, "TopicArn": s.topic_arn} for s in subscriptions]

    @operation("ListSubscriptions")
    def list_subscriptions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mine = [s for topic in self.store.topics_of(ctx.account_id, ctx.region) for s in topic.subscriptions.values()]
        chunk, token = page(sorted(mine, key=lambda s: s.created), params.get("NextToken"), "arn")
        out: dict[str, Any] = {"Subscriptions": self._listed(chunk)}
        if token:
            out["NextToken"] = token
        return out

    @operation("ListSubscriptionsByTopic")
    def list_subscriptions_by_topic(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        topic = self.topic_for(ctx, params.get("TopicArn"))
        chunk, token = page(list(topic.subscriptions.values()), params.get("NextToken"), "arn")
        out: dict[str, Any] = {"Subscriptions": self._listed(chunk)}
        if token:
            out["NextToken"] = token
        return out

    # -- attributes -----------------------------------------------------------------------------
    @operation("GetSubscriptionAttributes")
    def get_subscription_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        subscription = self.subscription_for(params.get("SubscriptionArn"))
        out = {
            "SubscriptionArn": subscription.arn, "TopicArn": subscription.topic_arn, "Owner": subscription.owner,
            "Protocol": subscription.protocol, "Endpoint": subscription.endpoint,
            "PendingConfirmation": "true" if subscription.pending else "false",
            "ConfirmationWasAuthenticated": "true" if subscription.authenticated else "false",
            "RawMessageDelivery": "false",
            "SubscriptionPrincipal": f"arn:aws:iam::{subscription.owner}:root",
        }
        out.update(subscription.attributes)
        if "FilterPolicy" in out and "FilterPolicyScope" not in out:
            out["FilterPolicyScope"] = "MessageAttributes"
        if subscription.protocol in ("http", "https"):
            topic = self.store.topics[subscription.topic_arn]
            retry = self._retry_policy(topic, subscription)
            out["EffectiveDeliveryPolicy"] = orjson.dumps({
                "healthyRetryPolicy": retry.as_json(), "sicklyRetryPolicy": None, "throttlePolicy": None,
                "requestPolicy": {"headerContentType": self._content_type(topic, subscription)},
                "guaranteed": False}).decode()
        return {"Attributes": out}

    @operation("SetSubscriptionAttributes")
    def set_subscription_attributes(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        subscription = self.subscription_for(params.get("SubscriptionArn"))
        topic = self.store.topics[subscription.topic_arn]
        name = str(params.get("AttributeName") or "")
        value = check_subscription_attribute(name, str(params.get("AttributeValue") or ""), subscription.protocol,
                                             topic.fifo, subscription.attributes, on_subscribe=False)
        if value == "" and name in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy", "ReplayPolicy"):
            subscription.attributes.pop(name, None)
        else:
            subscription.attributes[name] = value
        self.store.save_subscription(subscription)
        return {}
