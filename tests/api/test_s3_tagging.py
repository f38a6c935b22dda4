"""Object and bucket tagging, and GetObjectAttributes, through boto3."""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def _tags(pairs: dict[str, str]) -> dict[str, Any]:
    return {"TagSet": [{"Key": k, "Value": v} for k, v in pairs.items()]}


def test_object_tagging_round_trip(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"team": "blue", "tier": "gold"}))
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == _tags({"team": "blue", "tier": "gold"})["TagSet"]
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    assert head["ETag"] == put["ETag"]  # tagging does not change the object
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert "x-amz-tagging-count" not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    with pytest.raises(ClientError) as err:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert _error(err) == ("NoSuchKey", 404)


def test_tagging_header_on_put_copy_and_multipart(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1&b=two%20words")
    assert s3.get_object_tagging(Bucket=bucket, Key="src")["TagSet"] == _tags({"a": "1", "b": "two words"})["TagSet"]
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "src"})
    assert len(s3.get_object_tagging(Bucket=bucket, Key="copied")["TagSet"]) == 2
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="c=3")
    assert s3.get_object_tagging(Bucket=bucket, Key="replaced")["TagSet"] == [{"Key": "c", "Value": "3"}]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="m=p")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"data")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="mp")["TagSet"] == [{"Key": "m", "Value": "p"}]


@pytest.mark.parametrize("tags, code", [
    ({f"k{i}": "v" for i in range(11)}, "BadRequest"),
    ({"k" * 129: "v"}, "InvalidTag"),
    ({"k": "v" * 257}, "InvalidTag"),
    ({"aws:reserved": "v"}, "InvalidTag"),
])
def test_object_tag_limits(s3: Any, bucket: str, tags: dict[str, str], code: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags(tags))
    assert _error(err) == (code, 400)
    with pytest.raises(ClientError) as err:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"},
                                                                           {"Key": "a", "Value": "2"}]})
    assert _error(err) == ("InvalidTag", 400)


def test_tags_follow_versions(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1", Tagging="v=1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    got = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert got["TagSet"] == [{"Key": "v", "Value": "1"}] and got["VersionId"] == v1
    assert s3.put_object_tagging(Bucket=bucket, Key="k", Tagging=_tags({"now": "2"}))["VersionId"] == v2
    assert s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["TagSet"] == [{"Key": "v", "Value": "1"}]


def test_bucket_tagging(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(err) == ("NoSuchTagSet", 404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags({f"k{i}": str(i) for i in range(50)}))
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50
    with pytest.raises(ClientError) as err:
        s3.put_bucket_tagging(Bucket=bucket, Tagging=_tags({f"k{i}": str(i) for i in range(51)}))
    assert _error(err)[1] == 400
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(err) == ("NoSuchTagSet", 404)


def test_get_object_attributes(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="single", Body=b"hello", ChecksumAlgorithm="SHA256")
    got = s3.get_object_attributes(Bucket=bucket, Key="single",
                                   ObjectAttributes=["ETag", "Checksum", "ObjectSize", "StorageClass"])
    assert got["ETag"] == put["ETag"].strip('"') and got["ObjectSize"] == 5 and got["StorageClass"] == "STANDARD"
    assert got["Checksum"]["ChecksumSHA256"] == put["ChecksumSHA256"]
    assert "ObjectParts" not in got and got["LastModified"]

    upload = s3.create_multipart_upload(Bucket=bucket, Key="multi")["UploadId"]
    first = s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload, PartNumber=1, Body=b"a" * 5 * 1024 * 1024)
    second = s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload, PartNumber=2, Body=b"tail")
    s3.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]})
    parts = s3.get_object_attributes(Bucket=bucket, Key="multi", ObjectAttributes=["ObjectParts"],
                                     MaxParts=1)["ObjectParts"]
    assert parts["TotalPartsCount"] == 2 and parts["IsTruncated"] is True
    assert parts["Parts"] == [{"PartNumber": 1, "Size": 5 * 1024 * 1024}]
    rest = s3.get_object_attributes(Bucket=bucket, Key="multi", ObjectAttributes=["ObjectParts"],
                                    PartNumberMarker=parts["NextPartNumberMarker"])["ObjectParts"]
    assert rest["Parts"] == [{"PartNumber": 2, "Size": 4}] and rest["IsTruncated"] is False
