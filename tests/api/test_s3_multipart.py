"""Multipart uploads through boto3: composite ETags, part rules, copies, listings, checksums."""
from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

MIB = 1024 * 1024


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_complete_composite_etag_and_body(s3: Any, bucket: str) -> None:
    parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(1234)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="video/mp4", Metadata={"x": "y"})
    uid = upload["UploadId"]
    etags = []
    for number, data in enumerate(parts_data, start=1):
        etags.append(s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=number, Body=data)["ETag"])
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    assert [p["Size"] for p in listed["Parts"]] == [len(d) for d in parts_data]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
    expected = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest() + "-3"
    assert done["ETag"] == f'"{expected}"'
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == b"".join(parts_data)
    assert got["ContentType"] == "video/mp4" and got["Metadata"] == {"x": "y"}
    assert got["PartsCount"] == 3
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == parts_data[1]
    with pytest.raises(ClientError) as err:
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)
    assert _code(err) == "NoSuchUpload"


def test_small_non_last_part_is_rejected(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=1, Body=b"a" * 100)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=2, Body=b"b" * 100)["ETag"]
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert _code(err) == "EntityTooSmall"
    # a single small part is fine (it is the last one)
    s3.complete_multipart_upload(Bucket=bucket, Key="small", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]})
    assert s3.get_object(Bucket=bucket, Key="small")["Body"].read() == b"a" * 100


def test_invalid_part_and_order(s3: Any, bucket: str) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="bad", UploadId=uid, PartNumber=1, Body=b"x" * 10)["ETag"]
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000"'}]})
    assert _code(err) == "InvalidPart"
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e1},
                                                                {"PartNumber": 1, "ETag": e1}]})
    assert _code(err) == "InvalidPartOrder"
    with pytest.raises(ClientError) as err:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId=uid, PartNumber=10001, Body=b"x")
    assert _code(err) == "InvalidArgument"
    with pytest.raises(ClientError) as err:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId="nope", PartNumber=1, Body=b"x")
    assert _code(err) == "NoSuchUpload"


def test_abort_and_list_uploads(s3: Any, bucket: str) -> None:
    ids = [s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in ("x/1", "x/2", "y")]
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["Key"] for u in listed["Uploads"]] == ["x/1", "x/2", "y"]
    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["x/"]
    assert [u["Key"] for u in grouped["Uploads"]] == ["y"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "x/1"
    s3.abort_multipart_upload(Bucket=bucket, Key="x/1", UploadId=ids[0])
    with pytest.raises(ClientError) as err:
        s3.abort_multipart_upload(Bucket=bucket, Key="x/1", UploadId=ids[0])
    assert _code(err) == "NoSuchUpload"
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == ["x/2", "y"]


def test_upload_part_copy_with_range(s3: Any, bucket: str) -> None:
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    p1 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "source"},
                             CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    assert p1["CopyPartResult"]["ETag"] == f'"{hashlib.md5(source[:5 * MIB]).hexdigest()}"'
    p2 = s3.upload_part(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=2, Body=b"tail")
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == source[:5 * MIB] + b"tail"
    with pytest.raises(ClientError) as err:
        s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange="bytes=0-99999999")
    assert _code(err) in ("InvalidArgument", "NoSuchUpload")


def test_composite_crc32_checksum(s3: Any, bucket: str) -> None:
    import zlib

    parts_data = [os.urandom(5 * MIB), os.urandom(100)]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm="CRC32")["UploadId"]
    parts = []
    for number, data in enumerate(parts_data, start=1):
        resp = s3.upload_part(Bucket=bucket, Key="ck", UploadId=uid, PartNumber=number, Body=data,
                              ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": number, "ETag": resp["ETag"], "ChecksumCRC32": resp["ChecksumCRC32"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="ck", UploadId=uid, MultipartUpload={"Parts": parts})
    raw = b"".join(zlib.crc32(d).to_bytes(4, "big") for d in parts_data)
    expected = base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    assert done["ChecksumCRC32"] == expected
    head = s3.head_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == expected


def test_full_object_crc32_checksum(s3: Any, bucket: str) -> None:
    import zlib

    parts_data = [os.urandom(5 * MIB), os.urandom(777)]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="fo", ChecksumAlgorithm="CRC32",
                                     ChecksumType="FULL_OBJECT")["UploadId"]
    parts = []
    for number, data in enumerate(parts_data, start=1):
        resp = s3.upload_part(Bucket=bucket, Key="fo", UploadId=uid, PartNumber=number, Body=data,
                              ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": number, "ETag": resp["ETag"], "ChecksumCRC32": resp["ChecksumCRC32"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="fo", UploadId=uid, MultipartUpload={"Parts": parts})
    whole = zlib.crc32(b"".join(parts_data)).to_bytes(4, "big")
    assert done["ChecksumCRC32"] == base64.b64encode(whole).decode()
    assert done["ChecksumType"] == "FULL_OBJECT"


def test_copy_of_multipart_object_gets_md5_etag(s3: Any, bucket: str) -> None:
    data = [os.urandom(5 * MIB), b"end"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp-src")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="mp-src", UploadId=uid, PartNumber=n,
                                                      Body=d)["ETag"]} for n, d in enumerate(data, start=1)]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp-src", UploadId=uid, MultipartUpload={"Parts": parts})
    copied = s3.copy_object(Bucket=bucket, Key="mp-copy", CopySource={"Bucket": bucket, "Key": "mp-src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"".join(data)).hexdigest()}"'
    assert "PartsCount" not in s3.head_object(Bucket=bucket, Key="mp-copy")
