"""rest-xml responses and errors: we serialize, botocore parses back the same dict."""
from __future__ import annotations

from typing import Any

import pytest

from miniaws.core.errors import AwsError, InternalFailure
from miniaws.protocols import rest_xml
from miniaws.protocols.shapes import iso8601
from miniaws.protocols.xml import parse
from miniaws.services.s3._spec import SPEC as S3

from .conftest import Oracle

T1 = 1_700_000_000.0
T2 = 1_234_567_890.123
OWNER = {"ID": "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", "DisplayName": "me"}


def check(oracle: Oracle, spec: dict[str, Any], operation: str, result: dict[str, Any],
          *, status: int = 200, drop: tuple[str, ...] = ()) -> tuple[int, dict[str, str], bytes | None]:
    got_status, headers, body = rest_xml.serialize_response(spec, operation, result)
    assert got_status == status
    parsed = oracle.parse(operation, got_status, headers, body)
    for key in drop:
        parsed.pop(key, None)
    assert parsed == result
    return got_status, headers, body


def test_list_objects_v2(s3: Oracle) -> None:
    result = {
        "IsTruncated": True, "Name": "bucket", "Prefix": "photos/", "Delimiter": "/", "MaxKeys": 2,
        "EncodingType": "url", "KeyCount": 3, "ContinuationToken": "c", "NextContinuationToken": "n",
        "StartAfter": "photos/a",
        "Contents": [
            {"Key": "photos/a&b.jpg", "LastModified": T1, "ETag": '"d41d8cd98f00b204e9800998ecf8427e"',
             "ChecksumAlgorithm": ["CRC32", "SHA256"], "ChecksumType": "FULL_OBJECT", "Size": 0,
             "StorageClass": "STANDARD", "Owner": OWNER},
            {"Key": "photos/<b>\r\n.jpg", "LastModified": T2, "ETag": '"x"', "Size": 5 * 2**40,
             "StorageClass": "GLACIER", "RestoreStatus": {"IsRestoreInProgress": False}},
        ],
        "CommonPrefixes": [{"Prefix": "photos/2023/"}, {"Prefix": "photos/2024/"}],
    }
    _, headers, body = check(s3, S3, "ListObjectsV2", result)
    assert headers["Content-Type"] == "application/xml"
    assert body is not None and body.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')
    assert b"<LastModified>2009-02-13T23:31:30.123Z</LastModified>" in body


def test_preformatted_timestamps_pass_through(s3: Oracle) -> None:
    result = {"Name": "b", "Contents": [{"Key": "k", "LastModified": iso8601(T2), "Size": 1}]}
    _, _, body = rest_xml.serialize_response(S3, "ListObjectsV2", result)
    assert body is not None and b"<LastModified>2009-02-13T23:31:30.123Z</LastModified>" in body
    parsed = s3.parse("ListObjectsV2", 200, {}, body)
    assert parsed["Contents"][0]["LastModified"] == pytest.approx(T2)


def test_empty_listing_and_none_members(s3: Oracle) -> None:
    result = {"Name": "b", "Prefix": "", "KeyCount": 0, "MaxKeys": 1000, "IsTruncated": False}
    check(s3, S3, "ListObjectsV2", {**result})
    _, _, body = rest_xml.serialize_response(S3, "ListObjectsV2", {**result, "Delimiter": None})
    assert body is not None and b"Delimiter" not in body


def test_list_objects_v1(s3: Oracle) -> None:
    check(s3, S3, "ListObjects", {"IsTruncated": False, "Marker": "", "NextMarker": "n", "Name": "b",
                                  "Contents": [{"Key": "k", "LastModified": T1, "Size": 1, "Owner": OWNER}],
                                  "CommonPrefixes": [{"Prefix": "p/"}], "MaxKeys": 1000})


