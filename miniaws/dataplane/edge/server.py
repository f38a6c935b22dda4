"""The edge listener: an aiohttp low-level server on `--edge-port` that hands each request to the Edge pipeline.

The listener speaks plain HTTP but stands in for CloudFront's HTTPS endpoint, so viewers count as HTTPS; a request
carrying `X-Forwarded-Proto: http` counts as plain HTTP, to see what redirect-to-https and https-only do. A request
whose Host names no distribution may use the path-style fallback `/_distribution/<id>/<path>`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from miniaws.dataplane.edge.engine import Edge, EdgeResponse
from miniaws.dataplane.edge.requests import ViewerRequest
from miniaws.dataplane.edge.respond import error_page

log = logging.getLogger("miniaws.edge")

SHUTDOWN_GRACE_SECONDS = 5.0
#: request bodies the edge forwards to custom origins (POST/PUT through CloudFront) are read whole up to this
MAX_VIEWER_BODY = 64 * 1024 * 1024


class EdgeServer:
    def __init__(self, edge: Edge, host: str, port: int) -> None:
        self.edge = edge
        self.host = host
        self.requested_port = port
        self.port = 0
        self._runner: web.ServerRunner | None = None

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{'127.0.0.1' if self.host == '0.0.0.0' else shown}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
            return web.BaseRequest(message, payload, protocol, writer, task, loop, client_max_size=MAX_VIEWER_BODY)

        server = web.Server(self._handle, request_factory=make_request, access_log=None)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.requested_port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read() if request.body_exists else b""
        raw_path, _, raw_query = request.raw_path.partition("?")
        scheme = "http" if request.headers.get("X-Forwarded-Proto", "").lower() == "http" else "https"
        viewer = ViewerRequest(request.method, request.headers.get("Host", ""), raw_path, raw_query, request.headers,
                               body, request.remote or "", scheme)
        try:
            response = await self.edge.handle(viewer)
        except Exception:
            log.exception("edge request %s %s failed", request.method, request.raw_path)
            page = error_page(502, "The edge failed to handle this request.", "-")
            return web.Response(status=502, body=page, headers={"Content-Type": "text/html",
                                                                  "X-Cache": "Error from cloudfront"})
        return await _send(request, response)


async def _send(request: web.BaseRequest, response: EdgeResponse) -> web.StreamResponse:
    if response.stream is None and request.method != "HEAD":
        # the list goes in as it is: Response makes its own CIMultiDict of it (one copy, not two)
        return web.Response(status=response.status, headers=response.headers, body=response.body)
    out = web.StreamResponse(status=response.status, headers=CIMultiDict(response.headers))
    if response.length is not None and response.status not in (204, 304):
        out.content_length = response.length
    try:
        await out.prepare(request)
        if response.stream is not None and request.method != "HEAD":
            async for piece in response.stream:
                await out.write(piece)
        await out.write_eof()
    finally:
        if response.stream is not None and hasattr(response.stream, "aclose"):
            await response.stream.aclose()
    return out
