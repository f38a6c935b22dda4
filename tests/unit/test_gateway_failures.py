"""A service that blows up: the client gets InternalFailure with the request id, never a traceback."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from miniaws.config import Config
from miniaws.core.auth import SigV4Verifier
from miniaws.core.clock import FakeClock
from miniaws.core.context import RequestContext
from miniaws.gateway.app import make_request_handler
from miniaws.gateway.dispatch import Gateway
from miniaws.gateway.internal import InternalApi
from tests.helpers.endpoint import serve
from miniaws.services.base import operation
from miniaws.services.s3.api import S3Service
from miniaws.state.blobs import BlobStore
from miniaws.state.journal import MemoryJournal


class ExplodingS3(S3Service):
    @operation("ListBuckets")
    def list_buckets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("secret internal detail")


@pytest.fixture
async def client() -> Any:
    config = Config(ephemeral=True)
    clock = FakeClock()
    journal = MemoryJournal()
    blobs = BlobStore(None, journal, config.inline_body_limit)
    services = {"s3": ExplodingS3(config, clock, journal, blobs)}

    async def reset() -> None:
        return None

    gateway = Gateway(config, clock, services, journal, SigV4Verifier({}, clock))
    async with serve(make_request_handler(gateway, InternalApi(services, reset, dict, journal))) as session:
        yield session
    blobs.close()


async def test_internal_failure_has_request_id_and_no_traceback(client: Any,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="miniaws.gateway"):
        response = await client.get("/")
        text = await response.text()
    assert response.status == 500
    request_id = response.headers["x-amz-request-id"]
    assert "<Code>InternalFailure</Code>" in text and f"<RequestId>{request_id}</RequestId>" in text
    assert "secret internal detail" not in text and "Traceback" not in text
    assert request_id in caplog.text and "secret internal detail" in caplog.text
    # the process keeps serving
    again = await client.put("/still-alive-bucket")
    assert again.status == 200


async def test_unknown_internal_endpoint(client: Any) -> None:
    response = await client.get("/_miniaws/nothing-here")
    assert response.status == 404
