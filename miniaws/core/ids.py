"""Identifiers in AWS's shapes: request ids, S3's host ids, opaque hex ids.

None of these is a secret, so they come from a PRNG seeded from the OS at start-up rather than an
os.urandom() system call each (three per S3 request showed up in profiles); uniqueness is what matters.
"""
from __future__ import annotations

import binascii
import random

_random = random.Random()  # seeded from os.urandom by the constructor


#: the bits uuid4 fixes: version 4 (bits 76-79) and the RFC 4122 variant (bits 62-63)
_UUID4_CLEAR = ~((0xF << 76) | (0x3 << 62))
_UUID4_SET = (0x4 << 76) | (0x2 << 62)


def request_id() -> str:
    """A request id like AWS's (uuid4 text); also in the log line for the request. Formatted directly: building
    a uuid.UUID to print it cost twice as much, once per request and per SQS/SNS message id."""
    h = "%032x" % ((_random.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def s3_request_id() -> str:
    """S3 uses 16 upper-case hex characters for x-amz-request-id."""
    return "%016X" % _random.getrandbits(64)


def host_id() -> str:
    """S3's x-amz-id-2: opaque base64."""
    return binascii.b2a_base64(_random.randbytes(48), newline=False).decode("ascii")


def hex_id(nbytes: int = 16) -> str:
    return "%0*x" % (nbytes * 2, _random.getrandbits(nbytes * 8))
