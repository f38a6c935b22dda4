"""MD5OfMessageBody / MD5OfMessageAttributes against digests AWS itself published.

The AWS CLI's own SQS examples (awscli/examples/sqs/*.rst, output captured from the real service) print each
digest shortened to its first and last 8 hex digits; the full digests of the aws-md5-of-message-attributes npm
package's README cover a custom Number type and a Binary value.
"""
from __future__ import annotations

import base64
from typing import Any

import pytest

from miniaws.services.sqs.md5 import md5_of_attributes, md5_of_body


def _s(value: str, data_type: str = "String") -> dict[str, Any]:
    return {"DataType": data_type, "StringValue": value}


FUEL_1 = {"SellerName": _s("Example Store"), "City": _s("Any City"), "Region": _s("WA"),
          "PostalCode": _s("99065"), "PricePerGallon": _s("1.99", "Number")}
FUEL_2 = {"SellerName": _s("Example Fuels"), "City": _s("North Town"), "Region": _s("WA"),
          "PostalCode": _s("99123"), "PricePerGallon": _s("1.87", "Number")}
RECEIVED = {"PostalCode": _s("ABC123"), "City": _s("Any City")}

# (attributes, first 8 hex, last 8 hex) from send-message-batch.rst and receive-message.rst
AWS_CLI_EXAMPLES = [
    (FUEL_1, "10809b55", "baf283ef"),
    (FUEL_2, "55623928", "ae354a25"),
    (RECEIVED, "9424c491", "26bc3ae7"),
    ({"PostalCode": RECEIVED["PostalCode"]}, "b8e89563", "e088e74f"),
]


@pytest.mark.parametrize(("attributes", "head", "tail"), AWS_CLI_EXAMPLES)
def test_attribute_digests_published_by_aws(attributes: dict[str, Any], head: str, tail: str) -> None:
    digest = md5_of_attributes(attributes)
    assert digest is not None
    assert (digest[:8], digest[-8:]) == (head, tail)


def test_body_digests_published_by_aws() -> None:
    # send-message-batch.rst: MD5OfMessageBody "203c4a38...7943237e" and "2cf0159a...c1980595"
    first = md5_of_body("Fuel report for account 0001 on 2015-09-16 at 02:07:31 PM.")
    second = md5_of_body("Fuel report for account 0002 on 2015-09-16 at 02:09:30 PM.")
    assert (first[:8], first[-8:]) == ("203c4a38", "7943237e")
    assert (second[:8], second[-8:]) == ("2cf0159a", "c1980595")
    # send-message.rst: "51b0a325...39163aa0"
    third = md5_of_body("Information about the largest city in Any Region.")
    assert (third[:8], third[-8:]) == ("51b0a325", "39163aa0")


STRING = {"attribName1": _s("attribValue 1")}
CUSTOM_NUMBER = {"customNumberTypeAttrib": _s("4563442423554324324264524243.32543234", "Number.float")}
BINARY = {"binaryAttribute": {"DataType": "Binary",
                              "BinaryValue": base64.b64encode(b"Hello binary world!").decode()}}


@pytest.mark.parametrize(("attributes", "expected"), [
    (STRING, "19e27d4e946b072f3f58da80d94fd778"),
    (CUSTOM_NUMBER, "9fe1b90bbd9965bdf77bac517c7d2495"),
    (BINARY, "31a92b15d92f8db860eda32aceb656c3"),
    ({**STRING, **CUSTOM_NUMBER, **BINARY}, "c932db14a896c663f83c260297d594ff"),
])
def test_full_digests(attributes: dict[str, Any], expected: str) -> None:
    assert md5_of_attributes(attributes) == expected


def test_order_of_the_map_does_not_matter_and_bytes_equal_base64() -> None:
    forward = md5_of_attributes({**STRING, **BINARY})
    backward = md5_of_attributes({**BINARY, **STRING})
    raw = md5_of_attributes({**STRING, "binaryAttribute": {"DataType": "Binary",
                                                           "BinaryValue": b"Hello binary world!"}})
    assert forward == backward == raw


def test_no_attributes_no_digest() -> None:
    assert md5_of_attributes({}) is None
