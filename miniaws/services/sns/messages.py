"""What subscribers receive: one published message, and the documents SNS builds from it — the signed JSON
envelope (SQS, HTTP/S, email-json), the Lambda event, subscription confirmations — plus the HTTP headers.

Formats: https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html,
http-subscription-confirmation-json.html, http-unsubscribe-confirmation-json.html, sns-sqs-as-subscriber.html
and the Lambda "Using AWS Lambda with Amazon SNS" event sample.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from miniaws.services.sns.filter_policy import FilterInput
from miniaws.services.sns.models import Subscription, Topic
from miniaws.services.sns.signing import Signer

USER_AGENT = "Amazon Simple Notification Service Agent"


@dataclass(slots=True, eq=False)
class Published:
    """A message accepted by Publish / PublishBatch, on its way to the topic's subscriptions."""

    topic: Topic
    message_id: str
    #: the `default` text (the Message itself unless MessageStructure=json)
    message: str
    #: MessageStructure=json: protocol -> text (keys whose value is not a string are ignored, like AWS)
    per_protocol: dict[str, str] | None
    subject: str | None
    #: message attributes as published: {"DataType", "StringValue" | "BinaryValue" (bytes)}
    attributes: dict[str, dict[str, Any]]
    timestamp: str
    group_id: str | None = None
    dedup_id: str | None = None
    seq: int | None = None
    filter_input: FilterInput = field(init=False)
    #: message text -> Signature (one signature serves every subscriber that receives the same text)
    _signatures: dict[str, str] = field(default_factory=dict)
    #: message text -> the rendered envelope before and after its one per-subscription line (UnsubscribeURL)
    _envelopes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.filter_input = FilterInput(self.attributes)

    def text_for(self, protocol: str) -> str:
        if self.per_protocol is None:
            return self.message
        return self.per_protocol.get(protocol, self.message)

    def signed(self, text: str, signer: Signer) -> str:
        signature = self._signatures.get(text)
        if signature is None:
            signature = signer.sign({"Type": "Notification", "Message": text, "MessageId": self.message_id,
                                     "Subject": self.subject, "Timestamp": self.timestamp,
                                     "TopicArn": self.topic.arn}, self.topic.signature_version)
            self._signatures[text] = signature
        return signature


class Urls:
    """The URLs SNS puts in messages, under miniaws's own endpoint (/_miniaws/sns/…)."""

    __slots__ = ("endpoint", "base")

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.base = endpoint.rstrip("/") + "/_miniaws/sns"

    def certificate(self, signer: Signer) -> str:
        return f"{self.base}/SimpleNotificationService-{signer.certificate_id}.pem"

    def unsubscribe(self, subscription_arn: str) -> str:
        return f"{self.base}/unsubscribe?Action=Unsubscribe&SubscriptionArn={quote(subscription_arn, safe='')}"

    def unsubscribe_of(self, subscription: Subscription) -> str:
        """The subscription's UnsubscribeURL, kept on it (quoting an ARN for every delivery shows in profiles)."""
        cached = subscription.unsubscribe_url
        if cached is None or not cached.startswith(self.base):
            cached = subscription.unsubscribe_url = self.unsubscribe(subscription.arn)
        return cached

    def confirm(self, topic_arn: str, token: str) -> str:
        return (f"{self.base}/confirm?Action=ConfirmSubscription&TopicArn={quote(topic_arn, safe='')}"
                f"&Token={token}")


def wire_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Message attributes as the envelope shows them: {"Type": ..., "Value": ...}, binary values in base64."""
    out: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        binary = value.get("BinaryValue")
        shown = base64.b64encode(binary).decode() if isinstance(binary, (bytes, bytearray)) \
            else str(value.get("StringValue", ""))
        out[name] = {"Type": str(value["DataType"]), "Value": shown}
    return out


def sqs_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Message attributes as SQS message attributes (raw delivery), binary values base64 as SQS's JSON wire."""
    out: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        binary = value.get("BinaryValue")
        if isinstance(binary, (bytes, bytearray)):
            out[name] = {"DataType": str(value["DataType"]), "BinaryValue": base64.b64encode(binary).decode()}
        else:
            out[name] = {"DataType": str(value["DataType"]), "StringValue": str(value.get("StringValue", ""))}
    return out


def notification(published: Published, text: str, subscription: Subscription, signer: Signer,
                 urls: Urls) -> dict[str, Any]:
    """The JSON envelope of a notification, fields in the order SNS writes them."""
    out = _envelope_head(published, text, signer, urls)
    out["UnsubscribeURL"] = urls.unsubscribe_of(subscription)
    if published.attributes:
        out["MessageAttributes"] = wire_attributes(published.attributes)
    return out


