"""The front door: internal endpoints, STS, unimplemented operations, error shapes, request ids."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from miniaws.testing import MiniAws
from tests.api.conftest import make_client


def _http(method: str, url: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_health_and_aliases(endpoint: str) -> None:
    for path in ("/_miniaws/health", "/_localstack/health"):
        status, headers, body = _http("GET", endpoint + path)
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        data = json.loads(body)
        assert data["services"]["s3"] == "running" and data["services"]["sts"] == "running"
        assert data["version"]


def test_reset_clears_state(miniaws: MiniAws, s3: Any) -> None:
    name = f"reset-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for path in ("/_miniaws/reset", "/moto-api/reset"):
        status, _, _ = _http("POST", miniaws.endpoint_url + path)
        assert status == 200
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert _http("GET", miniaws.endpoint_url + "/_miniaws/reset")[0] == 405


def test_unimplemented_s3_operation_is_named(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
    error = err.value.response["Error"]
    assert error["Code"] == "NotImplemented"
    assert "PutBucketLogging" in error["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    # nothing was stored, the bucket still answers
    s3.head_bucket(Bucket=bucket)


def test_s3_error_shape_has_request_id(endpoint: str, bucket: str) -> None:
    status, headers, body = _http("GET", f"{endpoint}/{bucket}/missing-key")
    assert status == 404
    text = body.decode()
    assert text.startswith("<?xml") and "<Code>NoSuchKey</Code>" in text and "<Key>missing-key</Key>" in text
    assert f"<RequestId>{headers['x-amz-request-id']}</RequestId>" in text


def test_malformed_xml_body(endpoint: str, bucket: str) -> None:
    status, _, body = _http("POST", f"{endpoint}/{bucket}?delete", body=b"<Delete><Object>",
                            headers={"Content-Type": "application/xml"})
    assert status == 400 and b"<Code>MalformedXML</Code>" in body


def test_sts_get_caller_identity(endpoint: str) -> None:
    sts = make_client(endpoint, "sts")
    identity = sts.get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:iam::000000000000:user/test"
    numeric = make_client(endpoint, "sts", aws_access_key_id="123456789012")
    assert numeric.get_caller_identity()["Account"] == "123456789012"


def test_sts_assume_role_and_validation(endpoint: str) -> None:
    sts = make_client(endpoint, "sts")
    result = sts.assume_role(RoleArn="arn:aws:iam::111122223333:role/deployer", RoleSessionName="ci-run")
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert result["AssumedRoleUser"]["Arn"] == "arn:aws:sts::111122223333:assumed-role/deployer/ci-run"
    unchecked = make_client(endpoint, "sts", config=BotoConfig(parameter_validation=False,
                                                               retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        unchecked.assume_role(RoleArn="arn:aws:iam::111122223333:role/deployer", RoleSessionName="x",
                              DurationSeconds=60)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert err.value.response["Error"]["Type"] == "Sender"


def test_unimplemented_sts_operation(endpoint: str) -> None:
    sts = make_client(endpoint, "sts")
    with pytest.raises(ClientError) as err:
        sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    assert err.value.response["Error"]["Code"] in ("NotImplemented", "InvalidAction")
    assert "GetAccessKeyInfo" in err.value.response["Error"]["Message"]
