"""The Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) on loopback.

Each execution environment gets its own listener on 127.0.0.1, as each Lambda sandbox has its own
AWS_LAMBDA_RUNTIME_API: the port tells which environment is calling, so unmodified runtimes (a curl
bootstrap, awslambdaric) work without any extra header. A listener costs one socket and is opened at cold
start, off the warm path. Requests are translated into Environment method calls; nothing else lives here.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from functools import partial
from typing import Any

import orjson
from aiohttp import HttpVersion11, web

from miniaws.functions.environment import Environment, RuntimeApiError
from miniaws.functions.invocation import Invocation

log = logging.getLogger("miniaws.functions")

PREFIX = "/2018-06-01/runtime/"
#: the largest response (or error document) a runtime may post: Lambda's 6 MB synchronous limit, which Lambda
#: counts as 6 MiB + 100 bytes ("exceeded maximum allowed payload size (6291556 bytes)")
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
#: the error document format that carries an X-Ray cause next to the error (AWS's runtime emulator accepts it
#: and passes only errorMessage / errorType / stackTrace on to the caller)
ERROR_CAUSE_TYPE = "application/vnd.aws.lambda.error.cause+json"
_ACCEPTED = orjson.dumps({"status": "OK"})


class RuntimeApi:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._listeners: dict[str, tuple[asyncio.AbstractServer, web.Server]] = {}

    async def open(self, env: Environment) -> str:
        """Start env's listener; returns the host:port to put in AWS_LAMBDA_RUNTIME_API."""
        loop = asyncio.get_running_loop()
        # bodies are read in chunks (_read_body), never through request.read(), so aiohttp's body-size limit
        # does not apply: an oversized response gets Lambda's 413, not a reset connection
        handler = web.Server(partial(self._handle, env), access_log=None, handler_cancellation=True)
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
                    body, _ = await _read_body(request)
                    env.init_error(body[:MAX_RESPONSE_BYTES],
                                   request.headers.get("Lambda-Runtime-Function-Error-Type"))
                    return _accepted()
                kind, request_id = _split_invocation_path(rest)
                if kind == "response":
                    return await self._response(env, request, request_id)
                if kind == "error":
                    return await self._error_report(env, request, request_id)
        except RuntimeApiError as exc:
            return _error(exc.status, exc.error_type, str(exc))
        return _error(404, "NotFound", f"no such Runtime API path {request.method} {path}")

    async def _next(self, env: Environment) -> web.StreamResponse:
        invocation = await env.next_invocation()
        if invocation is None:
            return _error(410, "Runtime.Stopped", "the execution environment is shutting down")
        return web.Response(status=200, headers=_event_headers(invocation), body=invocation.payload)

    async def _response(self, env: Environment, request: web.BaseRequest, request_id: str) -> web.StreamResponse:
        body, size = await _read_body(request)
        if size > MAX_RESPONSE_BYTES:
            _too_large(env, request_id, size)
            return _payload_too_large()
        env.respond(request_id, body)
        return _accepted()

    async def _error_report(self, env: Environment, request: web.BaseRequest,
                            request_id: str) -> web.StreamResponse:
        body, size = await _read_body(request)
        if size > MAX_RESPONSE_BYTES:
            _too_large(env, request_id, size)
            return _payload_too_large()
        if request.headers.get("Content-Type", "").split(";")[0].strip().lower() == ERROR_CAUSE_TYPE:
            body = _without_cause(body)
        env.error(request_id, body, request.headers.get("Lambda-Runtime-Function-Error-Type"))
        return _accepted()


def _event_headers(invocation: Invocation) -> dict[str, str]:
    headers = {
        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
        "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
        "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_arn,
        "Lambda-Runtime-Trace-Id": invocation.trace_id,
        "Content-Type": "application/json",
    }
    client_context = _client_context(invocation.client_context)
    if client_context:
        headers["Lambda-Runtime-Client-Context"] = client_context
    return headers


def _client_context(encoded: str | None) -> str | None:
    """Invoke takes ClientContext base64-encoded (X-Amz-Client-Context); the runtime gets the JSON itself, which
    AWS's runtimes parse into context.client_context. Anything that is not base64 JSON is left out: a runtime
    would fail every invocation on it."""
    if not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True)
        orjson.loads(decoded)
        return decoded.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        log.debug("dropping a client context that is not base64-encoded JSON")
        return None


async def _read_body(request: web.BaseRequest) -> tuple[bytes, int]:
    """(body, its size). Beyond MAX_RESPONSE_BYTES the rest is read and dropped, so the runtime is answered
    with Lambda's 413 instead of a connection reset; the function's timeout bounds how long that can last."""
    if request.version == HttpVersion11 and request.headers.get("Expect", "").lower() == "100-continue":
        # curl asks before posting a body over 1 MB and waits a second for this answer when none comes (Lambda's
        # Runtime API, a Go HTTP server, sends it as soon as the body is read)
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the response proper has not started
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size <= MAX_RESPONSE_BYTES:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()
    return b"".join(chunks), size


def _too_large(env: Environment, request_id: str, size: int) -> None:
    """The invocation fails with Function.ResponseSizeTooLarge (what Invoke returns for an oversized response)."""
    env.error(request_id, orjson.dumps({
        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                        f"({MAX_RESPONSE_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge"}), "Function.ResponseSizeTooLarge")


def _without_cause(body: bytes) -> bytes:
    """An error document with an X-Ray cause: the caller sees errorMessage, errorType and stackTrace only."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return orjson.dumps("Invalid error body")
    if not isinstance(document, dict):
        return orjson.dumps("Invalid error body")
    kept: dict[str, Any] = {"errorMessage": document.get("errorMessage") or "",
                            "errorType": document.get("errorType") or ""}
    if document.get("stackTrace"):
        kept["stackTrace"] = document["stackTrace"]
    return orjson.dumps(kept)


def _split_invocation_path(rest: str) -> tuple[str, str]:
    """'invocation/<id>/response' -> ('response', '<id>')."""
    parts = rest.split("/")
    if len(parts) == 3 and parts[0] == "invocation":
        return parts[2], parts[1]
    return "", ""


def _accepted() -> web.Response:
    return web.Response(status=202, body=_ACCEPTED, content_type="application/json")


def _payload_too_large() -> web.Response:
    # what Lambda's Runtime API answers a runtime whose response is too large
    return _error(413, "RequestEntityTooLarge",
                  f"Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).")


def _error(status: int, error_type: str, message: str) -> web.Response:
    return web.Response(status=status, content_type="application/json",
                        body=orjson.dumps({"errorMessage": message, "errorType": error_type}))
