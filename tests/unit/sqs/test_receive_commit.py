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
from miniaws.gateway.app import make_request_handler
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
async def setup(aiohttp_raw_server: Any, aiohttp_client: Any) -> Any:
    config = Config(ephemeral=True)
    clock = FakeClock()
    journal = HeldJournal()
    services = {"sqs": SqsService(config, clock, journal)}  # type: ignore[arg-type]

    async def reset() -> None:
        return None

    gateway = Gateway(config, clock, services, journal, SigV4Verifier({}, clock))  # type: ignore[arg-type]
    client = await aiohttp_client(await aiohttp_raw_server(make_request_handler(gateway, InternalApi(services, reset,
                                                                                                     dict))))

    async def call(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"X-Amz-Target": f"AmazonSQS.{action}", "Content-Type": "application/x-amz-json-1.0",
                   "Authorization": _AUTH}
        response = await client.post("/", data=orjson.dumps(payload), headers=headers)
        assert response.status == 200, await response.text()
        return dict(orjson.loads(await response.read()))

    return journal, call


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