def test_list_buckets(s3: Oracle) -> None:
    _, _, body = check(s3, S3, "ListBuckets", {
        "Buckets": [{"Name": "a", "CreationDate": T1, "BucketRegion": "us-east-1"}, {"Name": "b", "CreationDate": T2}],
        "Owner": OWNER, "ContinuationToken": "t", "Prefix": "p"})
    assert body is not None and b"<ListAllMyBucketsResult xmlns=" in body and b"<Buckets><Bucket><Name>a" in body


def test_get_object_headers(s3: Oracle) -> None:
    result = {
        "DeleteMarker": False, "AcceptRanges": "bytes", "LastModified": T1, "ContentLength": 100,
        "ETag": '"abc"', "ChecksumCRC32": "NhCmhg==", "ChecksumType": "FULL_OBJECT", "VersionId": "v1",
        "CacheControl": "no-cache", "ContentDisposition": "attachment; filename=\"a.txt\"",
        "ContentEncoding": "gzip", "ContentLanguage": "en", "ContentRange": "bytes 0-99/1000",
        "ContentType": "text/plain", "Metadata": {"color": "blue", "empty": ""}, "StorageClass": "STANDARD_IA",
        "PartsCount": 3, "TagCount": 2, "ObjectLockRetainUntilDate": T1, "BucketKeyEnabled": True,
        "MissingMeta": 1, "ServerSideEncryption": "AES256",
    }
    status, headers, body = rest_xml.serialize_response(S3, "GetObject", {**result, "Body": object()})
    assert body is None and status == 200
    assert headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert headers["x-amz-object-lock-retain-until-date"] == "2023-11-14T22:13:20.000Z"  # shape says iso8601
    assert headers["x-amz-meta-color"] == "blue" and headers["x-amz-delete-marker"] == "false"
    parsed = s3.parse("GetObject", status, headers, body)
    parsed.pop("Body")
    assert parsed == result


def test_status_code_member_and_text_payload(oracle: Any, s3: Oracle) -> None:
    # no rest-xml operation binds the status code; Lambda's Invoke (rest-json) does, and the header half
    # of the REST binding is shared
    from miniaws.protocols.rest import RestOutput
    from miniaws.protocols.shapes import compiled

    spec = oracle("lambda").spec("Invoke")
    output = RestOutput(compiled(spec), spec["operations"]["Invoke"]["output"], 200)
    assert output.head({"StatusCode": 202, "FunctionError": "Unhandled", "Payload": b"{}"}) == (
        202, {"X-Amz-Function-Error": "Unhandled"})
    # a non-streaming string payload is the whole body (GetBucketPolicy returns the JSON document)
    spec = s3.spec("GetBucketPolicy")
    assert rest_xml.serialize_response(spec, "GetBucketPolicy", {"Policy": '{"Version":"2012-10-17"}'}) == (
        200, {}, b'{"Version":"2012-10-17"}')


def test_head_and_put_and_delete(s3: Oracle) -> None:
    check(s3, S3, "HeadObject", {"ContentLength": 0, "ETag": '"e"', "LastModified": T1, "Metadata": {},
                                 "ContentType": "binary/octet-stream", "ArchiveStatus": "ARCHIVE_ACCESS"})
    status, headers, body = rest_xml.serialize_response(S3, "PutObject", {"ETag": '"e"', "VersionId": "v"})
    assert (status, body) == (200, None) and headers == {"ETag": '"e"', "x-amz-version-id": "v"}
    check(s3, S3, "DeleteObject", {"DeleteMarker": True, "VersionId": "v"}, status=204)
    assert rest_xml.serialize_response(S3, "DeleteBucket", {}) == (204, {}, None)
    assert rest_xml.serialize_response(S3, "AbortMultipartUpload", {}) == (204, {}, None)
    check(s3, S3, "HeadBucket", {"BucketRegion": "eu-west-1", "AccessPointAlias": False})
    check(s3, S3, "CreateBucket", {"Location": "/b", "BucketArn": "arn:aws:s3:::b"})


