"""SigV2 (HMAC-SHA1) for S3, with botocore's own HmacV1 signers as the oracle."""
from __future__ import annotations

from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from miniaws.core.auth import SigV4Verifier
from miniaws.core.clock import FakeClock
from miniaws.core.errors import AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch

AK, SK = "AKIDV2EXAMPLE", "v2-secret-key"
CREDS = Credentials(AK, SK)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def verifier(clock: FakeClock) -> SigV4Verifier:
    return SigV4Verifier({AK: SK}, clock)


def _presigned(url: str, clock: FakeClock, expires: int = 3600) -> tuple[str, str]:
    request = AWSRequest(method="GET", url=url)
    signer = botocore.auth.HmacV1QueryAuth(CREDS, expires=expires)
    signer._get_date = lambda: str(int(clock.now() + expires))  # type: ignore[method-assign]
    signer.add_auth(request)
    parts = urlsplit(request.url)
    return parts.path, parts.query


def test_presigned_get_accepted_then_expires(verifier: SigV4Verifier, clock: FakeClock) -> None:
    path, query = _presigned("http://127.0.0.1:4566/bucket/some%20key.txt", clock)
    assert verifier.verify("GET", path, query, {"Host": "127.0.0.1:4566"}).access_key == AK
    clock.advance(3601)
    with pytest.raises(AccessDenied, match="expired"):
        verifier.verify("GET", path, query, {"Host": "127.0.0.1:4566"})


def test_presigned_tampering_rejected(verifier: SigV4Verifier, clock: FakeClock) -> None:
    path, query = _presigned("http://127.0.0.1:4566/bucket/key", clock)
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify("GET", "/bucket/other", query, {"Host": "h"})
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify("PUT", path, query, {"Host": "h"})
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify("GET", path, query + "&response-content-type=text/html", {"Host": "h"})
    with pytest.raises(InvalidAccessKeyId):
        verifier.verify("GET", path, query.replace(AK, "AKIDNOBODY"), {"Host": "h"})


def test_header_signed_with_subresource_and_amz_headers(verifier: SigV4Verifier) -> None:
    request = AWSRequest(method="PUT", url="http://127.0.0.1:4566/bucket/k?uploadId=abc&partNumber=2",
                         headers={"Content-Type": "text/plain", "x-amz-meta-Colour": "blue",
                                  "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, data=b"")
    botocore.auth.HmacV1Auth(CREDS).add_auth(request)
    parts = urlsplit(request.url)
    headers = dict(request.headers.items())
    assert verifier.verify("PUT", parts.path, parts.query, headers).access_key == AK
    headers["x-amz-meta-Colour"] = "red"
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify("PUT", parts.path, parts.query, headers)


def test_virtual_hosted_resource_includes_bucket(verifier: SigV4Verifier, clock: FakeClock) -> None:
    # botocore signs "/bucket/key" for a virtual-hosted URL; the wire path is "/key"
    request = AWSRequest(method="GET", url="http://bucket.s3.localhost:4566/key")
    request.auth_path = "/bucket/key"  # what botocore's S3 virtual-host handler sets
    signer = botocore.auth.HmacV1QueryAuth(CREDS, expires=60)
    signer._get_date = lambda: str(int(clock.now() + 60))  # type: ignore[method-assign]
    signer.add_auth(request)
    parts = urlsplit(request.url)
    assert verifier.verify("GET", parts.path, parts.query, {"Host": "bucket.s3.localhost:4566"},
                           virtual_bucket="bucket").access_key == AK