def notification_text(published: Published, text: str, subscription: Subscription, signer: Signer,
                      urls: Urls) -> str:
    """render(notification(...)), with everything but the subscription's own line rendered once per message."""
    parts = published._envelopes.get(text)
    if parts is None:
        head = _lines(_envelope_head(published, text, signer, urls))
        tail = _lines({"MessageAttributes": wire_attributes(published.attributes)}) if published.attributes else []
        parts = ("{\n" + ",\n".join(head) + ",\n", "".join(",\n" + line for line in tail) + "\n}")
        published._envelopes[text] = parts
    return f'{parts[0]}  "UnsubscribeURL" : {orjson.dumps(urls.unsubscribe_of(subscription)).decode()}{parts[1]}'


def _envelope_head(published: Published, text: str, signer: Signer, urls: Urls) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": "Notification", "MessageId": published.message_id}
    if published.seq is not None:
        out["SequenceNumber"] = f"{published.seq:020d}"
    out["TopicArn"] = published.topic.arn
    if published.subject is not None:
        out["Subject"] = published.subject
    out["Message"] = text
    out["Timestamp"] = published.timestamp
    out["SignatureVersion"] = published.topic.signature_version
    out["Signature"] = published.signed(text, signer)
    out["SigningCertURL"] = urls.certificate(signer)
    return out


def confirmation(kind: str, topic: Topic, subscription_arn: str, message_id: str, token: str, timestamp: str,
                 signer: Signer, urls: Urls) -> dict[str, Any]:
    """A SubscriptionConfirmation or UnsubscribeConfirmation, signed."""
    if kind == "SubscriptionConfirmation":
        text = (f"You have chosen to subscribe to the topic {topic.arn}.\n"
                "To confirm the subscription, visit the SubscribeURL included in this message.")
    else:
        text = (f"You have chosen to deactivate subscription {subscription_arn}.\n"
                "To cancel this operation and restore the subscription, visit the SubscribeURL included in this "
                "message.")
    out: dict[str, Any] = {"Type": kind, "MessageId": message_id, "Token": token, "TopicArn": topic.arn,
                           "Message": text, "SubscribeURL": urls.confirm(topic.arn, token), "Timestamp": timestamp,
                           "SignatureVersion": topic.signature_version}
    out["Signature"] = signer.sign(out, topic.signature_version)
    out["SigningCertURL"] = urls.certificate(signer)
    return out


def lambda_event(published: Published, text: str, subscription: Subscription, signer: Signer,
                 urls: Urls) -> bytes:
    """The event a Lambda subscription's function is invoked with (note `SigningCertUrl`, `UnsubscribeUrl`)."""
    sns = {"Type": "Notification", "MessageId": published.message_id, "TopicArn": published.topic.arn,
           "Subject": published.subject, "Message": text, "Timestamp": published.timestamp,
           "SignatureVersion": published.topic.signature_version, "Signature": published.signed(text, signer),
           "SigningCertUrl": urls.certificate(signer), "UnsubscribeUrl": urls.unsubscribe_of(subscription),
           "MessageAttributes": wire_attributes(published.attributes)}
    return orjson.dumps({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                                      "EventSubscriptionArn": subscription.arn, "Sns": sns}]})


def render(document: Mapping[str, Any]) -> str:
    """JSON text laid out the way SNS writes its envelopes (`"Key" : value`, one field a line)."""
    return "{\n" + ",\n".join(_lines(document)) + "\n}"


def _lines(document: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in document.items():
        if isinstance(value, dict):  # MessageAttributes: one attribute a line
            inner = ",\n".join(f"    {orjson.dumps(k).decode()} : {orjson.dumps(v).decode()}" for k, v in value.items())
            lines.append(f"  {orjson.dumps(key).decode()} : {{\n{inner}\n  }}")
        else:
            lines.append(f"  {orjson.dumps(key).decode()} : {orjson.dumps(value).decode()}")
    return lines


def http_headers(kind: str, message_id: str, topic_arn: str, subscription_arn: str | None, raw: bool,
                 content_type: str) -> dict[str, str]:
    """The headers of a POST to an HTTP/S subscriber (Developer Guide, "HTTP/HTTPS headers")."""
    headers = {"x-amz-sns-message-type": kind, "x-amz-sns-message-id": message_id,
               "x-amz-sns-topic-arn": topic_arn, "Content-Type": content_type, "User-Agent": USER_AGENT}
    # the subscription ARN is absent from SubscriptionConfirmation posts (there is no confirmed subscription yet)
    if subscription_arn is not None and kind != "SubscriptionConfirmation":
        headers["x-amz-sns-subscription-arn"] = subscription_arn
    if raw:
        headers["x-amz-sns-rawdelivery"] = "true"
    return headers
