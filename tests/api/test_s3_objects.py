"""S3 object operations through boto3: bodies, metadata, ranges, conditions, copies, deletes, checksums."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.mark.parametrize("size", [0, 1, 1024, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024 + 17])
def test_put_get_roundtrip_sizes(s3: Any, bucket: str, size: int) -> None:
    data = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key="blob", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="blob")
    assert got["Body"].read() == data
    assert got["ContentLength"] == size
    assert got["ETag"] == put["ETag"]


def test_metadata_and_content_headers_kept(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>hi</p>", ContentType="text/html",
                  Metadata={"Owner": "team-a", "build": "42"}, CacheControl="max-age=60",
                  ContentDisposition='attachment; filename="page.html"', ContentLanguage="en",
                  ContentEncoding="identity", Expires=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    head = s3.head_object(Bucket=bucket, Key="page.html")
    assert head["ContentType"] == "text/html"
    assert head["Metadata"] == {"owner": "team-a", "build": "42"}
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == 'attachment; filename="page.html"'
    assert head["ContentLanguage"] == "en"
    assert head["ContentEncoding"] == "identity"
    assert head["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert head["ContentLength"] == 9
    assert head["AcceptRanges"] == "bytes"


def test_default_content_type_and_overrides(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="raw", Body=b"abc")
    assert s3.head_object(Bucket=bucket, Key="raw")["ContentType"] == "binary/octet-stream"
    got = s3.get_object(Bucket=bucket, Key="raw", ResponseContentType="text/plain",
                        ResponseCacheControl="no-store")
    assert got["ContentType"] == "text/plain"
    assert got["CacheControl"] == "no-store"


def test_keys_are_never_paths(s3: Any, bucket: str) -> None:
    keys = ["../../etc/passwd", "/leading/slash", "a/../b", "spaces and+plus", "unicodé/ключ/鍵", "tab\tkey",
            "question?mark", "percent%2Fencoded", "trailing/", "~tilde", "a//double"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed, key=lambda k: k.encode()) == listed
    assert set(listed) == set(keys)


def test_missing_key_and_bucket(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="nope")
    assert _code(err) == "NoSuchKey" and _status(err) == 404
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="nope")
    assert _status(err) == 404
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="no-such-bucket-here-x1", Key="k")
    assert _code(err) == "NoSuchBucket"


def test_key_too_long(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert _code(err) == "KeyTooLongError"
    s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")


@pytest.mark.parametrize("header, expected, status", [
    ("bytes=0-3", b"0123", 206),
    ("bytes=4-", b"456789", 206),
    ("bytes=-3", b"789", 206),
    ("bytes=8-100", b"89", 206),
    ("bytes=5-2", b"0123456789", 200),
    ("garbage", b"0123456789", 200),
])
def test_ranges(s3: Any, bucket: str, header: str, expected: bytes, status: int) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="digits", Range=header)
    assert got["Body"].read() == expected
    assert got["ResponseMetadata"]["HTTPStatusCode"] == status
    if status == 206:
        assert got["ContentRange"].endswith("/10")


def test_unsatisfiable_range(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="digits", Range="bytes=10-20")
    assert _code(err) == "InvalidRange" and _status(err) == 416


def test_range_over_large_file_body(s3: Any, bucket: str) -> None:
    data = os.urandom(300_000)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    got = s3.get_object(Bucket=bucket, Key="big", Range="bytes=100000-200009")
    assert got["Body"].read() == data[100000:200010]


def test_conditional_reads(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"cond")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"cond"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert _status(err) == 412 and _code(err) == "PreconditionFailed"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert _status(err) == 304
    past = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"cond"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert _status(err) == 304
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert _status(err) == 412
    # If-Match true wins over If-Unmodified-Since false (RFC 9110, as S3 documents)
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=past)["Body"].read() == b"cond"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert _status(err) == 304


def test_conditional_writes(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="once", Body=b"v1", IfNoneMatch="*")["ETag"]
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="once", Body=b"v2", IfNoneMatch="*")
    assert _status(err) == 412
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="once", Body=b"v2", IfMatch='"deadbeef"')
    assert _status(err) == 412
    s3.put_object(Bucket=bucket, Key="once", Body=b"v3", IfMatch=first)
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"v3"
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="never-written", Body=b"v", IfMatch=first)
    assert _code(err) == "NoSuchKey"


def test_content_md5(s3: Any, bucket: str) -> None:
    body = b"integrity"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="md5", Body=body, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"tampered", ContentMD5=bad)
    assert _code(err) == "BadDigest"
    assert s3.get_object(Bucket=bucket, Key="md5")["Body"].read() == body
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="md5", Body=body, ContentMD5="not-base64!")
    assert _code(err) == "InvalidDigest"


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256", "CRC32C", "CRC64NVME"])
def test_flexible_checksums_stored_and_returned(s3: Any, bucket: str, algorithm: str) -> None:
    from miniaws.core.checksums import new_hasher

    body = os.urandom(5000)
    hasher = new_hasher(algorithm)
    hasher.update(body)
    expected = hasher.b64()
    put = s3.put_object(Bucket=bucket, Key=f"ck-{algorithm}", Body=body,
                        **{f"Checksum{algorithm}": expected})
    assert put[f"Checksum{algorithm}"] == expected
    got = s3.get_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert got[f"Checksum{algorithm}"] == expected
    assert got["Body"].read() == body
    head = s3.head_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected


def test_wrong_checksum_rejected_and_nothing_stored(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="keep", Body=b"original")
    wrong = base64.b64encode(b"\x00\x00\x00\x00").decode()
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="keep", Body=b"replacement", ChecksumCRC32=wrong)
    assert _code(err) == "BadDigest"
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"original"


def test_default_boto3_upload_checksum(s3: Any, bucket: str) -> None:
    # current boto3 computes CRC32 by default (when_supported): the server must verify and keep it
    put = s3.put_object(Bucket=bucket, Key="default", Body=b"hello world")
    assert put.get("ChecksumCRC32")
    got = s3.get_object(Bucket=bucket, Key="default", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]


def test_upload_fileobj_and_download_fileobj(s3: Any, bucket: str, tmp_path: Any) -> None:
    import io

    data = os.urandom(9 * 1024 * 1024 + 3)  # boto3's transfer manager goes multipart at 8 MiB
    s3.upload_fileobj(io.BytesIO(data), bucket, "transfer")
    head = s3.head_object(Bucket=bucket, Key="transfer")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-2"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "transfer", out)
    assert out.getvalue() == data


def test_delete_object_and_delete_objects(s3: Any, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    assert s3.delete_object(Bucket=bucket, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["b", "c", "zz"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
    assert "Deleted" not in quiet


def test_delete_objects_limit(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})
    assert _code(err) == "MalformedXML"


def test_copy_object_metadata_directive(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/plain", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"a": "1"} and head["ContentType"] == "text/plain"
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="application/json")
    head2 = s3.head_object(Bucket=bucket, Key="dst2")
    assert head2["Metadata"] == {"b": "2"} and head2["ContentType"] == "application/json"
    assert s3.get_object(Bucket=bucket, Key="dst2")["Body"].read() == b"copy me"
    # deleting the source must not affect copies (bodies are shared, reference-counted)
    s3.delete_object(Bucket=bucket, Key="src")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"copy me"


def test_copy_to_itself_requires_change(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert _code(err) == "InvalidRequest"
    s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"touched": "yes"})
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"touched": "yes"}


def test_conditional_copy(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"x")["ETag"]
    s3.copy_object(Bucket=bucket, Key="ok", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="no", CopySource={"Bucket": bucket, "Key": "src"},
                       CopySourceIfNoneMatch=etag)
    assert _status(err) == 412
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="no", CopySource={"Bucket": bucket, "Key": "missing"})
    assert _code(err) == "NoSuchKey"


def test_copy_large_file_body_across_buckets(s3: Any, bucket: str) -> None:
    other = bucket + "-2"
    s3.create_bucket(Bucket=other)
    data = os.urandom(200_000)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    s3.copy_object(Bucket=other, Key="big-copy", CopySource={"Bucket": bucket, "Key": "big"})
    s3.put_object(Bucket=bucket, Key="big", Body=b"overwritten")
    assert s3.get_object(Bucket=other, Key="big-copy")["Body"].read() == data


def test_overwrite_replaces_and_frees(s3: Any, bucket: str) -> None:
    for i in range(3):
        s3.put_object(Bucket=bucket, Key="same", Body=os.urandom(100_000) + bytes([i]))
    body = s3.get_object(Bucket=bucket, Key="same")["Body"].read()
    assert body[-1] == 2


@pytest.mark.parametrize("size", [1024, 300 * 1024])  # stored inline (read whole) and as a file (streamed)
def test_a_body_cut_short_stores_nothing(s3: Any, bucket: str, endpoint: str, size: int) -> None:
    """The client announces `size` bytes, sends half and closes: no object, and the old one is untouched."""
    import socket
    import time
    from urllib.parse import urlsplit
    s3.put_object(Bucket=bucket, Key="cut", Body=b"old")
    url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "cut"}))
    head = (f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {size}\r\n\r\n").encode()
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(head + os.urandom(size // 2))
        time.sleep(0.05)
    for _ in range(50):  # the server notices the close, then the object must still be the old one
        assert s3.get_object(Bucket=bucket, Key="cut")["Body"].read() == b"old"
        time.sleep(0.01)
