"""Reading request bodies politely: answer `Expect: 100-continue` only when the body is really wanted.

botocore sends `Expect: 100-continue` on uploads and waits up to a second for the interim response; a request
rejected before its body is read gets its final answer instead, and the server closes the connection after it
when the body's bytes have not all arrived, so they can never be parsed as the next request.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from miniaws.gateway.http1 import HttpRequest

#: S3 bodies stream through request.content; this only bounds bodies read whole (JSON/query/XML documents)
MAX_DOCUMENT_BODY = 64 * 1024 * 1024


async def read_body(request: "HttpRequest") -> bytes:
    if not request.body_exists:
        return b""
    return await request.read(MAX_DOCUMENT_BODY)


def body_left_unread(request: "HttpRequest") -> bool:
    return request.body_exists and not request.content.is_eof()
