"""The aiohttp low-level server for the AWS endpoint: one handler, no middleware (few hops, DESIGN §1)."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from miniaws.gateway.dispatch import Gateway
from miniaws.gateway.internal import INTERNAL_PREFIXES, InternalApi

#: S3 bodies stream through request.content; this only bounds bodies read whole (JSON/query/XML documents)
MAX_DOCUMENT_BODY = 64 * 1024 * 1024

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def make_request_handler(gateway: Gateway, internal: InternalApi) -> Handler:
    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path.startswith(INTERNAL_PREFIXES):
            return await internal.handle(request, path)
        return await gateway.handle(request)

    return handle


def make_server(gateway: Gateway, internal: InternalApi) -> web.Server:
    loop = asyncio.get_running_loop()

    def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
        return web.BaseRequest(message, payload, protocol, writer, task, loop, client_max_size=MAX_DOCUMENT_BODY)

    return web.Server(make_request_handler(gateway, internal), request_factory=make_request, access_log=None)
