"""Input rules SQS enforces on names, message bodies, message attributes, batches and numeric parameters.

Limits and wording follow the SQS API reference (SendMessage, SendMessageBatch, ReceiveMessage, CreateQueue) and
"Amazon SQS message quotas" in the Developer Guide.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from miniaws.services.sqs.errors import (BatchEntryIdsNotDistinct, EmptyBatchRequest, InvalidBatchEntryId,
                                         InvalidMessageContents, InvalidParameterValue, MissingParameter,
                                         TooManyEntriesInBatchRequest)

MAX_BATCH_ENTRIES = 10
MAX_MESSAGE_ATTRIBUTES = 10
MAX_DELAY_SECONDS = 900
MAX_VISIBILITY_TIMEOUT = 43_200
MAX_WAIT_SECONDS = 20

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
# MessageGroupId / MessageDeduplicationId / ReceiveRequestAttemptId: alphanumerics and punctuation, 1..128
_TOKEN = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
# W3C XML characters (SendMessage reference): #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF
_INVALID_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: the ASCII characters among those: an ASCII text is checked by deleting them from its bytes (a 1.5 KB body in ~1 µs,
#: where the regular expression above takes ~30 µs)
_ASCII_ALLOWED = bytes([0x9, 0xA, 0xD, *range(0x20, 0x80)])
_DATA_TYPE_PREFIXES = ("String", "Number", "Binary")
_NUMBER_MIN, _NUMBER_MAX = Decimal("1e-128"), Decimal("1e126")


def check_queue_name(name: str, fifo: bool) -> None:
    base = name[:-5] if fifo and name.endswith(".fifo") else name
    if fifo and not name.endswith(".fifo"):
        raise InvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, hyphens, "
                                    "or underscores, must end with .fifo suffix and be 1 to 80 in length.")
    if len(name) > 80 or not _QUEUE_NAME.fullmatch(base):
        if fifo:
            raise InvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, "
                                        "hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in "
                                        "length.")
        raise InvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 "
                                    "in length")


def integer(params: Mapping[str, Any], name: str, low: int, high: int, reason: str) -> int | None:
    """An optional integer parameter within [low, high], or InvalidParameterValue with AWS's reason text."""
    value = params.get(name)
    if value is None:
        return None
    if value.__class__ is int and low <= value <= high:  # the usual case (a JSON number), decided at once
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise InvalidParameterValue(f"Value {value} for parameter {name} is invalid. Reason: {reason}") from None
    if not low <= value <= high:
        raise InvalidParameterValue(f"Value {value} for parameter {name} is invalid. Reason: {reason}")
    return int(value)


def _encoded_if_valid(text: str) -> bytes | None:
    """The UTF-8 bytes of `text`, or None if it holds a character outside the allowed set."""
    if text.isascii():
        encoded = text.encode()
        return None if encoded.translate(None, _ASCII_ALLOWED) else encoded
    return None if _INVALID_CHARS.search(text) else text.encode("utf-8")


def check_body(body: Any) -> bytes:
    """A message body's UTF-8 bytes (what counts towards the size limit and what MD5OfMessageBody digests)."""
    if body is None or body == "":
        raise MissingParameter("The request must contain the parameter MessageBody.")
    if not isinstance(body, str):
        raise InvalidParameterValue("The parameter MessageBody must be a string.")
    encoded = _encoded_if_valid(body)
    if encoded is None:
        raise InvalidMessageContents()
    return encoded


def check_token(name: str, value: Any) -> str:
    text = str(value)
    if not _TOKEN.fullmatch(text):
        raise InvalidParameterValue(f"Value {text} for parameter {name} is invalid. Reason: {name} can only include "
                                    "alphanumeric and punctuation characters. 1 to 128 in length.")
    return text


def _check_attribute_name(name: str, kind: str) -> None:
    lowered = name.lower()
    if (not _ATTRIBUTE_NAME.fullmatch(name) or name.startswith(".") or name.endswith(".") or ".." in name
            or lowered.startswith(("aws.", "amazon."))):
        raise InvalidParameterValue(f"Message ({kind}) attribute name '{name}' is invalid. Names can contain "
                                    "alphanumeric characters, '_', '-' and '.', must not start or end with '.', "
                                    "must not contain '..' and must not start with 'AWS.' or 'Amazon.'.")


