"""Timestamp text in the two shapes AWS wire formats use, computed once per stored value."""
from __future__ import annotations

import time
from email.utils import formatdate, parsedate_to_datetime


def iso8601_ms(epoch: float) -> str:
    """2009-10-12T17:50:30.000Z (XML bodies)."""
    whole = int(epoch)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % int((epoch - whole) * 1000)


def http_date(epoch: float) -> str:
    """Wed, 12 Oct 2009 17:50:00 GMT (headers)."""
    return formatdate(int(epoch), usegmt=True)


def parse_http_date(text: str) -> float | None:
    """Epoch seconds from an HTTP date, or None when it does not parse (S3 then ignores the condition)."""
    try:
        return parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
