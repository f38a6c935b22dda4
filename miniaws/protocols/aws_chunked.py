"""Sans-IO decoder for `Content-Encoding: aws-chunked` request bodies: signed chunks
(STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) and unsigned ones (STREAMING-UNSIGNED-PAYLOAD-TRAILER),
with trailing headers. Framing per https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
and sigv4-streaming-trailers.html: `hex-size[;chunk-signature=sig]\\r\\n data \\r\\n ... 0[;sig]\\r\\n
[trailer: value\\r\\n ...] \\r\\n`.
"""
from __future__ import annotations

import hashlib
import re
from typing import Final

from miniaws.core.auth import EMPTY_SHA256, ChunkSignatureChain, InvalidRequest
from miniaws.core.errors import AwsError, IncompleteBody, IncompleteSignature

_HEADER, _DATA, _DATA_END, _TRAILER, _DONE, _FAILED = range(6)
_HEX_SIZE: Final = re.compile(rb"[0-9a-fA-F]{1,16}")
_MAX_LINE: Final = 4096            # a chunk header is ~90 bytes; trailers are short too
_MAX_TRAILERS: Final = 16 * 1024
MIN_CHUNK_SIZE: Final = 8192       # "Chunk size must be at least 8 KB" except the last (sigv4-streaming)
MAX_SIGNED_CHUNK: Final = 64 * 1024 * 1024  # a signed chunk is held until verified: bound the memory


class InvalidChunkSizeError(AwsError):
    status = 403
    default_message = "Only the last chunk is allowed to have a size less than 8192 bytes"


