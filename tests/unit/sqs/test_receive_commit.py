"""What a receive waits for: a standard queue answers while the journal commit of the message (and of the receive's
own visibility change) is still in flight — at-least-once delivery allows the duplicate a crash could then cause —
while a FIFO queue, which promises exactly-once processing, answers only after the commit. Sends always wait."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from miniaws.config import Config
from miniaws.core.auth import SigV4Verifier
from miniaws.core.clock import FakeClock
from miniaws.core.context import Principal, RequestContext
from miniaws.gateway.app import make_request_handler
from tests.helpers.endpoint import serve
from miniaws.gateway.dispatch import Gateway
from miniaws.gateway.internal import InternalApi
from miniaws.services.sqs.api import SqsService

_AUTH = ("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, SignedHeaders=host, "
         "Signature=" + "0" * 64)


class HeldJournal:
    """A journal whose commits complete only when the test releases them."""

    def __init__(self) -> None:
        self.write_count = 0
        self.released = asyncio.Event()

    def put(self, ns: str, key: str, value: bytes) -> None:
        self.write_count += 1

    def delete(self, ns: str, key: str) -> None:
        self.write_count += 1

    def after_commit(self, callback: Callable[[], None]) -> None:
        callback()

    async def durable(self) -> None:
        await self.released.wait()

    async def clear(self) -> None:
        return None

    async def close(self) -> None:
        return None


@pytest.fixture
async def setup() -> Any:
    config = Config(ephemeral=True)
    clock = FakeClock()
    journal = HeldJournal()
    services = {"sqs": SqsService(config, clock, journal)}  # type: ignore[arg-type]

    async def reset() -> None:
        return None

    gateway = Gateway(config, clock, services, journal, SigV4Verifier({}, clock))  # type: ignore[arg-type]
    handler = make_request_handler(gateway, InternalApi(services, reset, dict, journal))  # type: ignore[arg-type]
    async with serve(handler) as client:

        async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            headers = {"X-Amz-Target": f"AmazonSQS.{action}", "Content-Type": "application/x-amz-json-1.0",
                       "Authorization": _AUTH}
            response = await client.post("/", data=orjson.dumps(payload), headers=headers)
            assert response.status == 200, await response.text()
            return dict(orjson.loads(await response.read()))

        yield journal, call


def _context(sqs: SqsService, operation: str) -> RequestContext:
    return RequestContext("sqs", operation, "000000000000", "us-east-1", "rid", sqs.clock, Principal(None, "000000000000"))


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
async def test_who_waits_for_the_commit(setup: Any, fifo: bool) -> None:
    journal, call = setup
    journal.released.set()
    name = "q.fifo" if fifo else "q"
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    url = (await call("CreateQueue", {"QueueName": name, "Attributes": attributes}))["QueueUrl"]
    journal.released.clear()

    receive = asyncio.ensure_future(call("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 5}))
    await _settle()  # parked in its long poll
    send = {"QueueUrl": url, "MessageBody": "hello", **({"MessageGroupId": "g"} if fifo else {})}
    sent = asyncio.ensure_future(call("SendMessage", send))
    await _settle()
    assert not sent.done()  # a send is an acknowledgement: it waits for its commit
    assert receive.done() is not fifo
    journal.released.set()
    [message] = (await receive)["Messages"]
    assert message["MessageId"] == (await sent)["MessageId"]


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
async def test_in_process_pollers_wait_for_the_commit_of_a_fifo_receive_too(fifo: bool) -> None:
    """Lambda's event-source poller receives in-process: a FIFO batch reaches the function only once durable."""
    journal = HeldJournal()
    journal.released.set()
    sqs = SqsService(Config(ephemeral=True), FakeClock(), journal)  # type: ignore[arg-type]
    name = "q.fifo" if fifo else "q"
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    ctx = _context(sqs, "CreateQueue")
    created = await sqs.call("CreateQueue", ctx, {"QueueName": name, "Attributes": attributes})
    send = {"QueueUrl": created["QueueUrl"], "MessageBody": "hello", **({"MessageGroupId": "g"} if fifo else {})}
    await sqs.call("SendMessage", _context(sqs, "SendMessage"), send)
    journal.released.clear()
    arn = f"arn:aws:sqs:us-east-1:{ctx.account_id}:{name}"
    received = asyncio.ensure_future(sqs.receive_from_queue(arn, 10, 0))
    await _settle()
    assert received.done() is not fifo
    journal.released.set()
    assert [m["Body"] for m in await received] == ["hello"]
