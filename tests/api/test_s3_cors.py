"""Bucket CORS through boto3, and preflight (OPTIONS) and actual cross-origin requests as raw HTTP."""
from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.exceptions import ClientError

RULES = [
    {"ID": "app", "AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def _http(method: str, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers.items()), err.read()


def test_cors_configuration_round_trip(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_cors(Bucket=bucket)
    assert _error(err) == ("NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_cors(Bucket=bucket)
    assert _error(err) == ("NoSuchCORSConfiguration", 404)


def test_cors_configuration_is_validated(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
    assert _error(err) == ("InvalidRequest", 400)
    assert "Unsupported method is PATCH" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["https://*.*.example.com"], "AllowedMethods": ["GET"]}]})
    assert _error(err) == ("InvalidRequest", 400)


def test_preflight(endpoint: str, s3: Any, bucket: str) -> None:
    url = f"{endpoint}/{bucket}/some/key"
    status, _, body = _http("OPTIONS", url, {"Origin": "https://app.example.com",
                                             "Access-Control-Request-Method": "GET"})
    assert status == 403 and ET.fromstring(body).findtext("Code") == "CORSResponse"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})

    status, headers, _ = _http("OPTIONS", url, {"Origin": "https://app.example.com",
                                                "Access-Control-Request-Method": "PUT",
                                                "Access-Control-Request-Headers": "Content-Type, X-Amz-Meta-Color"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert headers["Access-Control-Allow-Headers"] == "content-type, x-amz-meta-color"
    assert headers["Access-Control-Expose-Headers"] == "ETag"
    assert headers["Access-Control-Max-Age"] == "600"
    assert headers["Access-Control-Allow-Credentials"] == "true"

    # any origin may GET/HEAD through the wildcard rule
    status, headers, _ = _http("OPTIONS", url, {"Origin": "https://elsewhere.test",
                                                "Access-Control-Request-Method": "GET"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers

    for request_headers in ({"Origin": "https://elsewhere.test", "Access-Control-Request-Method": "PUT"},
                            {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
                             "Access-Control-Request-Headers": "authorization"}):
        status, _, body = _http("OPTIONS", url, request_headers)
        assert status == 403 and ET.fromstring(body).findtext("Code") == "CORSResponse"
    status, _, body = _http("OPTIONS", url, {"Access-Control-Request-Method": "GET"})
    assert status == 400 and ET.fromstring(body).findtext("Code") == "BadRequest"


def test_actual_requests_get_cors_headers(endpoint: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    status, headers, body = _http("GET", f"{endpoint}/{bucket}/k", {"Origin": "https://app.example.com"})
    assert status == 200 and body == b"hello"
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Expose-Headers"] == "ETag"
    # errors carry them too, so the browser can read the error
    status, headers, _ = _http("GET", f"{endpoint}/{bucket}/missing", {"Origin": "https://app.example.com"})
    assert status == 404 and headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    # no rule allows DELETE from this origin: no CORS headers (the browser blocks the response)
    status, headers, _ = _http("DELETE", f"{endpoint}/{bucket}/k", {"Origin": "https://app.example.com"})
    assert status == 204 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = _http("GET", f"{endpoint}/{bucket}/missing", {})
    assert "Access-Control-Allow-Origin" not in headers
