"""Object bodies on the wire: ingesting a PUT/UploadPart body and streaming a GET body back.

Ingest handles both ways SDKs upload (DESIGN §11): a plain body with checksum headers, and `aws-chunked`
framing (signed or unsigned, with trailing checksums). It computes the MD5 ETag and the requested flexible
checksum, verifies Content-MD5 / x-amz-content-sha256 / x-amz-checksum-*, and never holds more than ~1 MiB:
bodies above the inline limit are hashed and written to a temp file in a worker thread.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Mapping

from aiohttp import web

from miniaws.core import checksums
from miniaws.core.httpbody import expect_continue
from miniaws.core.auth import ChunkSignatureChain, VerifiedRequest
from miniaws.protocols.aws_chunked import AwsChunkedDecoder
from miniaws.services.s3.errors import (BadDigest, EntityTooLarge, IncompleteBody, InvalidDigest, InvalidRequest,
                                        XAmzContentSHA256Mismatch)
from miniaws.services.s3.models import Segment
from miniaws.state.blobs import BlobStore, BlobWriter

MAX_SINGLE_UPLOAD = 5 * 1024 ** 3
_FLUSH_AT = 1 << 20
_READ_CHUNK = 256 * 1024

_CHECKSUM_HEADERS = [(algorithm, checksums.header_name(algorithm)) for algorithm in checksums.ALGORITHMS]
_CHECKSUM_NAMES = {"CRC32": "CRC32", "CRC32C": "CRC32C", "SHA1": "SHA1", "SHA256": "SHA256",
                   "CRC64NVME": "CRC64NVME"}


@dataclass(slots=True)
class IngestedBody:
    blob_id: str
    size: int
    md5: bytes
    checksum_algorithm: str | None
    checksum_value: str | None


def requested_checksum(headers: Mapping[str, str], params: Mapping[str, Any]) -> str | None:
    """The flexible-checksum algorithm a request asks for: an explicit x-amz-checksum-* header, the trailer it
    announces, or x-amz-sdk-checksum-algorithm / the ChecksumAlgorithm member."""
    for algorithm, header in _CHECKSUM_HEADERS:
        if header in headers:
            return algorithm
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    for algorithm, header in _CHECKSUM_HEADERS:
        if trailer == header:
            return algorithm
    named = headers.get("x-amz-sdk-checksum-algorithm") or params.get("ChecksumAlgorithm")
    if named:
        name = str(named).upper()
        if name not in _CHECKSUM_NAMES:
            raise InvalidRequest(f"Value for x-amz-checksum-algorithm header is invalid.")
        return name
    return None


async def ingest(request: web.BaseRequest, blobs: BlobStore, params: Mapping[str, Any],
                 verified: VerifiedRequest | None, max_size: int = MAX_SINGLE_UPLOAD) -> IngestedBody:
    headers = request.headers
    content_sha = headers.get("x-amz-content-sha256", "")
    encoding = headers.get("Content-Encoding", "")
    chunked = content_sha.startswith("STREAMING-") or "aws-chunked" in encoding.lower()
    declared = _declared_length(headers, chunked)
    if declared is not None and declared > max_size:
        raise EntityTooLarge(ProposedSize=str(declared), MaxSizeAllowed=str(max_size))
    algorithm = requested_checksum(headers, params)
    await expect_continue(request)
    sink = _BodySink(blobs, algorithm, want_sha256=len(content_sha) == 64)
    decoder: AwsChunkedDecoder | None = None
    if chunked:
        chain = None
        if verified is not None and content_sha.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"):
            chain = ChunkSignatureChain(verified)
        decoder = AwsChunkedDecoder(chain, expect_trailer_signature=chain is not None and content_sha.endswith(
            "-TRAILER"))
    try:
        try:
            async for data in request.content.iter_chunked(_READ_CHUNK):
                pieces = decoder.feed(data) if decoder is not None else (data,)
                for piece in pieces:
                    await sink.add(piece)
                    if sink.size > max_size:
                        raise EntityTooLarge(MaxSizeAllowed=str(max_size))
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            raise IncompleteBody() from exc
        except Exception as exc:
            if type(exc).__name__ in ("ContentLengthError", "ClientPayloadError", "TransferEncodingError"):
                raise IncompleteBody() from exc
            raise
        if decoder is not None:
            decoder.finish()
        if declared is not None and sink.size != declared:
            raise IncompleteBody()
        await sink.finish()
        _verify(headers, sink, decoder, algorithm, content_sha)
        blob_id = await sink.commit()
    except BaseException:
        await sink.abort()
        raise
    return IngestedBody(blob_id, sink.size, sink.md5.digest(), algorithm, sink.checksum_b64())


async def ingest_chunks(chunks: AsyncIterator[bytes], blobs: BlobStore,
                        max_size: int = MAX_SINGLE_UPLOAD) -> IngestedBody:
    """Store a body that is not the request's own payload (the file field of a browser POST upload)."""
    sink = _BodySink(blobs, None, want_sha256=False)
    try:
        async for data in chunks:
            await sink.add(data)
            if sink.size > max_size:
                raise EntityTooLarge(MaxSizeAllowed=str(max_size))
        await sink.finish()
        blob_id = await sink.commit()
    except BaseException:
        await sink.abort()
        raise
    return IngestedBody(blob_id, sink.size, sink.md5.digest(), None, None)


def _declared_length(headers: Mapping[str, str], chunked: bool) -> int | None:
    text = headers.get("x-amz-decoded-content-length") if chunked else headers.get("Content-Length")
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidRequest("Invalid content length") from None


