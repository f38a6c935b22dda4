"""The digests SQS returns so clients can check what it stored: MD5OfMessageBody and the MD5 of (system) attributes.

The attribute digest follows "Calculating the MD5 message digest for message attributes" in the SQS Developer
Guide (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html):
attributes sorted by name; for each, the name, the data type and the value as 4-byte big-endian length + bytes
(UTF-8 for text), with a one-byte transport type (1 = String/Number, 2 = Binary) between type and value.
"""
from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Mapping
from typing import Any

#: transport types, as the one byte between an attribute's data type and its value
_STRING, _BINARY, _STRING_LIST, _BINARY_LIST = b"\x01", b"\x02", b"\x03", b"\x04"
_length = struct.Struct(">I").pack


def md5_of_body(body: str | bytes) -> str:
    """MD5OfMessageBody: the digest of the body's UTF-8 bytes (pass the bytes when you have them)."""
    return hashlib.md5(body if isinstance(body, bytes) else body.encode("utf-8")).hexdigest()


def _binary(value: Any) -> bytes:
    """Binary values arrive base64-encoded on the JSON wire (and raw when a caller passes bytes)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return base64.b64decode(value)


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The digest of message (or message system) attributes in their wire form; None when there are none."""
    if not attributes:
        return None
    # the pieces are joined and digested once: an update() per piece cost twice as much for a typical message
    parts: list[bytes] = []
    add = parts.append
    for name in sorted(attributes):
        value = attributes[name]
        encoded = name.encode("utf-8")
        data_type = str(value.get("DataType", "")).encode("utf-8")
        add(_length(len(encoded)))
        add(encoded)
        add(_length(len(data_type)))
        add(data_type)
        if value.get("StringValue") is not None:
            data = str(value["StringValue"]).encode("utf-8")
            add(_STRING)
            add(_length(len(data)))
            add(data)
        elif value.get("BinaryValue") is not None:
            data = _binary(value["BinaryValue"])
            add(_BINARY)
            add(_length(len(data)))
            add(data)
        elif value.get("StringListValues"):
            add(_STRING_LIST)
            for item in value["StringListValues"]:
                data = str(item).encode("utf-8")
                add(_length(len(data)))
                add(data)
        elif value.get("BinaryListValues"):
            add(_BINARY_LIST)
            for item in value["BinaryListValues"]:
                data = _binary(item)
                add(_length(len(data)))
                add(data)
    return hashlib.md5(b"".join(parts)).hexdigest()
