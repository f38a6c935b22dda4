"""What a handler on the AWS endpoint may answer with: an aiohttp `web.Response` (status, headers and bytes;
nothing else of it is used), a `PlainResponse` (the same without aiohttp's machinery, for the gateway's hot path)
or a `StreamedResponse` whose body is produced piece by piece."""
from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Union

from aiohttp import web
from multidict import CIMultiDict


class PlainResponse:
    """Status, headers and a whole body (None: no body, e.g. for HEAD)."""

    __slots__ = ("status", "headers", "body", "keep_alive")
    #: the status's standard reason phrase is sent
    reason = None

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes | None = None) -> None:
        self.status = status
        self.headers: CIMultiDict[str] = CIMultiDict(headers)
        self.body = body
        #: None: as the request asked; False: close the connection after this answer
        self.keep_alive: bool | None = None


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


Response = Union[web.Response, PlainResponse, StreamedResponse]

__all__ = ["PlainResponse", "Response", "StreamedResponse"]