def test_multipart(s3: Oracle) -> None:
    _, _, body = check(s3, S3, "CreateMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u-1",
                                                        "ChecksumAlgorithm": "CRC32", "AbortDate": T1})
    assert body is not None and b"<InitiateMultipartUploadResult xmlns=" in body
    check(s3, S3, "UploadPart", {"ETag": '"p"', "ChecksumCRC32": "AAAAAA=="})
    _, _, body = check(s3, S3, "CompleteMultipartUpload", {
        "Location": "http://b.s3.localhost/k", "Bucket": "b", "Key": "k", "ETag": '"abc-2"',
        "ChecksumCRC32": "AAAAAA==", "ChecksumType": "COMPOSITE", "VersionId": "v", "Expiration": "x"})
    assert body is not None and b"<CompleteMultipartUploadResult xmlns=" in body
    check(s3, S3, "UploadPartCopy", {"CopyPartResult": {"ETag": '"e"', "LastModified": T1},
                                     "CopySourceVersionId": "sv"})
    _, _, body = check(s3, S3, "ListParts", {
        "Bucket": "b", "Key": "k", "UploadId": "u", "PartNumberMarker": 0, "NextPartNumberMarker": 2,
        "MaxParts": 2, "IsTruncated": True, "StorageClass": "STANDARD", "ChecksumAlgorithm": "CRC32",
        "Parts": [{"PartNumber": 1, "LastModified": T1, "ETag": '"1"', "Size": 5 * 2**20},
                  {"PartNumber": 2, "LastModified": T2, "ETag": '"2"', "Size": 1, "ChecksumCRC32": "x=="}],
        "Initiator": {"ID": "i", "DisplayName": "d"}, "Owner": OWNER, "AbortDate": T1})
    assert body is not None and b"<ListPartsResult xmlns=" in body and body.count(b"<Part>") == 2
    _, _, body = check(s3, S3, "ListMultipartUploads", {
        "Bucket": "b", "KeyMarker": "", "UploadIdMarker": "", "NextKeyMarker": "k", "NextUploadIdMarker": "u",
        "MaxUploads": 1000, "IsTruncated": False, "Prefix": "p", "Delimiter": "/", "EncodingType": "url",
        "Uploads": [{"UploadId": "u", "Key": "k", "Initiated": T1, "StorageClass": "STANDARD",
                     "Owner": OWNER, "Initiator": OWNER, "ChecksumAlgorithm": "SHA1"}],
        "CommonPrefixes": [{"Prefix": "p/x/"}]})
    assert body is not None and b"<ListMultipartUploadsResult xmlns=" in body


def test_copy_object(s3: Oracle) -> None:
    _, _, body = check(s3, S3, "CopyObject", {
        "CopyObjectResult": {"ETag": '"e"', "LastModified": T1, "ChecksumCRC32": "AAAAAA=="},
        "CopySourceVersionId": "sv", "VersionId": "v", "ServerSideEncryption": "AES256"})
    assert body is not None and body.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')


def test_delete_objects(s3: Oracle) -> None:
    _, _, body = check(s3, S3, "DeleteObjects", {
        "Deleted": [{"Key": "a"}, {"Key": "b", "VersionId": "v", "DeleteMarker": True,
                                   "DeleteMarkerVersionId": "dm"}],
        "Errors": [{"Key": "c", "Code": "AccessDenied", "Message": "Access Denied"}]})
    assert body is not None and b"<DeleteResult xmlns=" in body and b"<Error><Key>c</Key>" in body
    check(s3, S3, "DeleteObjects", {})  # quiet mode with nothing to report: an empty <DeleteResult/>


