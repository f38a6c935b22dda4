"""Bucket and key names shared by the S3 workloads and the bare-aiohttp baseline server.

Kept free of heavy imports so the baseline server can use it without loading botocore.
"""

from __future__ import annotations

BUCKET = "bench"
# The listing gets a bucket of its own so it lists exactly its 1,000 keys, whatever the PUTs added.
LIST_BUCKET = "bench-list"
LIST_PREFIX = "list/"
LIST_KEY_COUNT = 1000
# Small bodies keep the 1,000-key setup quick; a listing's size does not depend on them.
LIST_OBJECT_SIZE = 128


def list_key(index: int) -> str:
    return f"{LIST_PREFIX}key-{index:05d}"


def get_key(size: int) -> str:
    # The size is in the key so the baseline server can answer with that many bytes.
    return f"get/{size}"


def put_key(size: int, index: int) -> str:
    return f"put-{size}/{index:06d}"


def size_from_key(key: str, default: int = 1024) -> int:
    last = key.rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else default


def payload(size: int) -> bytes:
    """Deterministic object body of ``size`` bytes (same bytes in setup and in the baseline)."""
    pattern = b"miniaws-benchmark-payload-0123456789abcdefghijklmnopqrstuvwxyz\n"
    return (pattern * (size // len(pattern) + 1))[:size]
