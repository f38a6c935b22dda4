"""The shortcuts SQS's per-request path takes, each against the long way round: queue URLs and sender ids
remembered per service (bounded, and never standing in for the queue itself), integer parameters decided at once
when they are plain JSON numbers, the attribute digest joined before hashing, and receipt handles decoded by
binascii directly."""
from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

import pytest

from miniaws.config import Config
from miniaws.core.clock import FakeClock
from miniaws.core.context import Principal, RequestContext
from miniaws.services.sqs import api_common
from miniaws.services.sqs.api import SqsService
from miniaws.services.sqs.api_messages import receipt_handle
from miniaws.services.sqs.errors import (InvalidAddress, InvalidParameterValue, QueueDoesNotExist,
                                         ReceiptHandleIsInvalid)
from miniaws.services.sqs.md5 import md5_of_attributes
from miniaws.services.sqs.validation import integer
from miniaws.state.journal import MemoryJournal

ACCOUNT = "000000000000"


@pytest.fixture
def sqs() -> SqsService:
    return SqsService(Config(), FakeClock(), MemoryJournal())


def _ctx(sqs: SqsService, region: str = "us-east-1", key: str | None = "AKIAEXAMPLE") -> RequestContext:
    return RequestContext("sqs", "x", ACCOUNT, region, "rid", sqs.clock, Principal(key, ACCOUNT), None)


def test_a_remembered_url_still_finds_the_queue_of_the_callers_region(sqs: SqsService) -> None:
    east, west = _ctx(sqs), _ctx(sqs, "eu-west-1")
    url = sqs.create_queue(east, {"QueueName": "orders"})["QueueUrl"]
    sqs.create_queue(west, {"QueueName": "orders"})
    # the same URL text names a different queue in each region (only its path counts, like AWS's own hosts)
    assert sqs.queue_for(east, {"QueueUrl": url}).region == "us-east-1"
    assert sqs.queue_for(west, {"QueueUrl": url}).region == "eu-west-1"
    assert sqs.queue_for(east, {"QueueUrl": url + "/"}).region == "us-east-1"


def test_a_remembered_url_follows_the_queue_being_deleted_and_made_again(sqs: SqsService) -> None:
    ctx = _ctx(sqs)
    url = sqs.create_queue(ctx, {"QueueName": "again"})["QueueUrl"]
    first = sqs.queue_for(ctx, {"QueueUrl": url})
    sqs.delete_queue(ctx, {"QueueUrl": url})
    with pytest.raises(QueueDoesNotExist):
        sqs.queue_for(ctx, {"QueueUrl": url})
    sqs.create_queue(ctx, {"QueueName": "again"})
    second = sqs.queue_for(ctx, {"QueueUrl": url})
    assert second is not first and second is sqs.store.get(ACCOUNT, "us-east-1", "again")


def test_a_bad_address_is_refused_every_time(sqs: SqsService) -> None:
    for _ in range(2):
        with pytest.raises(InvalidAddress):
            sqs.queue_for(_ctx(sqs), {"QueueUrl": "http://localhost:4566/just-a-name"})


def test_the_memos_stay_bounded(sqs: SqsService) -> None:
    ctx = _ctx(sqs)
    for index in range(api_common._MEMO_MAX + 10):
        with pytest.raises(QueueDoesNotExist):
            sqs.queue_for(ctx, {"QueueUrl": f"http://localhost:4566/{ACCOUNT}/missing-{index}"})
        sqs.sender_id(_ctx(sqs, key=f"AKIA{index:016d}"))
    assert 0 < len(sqs._url_parts) <= api_common._MEMO_MAX
    assert 0 < len(sqs._sender_ids) <= api_common._MEMO_MAX


def test_sender_ids_are_per_access_key(sqs: SqsService) -> None:
    for key in ("AKIAFIRST", "AKIASECOND", "AKIAFIRST"):
        expected = "AIDA" + hashlib.sha256(f"key:{key}".encode()).hexdigest()[:17].upper()
        assert sqs.sender_id(_ctx(sqs, key=key)) == expected
    assert sqs.sender_id(_ctx(sqs, key=None)) == ACCOUNT


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (10, 10), ("7", 7), (" 3", 3)])
def test_integers_in_range_are_taken(value: Any, expected: int) -> None:
    assert integer({"N": value}, "N", 0, 10, "why") == expected


@pytest.mark.parametrize("value", [True, False, 11, -1, "11", "x", 1.5])
def test_integers_out_of_range_or_of_another_type_are_refused(value: Any) -> None:
    with pytest.raises(InvalidParameterValue, match=r"for parameter N is invalid\. Reason: why"):
        integer({"N": value}, "N", 0, 10, "why")


def _reference_digest(attributes: dict[str, dict[str, Any]]) -> str:
    """The Developer Guide's algorithm, one update per piece."""
    digest = hashlib.md5()

    def chunk(data: bytes) -> None:
        digest.update(struct.pack(">I", len(data)))
        digest.update(data)

    for name in sorted(attributes):
        value = attributes[name]
        chunk(name.encode())
        chunk(value["DataType"].encode())
        if "StringValue" in value:
            digest.update(b"\x01")
            chunk(value["StringValue"].encode())
        elif "BinaryValue" in value:
            digest.update(b"\x02")
            chunk(base64.b64decode(value["BinaryValue"]))
        elif "StringListValues" in value:
            digest.update(b"\x03")
            for item in value["StringListValues"]:
                chunk(item.encode())
        else:
            digest.update(b"\x04")
            for item in value["BinaryListValues"]:
                chunk(base64.b64decode(item))
    return digest.hexdigest()


def test_attribute_digest_of_every_value_kind() -> None:
    attributes = {
        "z-text": {"DataType": "String", "StringValue": "ünïcode ✓"},
        "a-number": {"DataType": "Number.int", "StringValue": "-12.5e3"},
        "m-binary": {"DataType": "Binary.png", "BinaryValue": base64.b64encode(bytes(range(256))).decode()},
        "s-list": {"DataType": "String", "StringListValues": ["one", "twö", ""]},
        "b-list": {"DataType": "Binary", "BinaryListValues": [base64.b64encode(b"\x00\x01").decode(), ""]},
    }
    assert md5_of_attributes(attributes) == _reference_digest(attributes)


def test_receipt_handles_round_trip_and_refuse_what_is_not_one(sqs: SqsService) -> None:
    ctx = _ctx(sqs)
    url = sqs.create_queue(ctx, {"QueueName": "handles"})["QueueUrl"]
    sqs.send_message(ctx, {"QueueUrl": url, "MessageBody": "hello"})
    queue = sqs.queue_for(ctx, {"QueueUrl": url})
    [message] = sqs.store.receive(queue, sqs.clock.now(), 1, 30)
    handle = receipt_handle(queue, message)
    assert base64.b64decode(handle).decode().split("\x1f") == [queue.key, message.message_id, message.nonce]
    assert sqs._message_for(queue, handle) == (message, message.nonce)
    for bad in ("ünïcode", "not base64!", handle[:-2], base64.b64encode(b"\xff\xfe").decode(),
                base64.b64encode(b"only\x1ftwo").decode()):
        with pytest.raises(ReceiptHandleIsInvalid):
            sqs._message_for(queue, bad)
