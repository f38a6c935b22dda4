"""Reading request bodies politely: answer `Expect: 100-continue` only when the body is really wanted.

botocore sends `Expect: 100-continue` on uploads and waits up to a second for the interim response; a request
rejected before its body is read gets its final answer instead, and the connection is closed so unread body
bytes can never be parsed as the next request.
"""
from __future__ import annotations

from aiohttp import web

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


async def expect_continue(request: web.BaseRequest) -> None:
    """Send the interim 100 response once, if the client asked for it and nothing was written yet.

    "Nothing written yet" is the writer's own byte count: keeping a flag on the request object instead trips
    aiohttp's NotAppKeyWarning (an error under the test suite's warnings policy)."""
    if request.version < (1, 1) or request.headers.get("Expect", "").lower() != "100-continue":
        return
    writer = request.writer
    if writer is not None and writer.output_size == 0:
        await writer.write(_CONTINUE)


async def read_body(request: web.BaseRequest) -> bytes:
    if not request.can_read_body:
        return b""
    await expect_continue(request)
    return await request.read()


def body_left_unread(request: web.BaseRequest) -> bool:
    return request.can_read_body and not request.content.is_eof()
