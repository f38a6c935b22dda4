"""Static website hosting: the website configuration through boto3, pages through the website endpoint
(`<bucket>.s3-website.localhost:<port>`, sent to 127.0.0.1 with that Host header), and default bucket encryption."""
from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def _page(endpoint: str, bucket: str, path: str, method: str = "GET", *,
          vhost: bool = True) -> tuple[int, dict[str, str], bytes]:
    port = urlsplit(endpoint).port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        if vhost:
            conn.request(method, path, headers={"Host": f"{bucket}.s3-website.localhost:{port}"})
        else:
            conn.request(method, f"/{bucket}{path}", headers={"Host": f"s3-website.localhost:{port}"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture
def site(s3: Any, bucket: str) -> str:
    for key, body in (("index.html", b"<h1>home</h1>"), ("docs/index.html", b"<h1>docs</h1>"),
                      ("about.html", b"about"), ("404.html", b"<p>lost?</p>")):
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="old.html", Body=b"", WebsiteRedirectLocation="/about.html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"},
        "RoutingRules": [{"Condition": {"KeyPrefixEquals": "blog/"},
                          "Redirect": {"ReplaceKeyPrefixWith": "articles/", "HttpRedirectCode": "302"}}]})
    return bucket


def test_website_configuration(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_website(Bucket=bucket)
    assert _error(err) == ("NoSuchWebsiteConfiguration", 404)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"ErrorDocument": {"Key": "e.html"}})
    assert _error(err) == ("InvalidArgument", 400)
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == {"Suffix": "index.html"}
    s3.delete_bucket_website(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_website(Bucket=bucket)
    assert _error(err) == ("NoSuchWebsiteConfiguration", 404)


def test_pages_index_and_errors(endpoint: str, site: str) -> None:
    status, headers, body = _page(endpoint, site, "/")
    assert (status, body) == (200, b"<h1>home</h1>") and headers["content-type"] == "text/html"
    assert _page(endpoint, site, "/docs/")[2] == b"<h1>docs</h1>"
    assert _page(endpoint, site, "/about.html", vhost=False)[2] == b"about"
    status, headers, _ = _page(endpoint, site, "/docs")
    assert status == 302 and headers["location"] == "/docs/"
    status, headers, body = _page(endpoint, site, "/missing.html")
    assert (status, body) == (404, b"<p>lost?</p>")  # the error document keeps the 404
    status, headers, _ = _page(endpoint, site, "/old.html")
    assert status == 301 and headers["location"] == "/about.html"
    status, headers, _ = _page(endpoint, site, "/blog/post-1.html")
    assert status == 302 and headers["location"].endswith("/articles/post-1.html")
    status, _, body = _page(endpoint, site, "/about.html", "HEAD")
    assert status == 200 and body == b""
    status, _, body = _page(endpoint, site, "/about.html", "PUT")
    assert status == 405 and b"MethodNotAllowed" in body


def test_website_errors_are_html(endpoint: str, s3: Any, bucket: str) -> None:
    status, headers, body = _page(endpoint, bucket, "/")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert b"NoSuchWebsiteConfiguration" in body
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    status, _, body = _page(endpoint, bucket, "/nothing")
    assert status == 404 and b"<li>Code: NoSuchKey</li>" in body
    status, _, body = _page(endpoint, "no-such-bucket-here", "/")
    assert status == 404 and b"NoSuchBucket" in body


def test_redirect_all_requests(endpoint: str, s3: Any, bucket: str) -> None:
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}})
    status, headers, _ = _page(endpoint, bucket, "/a/b.html")
    assert status == 301 and headers["location"] == "https://example.com/a/b.html"


def test_rest_endpoint_is_unchanged(s3: Any, site: str) -> None:
    # the REST API on the same bucket still answers as the API (XML errors, no index documents)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=site, Key="docs/")
    assert _error(err) == ("NoSuchKey", 404)


def test_default_encryption(s3: Any, bucket: str) -> None:
    default = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert default["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/k"},
                      "BucketKeyEnabled": True}]}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=kms)
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == kms
    with pytest.raises(ClientError) as err:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}]})
    assert _error(err) == ("InvalidArgument", 400)
    s3.delete_bucket_encryption(Bucket=bucket)
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == default