@pytest.mark.parametrize("region", ["eu-west-1", None])
def test_get_bucket_location(region: str | None) -> None:
    from botocore.handlers import parse_get_bucket_location

    status, headers, body = rest_xml.serialize_response(S3, "GetBucketLocation", {"LocationConstraint": region})
    assert status == 200 and body is not None
    assert body.endswith(b'<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                         + (region or "").encode() + b"</LocationConstraint>")

    class Response:  # what botocore's GetBucketLocation handler reads (the model cannot express this root)
        raw = True
        content = body

    parsed: dict[str, Any] = {}
    parse_get_bucket_location(parsed, Response())
    assert parsed == {"LocationConstraint": region}


class NoSuchKey(AwsError):
    status = 404
    default_message = "The specified key does not exist."


class Conflict(AwsError):
    code = "HostedZoneAlreadyExists"
    status = 409


def test_s3_error(s3: Oracle) -> None:
    error = NoSuchKey(Key="a&b.txt", headers={"x-amz-delete-marker": "true"})
    status, headers, body = rest_xml.serialize_error(S3, error, "REQ123", host_id="host/id=")
    assert status == 404
    assert headers == {"Content-Type": "application/xml", "x-amz-delete-marker": "true"}
    assert body == (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
                    b"<Message>The specified key does not exist.</Message><Key>a&amp;b.txt</Key>"
                    b"<RequestId>REQ123</RequestId><HostId>host/id=</HostId></Error>")
    parsed = s3._parser.parse({"status_code": status, "headers": {"x-amz-request-id": "REQ123"}, "body": body},
                              s3.model.operation_model("GetObject").output_shape)
    assert parsed["Error"] == {"Code": "NoSuchKey", "Message": "The specified key does not exist.", "Key": "a&b.txt"}
    assert parsed["ResponseMetadata"]["RequestId"] == "REQ123"


def test_s3_internal_error_has_no_host_unless_given() -> None:
    status, _, body = rest_xml.serialize_error(S3, InternalFailure(), "R")
    assert status == 500 and b"<HostId>" not in body and b"<Code>InternalFailure</Code>" in body


def test_route53_error_form(oracle: Any) -> None:
    r53 = oracle("route53")
    spec = r53.spec("GetHostedZone")
    status, headers, body = rest_xml.serialize_error(spec, Conflict("zone exists"), "rid")
    root = parse(body)
    assert root.tag == "ErrorResponse" and root.attrs["xmlns"] == "https://route53.amazonaws.com/doc/2013-04-01/"
    parsed = r53._parser.parse({"status_code": status, "headers": headers, "body": body},
                               r53.model.operation_model("GetHostedZone").output_shape)
    assert parsed["Error"] == {"Type": "Sender", "Code": "HostedZoneAlreadyExists", "Message": "zone exists"}
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"


def test_route53_body_without_payload(oracle: Any) -> None:
    # Route 53 requests carry members in a root named by the operation's input; responses are rooted at
    # the output shape's name, with 201 from responseCode
    r53 = oracle("route53")
    spec = r53.spec("CreateHostedZone", "ListResourceRecordSets")
    params = {"Name": "example.com.", "CallerReference": "ref-1",
              "HostedZoneConfig": {"Comment": "c", "PrivateZone": False}}
    req = r53.request("CreateHostedZone", params)
    assert rest_xml.parse_request(spec, "CreateHostedZone", {}, req.query, req.headers, req.body) == params
    result = {"HostedZone": {"Id": "/hostedzone/Z1", "Name": "example.com.", "CallerReference": "ref-1",
                             "Config": {"PrivateZone": False}, "ResourceRecordSetCount": 2},
              "ChangeInfo": {"Id": "/change/C1", "Status": "INSYNC", "SubmittedAt": T1},
              "DelegationSet": {"NameServers": ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]},
              "Location": "https://route53.amazonaws.com/2013-04-01/hostedzone/Z1"}
    _, _, body = check(r53, spec, "CreateHostedZone", result, status=201)
    assert body is not None and b'<CreateHostedZoneResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">' in body
    assert b"<NameServers><NameServer>ns-1" in body
    check(r53, spec, "ListResourceRecordSets", {
        "ResourceRecordSets": [{"Name": "a.example.com.", "Type": "A", "TTL": 60, "SetIdentifier": "w1",
                                "Weight": 10, "ResourceRecords": [{"Value": "192.0.2.1"}]}],
        "IsTruncated": False, "MaxItems": "100"})
