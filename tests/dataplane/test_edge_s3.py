"""The edge in front of S3 (read in-process, no HTTP hop) and its routing: default root object, origin path, objects
too large to cache, SPA-style custom errors, behaviours by path pattern, aliases, viewer protocol policy, methods,
response headers policies; and origin access control reading a private bucket with auth enforced."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import make_client
from tests.dataplane.edge_support import (CACHING_OPTIMIZED, Edge, Origin, Reply, custom_origin, legacy,
                                          s3_origin)

SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
CORS_WITH_PREFLIGHT = "5cc3b908-e619-4b99-88e5-2cf7f45965bd"
MAX_OBJECT = 200_000


@pytest.fixture(scope="module")
def edge() -> Iterator[Edge]:
    handle = Edge(edge_max_object_bytes=MAX_OBJECT)
    yield handle
    handle.stop()


@pytest.fixture
def bucket(edge: Edge) -> str:
    name = f"site-{uuid.uuid4().hex[:12]}"
    edge.s3.create_bucket(Bucket=name)
    return name


def optimized(target: str = "s3", **extra: Any) -> dict[str, Any]:
    return {"TargetOriginId": target, "CachePolicyId": CACHING_OPTIMIZED, **extra}


def test_s3_origin_with_default_root_object_and_origin_path(edge: Edge, bucket: str) -> None:
    edge.s3.put_object(Bucket=bucket, Key="prod/index.html", Body=b"<h1>home</h1>", ContentType="text/html",
                       CacheControl="max-age=300", Metadata={"build": "42"})
    edge.s3.put_object(Bucket=bucket, Key="prod/docs/index.html", Body=b"docs")
    ident, host = edge.distribution([s3_origin(bucket, OriginPath="/prod")], optimized(),
                                    DefaultRootObject="index.html")
    status, headers, body = edge.get(host, "/", method="HEAD")  # a HEAD miss goes to S3 as HEAD
    assert (status, body, headers["Content-Length"], headers["X-Cache"]) == (200, b"", "13", "Miss from cloudfront")
    status, headers, body = edge.get(host, "/")
    assert (status, body) == (200, b"<h1>home</h1>")
    assert headers["Content-Type"] == "text/html" and headers["Cache-Control"] == "max-age=300"
    assert headers["x-amz-meta-build"] == "42" and headers["Server"] == "AmazonS3"
    assert headers["ETag"].startswith('"')
    # the same object by its own name shares the cache entry; subdirectories get no default object
    assert edge.get(host, "/index.html")[1]["X-Cache"] == "Hit from cloudfront"
    status, _headers, body = edge.get(host, "/docs/")
    assert status in (403, 404) and b"<Error>" in body
    status, headers, body = edge.get(host, "/", method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", "13")
    assert edge.stats(ident)["origin_fetches"] == 3


def test_missing_key_is_an_s3_error_and_spa_errors_map_to_the_shell(edge: Edge, bucket: str) -> None:
    edge.s3.put_object(Bucket=bucket, Key="index.html", Body=b"<div id=app>", ContentType="text/html")
    _, host = edge.distribution([s3_origin(bucket)], optimized(), CustomErrorResponses={"Quantity": 2, "Items": [
        {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10},
        {"ErrorCode": 404, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]})
    status, headers, body = edge.get(host, "/users/42/settings")
    assert (status, body, headers["Content-Type"]) == (200, b"<div id=app>", "text/html")
    _, plain = edge.distribution([s3_origin(bucket)], optimized())
    status, headers, body = edge.get(plain, "/nope.txt")
    assert status == 404 and b"<Code>NoSuchKey</Code>" in body and headers["X-Cache"] == "Error from cloudfront"


def test_objects_in_files_and_objects_too_large_to_cache(edge: Edge, bucket: str) -> None:
    medium = bytes(range(256)) * 600  # 153,600 bytes: stored in a file, still cacheable
    large = bytes(range(251)) * 1200  # 301,200 bytes: over edge_max_object_bytes, streamed through
    edge.s3.put_object(Bucket=bucket, Key="medium.bin", Body=medium)
    edge.s3.put_object(Bucket=bucket, Key="large.bin", Body=large)
    ident, host = edge.distribution([s3_origin(bucket)], optimized())
    assert edge.get(host, "/medium.bin")[2] == medium
    status, headers, body = edge.get(host, "/medium.bin")
    assert (status, headers["X-Cache"], body) == (200, "Hit from cloudfront", medium)
    status, headers, body = edge.get(host, "/large.bin")
    assert (status, headers["X-Cache"], body) == (200, "Miss from cloudfront", large)
    status, headers, body = edge.get(host, "/large.bin", Range="bytes=300000-300009")
    assert (status, body, headers["Content-Range"]) == (206, large[300000:300010], "bytes 300000-300009/301200")
    stats = edge.stats(ident)
    assert stats["cached_objects"] == 1 and stats["origin_fetches"] == 3


def test_behaviours_by_path_pattern_aliases_and_the_path_style_fallback(edge: Edge, bucket: str) -> None:
    origin = Origin().start()
    try:
        edge.s3.put_object(Bucket=bucket, Key="img/logo.png", Body=b"png")
        edge.s3.put_object(Bucket=bucket, Key="a1.txt", Body=b"from s3")
        alias = f"www.{uuid.uuid4().hex[:8]}.example.com"
        ident, host = edge.distribution(
            [s3_origin(bucket), custom_origin(origin)], optimized(),
            CacheBehaviors={"Quantity": 2, "Items": [
                {**legacy("web"), "PathPattern": "/api/*", "ViewerProtocolPolicy": "allow-all"},
                {**legacy("web"), "PathPattern": "a?.txt", "ViewerProtocolPolicy": "allow-all"}]},
            Aliases={"Quantity": 2, "Items": [alias, "*.wild-" + alias]})
        origin.replies["/api/users"] = Reply(body=b"users")
        origin.replies["/a1.txt"] = Reply(body=b"from the custom origin")
        assert edge.get(host, "/api/users")[2] == b"users"
        assert edge.get(host, "/a1.txt")[2] == b"from the custom origin"  # `?` is one character
        assert edge.get(alias, "/img/logo.png")[2] == b"png"
        assert edge.get(alias.upper() + ":8080", "/img/logo.png")[1]["X-Cache"] == "Hit from cloudfront"
        assert edge.get("cdn.wild-" + alias, "/img/logo.png")[0] == 200
        assert edge.get("localhost", f"/_distribution/{ident}/img/logo.png")[2] == b"png"
        status, headers, body = edge.get("nobody.example.com", "/img/logo.png")
        assert status == 403 and b"The request could not be satisfied" in body
        assert headers["X-Cache"] == "Error from cloudfront"
    finally:
        origin.stop()


def test_viewer_protocol_policy_and_methods(edge: Edge, bucket: str) -> None:
    edge.s3.put_object(Bucket=bucket, Key="page.html", Body=b"page")
    _, host = edge.distribution([s3_origin(bucket)], optimized(ViewerProtocolPolicy="redirect-to-https"),
                                CacheBehaviors={"Quantity": 1, "Items": [
                                    {**optimized(), "PathPattern": "/secure/*", "ViewerProtocolPolicy": "https-only"}]})
    status, headers, _ = edge.get(host, "/page.html?x=1", X_Forwarded_Proto="http")
    assert (status, headers["Location"], headers["X-Cache"]) == (301, f"https://{host}/page.html?x=1",
                                                                 "Redirect from cloudfront")
    assert edge.get(host, "/secure/a", X_Forwarded_Proto="http")[0] == 403
    assert edge.get(host, "/page.html")[0] == 200  # the listener stands in for HTTPS
    status, _headers, body = edge.get(host, "/page.html", method="POST", body=b"x")
    assert status == 403 and b"not configured to allow the HTTP request method" in body


def test_disabled_distributions_refuse(edge: Edge, bucket: str) -> None:
    ident, host = edge.distribution([s3_origin(bucket)], optimized())
    config = edge.cf.get_distribution_config(Id=ident)
    body = config["DistributionConfig"]
    body["Enabled"] = False
    edge.cf.update_distribution(Id=ident, DistributionConfig=body, IfMatch=config["ETag"])
    assert edge.get(host, "/x")[0] == 403


def test_response_headers_policies(edge: Edge, bucket: str) -> None:
    edge.s3.put_object(Bucket=bucket, Key="app.js", Body=b"js", ContentType="application/javascript")
    _, host = edge.distribution([s3_origin(bucket)], optimized(ResponseHeadersPolicyId=SECURITY_HEADERS),
                                CacheBehaviors={"Quantity": 1, "Items": [
                                    {**optimized(), "PathPattern": "/cors/*", "ViewerProtocolPolicy": "allow-all",
                                     "ResponseHeadersPolicyId": CORS_WITH_PREFLIGHT,
                                     "AllowedMethods": {"Quantity": 3, "Items": ["GET", "HEAD", "OPTIONS"]}}]})
    headers = edge.get(host, "/app.js")[1]
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    edge.s3.put_object(Bucket=bucket, Key="cors/data.json", Body=b"{}", ContentType="application/json")
    headers = edge.get(host, "/cors/data.json", Origin="https://app.example.com")[1]
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = edge.get(host, "/cors/data.json", method="OPTIONS", Origin="https://app.example.com",
                                  Access_Control_Request_Method="PUT")
    assert status == 200 and "PUT" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Max-Age"] == "600"


# ------------------------------------------------------------------------------- auth enforced: OAC
OWNER = ("AKIDOWNER0000000", "owner-secret")


@pytest.fixture(scope="module")
def enforced() -> Iterator[Edge]:
    handle = Edge(auth="enforce", credentials=f"{OWNER[0]}:{OWNER[1]}")
    handle.cf = make_client(handle.thread.endpoint_url, "cloudfront", aws_access_key_id=OWNER[0],
                            aws_secret_access_key=OWNER[1])
    handle.s3 = make_client(handle.thread.endpoint_url, "s3", aws_access_key_id=OWNER[0],
                            aws_secret_access_key=OWNER[1])
    yield handle
    handle.stop()


def _oac_policy(bucket: str, distribution_arn: str, list_bucket: bool = False) -> str:
    statements: list[dict[str, Any]] = [{
        "Sid": "AllowCloudFrontServicePrincipal", "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}}]
    if list_bucket:
        statements.append({**statements[0], "Sid": "List", "Action": "s3:ListBucket",
                           "Resource": f"arn:aws:s3:::{bucket}"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_oac_reads_a_private_bucket_that_anonymous_requests_cannot(enforced: Edge) -> None:
    bucket = f"private-{uuid.uuid4().hex[:12]}"
    enforced.s3.create_bucket(Bucket=bucket)
    enforced.s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"for cloudfront only")
    oac = enforced.cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": f"oac-{bucket}", "SigningProtocol": "sigv4", "SigningBehavior": "always",
        "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
    with_oac, host = enforced.distribution([s3_origin(bucket, OriginAccessControlId=oac)], optimized())
    other, other_host = enforced.distribution([s3_origin(bucket, OriginAccessControlId=oac)], optimized())
    _, anonymous_host = enforced.distribution([s3_origin(bucket)], optimized())
    arn = enforced.cf.get_distribution(Id=with_oac)["Distribution"]["ARN"]

    assert enforced.get(host, "/secret.txt")[0] == 403  # no bucket policy for CloudFront yet
    enforced.s3.put_bucket_policy(Bucket=bucket, Policy=_oac_policy(bucket, arn))
    enforced.invalidate(with_oac, "/*")
    status, _headers, body = enforced.get(host, "/secret.txt")
    assert (status, body) == (200, b"for cloudfront only")
    # direct, unsigned S3 access is still denied
    with pytest.raises(urllib.error.HTTPError) as direct:
        urllib.request.urlopen(f"{enforced.thread.endpoint_url}/{bucket}/secret.txt")
    assert direct.value.code == 403
    direct.value.close()
    # the policy names one distribution's ARN; another OAC distribution and an origin without OAC are refused
    assert enforced.get(other_host, "/secret.txt")[0] == 403
    status, _headers, body = enforced.get(anonymous_host, "/secret.txt")
    assert status == 403 and b"AccessDenied" in body
    # without s3:ListBucket a missing key is 403, with it 404 (S3's rule)
    assert enforced.get(host, "/missing.txt")[0] == 403
    enforced.s3.put_bucket_policy(Bucket=bucket, Policy=_oac_policy(bucket, arn, list_bucket=True))
    assert enforced.get(host, "/missing-too.txt")[0] == 404
    assert other  # created to prove the SourceArn condition
