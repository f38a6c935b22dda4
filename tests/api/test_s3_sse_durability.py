"""Encryption at rest on a persistent server: no stored body file and no journaled inline body holds plaintext,
and after a restart every SSE-S3, SSE-KMS (single and multipart) and SSE-C object reads back, ranges included, also
through the in-process reader CloudFront uses (S3Origin).
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.server import ServerThread
from miniaws.services.s3.models import S3Object
from miniaws.services.s3.origin import S3Origin
from tests.api.conftest import make_client

KIB = 1024
MIB = 1024 * KIB
MARKER = b"PLAINTEXT-CARD-4111111111111111|"
CUSTOMER_KEY = hashlib.sha256(b"customer key").digest()
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}


def _body(size: int) -> bytes:
    return (MARKER * (size // len(MARKER) + 1))[:size]


@contextmanager
def server(data: Path) -> Iterator[ServerThread]:
    thread = ServerThread(load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0,
                                                          "data_dir": str(data)})).start()
    try:
        yield thread
    finally:
        thread.stop()


def _stored_bytes(data: Path) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in data.glob("state.sqlite3*")}
    files.update({str(p.relative_to(data)): p.read_bytes() for p in (data / "blobs").rglob("*") if p.is_file()})
    return files


def _origin_read(thread: ServerThread, bucket: str, key: str, range_header: str | None = None) -> tuple[int, bytes]:
    async def read() -> tuple[int, bytes]:
        status, _, body = S3Origin(thread.server.services["s3"]).read_for_origin(bucket, key, range=range_header)
        if isinstance(body, bytes):
            return status, body
        return status, b"".join([piece async for piece in body.chunks()])
    result: tuple[int, bytes] = thread.call(read())
    return result


def test_bodies_at_rest_are_ciphertext_and_survive_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    small, large = _body(2 * KIB), _body(300 * KIB + 5)
    parts = [_body(5 * MIB), _body(10 * KIB)]
    with server(data) as thread:
        s3 = make_client(thread.endpoint_url, "s3")
        kms = make_client(thread.endpoint_url, "kms")
        key_arn = kms.create_key()["KeyMetadata"]["Arn"]
        s3.create_bucket(Bucket="vault")
        s3.put_bucket_encryption(Bucket="vault", ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
        s3.put_object(Bucket="vault", Key="s3-small", Body=small)
        s3.put_object(Bucket="vault", Key="s3-large", Body=large)
        for name, body in (("kms-small", small), ("kms-large", large)):
            s3.put_object(Bucket="vault", Key=name, Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        s3.put_object(Bucket="vault", Key="c-small", Body=small, **SSE_C)
        s3.put_object(Bucket="vault", Key="c-large", Body=large, **SSE_C)
        upload = s3.create_multipart_upload(Bucket="vault", Key="kms-mp", ServerSideEncryption="aws:kms",
                                            SSEKMSKeyId=key_arn)["UploadId"]
        done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket="vault", Key="kms-mp", UploadId=upload, PartNumber=n,
                                                         Body=part)["ETag"]} for n, part in enumerate(parts, 1)]
        s3.complete_multipart_upload(Bucket="vault", Key="kms-mp", UploadId=upload, MultipartUpload={"Parts": done})
        # a multipart upload left open across the restart
        pending = s3.create_multipart_upload(Bucket="vault", Key="open", **SSE_C)["UploadId"]
        part_one = s3.upload_part(Bucket="vault", Key="open", UploadId=pending, PartNumber=1, Body=parts[0], **SSE_C)

    stored = _stored_bytes(data)
    assert any(name.startswith("blobs") for name in stored)  # large bodies are files ...
    inline_rows = b"".join(v for k, v in stored.items() if k.startswith("state.sqlite3"))
    assert b"vault" in inline_rows  # ... small ones and the metadata are in the journal
    for name, content in stored.items():
        assert MARKER[:16] not in content, f"plaintext found in {name}"
    for leaked in (CUSTOMER_KEY, base64.b64encode(CUSTOMER_KEY)):
        assert leaked not in inline_rows  # SSE-C keys are never stored

    with server(data) as thread:
        s3 = make_client(thread.endpoint_url, "s3")
        for name, body in (("s3-small", small), ("s3-large", large), ("kms-small", small), ("kms-large", large)):
            assert s3.get_object(Bucket="vault", Key=name)["Body"].read() == body, name
            first, last = (600, 1500) if len(body) < 60000 else (60000, 70000)
            got = s3.get_object(Bucket="vault", Key=name, Range=f"bytes={first}-{last}")["Body"].read()
            assert got == body[first:last + 1], name
            assert _origin_read(thread, "vault", name, "bytes=10-20") == (206, body[10:21])
        assert s3.head_object(Bucket="vault", Key="kms-large")["SSEKMSKeyId"] == key_arn
        for name, body in (("c-small", small), ("c-large", large)):
            assert s3.get_object(Bucket="vault", Key=name, **SSE_C)["Body"].read() == body
            with pytest.raises(ClientError) as err:
                s3.get_object(Bucket="vault", Key=name)
            assert err.value.response["Error"]["Code"] == "InvalidRequest"
            status, _ = _origin_read(thread, "vault", name)
            assert status == 400  # CloudFront cannot read SSE-C objects: it has no customer key
        whole = b"".join(parts)
        assert s3.get_object(Bucket="vault", Key="kms-mp")["Body"].read() == whole
        assert _origin_read(thread, "vault", "kms-mp", f"bytes={5 * MIB - 3}-{5 * MIB + 3}") == (
            206, whole[5 * MIB - 3:5 * MIB + 4])
        second = s3.upload_part(Bucket="vault", Key="open", UploadId=pending, PartNumber=2, Body=b"tail", **SSE_C)
        s3.complete_multipart_upload(Bucket="vault", Key="open", UploadId=pending, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": part_one["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]})
        assert s3.get_object(Bucket="vault", Key="open", **SSE_C)["Body"].read() == parts[0] + b"tail"


def test_missing_root_key_stops_a_server_with_sse_s3_objects(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with server(data) as thread:
        s3: Any = make_client(thread.endpoint_url, "s3")
        s3.create_bucket(Bucket="sse-s3-only")
        s3.put_object(Bucket="sse-s3-only", Key="k", Body=b"x")
    (data / "kms-root.key").unlink()
    with pytest.raises(Exception, match="kms-root.key is missing"):
        with server(data):
            pass


def test_bodies_stored_before_encryption_still_read_and_copies_encrypt_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    body = _body(100 * KIB)
    with server(data) as thread:
        s3 = make_client(thread.endpoint_url, "s3")
        s3.create_bucket(Bucket="legacy")
        service = thread.server.services["s3"]

        async def plant() -> None:  # an object as written before encryption at rest: plaintext, no envelope
            writer = service.blobs.open_writer()
            writer.write_sync(body)
            segments = service.store.adopt(writer.finish_sync(), len(body))
            service.store.put_object(service.store.buckets["legacy"], S3Object(
                key="old", size=len(body), etag=f'"{hashlib.md5(body).hexdigest()}"', last_modified=0.0,
                segments=segments))
        thread.call(plant())
        assert s3.get_object(Bucket="legacy", Key="old", Range="bytes=5-9")["Body"].read() == body[5:10]
        s3.copy_object(Bucket="legacy", Key="new", CopySource={"Bucket": "legacy", "Key": "old"},
                       ServerSideEncryption="aws:kms")
        copied = service.store.buckets["legacy"].objects["new"]
        assert all(seg.wrapped is not None for seg in copied.segments)  # re-written encrypted, not shared
        assert s3.get_object(Bucket="legacy", Key="new")["Body"].read() == body
    files = [p.read_bytes() for p in (data / "blobs").rglob("*") if p.is_file()]
    assert sum(MARKER[:16] in content for content in files) == 1  # only the planted plaintext one
