"""HTTP/1.1 responses from targets, sans-IO: the status line and headers, then the body framed by Content-Length,
chunked transfer coding, or the end of the connection (RFC 9112 §6.3, whose order this follows).

The parser is strict where leniency would let a target desynchronise the pooled connection: a malformed status
line, an obsolete line fold, a header name that is not a token, differing Content-Length values or a bad chunk
size are protocol errors (the load balancer answers 502). Interim 1xx responses other than 101 are skipped. A
response with no body by definition (to HEAD, 1xx, 204, 304) ends at its header block whatever it declares.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: a status line (RFC 9112 §4) and header lines whose names are RFC 9110 tokens, without obs-fold, NUL or bare CR/LF
_HEAD_BLOCK = re.compile(rb"HTTP/1\.[01] [1-9][0-9][0-9](?: [^\r\n\x00]*)?"
                         rb"(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\r\n\x00]*)*")
#: one header line of a validated block (decoded): name and value
_FIELD = re.compile(r"\r\n([^:\r\n]+):[ \t]*([^\r\n]*)")
#: the header lines that frame the body or decide about the connection
_FRAMING = re.compile(rb"\r\n(content-length|transfer-encoding|connection):([^\r\n]*)", re.IGNORECASE)
#: longest status line + header block, and longest chunk-size or trailer line, a target may send
MAX_HEAD = 64 * 1024
MAX_LINE = 8 * 1024

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _UNTIL_CLOSE, _DONE = range(8)


class ProtocolError(Exception):
    """The target broke HTTP/1.1 framing; the connection cannot be trusted any more."""


@dataclass(slots=True)
class ResponseHead:
    status: int
    reason: str
    #: (name, value) as received, in order; values decoded as UTF-8
    headers: list[tuple[str, str]]
    #: the body's length when Content-Length frames it (0 for bodiless responses), else None
    length: int | None
    #: the connection may carry another request after this response
    keep_alive: bool


class ResponseParser:
    """Feed it the bytes a target sends; it yields body pieces and says when the response is complete."""

    __slots__ = ("head", "done", "_state", "_buf", "_remaining", "_to_head_request", "_keep_alive")

    def __init__(self, head_request: bool = False) -> None:
        self.head: ResponseHead | None = None
        self.done = False
        self._state = _HEAD
        self._buf = b""
        self._remaining = 0
        self._to_head_request = head_request
        self._keep_alive = True

    @property
    def reusable(self) -> bool:
        """Complete, keep-alive, and nothing after it (a target that sends more than it framed is not trusted)."""
        return self.done and self._keep_alive and not self._buf

    def _take(self, buf: bytes, out: list[bytes]) -> bytes:
        """Move up to the bytes still owed (body or chunk) from `buf` into `out`; return what follows them."""
        remaining = self._remaining
        if len(buf) <= remaining:
            self._remaining = remaining - len(buf)
            out.append(buf)
            return b""
        out.append(buf[:remaining])
        self._remaining = 0
        return buf[remaining:]

    def feed(self, data: bytes) -> list[bytes]:
        """Body pieces found in `data` (possibly none); sets `head` and `done` as they are reached."""
        out: list[bytes] = []
        buf = self._buf + data if self._buf else data
        self._buf = b""
        while buf:
            state = self._state
            if state == _LENGTH:
                buf = self._take(buf, out)
                if self._remaining == 0:
                    self._state = _DONE
                    self.done = True
            elif state == _UNTIL_CLOSE:
                out.append(buf)
                buf = b""
            elif state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise ProtocolError("response header block too large")
                    break
                block, buf = buf[:end], buf[end + 4:]
                self._start(block)
            elif state == _CHUNK_DATA:
                buf = self._take(buf, out)
                if self._remaining == 0:
                    self._state = _CHUNK_END
            elif state == _DONE:
                break  # bytes past the response: kept, so the connection is not reused
            else:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > MAX_LINE:
                        raise ProtocolError("chunk line too long")
                    break
                line, buf = buf[:end], buf[end + 2:]
                self._line(line)
        self._buf = buf
        return out

    def feed_eof(self) -> None:
        """The target closed the connection: the end of a close-delimited body, else a truncated response."""
        if self._state == _UNTIL_CLOSE:
            self._state = _DONE
            self.done = True
            self._keep_alive = False
        elif not self.done:
            raise ProtocolError("connection closed before the response was complete")

    # -- head ---------------------------------------------------------------------------------------
    def _start(self, block: bytes) -> None:
        # one C-level match validates the status line and every header line: token names, no obs-fold, no NUL
        if _HEAD_BLOCK.fullmatch(block) is None:
            raise ProtocolError(f"malformed response head {block[:80]!r}")
        first = block.find(b"\r\n")
        status_line = block[:first] if first >= 0 else block
        status = int(status_line[9:12])
        reason = status_line[13:]
        keep_alive = status_line[7] == 49  # HTTP/1.1
        lengths: set[bytes] = set()
        codings: list[bytes] = []
        for name, value in _FRAMING.findall(block):
            lower = name.lower()
            if lower == b"content-length":
                lengths.update(part.strip(b" \t") for part in value.split(b","))
            elif lower == b"transfer-encoding":
                codings.extend(c.strip(b" \t").lower() for c in value.split(b",") if c.strip(b" \t"))
            else:
                tokens = {t.strip(b" \t").lower() for t in value.split(b",")}
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
        headers: list[tuple[str, str]] = _FIELD.findall(block.decode("utf-8", "replace"))
        if 100 <= status < 200 and status != 101:
            return  # an interim response: the final one follows
        self._keep_alive = keep_alive
        length: int | None = None
        if self._to_head_request or status in (101, 204, 304):
            length = 0
        elif codings:
            # Transfer-Encoding overrides Content-Length; a message carrying both is not reused (RFC 9112 §6.1)
            if lengths:
                self._keep_alive = False
            if codings[-1] == b"chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state = _UNTIL_CLOSE
                self._keep_alive = False
        elif lengths:
            if len(lengths) != 1:
                raise ProtocolError("differing Content-Length values")
            text = next(iter(lengths))
            if not text.isdigit():
                raise ProtocolError(f"bad Content-Length {text[:40]!r}")
            length = int(text)
        else:
            self._state = _UNTIL_CLOSE
            self._keep_alive = False
        if length is not None:
            self._remaining = length
            self._state = _LENGTH if length else _DONE
            self.done = length == 0
        self.head = ResponseHead(status, reason.decode("utf-8", "replace"), headers, length, self._keep_alive)

    # -- chunked body -------------------------------------------------------------------------------
    def _line(self, line: bytes) -> None:
        state = self._state
        if state == _CHUNK_SIZE:
            size = line.split(b";", 1)[0].strip(b" \t")
            if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
                raise ProtocolError(f"bad chunk size {line[:40]!r}")
            self._remaining = int(size, 16)
            self._state = _CHUNK_DATA if self._remaining else _TRAILER
        elif state == _CHUNK_END:
            if line:
                raise ProtocolError("chunk data longer than its size")
            self._state = _CHUNK_SIZE
        elif not line:  # _TRAILER: the empty line ends the message (trailer fields are dropped)
            self._state = _DONE
            self.done = True
