"""S3 as a CloudFront origin: the one small interface the edge reads objects through, in-process (no HTTP hop).

    S3Origin(s3_service).read_for_origin(bucket, key, method=, range=, conditions=, source_arn=, oai=)
        -> (status, headers, bytes | a stream with content_length and chunks())

Who is asking decides access, as in AWS (Developer Guide, "Restrict access to an Amazon S3 origin"): a request signed
by an origin access control comes from the service principal `cloudfront.amazonaws.com`, which the bucket policy must
allow (usually with `aws:SourceArn` = the distribution's ARN); a legacy origin access identity is the principal
`arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity <id>`; without either the request is anonymous. With
auth off every read is allowed, as for any other S3 request. A missing key is 404 only for a caller that may list the
bucket, else 403 (S3's rule, which is why SPAs map 403 to /index.html).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from miniaws.core.context import Principal, RequestContext
from miniaws.core.errors import AwsError
from miniaws.core.ids import host_id, s3_request_id
from miniaws.protocols import rest_xml
from miniaws.services.s3 import body as bodies
from miniaws.services.s3._spec import SPEC
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.conditions import check_read, parse_range
from miniaws.services.s3.errors import AccessDenied, MethodNotAllowed, NoSuchBucket, NoSuchKey, NotModified
from miniaws.services.s3.models import Bucket, S3Object
from miniaws.services.s3.policy import glob_match

CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"
#: stored object attributes → the response headers S3 sends for them
_CONTENT_HEADERS = {"CacheControl": "Cache-Control", "ContentDisposition": "Content-Disposition",
                    "ContentEncoding": "Content-Encoding", "ContentLanguage": "Content-Language",
                    "Expires": "Expires", "WebsiteRedirectLocation": "x-amz-website-redirect-location"}
#: condition operators the CloudFront statements of bucket policies use (for aws:SourceArn / aws:SourceAccount)
_MATCHERS = {
    "stringequals": lambda actual, expected: actual == expected,
    "stringequalsignorecase": lambda actual, expected: actual.lower() == expected.lower(),
    "stringlike": lambda actual, expected: glob_match(expected, actual),
    "arnequals": lambda actual, expected: actual == expected,
    "arnlike": lambda actual, expected: glob_match(expected, actual),
}


class S3Origin:
    def __init__(self, s3: S3Base) -> None:
        self.s3 = s3

    def read_for_origin(self, bucket: str, key: str, *, method: str = "GET", range: str | None = None,
                        conditions: Mapping[str, str] | None = None, source_arn: str | None = None,
                        oai: str | None = None) -> tuple[int, dict[str, str], Any]:
        """(status, headers, body) as S3 would answer CloudFront's GET/HEAD for `key`; the body is bytes, or a
        stream (content_length, chunks()) for objects stored in files."""
        try:
            return self._read(bucket, key, method, range, conditions or {}, source_arn, oai)
        except NotModified as err:
            return 304, {"Server": "AmazonS3", **err.headers}, b""
        except AwsError as err:
            status, headers, body = rest_xml.serialize_error(SPEC, err, s3_request_id(), host_id=host_id())
            headers["Server"] = "AmazonS3"
            return status, headers, b"" if method == "HEAD" else body

    def _read(self, name: str, key: str, method: str, range_header: str | None, conditions: Mapping[str, str],
              source_arn: str | None, oai: str | None) -> tuple[int, dict[str, str], Any]:
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed(Method=method, ResourceType="OBJECT")
        bucket = self.s3.store.buckets.get(name)
        if bucket is None:
            raise NoSuchBucket(BucketName=name)
        current = bucket.current(key)
        obj = current if current is not None and not current.delete_marker else None
        if not self._allowed(bucket, key, obj, "s3:GetObject", source_arn, oai):
            raise AccessDenied()
        if obj is None:
            if self._allowed(bucket, None, None, "s3:ListBucket", source_arn, oai):
                raise NoSuchKey(Key=key)
            raise AccessDenied()
        check_read(obj, conditions.get("If-Match"), conditions.get("If-None-Match"),
                   conditions.get("If-Modified-Since"), conditions.get("If-Unmodified-Since"))
        span = parse_range(range_header, obj.size)
        start, length = (0, obj.size) if span is None else span
        headers = _headers(bucket, obj)
        headers["Content-Length"] = str(length)
        status = 200
        if span is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{obj.size}"
        if method == "HEAD":
            return status, headers, b""
        small = bodies.read_small(self.s3.blobs, obj.segments, start, length)
        if small is not None:
            return status, headers, small
        return status, headers, bodies.SegmentStream(self.s3.blobs, obj.segments, start, length)

    # -- who may read ------------------------------------------------------------------------------
    def _allowed(self, bucket: Bucket, key: str | None, obj: S3Object | None, action: str, source_arn: str | None,
                 oai: str | None) -> bool:
        if not self.s3.enforce:
            return True
        resource = f"arn:aws:s3:::{bucket.name}" + (f"/{key}" if key is not None else "")
        if source_arn is not None or oai is not None:
            return _policy_allows_cloudfront(bucket.policy, action, resource, source_arn, oai)
        ctx = RequestContext("s3", "GetObject" if key is not None else "ListObjects", bucket.account_id,
                             bucket.region, s3_request_id(), self.s3.clock, Principal(None, bucket.account_id))
        try:
            self.s3.authorize(ctx, bucket, key=key, obj=obj, action=action)
        except AccessDenied:
            return False
        return True


def _headers(bucket: Bucket, obj: S3Object) -> dict[str, str]:
    headers = {"ETag": obj.etag, "Last-Modified": obj.last_modified_http, "Content-Type": obj.content_type,
               "Accept-Ranges": "bytes", "Server": "AmazonS3"}
    encryption = obj.encryption or {"ServerSideEncryption": "AES256"}
    headers["x-amz-server-side-encryption"] = str(encryption.get("ServerSideEncryption", "AES256"))
    for member, header in _CONTENT_HEADERS.items():
        value = obj.content.get(member)
        if value is not None:
            headers[header] = value
    for name, value in obj.metadata.items():
        headers["x-amz-meta-" + name] = value
    if bucket.versioning is not None:
        headers["x-amz-version-id"] = obj.version_id
    return headers


def _policy_allows_cloudfront(document: str | None, action: str, resource: str, source_arn: str | None,
                              oai: str | None) -> bool:
    """Does the bucket policy let CloudFront (an OAC's service principal, or an OAI) perform `action`? An explicit
    Deny that applies wins; conditions on keys other than aws:SourceArn / aws:SourceAccount never hold."""
    if not document:
        return False
    try:
        statements = orjson.loads(document).get("Statement", [])
    except (orjson.JSONDecodeError, AttributeError):
        return False
    if isinstance(statements, dict):
        statements = [statements]
    account = source_arn.split(":")[4] if source_arn and source_arn.count(":") >= 5 else None
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or not _principal_matches(statement.get("Principal"), oai):
            continue
        if not _any_match(statement.get("Action"), action, ignore_case=True):
            continue
        if not _any_match(statement.get("Resource"), resource, ignore_case=False):
            continue
        if not _conditions_hold(statement.get("Condition") or {}, source_arn, account):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def _principal_matches(principal: Any, oai: str | None) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        for value in values if isinstance(values, list) else [values]:
            if value == "*" and kind == "AWS":
                return True
            if kind == "Service" and oai is None and value == CLOUDFRONT_SERVICE:
                return True
            if kind == "AWS" and oai is not None and str(value).endswith(f"CloudFront Origin Access Identity {oai}"):
                return True
    return False


def _any_match(patterns: Any, value: str, ignore_case: bool) -> bool:
    for pattern in patterns if isinstance(patterns, list) else [patterns]:
        if isinstance(pattern, str) and glob_match(pattern, value, ignore_case=ignore_case):
            return True
    return False


def _conditions_hold(block: Any, source_arn: str | None, account: str | None) -> bool:
    if not isinstance(block, dict):
        return False
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": account}
    for operator, tests in block.items():
        name = str(operator).lower()
        if_exists = name.endswith("ifexists")
        name = name.removesuffix("ifexists")
        if not isinstance(tests, dict):
            return False
        for key, expected in tests.items():
            actual = context.get(str(key).lower())
            matcher = _MATCHERS.get(name)
            if actual is None:
                if if_exists:
                    continue
                return False
            if matcher is None:
                return False
            values = expected if isinstance(expected, list) else [expected]
            if not any(matcher(actual, str(v)) for v in values):
                return False
    return True
