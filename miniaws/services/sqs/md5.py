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

_STRING, _BINARY, _STRING_LIST, _BINARY_LIST = 1, 2, 3, 4


def md5_of_body(body: str | bytes) -> str:
    """MD5OfMessageBody: the digest of the body's UTF-8 bytes (pass the bytes when you have them)."""
    return hashlib.md5(body if isinstance(body, bytes) else body.encode("utf-8")).hexdigest()


def _chunk(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _binary(value: Any) -> bytes:
    """Binary values arrive base64-encoded on the JSON wire (and raw when a caller passes bytes)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return base64.b64decode(value)


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The digest of message (or message system) attributes in their wire form; None when there are none."""
    if not attributes:
        return None
    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value.get("DataType", ""))
        digest.update(_chunk(name.encode("utf-8")))
        digest.update(_chunk(data_type.encode("utf-8")))
        if value.get("StringValue") is not None:
            digest.update(bytes([_STRING]) + _chunk(str(value["StringValue"]).encode("utf-8")))
        elif value.get("BinaryValue") is not None:
            digest.update(bytes([_BINARY]) + _chunk(_binary(value["BinaryValue"])))
        elif value.get("StringListValues"):
            digest.update(bytes([_STRING_LIST]))
            for item in value["StringListValues"]:
                digest.update(_chunk(str(item).encode("utf-8")))
        elif value.get("BinaryListValues"):
            digest.update(bytes([_BINARY_LIST]))
            for item in value["BinaryListValues"]:
                digest.update(_chunk(_binary(item)))
    return digest.hexdigest()
