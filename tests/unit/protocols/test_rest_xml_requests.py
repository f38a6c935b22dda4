"""rest-xml request parsing: botocore serializes S3 calls, we route and parse them back to the same params."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from multidict import CIMultiDict, MultiDict

from miniaws.core.errors import NotImplementedOperation
from miniaws.protocols import rest_xml
from miniaws.protocols.errors import InvalidArgument, MalformedXML
from miniaws.protocols.rest import RestRouter
from miniaws.services.s3._spec import SPEC as S3

from .conftest import Oracle, normalize

ROUTER = RestRouter(S3)
WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


def roundtrip(oracle: Oracle, spec: dict[str, Any], operation: str, params: dict[str, Any]) -> dict[str, Any]:
    req = oracle.request(operation, params)
    found = RestRouter(spec).match(req.method, req.path, req.first_query, req.headers)
    assert found is not None and found[0] == operation
    return rest_xml.parse_request(spec, operation, found[1], req.query, req.headers, req.body)


def expected(params: dict[str, Any], *drop: str) -> dict[str, Any]:
    out = normalize({k: v for k, v in params.items() if k not in drop})
    if "Metadata" in out:  # S3 lower-cases user metadata names
        out["Metadata"] = {k.lower(): v for k, v in out["Metadata"].items()}
    return out


CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("PutObject", {
        "Bucket": "bucket", "Key": "dir/a b+c €.txt", "Body": b"hello",
        "Metadata": {"Color": "blue", "x": "1"}, "ContentType": "text/plain", "ContentLength": 5,
        "CacheControl": "max-age=60", "ContentDisposition": "attachment", "ContentEncoding": "gzip",
        "ContentLanguage": "en", "ContentMD5": "XUFAKrxLKna5cZ2REBfFkg==", "Expires": WHEN,
        "ChecksumAlgorithm": "CRC32", "ChecksumCRC32": "NhCmhg==", "StorageClass": "STANDARD_IA",
        "Tagging": "a=b&c=d", "ServerSideEncryption": "AES256", "BucketKeyEnabled": True,
        "IfNoneMatch": "*", "ObjectLockRetainUntilDate": WHEN, "ACL": "private",
    }, ("Body",)),
    ("CopyObject", {
        "Bucket": "bucket", "Key": "dst", "CopySource": "src-bucket/src%20key?versionId=v1",
        "CopySourceIfMatch": '"etag"', "CopySourceIfNoneMatch": '"other"',
        "CopySourceIfModifiedSince": WHEN, "CopySourceIfUnmodifiedSince": WHEN,
        "MetadataDirective": "REPLACE", "Metadata": {"K": "v"}, "TaggingDirective": "COPY",
        "ContentType": "application/json",
    }, ()),
    ("UploadPart", {"Bucket": "b", "Key": "k", "UploadId": "up-1", "PartNumber": 3, "Body": b"x" * 10,
                    "ContentLength": 10, "ChecksumSHA256": "abc="}, ("Body",)),
    ("UploadPartCopy", {"Bucket": "b", "Key": "k", "UploadId": "up-1", "PartNumber": 10000,
                        "CopySource": "src/key", "CopySourceRange": "bytes=0-1048575",
                        "CopySourceIfUnmodifiedSince": WHEN}, ()),
    ("CompleteMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "up-1", "MultipartUpload": {
        "Parts": [{"ETag": '"e1"', "PartNumber": 1, "ChecksumCRC32": "AAAAAA=="},
                  {"ETag": '"e2"', "PartNumber": 2}]}, "IfNoneMatch": "*", "MpuObjectSize": 12}, ()),
    ("CreateMultipartUpload", {"Bucket": "b", "Key": "k/", "ContentType": "video/mp4",
                               "Metadata": {"a": "b"}, "ChecksumAlgorithm": "SHA256"}, ()),
    ("DeleteObjects", {"Bucket": "b", "Delete": {
        "Objects": [{"Key": "a&b<c>"}, {"Key": "v", "VersionId": "null"}, {"Key": " spaced "}],
        "Quiet": True}}, ()),
    ("CreateBucket", {"Bucket": "b", "ACL": "private", "ObjectOwnership": "BucketOwnerEnforced",
                      "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1",
                                                    "Tags": [{"Key": "k", "Value": "v"}]}}, ()),
    ("CreateBucket", {"Bucket": "b"}, ()),
    ("ListObjectsV2", {"Bucket": "b", "Delimiter": "/", "EncodingType": "url", "MaxKeys": 250,
                       "Prefix": "photos/2024/", "ContinuationToken": "tok==", "FetchOwner": True,
                       "StartAfter": "photos/2024/a", "RequestPayer": "requester",
                       "ExpectedBucketOwner": "123456789012",
                       "OptionalObjectAttributes": ["RestoreStatus"]}, ()),
    ("ListObjects", {"Bucket": "b", "Marker": "m", "MaxKeys": 0, "Prefix": "", "Delimiter": "/"}, ()),
    ("GetObject", {"Bucket": "b", "Key": "k", "Range": "bytes=0-99", "IfMatch": '"a"', "IfNoneMatch": '"b"',
                   "IfModifiedSince": WHEN, "IfUnmodifiedSince": WHEN,
                   "ResponseCacheControl": "no-cache", "ResponseContentDisposition": "inline",
                   "ResponseContentEncoding": "identity", "ResponseContentLanguage": "fr",
                   "ResponseContentType": "text/html", "ResponseExpires": WHEN, "VersionId": "v1",
                   "PartNumber": 2, "ChecksumMode": "ENABLED"}, ()),
    ("HeadObject", {"Bucket": "b", "Key": "k", "IfMatch": '"a"', "PartNumber": 1}, ()),
    ("DeleteObject", {"Bucket": "b", "Key": "k", "VersionId": "v", "BypassGovernanceRetention": False}, ()),
    ("ListParts", {"Bucket": "b", "Key": "k", "UploadId": "u", "MaxParts": 5, "PartNumberMarker": 2}, ()),
    ("ListMultipartUploads", {"Bucket": "b", "Delimiter": "/", "KeyMarker": "k", "MaxUploads": 10,
                              "Prefix": "p", "UploadIdMarker": "u", "EncodingType": "url"}, ()),
    ("AbortMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}, ()),
    ("HeadBucket", {"Bucket": "b", "ExpectedBucketOwner": "123456789012"}, ()),
    ("GetBucketLocation", {"Bucket": "b"}, ()),
    ("ListBuckets", {"MaxBuckets": 10, "ContinuationToken": "t", "Prefix": "p", "BucketRegion": "us-east-1"}, ()),
    ("DeleteBucket", {"Bucket": "b"}, ()),
]


@pytest.mark.parametrize(("operation", "params", "drop"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_s3_request_roundtrip(s3: Oracle, operation: str, params: dict[str, Any], drop: tuple[str, ...]) -> None:
    assert roundtrip(s3, S3, operation, params) == expected(params, *drop)


def test_payload_absent_when_body_empty(s3: Oracle) -> None:
    req = s3.request("CompleteMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"})
    labels = {"Bucket": "b", "Key": "k"}
    for body in (None, b""):
        params = rest_xml.parse_request(S3, "CompleteMultipartUpload", labels, req.query, req.headers, body)
        assert params == {"Bucket": "b", "Key": "k", "UploadId": "u"}


def test_query_as_plain_mapping_of_lists() -> None:
    params = rest_xml.parse_request(S3, "ListObjectsV2", {"Bucket": "b"}, {"max-keys": ["7"], "list-type": ["2"]},
                                    CIMultiDict(), None)
    assert params == {"Bucket": "b", "MaxKeys": 7}


def test_header_metadata_repeated_and_mixed_case() -> None:
    headers = CIMultiDict([("X-Amz-Meta-Name", "first"), ("x-amz-meta-name", "second"), ("X-AMZ-META-B", "")])
    params = rest_xml.parse_request(S3, "PutObject", {"Bucket": "b", "Key": "k"}, MultiDict(), headers, None)
    assert params["Metadata"] == {"name": "first", "b": ""}


@pytest.mark.parametrize(("operation", "query", "argument"), [
    ("ListObjectsV2", {"max-keys": "ten"}, "max-keys"),
    ("ListParts", {"uploadId": "u", "part-number-marker": "1.5"}, "part-number-marker"),
    ("UploadPart", {"uploadId": "u", "partNumber": "x"}, "partNumber"),
])
def test_non_integer_is_invalid_argument(operation: str, query: dict[str, str], argument: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        rest_xml.parse_request(S3, operation, {"Bucket": "b", "Key": "k"}, MultiDict(query), CIMultiDict(), None)
    assert info.value.status == 400
    assert info.value.fields == {"ArgumentName": argument, "ArgumentValue": query[argument]}


def test_bad_header_timestamp_is_ignored_like_http() -> None:
    headers = CIMultiDict({"If-Modified-Since": "yesterday", "Range": "bytes=0-1"})
    params = rest_xml.parse_request(S3, "GetObject", {"Bucket": "b", "Key": "k"}, MultiDict(), headers, None)
    assert params == {"Bucket": "b", "Key": "k", "Range": "bytes=0-1"}


@pytest.mark.parametrize("body", [
    b"<Delete><Object><Key>a</Key></Object>",  # truncated
    b"not xml at all",
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object>'
    b"<Key>&x;</Key></Object></Delete>",
    b"<Delete><Object><Key>a</Key></Object><Quiet>maybe</Quiet></Delete>",
])
def test_malformed_xml(body: bytes) -> None:
    with pytest.raises(MalformedXML) as info:
        rest_xml.parse_request(S3, "DeleteObjects", {"Bucket": "b"}, MultiDict({"delete": ""}), CIMultiDict(), body)
    assert info.value.message.startswith("The XML you provided was not well-formed")


def test_namespaced_and_prefixed_body() -> None:
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"\n  <s3:Object><s3:Key>k</s3:Key></s3:Object>\n  <s3:Quiet>true</s3:Quiet>\n</s3:Delete>")
    params = rest_xml.parse_request(S3, "DeleteObjects", {"Bucket": "b"}, MultiDict(), CIMultiDict(), body)
    assert params["Delete"] == {"Objects": [{"Key": "k"}], "Quiet": True}


def test_unimplemented_operation() -> None:
    with pytest.raises(NotImplementedOperation) as info:
        rest_xml.parse_request(S3, "PutBucketLogging", {"Bucket": "b"}, MultiDict(), CIMultiDict(), None)
    assert info.value.status == 501 and "PutBucketLogging" in info.value.message


def test_acl_body_with_xml_attribute(s3: Oracle) -> None:
    # PutObjectAcl exercises xmlAttribute + prefixed namespaces
    spec = s3.spec("PutObjectAcl", "GetObjectAttributes")
    policy = {"Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "abc", "DisplayName": "me"},
                          "Permission": "FULL_CONTROL"},
                         {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                          "Permission": "READ"}],
              "Owner": {"ID": "abc"}}
    params = {"Bucket": "b", "Key": "k", "AccessControlPolicy": policy}
    assert roundtrip(s3, spec, "PutObjectAcl", params) == params
    # a header list: x-amz-object-attributes: ETag,Checksum,ObjectSize
    params = {"Bucket": "b", "Key": "k", "ObjectAttributes": ["ETag", "Checksum", "ObjectSize"], "MaxParts": 3}
    assert roundtrip(s3, spec, "GetObjectAttributes", params) == params


def test_shape_level_element_names(s3: Oracle) -> None:
    # InventoryEncryption.SSEKMS is named by its *shape* (<SSE-KMS>), as botocore does it
    spec = s3.spec("PutBucketInventoryConfiguration", "GetBucketInventoryConfiguration")
    config = {"Id": "inv", "IsEnabled": True, "IncludedObjectVersions": "All", "Schedule": {"Frequency": "Daily"},
              "Destination": {"S3BucketDestination": {"Bucket": "arn:aws:s3:::dest", "Format": "CSV",
                                                      "Encryption": {"SSEKMS": {"KeyId": "k"}, "SSES3": {}}}},
              "OptionalFields": ["Size", "ETag"]}
    params = {"Bucket": "b", "Id": "inv", "InventoryConfiguration": config}
    req = s3.request("PutBucketInventoryConfiguration", params)
    assert req.body is not None and b"<SSE-KMS><KeyId>k</KeyId></SSE-KMS><SSE-S3" in req.body
    assert roundtrip(s3, spec, "PutBucketInventoryConfiguration", params) == params
    _, _, body = rest_xml.serialize_response(spec, "GetBucketInventoryConfiguration",
                                             {"InventoryConfiguration": config})
    assert body is not None and b"<InventoryConfiguration xmlns=" in body and b"<SSE-KMS>" in body
    assert s3.parse("GetBucketInventoryConfiguration", 200, {}, body) == {"InventoryConfiguration": config}
