"""Timestamp text in the two shapes AWS wire formats use, computed once per stored value."""
from __future__ import annotations

import time
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache


@lru_cache(maxsize=64)
def _second(whole: int) -> tuple[str, str]:
    """(ISO 8601 text up to the seconds, HTTP date) of one whole second. Memoised: every S3 write formats both
    for its LastModified, and requests arriving in the same second share them (strftime and formatdate were
    ~10 µs of each PutObject). A pure function of its argument, so one bounded cache serves every server."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)), formatdate(whole, usegmt=True)


def iso8601_ms(epoch: float) -> str:
    """2009-10-12T17:50:30.000Z (XML bodies)."""
    whole = int(epoch)
    return _second(whole)[0] + ".%03dZ" % int((epoch - whole) * 1000)


def http_date(epoch: float) -> str:
    """Wed, 12 Oct 2009 17:50:00 GMT (headers)."""
    return _second(int(epoch))[1]


def parse_http_date(text: str) -> float | None:
    """Epoch seconds from an HTTP date, or None when it does not parse (S3 then ignores the condition)."""
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