def _verify(headers: Mapping[str, str], sink: "_BodySink", decoder: AwsChunkedDecoder | None,
            algorithm: str | None, content_sha: str) -> None:
    content_md5 = headers.get("Content-MD5")
    if content_md5 is not None:
        try:
            expected = base64.b64decode(content_md5, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid_digest(content_md5) from None
        if len(expected) != 16:
            raise _invalid_digest(content_md5)
        if expected != sink.md5.digest():
            raise BadDigest("The Content-MD5 you specified did not match what we received.",
                            ExpectedDigest=content_md5, CalculatedDigest=base64.b64encode(sink.md5.digest()).decode())
    if sink.sha256 is not None and sink.sha256.hexdigest() != content_sha.lower():
        raise XAmzContentSHA256Mismatch(ClientComputedContentSHA256=content_sha,
                                        S3ComputedContentSHA256=sink.sha256.hexdigest())
    if algorithm is not None:
        header = checksums.header_name(algorithm)
        claimed = headers.get(header)
        if claimed is None and decoder is not None:
            claimed = decoder.trailers.get(header)
        if claimed is not None and claimed != sink.checksum_b64():
            raise BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")


def _invalid_digest(content_md5: str) -> InvalidDigest:
    error = InvalidDigest()
    error.fields["Content-MD5"] = content_md5
    return error


class _BodySink:
    """Hashes and stores body bytes: small bodies in memory, large ones via a worker thread."""

    def __init__(self, blobs: BlobStore, algorithm: str | None, want_sha256: bool) -> None:
        self._blobs = blobs
        self.md5 = hashlib.md5()
        self.checksum = checksums.new_hasher(algorithm) if algorithm else None
        self.sha256 = hashlib.sha256() if want_sha256 else None
        self._buffer = bytearray()
        self._writer: BlobWriter | None = None
        self._small = b""
        self.size = 0

    async def add(self, data: bytes) -> None:
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= _FLUSH_AT or (self._writer is None and self.size > self._blobs.inline_limit
                                               and len(self._buffer) >= _READ_CHUNK):
            await self.drain()

    def _consume(self, data: bytes) -> None:
        self.md5.update(data)
        if self.checksum is not None:
            self.checksum.update(data)
        if self.sha256 is not None:
            self.sha256.update(data)

    async def drain(self) -> None:
        """Hash (and, for large bodies, write) what is buffered."""
        if not self._buffer:
            return
        if self._writer is None and self.size <= self._blobs.inline_limit:
            return  # still small: keep it buffered, hash at commit
        data, self._buffer = bytes(self._buffer), bytearray()
        if self._writer is None:
            self._writer = self._blobs.open_writer()
        await asyncio.to_thread(self._consume_and_write, data)

    def _consume_and_write(self, data: bytes) -> None:
        self._consume(data)
        assert self._writer is not None
        self._writer.write_sync(data)

    async def finish(self) -> None:
        """All bytes are in: hash what is left (small bodies are hashed here, in one go)."""
        if self._writer is None and self.size <= self._blobs.inline_limit:
            self._small = bytes(self._buffer)
            self._buffer = bytearray()
            self._consume(self._small)
        else:
            await self.drain()

    def checksum_b64(self) -> str | None:
        return self.checksum.b64() if self.checksum is not None else None

    async def commit(self) -> str:
        if self._writer is None:
            return self._blobs.put_inline(self._small)
        return await asyncio.to_thread(self._writer.finish_sync)

    async def abort(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.abort_sync)
            self._writer = None


class SegmentStream:
    """A GET body over one or more stored segments, from `start` for `length` bytes, read off the loop."""

    def __init__(self, blobs: BlobStore, segments: list[Segment], start: int, length: int) -> None:
        self._blobs = blobs
        self._segments = segments
        self._start = start
        self.content_length = length
        # hold the bodies while streaming: an overwrite must not unlink a file a reader is still sending
        for seg in segments:
            blobs.incref(seg.blob_id)
        self._released = False

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            offset, remaining = self._start, self.content_length
            for seg in self._segments:
                if remaining <= 0:
                    break
                if offset >= seg.size:
                    offset -= seg.size
                    continue
                take = min(seg.size - offset, remaining)
                inline = self._blobs.inline(seg.blob_id)
                if inline is not None:
                    yield inline[seg.offset + offset:seg.offset + offset + take]
                else:
                    async for piece in _read_file(self._blobs, seg.blob_id, seg.offset + offset, take):
                        yield piece
                remaining -= take
                offset = 0
        finally:
            self.release()

    def release(self) -> None:
        if not self._released:
            self._released = True
            for seg in self._segments:
                self._blobs.decref(seg.blob_id)


async def _read_file(blobs: BlobStore, blob_id: str, offset: int, length: int) -> AsyncIterator[bytes]:
    fd = await asyncio.to_thread(os.open, blobs.path_of(blob_id), os.O_RDONLY)
    try:
        while length > 0:
            piece = await asyncio.to_thread(os.pread, fd, min(_FLUSH_AT, length), offset)
            if not piece:
                raise IncompleteBody("stored body is shorter than its metadata")
            offset += len(piece)
            length -= len(piece)
            yield piece
    finally:
        os.close(fd)


def read_small(blobs: BlobStore, segments: list[Segment], start: int, length: int) -> bytes | None:
    """The bytes of a range when every segment involved is in memory, else None (then stream)."""
    out = bytearray()
    offset, remaining = start, length
    for seg in segments:
        if remaining <= 0:
            break
        if offset >= seg.size:
            offset -= seg.size
            continue
        inline = blobs.inline(seg.blob_id)
        if inline is None:
            return None
        take = min(seg.size - offset, remaining)
        out += inline[seg.offset + offset:seg.offset + offset + take]
        remaining -= take
        offset = 0
    return bytes(out)
