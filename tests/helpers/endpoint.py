"""An AWS-endpoint handler served by miniaws's own HTTP/1.1 server on a free loopback port, for in-loop tests."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp

from miniaws.gateway.http1 import Handler, HttpServer


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[aiohttp.ClientSession]:
    """A client session whose relative URLs reach `handler`; the server stops when the block ends."""
    server = HttpServer(handler)
    (_, port), *_ = await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
            yield session
    finally:
        await server.stop(1.0)
