"""Pagination tokens. GetLogEvents' look like AWS's (`f/` or `b/` and 56 digits) and name a position in a stream:
(timestamp, seq) — forward reads the events at or after it, backward the events before it. FilterLogEvents and the
Describe* operations hand out opaque tokens naming the last position returned. A token we did not make is
InvalidParameterException, as in AWS.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from miniaws.services.logs.errors import InvalidParameterException

Position = tuple[int, int]

_SEQ_DIGITS = 36
_TS_DIGITS = 20


def bad_token() -> InvalidParameterException:
    return InvalidParameterException("The specified nextToken is invalid.")


def stream_token(direction: str, position: Position) -> str:
    """`f/…` or `b/…`: the timestamp and the sequence number as one 56-digit number."""
    timestamp, seq = position
    return f"{direction}/{timestamp:0{_TS_DIGITS}d}{seq:0{_SEQ_DIGITS}d}"


def parse_stream_token(token: str) -> tuple[str, Position]:
    direction, _, digits = token.partition("/")
    if direction not in ("f", "b") or len(digits) != _TS_DIGITS + _SEQ_DIGITS or not digits.isdigit():
        raise bad_token()
    return direction, (int(digits[:_TS_DIGITS]), int(digits[_TS_DIGITS:]))


def event_id(timestamp: int, seq: int) -> str:
    """FilteredLogEvent.eventId: 56 digits like AWS's, unique per event."""
    return f"{timestamp:0{_TS_DIGITS}d}{seq:0{_SEQ_DIGITS}d}"


def sequence_token(seq: int) -> str:
    """PutLogEvents' nextSequenceToken and DescribeLogStreams' uploadSequenceToken (AWS ignores tokens sent back)."""
    return f"{seq:056d}"


def opaque(kind: str, value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([kind, value])).decode("ascii")


def parse_opaque(kind: str, token: str) -> Any:
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise bad_token() from None
    if not isinstance(decoded, list) or len(decoded) != 2 or decoded[0] != kind:
        raise bad_token()
    return decoded[1]
