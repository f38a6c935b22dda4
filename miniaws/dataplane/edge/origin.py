"""Origin fetches for the edge: S3 origins read in-process through the S3 service's small origin interface (no HTTP
hop, DESIGN §1), custom origins over one shared aiohttp ClientSession.

Custom origins honour the origin's protocol policy and ports, origin path, custom headers, connection timeout and
attempts, and read timeout (API_Origin.html, API_CustomOriginConfig.html). A connection that cannot be made is a 502,
a read that times out a 504, as CloudFront reports them. Bodies up to `max_body` are read whole (they may be cached);
larger ones come back as a stream that only the requesting viewer consumes.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote

import aiohttp
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict
from yarl import URL

from miniaws.core import cabundle
from miniaws.dataplane.edge.routing import Origin

log = logging.getLogger("miniaws.edge")

_READ_CHUNK = 256 * 1024
#: response headers that describe one hop, never replayed to the viewer (RFC 9110 §7.6.1)
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
                        "upgrade", "proxy-authenticate", "proxy-authorization", "content-length", "date"})


class BodyStream(Protocol):
    """An object body read piece by piece (S3's SegmentStream has this shape)."""

    content_length: int

    def chunks(self) -> AsyncIterator[bytes]: ...


class ObjectReader(Protocol):
    """What the edge needs from S3 (implemented by miniaws/services/s3/origin.py)."""

    def read_for_origin(self, bucket: str, key: str, *, method: str = "GET", range: str | None = None,
                        conditions: Mapping[str, str] | None = None, source_arn: str | None = None,
                        oai: str | None = None) -> tuple[int, dict[str, str], "bytes | BodyStream"]: ...


class OriginUnavailable(Exception):
    """The origin could not be reached (502) or did not answer in time (504)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class OriginRequest:
    method: str
    #: the viewer's path, percent-encoded as received (the origin path is prefixed here)
    path: str
    #: the query string to forward, without "?" ("" for none)
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    #: "http" or "https": what match-viewer uses
    viewer_scheme: str = "https"


@dataclass(slots=True)
class OriginResponse:
    status: int
    headers: CIMultiDict[str]
    #: the whole body, when it was read whole
    body: bytes | None = None
    #: otherwise the body, streamed (length from Content-Length when known)
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None
    origin_id: str = ""
    #: seconds the fetch took (the benchmark and logs use it)
    elapsed: float = field(default=0.0)
    #: made by an origin-request Lambda@Edge function, not fetched
    generated: bool = False


class OriginClient:
    def __init__(self, reader: ObjectReader | None, max_body: int,
                 resolver: Callable[[], AbstractResolver] | None = None) -> None:
        self.reader = reader
        self.max_body = max_body
        #: makes the name resolver for custom origins (built inside the loop, with the session)
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            cabundle.ensure_loaded()
            resolver = self._resolver() if self._resolver is not None else None
            # with our own resolver its answers are cached for their record's TTL there, not by the connector
            connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=5.0, resolver=resolver,
                                             use_dns_cache=resolver is None)
            # the edge replays the origin's bytes (and caches them): never decompress them on the way in
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                                  cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def fetch(self, origin: Origin, request: OriginRequest, source_arn: str) -> OriginResponse:
        if origin.s3:
            return await self._fetch_s3(origin, request, source_arn)
        return await self._fetch_http(origin, request)

    # -- S3, in-process ---------------------------------------------------------------------------
    async def _fetch_s3(self, origin: Origin, request: OriginRequest, source_arn: str) -> OriginResponse:
        if self.reader is None:
            raise OriginUnavailable(502, "no S3 service to read from")
        key = unquote(origin.path + request.path)[1:]
        headers = CIMultiDict(request.headers)
        conditions = {name: headers[name] for name in ("If-None-Match", "If-Modified-Since", "If-Match",
                                                       "If-Unmodified-Since") if name in headers}
        status, out_headers, body = self.reader.read_for_origin(
            origin.bucket, key, method=request.method, range=headers.get("Range"), conditions=conditions,
            source_arn=source_arn if origin.access == "oac" else None,
            oai=origin.oai if origin.access == "oai" else None)
        response = OriginResponse(status, CIMultiDict(out_headers), origin_id=origin.id)
        if isinstance(body, (bytes, bytearray)):
            response.body = bytes(body)
            declared = response.headers.get("Content-Length")
            response.length = int(declared) if declared is not None and declared.isdigit() else len(body)
            return response
        response.length = body.content_length
        if body.content_length <= self.max_body:
            parts = [piece async for piece in body.chunks()]
            response.body = b"".join(parts)
        else:
            response.stream = body.chunks()
        return response

    # -- custom origins over HTTP -----------------------------------------------------------------
    async def _fetch_http(self, origin: Origin, request: OriginRequest) -> OriginResponse:
        scheme = {"http-only": "http", "https-only": "https"}.get(origin.protocol_policy, request.viewer_scheme)
        port = origin.http_port if scheme == "http" else origin.https_port
        default_port = 80 if scheme == "http" else 443
        authority = origin.domain if port == default_port else f"{origin.domain}:{port}"
        target = origin.path + request.path + ("?" + request.query if request.query else "")
        url = URL(f"{scheme}://{authority}{target}", encoded=True)
        headers = CIMultiDict(request.headers)
        if "Host" not in headers:
            headers["Host"] = authority
        for name, value in origin.custom_headers:
            headers[name] = value
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=origin.connection_timeout,
                                        sock_read=origin.read_timeout)
        session = self._client()
        loop = asyncio.get_running_loop()
        started = loop.time()
        last_error = ""
        for _attempt in range(max(origin.connection_attempts, 1)):
            try:
                response = await session.request(
                    request.method, url, headers=headers, data=request.body or None, allow_redirects=False,
                    timeout=timeout, skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"))
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, ConnectionError) as exc:
                last_error = str(exc)
                continue
            except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
                raise OriginUnavailable(504, f"origin {origin.id} timed out: {exc}") from None
            except aiohttp.ClientError as exc:
                raise OriginUnavailable(502, f"origin {origin.id} failed: {exc}") from None
            try:
                return await self._read(origin, response, started, loop)
            except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
                response.release()
                raise OriginUnavailable(504, f"origin {origin.id} did not send its response in time") from None
            except aiohttp.ClientError as exc:
                response.release()
                raise OriginUnavailable(502, f"origin {origin.id} broke off its response: {exc}") from None
        raise OriginUnavailable(502, f"could not connect to origin {origin.id}: {last_error}")

    async def _read(self, origin: Origin, response: aiohttp.ClientResponse, started: float,
                    loop: asyncio.AbstractEventLoop) -> OriginResponse:
        out = OriginResponse(response.status, CIMultiDict(response.headers), origin_id=origin.id)
        out.length = response.content_length
        if out.length is not None and out.length > self.max_body:
            out.stream = _relay(response, b"")
            return out
        buffer = bytearray()
        async for piece in response.content.iter_chunked(_READ_CHUNK):
            buffer += piece
            if len(buffer) > self.max_body:
                out.stream = _relay(response, bytes(buffer))
                return out
        response.release()
        out.body = bytes(buffer)
        out.elapsed = loop.time() - started
        return out


async def _relay(response: aiohttp.ClientResponse, head: bytes) -> AsyncIterator[bytes]:
    """The rest of a body too large to cache, after what was already read."""
    try:
        if head:
            yield head
        async for piece in response.content.iter_chunked(_READ_CHUNK):
            yield piece
    finally:
        response.release()
