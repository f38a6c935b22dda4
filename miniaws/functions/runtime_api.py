"""The Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) on loopback.

Each execution environment gets its own listener on 127.0.0.1, as each Lambda sandbox has its own
AWS_LAMBDA_RUNTIME_API: the port tells which environment is calling, so unmodified runtimes (a curl
bootstrap, awslambdaric) work without any extra header. A listener costs one socket and is opened at cold
start, off the warm path. Requests are translated into Environment method calls; nothing else lives here.
"""
from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import orjson
from aiohttp import web

from miniaws.functions.environment import Environment, RuntimeApiError

log = logging.getLogger("miniaws.functions")

PREFIX = "/2018-06-01/runtime/"
#: Lambda's synchronous response limit is 6 MB; bodies beyond it are refused, larger requests cut off
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
_ACCEPTED = orjson.dumps({"status": "OK"})


class RuntimeApi:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._listeners: dict[str, tuple[asyncio.AbstractServer, web.Server]] = {}

    async def open(self, env: Environment) -> str:
        """Start env's listener; returns the host:port to put in AWS_LAMBDA_RUNTIME_API."""
        loop = asyncio.get_running_loop()

        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
            return web.BaseRequest(message, payload, protocol, writer, task, loop,
                                   client_max_size=MAX_RESPONSE_BYTES + 1024 * 1024)

        handler = web.Server(partial(self._handle, env), request_factory=make_request, access_log=None,
                             handler_cancellation=True)
        server = await loop.create_server(handler, self.host, 0)
        port = server.sockets[0].getsockname()[1]
        self._listeners[env.id] = (server, handler)
        return f"{self.host}:{port}"

    async def close(self, env: Environment) -> None:
        entry = self._listeners.pop(env.id, None)
        if entry is None:
            return
        server, handler = entry
        server.close()
        await handler.shutdown(0.5)
        await server.wait_closed()

    async def close_all(self) -> None:
        for server, handler in list(self._listeners.values()):
            server.close()
            await handler.shutdown(0.5)
        self._listeners.clear()

    @property
    def open_count(self) -> int:
        return len(self._listeners)

    async def _handle(self, env: Environment, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if not path.startswith(PREFIX):
            return _error(404, "NotFound", f"no such Runtime API path {path}")
        rest = path[len(PREFIX):]
        try:
            if rest == "invocation/next" and request.method == "GET":
                return await self._next(env)
            if request.method == "POST":
                if rest == "init/error":
                    env.init_error(await request.read(), request.headers.get("Lambda-Runtime-Function-Error-Type"))
                    return web.Response(status=202, body=_ACCEPTED, content_type="application/json")
                kind, _, request_id = _split_invocation_path(rest)
                if kind in ("response", "error"):
                    body = await request.read()
                    if kind == "response":
                        if len(body) > MAX_RESPONSE_BYTES:
                            env.error(request_id, orjson.dumps({
                                "errorMessage": f"Response payload size ({len(body)} bytes) exceeded maximum "
                                                f"allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                                "errorType": "Function.ResponseSizeTooLarge"}), "Function.ResponseSizeTooLarge")
                            return _error(413, "RequestEntityTooLarge", "response payload too large")
                        env.respond(request_id, body)
                    else:
                        env.error(request_id, body, request.headers.get("Lambda-Runtime-Function-Error-Type"))
                    return web.Response(status=202, body=_ACCEPTED, content_type="application/json")
        except RuntimeApiError as exc:
            return _error(exc.status, exc.error_type, str(exc))
        return _error(404, "NotFound", f"no such Runtime API path {request.method} {path}")

    async def _next(self, env: Environment) -> web.StreamResponse:
        invocation = await env.next_invocation()
        if invocation is None:
            return _error(410, "Runtime.Stopped", "the execution environment is shutting down")
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
            "Content-Type": "application/json",
        }
        if invocation.client_context:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        return web.Response(status=200, headers=headers, body=invocation.payload)


def _split_invocation_path(rest: str) -> tuple[str, str, str]:
    """'invocation/<id>/response' -> ('response', '', '<id>')."""
    parts = rest.split("/")
    if len(parts) == 3 and parts[0] == "invocation":
        return parts[2], "", parts[1]
    return "", "", ""


def _error(status: int, error_type: str, message: str) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        body=orjson.dumps({"errorMessage": message, "errorType": error_type}))
