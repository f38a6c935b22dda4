"""What a handler on the AWS endpoint may answer with: an aiohttp `web.Response` (status, headers and bytes;
nothing else of it is used) or a `StreamedResponse` whose body is produced piece by piece."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Union

from aiohttp import web
from multidict import CIMultiDict


class StreamedResponse:
    """A response whose body is produced piece by piece (S3 GetObject of a large object, a function's code zip)."""

    __slots__ = ("status", "headers", "content_length", "chunks")

    def __init__(self, status: int, headers: Mapping[str, str], content_length: int,
                 chunks: AsyncIterator[bytes] | None) -> None:
        self.status = status
        self.headers: CIMultiDict[str] = CIMultiDict(headers)
        #: the body's exact length (sent as Content-Length; a stream that yields another length closes the connection)
        self.content_length = content_length
        #: None for HEAD (and for an empty body)
        self.chunks = chunks


Response = Union[web.Response, StreamedResponse]

__all__ = ["Response", "StreamedResponse"]
