"""Publish and PublishBatch: validate like AWS (subject, size, MessageStructure=json, message attributes, FIFO
group and deduplication ids), deduplicate on FIFO topics, then fan out (delivery.py)."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from miniaws.core.context import RequestContext
from miniaws.core.ids import request_id
from miniaws.core.timestamps import iso8601_ms
from miniaws.services.base import operation
from miniaws.services.sns.api_subscriptions import SubscriptionOperations
from miniaws.services.sns.errors import (BatchEntryIdsNotDistinct, BatchRequestTooLong, EmptyBatchRequest,
                                         InvalidBatchEntryId, InvalidParameter, ParameterValueInvalid,
                                         TooManyEntriesInBatchRequest)
from miniaws.services.sns.messages import Published
from miniaws.services.sns.models import Topic, parse_topic_arn

#: "The message size ... 256 KiB (262,144 bytes)", attributes included (Publish reference)
MAX_MESSAGE_BYTES = 262_144
MAX_BATCH_ENTRIES = 10
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# MessageGroupId / MessageDeduplicationId: "up to 128 alphanumeric characters (a-z, A-Z, 0-9) and punctuation"
_TOKEN = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# "Subject: ASCII text that begins with a letter, number, or punctuation mark; no line breaks or control characters;
# less than 100 characters long"
_SUBJECT = re.compile(r"[!-~][ -~]{0,98}")


class PublishOperations(SubscriptionOperations):
    @operation("Publish")
    def publish(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/sns/latest/api/API_Publish.html"""
        target = params.get("TopicArn") or params.get("TargetArn")
        if not target and params.get("PhoneNumber"):
            return self._publish_sms(ctx, params)
        if params.get("TargetArn") and not params.get("TopicArn") and parse_topic_arn(str(target)) is None:
            raise InvalidParameter("Invalid parameter: TargetArn Reason: No endpoint found for the target arn "
                                   "specified")
        topic = self.topic_for(ctx, target)
        published, dedup_key = self._prepare(topic, params, ctx.clock.now())
        message_id, seq = self._accept(published, dedup_key, ctx.clock.now())
        out: dict[str, Any] = {"MessageId": message_id}
        if seq is not None:
            out["SequenceNumber"] = f"{seq:020d}"
        return out

    @operation("PublishBatch")
    def publish_batch(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html"""
        topic = self.topic_for(ctx, params.get("TopicArn"))
        entries = list(params.get("PublishBatchRequestEntries") or ())
        if not entries:
            raise EmptyBatchRequest()
        if len(entries) > MAX_BATCH_ENTRIES:
            raise TooManyEntriesInBatchRequest()
        ids = [str(entry.get("Id") or "") for entry in entries]
        if not all(_BATCH_ID.fullmatch(i) for i in ids):
            raise InvalidBatchEntryId()
        if len(set(ids)) != len(ids):
            raise BatchEntryIdsNotDistinct()
        if sum(_entry_size(entry) for entry in entries) > MAX_MESSAGE_BYTES:
            raise BatchRequestTooLong()
        now = ctx.clock.now()
        # every entry is checked before any is delivered: an invalid entry fails the whole request, as with AWS
        prepared = [self._prepare(topic, entry, now) for entry in entries]
        successful = []
        for entry_id, (published, dedup_key) in zip(ids, prepared):
            message_id, seq = self._accept(published, dedup_key, now)
            result: dict[str, Any] = {"Id": entry_id, "MessageId": message_id}
            if seq is not None:
                result["SequenceNumber"] = f"{seq:020d}"
            successful.append(result)
        return {"Successful": successful, "Failed": []}

    def publish_to_topic(self, topic_arn: str, message: str, *, subject: str | None = None,
                         attributes: Mapping[str, Any] | None = None) -> str:
        """Publish for in-process producers (S3 event notifications, Lambda destinations and dead-letter queues):
        a method call, no HTTP hop; the message id. Raises what Publish would: NotFound for a missing topic,
        InvalidParameter for a FIFO topic (these producers send no MessageGroupId; AWS refuses FIFO topics as their
        destinations too)."""
        topic = self.topic_for(None, topic_arn)
        entry: dict[str, Any] = {"Message": message}
        if subject is not None:
            entry["Subject"] = subject
        if attributes:
            entry["MessageAttributes"] = dict(attributes)
        now = self.clock.now()
        published, dedup_key = self._prepare(topic, entry, now)
        return self._accept(published, dedup_key, now)[0]

    # -- the steps ------------------------------------------------------------------------------
    def _prepare(self, topic: Topic, entry: Mapping[str, Any], now: float) -> tuple[Published, str | None]:
        """A validated message (and its FIFO deduplication key), not yet delivered."""
        subject = entry.get("Subject")
        if subject is not None and not _SUBJECT.fullmatch(str(subject)):
            raise InvalidParameter("Invalid parameter: Subject")
        message = entry.get("Message")
        if not message:
            raise InvalidParameter("Invalid parameter: Empty message")
        message = str(message)
        per_protocol = None
        if entry.get("MessageStructure") == "json":
            per_protocol = _structure(message)
        elif entry.get("MessageStructure") is not None:
            raise InvalidParameter("Invalid parameter: MessageStructure")
        attributes, attributes_size = _attributes(entry.get("MessageAttributes"))
        if len(message.encode("utf-8")) + attributes_size > MAX_MESSAGE_BYTES:
            raise InvalidParameter("Invalid parameter: Message too long")
        group = entry.get("MessageGroupId")
        dedup = entry.get("MessageDeduplicationId")
        dedup_key = None
        if topic.fifo:
            if not group:
                raise InvalidParameter("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
            _token("MessageGroupId", group)
            if dedup is None:
                if not topic.content_dedup:
                    raise InvalidParameter("Invalid parameter: The topic should either have "
                                           "ContentBasedDeduplication enabled or MessageDeduplicationId provided "
                                           "explicitly")
                # "Amazon SNS uses a SHA-256 hash to generate the MessageDeduplicationId using the body of the
                # message (but not the attributes of the message)"
                dedup = hashlib.sha256(message.encode("utf-8")).hexdigest()
            _token("MessageDeduplicationId", dedup)
            dedup_key = f"{group}\x1f{dedup}" if topic.dedup_per_group else str(dedup)
        else:
            if dedup is not None:
                raise InvalidParameter("Invalid parameter: MessageDeduplicationId Reason: The request includes "
                                       "MessageDeduplicationId parameter that is not valid for this topic type")
            if group is not None:
                # standard topics forward a MessageGroupId to SQS standard queues (fair queues; Publish reference)
                _token("MessageGroupId", group)
        published = Published(topic, request_id(), per_protocol["default"] if per_protocol else message,
                              per_protocol, None if subject is None else str(subject), attributes, iso8601_ms(now),
                              None if group is None else str(group), None if dedup is None else str(dedup))
        return published, dedup_key

    def _accept(self, published: Published, dedup_key: str | None, now: float) -> tuple[str, int | None]:
        """Deduplicate (FIFO) and fan out; the message id and sequence number the publisher is told."""
        topic = published.topic
        if dedup_key is not None:
            duplicate = self.store.duplicate_of(topic, dedup_key, now)
            if duplicate is not None:
                return duplicate  # accepted, and not delivered again within the deduplication interval
            published.seq = topic.next_seq(now)
            self.store.remember(topic, dedup_key, published.message_id, published.seq, now)
        self.fan_out(published)
        return published.message_id, published.seq

    def _publish_sms(self, ctx: RequestContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """Publish straight to a phone number: the text lands in the outbox."""
        number = str(params.get("PhoneNumber"))
        if not _E164.fullmatch(number):
            raise InvalidParameter(f"Invalid parameter: PhoneNumber Reason: {number} is not valid to publish to")
        message = params.get("Message")
        if not message:
            raise InvalidParameter("Invalid parameter: Empty message")
        _attributes(params.get("MessageAttributes"))
        message_id = request_id()
        self.outbox.append({"MessageId": message_id, "Type": "Notification", "Protocol": "sms", "TopicArn": None,
                            "SubscriptionArn": None, "Destination": number, "From": None, "Subject": None,
                            "Body": str(message), "Timestamp": iso8601_ms(ctx.clock.now())})
        return {"MessageId": message_id}


def _structure(message: str) -> dict[str, str]:
    """MessageStructure=json: a JSON object of protocol → text with a string `default`."""
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise InvalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse")
    # "Keys ... that correspond to supported transport protocols must have simple JSON string values" — others are
    # ignored
    texts = {str(k): v for k, v in document.items() if isinstance(v, str)}
    if "default" not in texts:
        raise InvalidParameter("Invalid parameter: Message Structure - No default entry in JSON message body")
    return texts


def _token(name: str, value: Any) -> None:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidParameter(f"Invalid parameter: {name} Reason: {name} can only include alphanumeric and "
                               "punctuation characters. 1 to 128 in length.")


def _attributes(attributes: Any) -> tuple[dict[str, dict[str, Any]], int]:
    """Validated message attributes (https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html) and
    the bytes they add to the message size (name, type and value all count)."""
    out: dict[str, dict[str, Any]] = {}
    size = 0
    for name, value in (attributes or {}).items():
        name = str(name)
        _check_attribute_name(name)
        data_type = str(value.get("DataType") or "")
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise ParameterValueInvalid(f"The message attribute '{name}' has an invalid message attribute type, "
                                        "the set of supported type prefixes is Binary, Number, and String.")
        field = "BinaryValue" if base == "Binary" else "StringValue"
        content = value.get(field)
        if content is None:
            raise ParameterValueInvalid(f"The message attribute '{name}' with type '{data_type}' must use field "
                                        f"'{base if base == 'Binary' else 'String'}'.")
        if not content:
            raise ParameterValueInvalid(f"The message attribute '{name}' must contain non-empty message attribute "
                                        f"value for message attribute type '{data_type}'.")
        if base == "Number":
            _check_number(name, str(content))
        if data_type.startswith("String.Array"):
            try:
                parsed = orjson.loads(str(content))
            except orjson.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, list):
                raise ParameterValueInvalid(f"The message attribute '{name}' with type 'String.Array' must be a "
                                            "JSON array.")
        out[name] = {"DataType": data_type, field: content}
        size += len(name.encode()) + len(data_type.encode()) + (
            len(content) if isinstance(content, (bytes, bytearray)) else len(str(content).encode()))
    return out, size


def _check_attribute_name(name: str) -> None:
    if len(name.encode()) > 256:
        raise ParameterValueInvalid("Length of message attribute name must be less than 256 bytes.")
    if not name or not _ATTRIBUTE_NAME.fullmatch(name):
        bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "_.-"))), " ")
        raise ParameterValueInvalid(f"Invalid non-alphanumeric character '#x{ord(bad):X}' was found in the message "
                                    "attribute name. Can only include alphanumeric characters, hyphens, "
                                    "underscores, or dots.")
    if name.startswith("."):
        raise ParameterValueInvalid("Invalid message attribute name starting with character '.' was found.")
    if name.endswith("."):
        raise ParameterValueInvalid("Invalid message attribute name ending with character '.' was found.")
    if ".." in name:
        raise ParameterValueInvalid("Message attribute name can not have successive '.' character.")


def _check_number(name: str, text: str) -> None:
    """Numbers: "can be up to 38 digits of precision, from 10^-128 to 10^+126" (message attributes guide)."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or (number != 0 and not -128 <= number.adjusted() <= 126):
        raise ParameterValueInvalid(f"Could not cast message attribute '{name}' value to number.")


def _entry_size(entry: Mapping[str, Any]) -> int:
    size = len(str(entry.get("Message") or "").encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(str(name).encode()) + len(str(value.get("DataType", "")).encode())
        content = value.get("StringValue", value.get("BinaryValue", ""))
        size += len(content) if isinstance(content, (bytes, bytearray)) else len(str(content).encode())
    return size