class AwsChunkedDecoder:
    """Feed raw body bytes split anywhere; get decoded payload pieces back as soon as they are
    known good. With a signature chain, a chunk's data is held (one chunk at most) until its
    signature verifies, so every returned byte is authenticated; without one, data streams through.
    Call finish() at end of body: the terminal 0-size chunk and the trailer section are required.
    A caller must still treat the object as uncommitted until finish() returns.
    """

    __slots__ = ("_chain", "_expect_trailer_signature", "_min_chunk", "_state", "_line", "_remaining",
                 "_chunk_size", "_signature", "_sha", "_pending", "_crlf", "_chunk_index", "_prev_size",
                 "_trailer_lines", "_trailer_signature", "trailers", "decoded_length")

    def __init__(self, chain: ChunkSignatureChain | None, *, expect_trailer_signature: bool = False,
                 min_chunk_size: int | None = None) -> None:
        self._chain = chain
        self._expect_trailer_signature = expect_trailer_signature and chain is not None
        # The 8 KiB minimum is documented for signed chunks; S3 also answers InvalidChunkSizeError to
        # SDKs streaming small unsigned chunks, so a caller may opt in with min_chunk_size=8192.
        self._min_chunk = (MIN_CHUNK_SIZE if chain is not None else 0) if min_chunk_size is None else min_chunk_size
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._chunk_size = 0
        self._signature = ""
        self._sha: hashlib._Hash | None = None
        self._pending: list[bytes] = []
        self._crlf = 0
        self._chunk_index = 0
        self._prev_size: int | None = None
        self._trailer_lines: list[bytes] = []
        self._trailer_signature: str | None = None
        #: trailing headers, lower-case names (x-amz-checksum-crc32 → base64 value)
        self.trailers: dict[str, str] = {}
        #: payload bytes returned so far
        self.decoded_length = 0

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        if self._state == _FAILED:
            raise InvalidRequest("The aws-chunked body was already rejected.")
        raw = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        try:
            with memoryview(raw) as view:  # released even on error: a caller's bytearray stays resizable
                return self._feed(raw, view)
        except AwsError:
            self._state = _FAILED
            raise

    def _feed(self, data: bytes | bytearray, view: memoryview) -> list[bytes]:
        out: list[bytes] = []
        pos, n = 0, len(data)
        while pos < n:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, n - pos)
                # One copy at most: a whole bytes input is passed through as is.
                piece = data if (take == n and isinstance(data, bytes)) else bytes(view[pos:pos + take])
                pos += take
                self._remaining -= take
                if self._sha is None:
                    out.append(piece)
                    self.decoded_length += take
                else:
                    self._sha.update(piece)
                    self._pending.append(piece)
                if self._remaining == 0:
                    if self._sha is not None and self._chain is not None:
                        self._chain.verify_chunk_digest(self._sha.hexdigest(), self._signature)
                        out.extend(self._pending)
                        self.decoded_length += self._chunk_size
                        self._pending = []
                        self._sha = None
                    self._state = _DATA_END
                    self._crlf = 0
            elif state == _DATA_END:
                if data[pos] != b"\r\n"[self._crlf]:
                    raise InvalidRequest("Chunk data must be followed by CRLF in an aws-chunked body.")
                pos += 1
                self._crlf += 1
                if self._crlf == 2:
                    self._state = _HEADER
            elif state == _DONE:
                if data[pos:].strip(b"\r\n"):
                    raise InvalidRequest("Unexpected data after the end of an aws-chunked body.")
                break
            else:  # _HEADER or _TRAILER: one CRLF-terminated line
                nl = data.find(b"\n", pos)
                end = n if nl < 0 else nl + 1
                self._line += data[pos:end]
                pos = end
                if len(self._line) > _MAX_LINE:
                    raise InvalidRequest("An aws-chunked header line is too long.")
                if nl < 0:
                    break
                line = bytes(self._line)
                self._line.clear()
                if not line.endswith(b"\r\n"):
                    raise InvalidRequest("aws-chunked lines must end with CRLF.")
                if state == _HEADER:
                    self._on_chunk_header(line[:-2])
                else:
                    self._on_trailer_line(line[:-2])
        return out

    def _on_chunk_header(self, header: bytes) -> None:
        size_text, _, extensions = header.partition(b";")
        if not _HEX_SIZE.fullmatch(size_text):
            raise InvalidRequest("Invalid chunk size in an aws-chunked body.")
        size = int(size_text, 16)
        signature: str | None = None
        for item in extensions.split(b";") if extensions else ():
            name, _, value = item.partition(b"=")
            if name.strip() == b"chunk-signature":
                signature = value.strip().decode("ascii", "replace")
        # Only the last data chunk may be short; we learn a chunk was not the last when another
        # non-empty chunk follows it. S3 numbers the chunk being read (1-based), with the size of the
        # short one before it.
        if size > 0 and self._prev_size is not None and self._prev_size < self._min_chunk:
            raise InvalidChunkSizeError(Chunk=str(self._chunk_index + 1), BadChunkSize=str(self._prev_size))
        chain = self._chain
        if chain is not None:
            if signature is None:
                raise IncompleteSignature("The chunk-signature of an aws-chunked chunk is missing.")
            if size > MAX_SIGNED_CHUNK:
                raise InvalidRequest(f"aws-chunked chunks larger than {MAX_SIGNED_CHUNK} bytes are not supported.")
        self._chunk_index += 1
        self._prev_size = size
        if size == 0:
            if chain is not None:
                assert signature is not None
                chain.verify_chunk_digest(EMPTY_SHA256, signature)
            self._state = _TRAILER
            return
        self._chunk_size = self._remaining = size
        if chain is not None:
            assert signature is not None
            self._signature = signature
            self._sha = hashlib.sha256()
        self._state = _DATA

    def _on_trailer_line(self, line: bytes) -> None:
        if not line:
            self._finish_trailers()
            return
        name, sep, value = line.partition(b":")
        if not sep or not name.strip():
            raise InvalidRequest("Malformed trailing header in an aws-chunked body.")
        key = name.strip().lower().decode("latin-1")
        text = value.strip().decode("latin-1")
        if key == "x-amz-trailer-signature":
            self._trailer_signature = text
            return
        self._trailer_lines.append(line)
        if sum(len(x) for x in self._trailer_lines) > _MAX_TRAILERS:
            raise InvalidRequest("The trailing headers of an aws-chunked body are too large.")
        self.trailers[key] = text

    def _finish_trailers(self) -> None:
        if self._chain is not None and (self._expect_trailer_signature or self._trailer_signature is not None):
            if self._trailer_signature is None:
                raise IncompleteSignature("The x-amz-trailer-signature of the aws-chunked body is missing.")
            self._chain.verify_trailer(b"\r\n".join(self._trailer_lines) + b"\r\n"
                                       if self._trailer_lines else b"", self._trailer_signature)
        self._state = _DONE

    def finish(self) -> None:
        """End of body: raise IncompleteBody unless the terminal chunk (and trailers) arrived."""
        if self._state == _FAILED:
            raise InvalidRequest("The aws-chunked body was already rejected.")
        if self._state == _TRAILER and not self._line:
            # Tolerate a body that ends right after its last complete trailer line, without the
            # closing empty line; signed trailers are still verified.
            try:
                self._finish_trailers()
            except AwsError:
                self._state = _FAILED
                raise
        if self._state != _DONE:
            self._state = _FAILED
            raise IncompleteBody()