def message_attributes(attributes: Any, kind: str = "user") -> tuple[dict[str, dict[str, Any]], int]:
    """Validated message attributes in their stored wire form (binary as base64 text) and their size in bytes.

    The size counts each name, data type and value, which is what counts towards MaximumMessageSize
    (SQS Developer Guide, "Message attribute components").
    """
    if not attributes:
        return {}, 0
    if type(attributes) is not dict and not isinstance(attributes, Mapping):
        raise InvalidParameterValue(f"Message ({kind}) attributes must be a map.")
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise InvalidParameterValue(f"Number of message attributes [{len(attributes)}] exceeds the allowed "
                                    f"maximum [{MAX_MESSAGE_ATTRIBUTES}].")
    out: dict[str, dict[str, Any]] = {}
    size = 0
    for name, value in attributes.items():
        _check_attribute_name(name, kind)
        # (an ABC isinstance check costs more than the rest of this loop: decoded JSON gives plain dicts)
        if type(value) is not dict and not isinstance(value, Mapping):
            raise InvalidParameterValue(f"The message attribute '{name}' must contain a DataType.")
        data_type = value.get("DataType")
        if not data_type:
            raise InvalidParameterValue(f"The message attribute '{name}' must contain non-empty message attribute "
                                        "type.")
        data_type = str(data_type)
        base_type = data_type.split(".", 1)[0]
        if base_type not in _DATA_TYPE_PREFIXES or (data_type != base_type and len(data_type) == len(base_type) + 1):
            raise InvalidParameterValue(f"The type of message ({kind}) attribute '{name}' is invalid. You must use "
                                        "only the following supported type prefixes: Binary, Number, String.")
        if value.get("StringListValues") or value.get("BinaryListValues"):
            raise InvalidParameterValue(f"Message attribute list values in SendMessage operation are not supported.")
        size += len(name.encode()) + len(data_type.encode())
        if base_type == "Binary":
            raw = value.get("BinaryValue")
            if raw is None or raw == "":
                raise _empty_value(name, kind, data_type)
            try:
                decoded = base64.b64decode(raw, validate=True) if isinstance(raw, str) else bytes(raw)
            except (binascii.Error, ValueError, TypeError):
                raise InvalidParameterValue(f"The message ({kind}) attribute '{name}' has an invalid binary "
                                            "value.") from None
            if not decoded:
                raise _empty_value(name, kind, data_type)
            size += len(decoded)
            out[name] = {"DataType": data_type, "BinaryValue": base64.b64encode(decoded).decode()}
        else:
            text = value.get("StringValue")
            if text is None or text == "":
                raise _empty_value(name, kind, data_type)
            text = str(text)
            encoded = _encoded_if_valid(text)
            if encoded is None:
                raise InvalidParameterValue(f"Message ({kind}) attribute '{name}' contains invalid characters.")
            if base_type == "Number":
                _check_number(name, kind, text)
            size += len(encoded)
            out[name] = {"DataType": data_type, "StringValue": text}
    return out, size


def _empty_value(name: str, kind: str, data_type: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"The message ({kind}) attribute '{name}' must contain a non-empty message "
                                 f"attribute value for message attribute type '{data_type.split('.', 1)[0]}'.")


def _check_number(name: str, kind: str, text: str) -> None:
    # Number attributes hold up to 38 significant digits between 10^-128 and 10^+126 (Developer Guide)
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InvalidParameterValue(f"Can't cast the value of message ({kind}) attribute '{name}' to a number.")
    if number != 0 and not _NUMBER_MIN <= abs(number) <= _NUMBER_MAX:
        raise InvalidParameterValue(f"Value {text} of message ({kind}) attribute '{name}' is out of range.")


def system_attributes(attributes: Any) -> dict[str, dict[str, Any]]:
    """MessageSystemAttributes: only AWSTraceHeader, a String (SendMessage reference)."""
    if not attributes:
        return {}
    out, _ = message_attributes(attributes, kind="system")
    for name, value in out.items():
        if name != "AWSTraceHeader":
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        if value["DataType"] != "String":
            raise InvalidParameterValue("The message system attribute 'AWSTraceHeader' must be of type String.")
    return out


def batch_entries(entries: Any, kind: str) -> Sequence[Mapping[str, Any]]:
    """The common checks of every *Batch operation, in the order AWS applies them."""
    if not entries:
        raise EmptyBatchRequest(f"There should be at least one {kind} in the request.")
    if not isinstance(entries, list):
        raise InvalidParameterValue("Entries must be a list.")
    if len(entries) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
                                           f"You have sent {len(entries)}.")
    seen: set[str] = set()
    for entry in entries:
        entry_id = str(entry.get("Id", "")) if type(entry) is dict or isinstance(entry, Mapping) else ""
        if not _BATCH_ID.fullmatch(entry_id):
            raise InvalidBatchEntryId()
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return entries
