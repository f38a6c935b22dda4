"""The S3 workloads: untimed setup with boto3, then pre-built presigned requests for the load client.

Presigned URLs (SigV4 in the query) let every timed request be static bytes the server still
authenticates as a real client's.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from benchmarks import s3names

KIB = 1024
MIB = 1024 * 1024
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Workload:
    name: str  # CLI name
    title: str  # table heading
    operation: str  # "put", "get" or "list"
    size: int = 0
    pool: int = 1  # distinct pre-signed requests, cycled

    def request_body(self) -> bytes:
        return s3names.payload(self.size) if self.operation == "put" else b""


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("put-1k", "PutObject 1 KiB", "put", KIB, pool=2000),
        # A smaller pool bounds the disk a persistent server fills; keys still differ per request.
        Workload("put-1m", "PutObject 1 MiB", "put", MIB, pool=500),
        Workload("get-1k", "GetObject 1 KiB", "get", KIB),
        Workload("get-1m", "GetObject 1 MiB", "get", MIB),
        Workload("list-1000", "ListObjectsV2 1,000 keys", "list"),
    )
}


class SetupError(Exception):
    """Untimed setup or its check failed, so the workload cannot be measured on this target."""


def make_client(endpoint_url: str) -> Any:
    # Imported here: boto3 costs ~0.3 s to import and `--help` should not pay it.
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            max_pool_connections=16,
        ),
    )


def _create_bucket(client: Any, bucket: str) -> None:
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)


def prepare(workload: Workload, client: Any) -> None:
    """Create what ``workload`` reads, untimed, and check the target really stored it."""
    try:
        if workload.operation == "list":
            _prepare_listing(client)
        else:
            _create_bucket(client, s3names.BUCKET)
        if workload.operation == "get":
            key = s3names.get_key(workload.size)
            client.put_object(Bucket=s3names.BUCKET, Key=key, Body=s3names.payload(workload.size))
            length = client.head_object(Bucket=s3names.BUCKET, Key=key)["ContentLength"]
            if length != workload.size:
                raise SetupError(f"HeadObject says {length} bytes, expected {workload.size}")
    except SetupError:
        raise
    except Exception as exc:  # any boto3/botocore failure means the same thing here
        raise SetupError(f"{type(exc).__name__}: {exc}") from None


def _prepare_listing(client: Any) -> None:
    _create_bucket(client, s3names.LIST_BUCKET)
    body = s3names.payload(s3names.LIST_OBJECT_SIZE)

    def put(index: int) -> None:
        client.put_object(Bucket=s3names.LIST_BUCKET, Key=s3names.list_key(index), Body=body)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(s3names.LIST_KEY_COUNT)))
    count = client.list_objects_v2(Bucket=s3names.LIST_BUCKET, MaxKeys=1000)["KeyCount"]
    if count != s3names.LIST_KEY_COUNT:
        raise SetupError(f"ListObjectsV2 returned {count} keys, expected {s3names.LIST_KEY_COUNT}")


def _head(method: str, url: str, extra: tuple[str, ...] = ()) -> bytes:
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    # Host must be byte-for-byte what was signed (host:port).
    lines = (f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "User-Agent: miniaws-bench", *extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def build_requests(workload: Workload, client: Any) -> list[bytes]:
    """Request heads (cycled by the client); ``workload.request_body()`` follows each one."""
    sign = client.generate_presigned_url
    if workload.operation == "put":
        extra = (f"Content-Length: {workload.size}", "Content-Type: application/octet-stream")
        keys = [s3names.put_key(workload.size, i) for i in range(workload.pool)]
        return [_head("PUT", sign("put_object", Params={"Bucket": s3names.BUCKET, "Key": k}), extra) for k in keys]
    if workload.operation == "get":
        url = sign("get_object", Params={"Bucket": s3names.BUCKET, "Key": s3names.get_key(workload.size)})
        return [_head("GET", url)]
    url = sign("list_objects_v2", Params={"Bucket": s3names.LIST_BUCKET, "MaxKeys": 1000})
    return [_head("GET", url)]
