"""Identifiers in AWS's shapes: request ids, S3's host ids, opaque hex ids."""
from __future__ import annotations

import base64
import os
import uuid


def request_id() -> str:
    """A request id like AWS's (uuid4 text); also in the log line for the request."""
    return str(uuid.uuid4())


def s3_request_id() -> str:
    """S3 uses 16 upper-case hex characters for x-amz-request-id."""
    return os.urandom(8).hex().upper()


def host_id() -> str:
    """S3's x-amz-id-2: opaque base64."""
    return base64.b64encode(os.urandom(48)).decode()


def hex_id(nbytes: int = 16) -> str:
    return os.urandom(nbytes).hex()
