"""SigV4 verification with botocore as the signing oracle (header-signed, presigned, S3 and others)."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.auth
import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from multidict import CIMultiDict

from miniaws.core.auth import (
    EMPTY_SHA256,
    SIGNED_PAYLOAD,
    STREAMING_SIGNED,
    UNSIGNED_PAYLOAD,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    CredentialScope,
    InvalidArgument,
    InvalidRequest,
    RequestTimeTooSkewed,
    SigV4Verifier,
    VerifiedRequest,
    XAmzContentSHA256Mismatch,
    credential_scope,
    presign_url,
)
from miniaws.core.clock import FakeClock
from miniaws.core.errors import (
    AccessDenied,
    IncompleteSignature,
    InvalidAccessKeyId,
    MissingAuthenticationToken,
    SignatureDoesNotMatch,
)

AK = "AKIDEXAMPLE123456789"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW_DT = dt.datetime(2026, 1, 2, 3, 4, 5)
NOW = NOW_DT.replace(tzinfo=dt.timezone.utc).timestamp()
CREDS = Credentials(AK, SK)

Wire = tuple[str, str, str, CIMultiDict[str], bytes]


@pytest.fixture(autouse=True)
def _botocore_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: NOW_DT)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def verifier(clock: FakeClock) -> SigV4Verifier:
    return SigV4Verifier({AK: SK, "AKIDOTHER": "other-secret"}, clock)


def wire(request: AWSRequest) -> Wire:
    """What the server sees: method, raw path and query, every header (repeats kept), body."""
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers: CIMultiDict[str] = CIMultiDict(request.headers.items())
    for name, value in prepared.headers.items():
        if name not in headers:
            headers[name] = value
    headers.setdefault("Host", parts.netloc)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    return prepared.method, parts.path, parts.query, headers, body


def s3_signed(method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes = b"",
              params: dict[str, str] | None = None, creds: Credentials = CREDS) -> Wire:
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body, params=params or {})
    botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
    return wire(request)


def verify(v: SigV4Verifier, w: Wire, body_sha256: str | None = None) -> VerifiedRequest:
    method, path, query, headers, _ = w
    return v.verify(method, path, query, headers, body_sha256)


# ------------------------------------------------------------------------------- credential_scope
def test_credential_scope_from_header_query_and_sigv2() -> None:
    header = ("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/sqs/aws4_request, "
              "SignedHeaders=host;x-amz-date, Signature=abc")
    assert credential_scope(header, {}) == CredentialScope("AKID", "20260101", "eu-west-1", "sqs")
    compact = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=x"
    assert credential_scope(compact, {}) == CredentialScope("AKID", "20260101", "us-east-1", "s3")
    query = {"X-Amz-Credential": "AKID/20260101/us-west-2/lambda/aws4_request"}
    assert credential_scope(None, query) == CredentialScope("AKID", "20260101", "us-west-2", "lambda")
    assert credential_scope("AWS AKID:c2lnbmF0dXJl", {}) == CredentialScope("AKID", "", "", "")
    assert credential_scope(None, {"AWSAccessKeyId": "AKID", "Signature": "x"}) == CredentialScope("AKID", "", "", "")
    sigv4a = "AWS4-ECDSA-P256-SHA256 Credential=AKID/20260101/s3/aws4_request, SignedHeaders=host, Signature=x"
    assert credential_scope(sigv4a, {}) == CredentialScope("AKID", "20260101", "", "s3")
    assert credential_scope(None, {}) is None
    assert credential_scope("Bearer token", {}) is None
    assert credential_scope("AWS4-HMAC-SHA256 SignedHeaders=host", {}) is None
    assert credential_scope("AWS4-HMAC-SHA256 Credential=garbage, Signature=x", {}) is None


# --------------------------------------------------------------------------------- S3, header-signed
S3_KEYS = [
    "plain.txt",
    "with space/and more spaces.bin",
    "unicodé/日本語/ключ",
    "plus+sign+key",
    "tilde~key",
    "odd!'()*$&@,;:= chars",
    "percent%20literal",
    "dots/../not/./normalised//double",
]


@pytest.mark.parametrize("key", S3_KEYS)
def test_s3_header_signed_keys_accepted(verifier: SigV4Verifier, key: str) -> None:
    url = f"https://bucket.s3.us-east-1.amazonaws.com/{quote(key, safe='/~')}"
    w = s3_signed("PUT", url, headers={"Content-Type": "text/plain", "x-amz-meta-a": "b"}, body=b"hello")
    result = verify(verifier, w)
    assert result.access_key == AK
    assert result.scope == CredentialScope(AK, "20260102", "us-east-1", "s3")
    assert result.payload_mode == SIGNED_PAYLOAD
    assert result.payload_hash == hashlib.sha256(b"hello").hexdigest()
    assert result.amz_date == "20260102T030405Z"
    assert not result.presigned


@pytest.mark.parametrize("params", [
    {"list-type": "2", "prefix": "a/b=c", "delimiter": "/"},
    {"prefix": "space and+plus", "marker": "~tilde", "encoding-type": "url"},
    {"prefix": "ünï/cödé", "max-keys": "10"},
    {"x": "", "y": "=/=&?"},
])
def test_s3_query_values_with_reserved_characters(verifier: SigV4Verifier, params: dict[str, str]) -> None:
    # botocore signs quote(value, safe='-_.~') but sends urlencode(): '+' for spaces on the wire.
    w = s3_signed("GET", "https://bucket.s3.amazonaws.com/", params=params)
    verify(verifier, w)


def test_s3_subresource_without_value_and_unsorted_query(verifier: SigV4Verifier) -> None:
    w = s3_signed("GET", "https://s3.amazonaws.com/bucket/key?versionId=3%2F4&acl&uploads=")
    verify(verifier, w)


def test_s3_unencoded_path_characters_signed_as_sent(verifier: SigV4Verifier) -> None:
    # A client that sends '+' and '!' raw in a key and signs exactly what it sends is tolerated.
    w = s3_signed("GET", "https://bucket.s3.amazonaws.com/a+b!c")
    assert w[1] == "/a+b!c"
    verify(verifier, w)


def test_repeated_headers_and_whitespace(verifier: SigV4Verifier) -> None:
    request = AWSRequest(method="GET", url="https://bucket.s3.amazonaws.com/key",
                         headers={"x-amz-meta-spacey": "  a   lot\tof    space  "})
    request.headers["X-Amz-Meta-Multi"] = "first"
    request.headers["X-Amz-Meta-Multi"] = "second  value"  # HTTPHeaders appends a repeat
    botocore.auth.S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(request)
    w = wire(request)
    assert w[3].getall("x-amz-meta-multi") == ["first", "second  value"]
    verify(verifier, w)
    # Dropping one of the repeats breaks the signature.
    method, path, query, headers, _ = w
    headers.popall("x-amz-meta-multi")
    headers["x-amz-meta-multi"] = "first"
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify(method, path, query, headers, None)


def test_date_header_instead_of_x_amz_date(verifier: SigV4Verifier) -> None:
    w = s3_signed("GET", "https://bucket.s3.amazonaws.com/k", headers={"Date": "placeholder"})
    assert "x-amz-date" not in w[3]
    verify(verifier, w)


def test_streaming_payload_mode_and_seed(verifier: SigV4Verifier) -> None:
    request = AWSRequest(method="PUT", url="https://bucket.s3.amazonaws.com/k",
                         headers={"X-Amz-Content-SHA256": STREAMING_SIGNED, "Content-Encoding": "aws-chunked"})
    # S3SigV4Auth overwrites the header with the body hash; sign the streaming form with SigV4Auth.
    botocore.auth.SigV4Auth(CREDS, "s3", "us-east-1").add_auth(request)
    w = wire(request)
    result = verify(verifier, w)
    assert result.payload_mode == STREAMING_SIGNED
    assert result.seed_signature == w[3]["Authorization"].rsplit("Signature=", 1)[1]


def test_signing_key_is_cached(verifier: SigV4Verifier) -> None:
    for key in ("a", "b", "c"):
        verify(verifier, s3_signed("GET", f"https://bucket.s3.amazonaws.com/{key}"))
    assert len(verifier._keys) == 1


# -------------------------------------------------------------------------------- S3 failures
def test_wrong_secret_reports_what_s3_reports(verifier: SigV4Verifier) -> None:
    w = s3_signed("GET", "https://bucket.s3.amazonaws.com/k", creds=Credentials(AK, "not-the-secret"))
    with pytest.raises(SignatureDoesNotMatch) as info:
        verify(verifier, w)
    err = info.value
    assert err.status == 403
    assert list(err.fields) == ["AWSAccessKeyId", "StringToSign", "SignatureProvided", "StringToSignBytes",
                                "CanonicalRequest", "CanonicalRequestBytes"]
    assert err.fields["AWSAccessKeyId"] == AK
    assert err.fields["StringToSign"].startswith("AWS4-HMAC-SHA256\n20260102T030405Z\n20260102/us-east-1/s3/")
    assert err.fields["StringToSignBytes"].startswith("41 57 53 34 2d")
    assert err.fields["CanonicalRequest"].startswith("GET\n/k\n\n")
    assert bytes.fromhex(err.fields["CanonicalRequestBytes"].replace(" ", "")).decode() == \
        err.fields["CanonicalRequest"]
    assert err.fields["SignatureProvided"] == w[3]["Authorization"].rsplit("=", 1)[1]


@pytest.mark.parametrize("tamper", ["path", "encoded-path", "query-value", "query-added", "header", "method",
                                    "content-sha"])
def test_tampering_breaks_the_signature(verifier: SigV4Verifier, tamper: str) -> None:
    method, path, query, headers, _ = s3_signed(
        "GET", "https://bucket.s3.amazonaws.com/dir/a%2Fb", params={"prefix": "x y"},
        headers={"x-amz-meta-color": "blue"})
    verifier.verify(method, path, query, headers, None)
    if tamper == "path":
        path = "/dir/a%2Fc"
    elif tamper == "encoded-path":
        path = "/dir/a/b"
    elif tamper == "query-value":
        query = query.replace("x+y", "x+z")
    elif tamper == "query-added":
        query += "&extra=1"
    elif tamper == "header":
        headers["x-amz-meta-color"] = "red"
    elif tamper == "method":
        method = "DELETE"
    elif tamper == "content-sha":
        headers["x-amz-content-sha256"] = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify(method, path, query, headers, None)


def test_unknown_access_key(verifier: SigV4Verifier) -> None:
    w = s3_signed("GET", "https://bucket.s3.amazonaws.com/k", creds=Credentials("AKIDNOBODY", SK))
    with pytest.raises(InvalidAccessKeyId) as info:
        verify(verifier, w)
    assert info.value.status == 403
    assert info.value.fields == {"AWSAccessKeyId": "AKIDNOBODY"}
    assert verifier.is_known(AK) and not verifier.is_known("AKIDNOBODY")


def test_secrets_mapping_is_live(clock: FakeClock) -> None:
    secrets: dict[str, str] = {}
    v = SigV4Verifier(secrets, clock)
    w = s3_signed("GET", "https://bucket.s3.amazonaws.com/k")
    with pytest.raises(InvalidAccessKeyId):
        verify(v, w)
    secrets[AK] = SK
    verify(v, w)


def test_clock_skew(verifier: SigV4Verifier, clock: FakeClock) -> None:
    w = s3_signed("GET", "https://bucket.s3.amazonaws.com/k")
    clock.advance(14 * 60)
    verify(verifier, w)
    clock.advance(2 * 60)
    with pytest.raises(RequestTimeTooSkewed) as info:
        verify(verifier, w)
    assert info.value.status == 403
    assert info.value.fields["RequestTime"] == "20260102T030405Z"
    assert info.value.fields["ServerTime"] == "2026-01-02T03:20:05Z"
    assert info.value.fields["MaxAllowedSkewMilliseconds"] == "900000"
    clock.advance(-32 * 60)  # 16 minutes early
    with pytest.raises(RequestTimeTooSkewed):
        verify(verifier, w)


def test_unsigned_amz_header_is_refused(verifier: SigV4Verifier) -> None:
    method, path, query, headers, _ = s3_signed("PUT", "https://bucket.s3.amazonaws.com/k")
    headers["x-amz-acl"] = "public-read"
    with pytest.raises(AccessDenied) as info:
        verifier.verify(method, path, query, headers, None)
    assert info.value.fields == {"HeadersNotSigned": "x-amz-acl"}
    # Headers that are not x-amz-* need not be signed.
    headers.popall("x-amz-acl")
    headers["User-Agent"] = "added-later"
    verifier.verify(method, path, query, headers, None)


def test_body_hash_mismatch_when_caller_hashes(verifier: SigV4Verifier) -> None:
    w = s3_signed("PUT", "https://bucket.s3.amazonaws.com/k", body=b"signed body")
    verify(verifier, w, hashlib.sha256(b"signed body").hexdigest())
    with pytest.raises(XAmzContentSHA256Mismatch) as info:
        verify(verifier, w, hashlib.sha256(b"other body").hexdigest())
    assert info.value.fields["ClientComputedContentSHA256"] == hashlib.sha256(b"signed body").hexdigest()


def _auth(signed_headers: str = "host;x-amz-content-sha256;x-amz-date", service: str = "s3",
          credential: str | None = None) -> str:
    credential = credential or f"{AK}/20260102/us-east-1/{service}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_headers}, Signature={'0' * 64}"


def _headers(authorization: str, **extra: str) -> dict[str, str]:
    return {"Host": "bucket.s3.amazonaws.com", "X-Amz-Date": "20260102T030405Z",
            "X-Amz-Content-SHA256": UNSIGNED_PAYLOAD, "Authorization": authorization, **extra}


@pytest.mark.parametrize(("authorization", "error", "fragment"), [
    ("AWS4-HMAC-SHA256 Credential=x", AuthorizationHeaderMalformed, "three components"),
    (_auth(credential=f"{AK}/20260102/us-east-1/s3"), AuthorizationHeaderMalformed, "Credential is mal-formed"),
    (_auth(credential=f"{AK}/2026-01-02/us-east-1/s3/aws4_request"), AuthorizationHeaderMalformed, "mal-formed"),
    (_auth(credential=f"{AK}/20260103/us-east-1/s3/aws4_request"), AuthorizationHeaderMalformed,
     "Date is not the same as X-Amz-Date"),
    (_auth(signed_headers="x-amz-content-sha256;x-amz-date"), AuthorizationHeaderMalformed, "include host"),
    ("AWS AKID-without-signature", IncompleteSignature, "malformed"),
    ("AWS4-HMAC-SHA512 Credential=x, SignedHeaders=host, Signature=y", InvalidArgument, "Unsupported"),
    ("AWS4-HMAC-SHA256 Credential=x/20260102/us-east-1/sqs/aws4_request", IncompleteSignature, "'Signature'"),
])
def test_malformed_authorization(verifier: SigV4Verifier, authorization: str, error: type[Exception],
                                 fragment: str) -> None:
    with pytest.raises(error) as info:
        verifier.verify("GET", "/k", "", _headers(authorization), None)
    assert fragment in str(info.value)


def test_missing_or_bad_date_and_content_sha(verifier: SigV4Verifier) -> None:
    headers = _headers(_auth())
    del headers["X-Amz-Date"]
    with pytest.raises(AccessDenied, match="valid Date or x-amz-date"):
        verifier.verify("GET", "/k", "", headers, None)
    with pytest.raises(AccessDenied):
        verifier.verify("GET", "/k", "", _headers(_auth(), **{"X-Amz-Date": "2026-01-02T03:04:05Z"}), None)
    headers = _headers(_auth())
    del headers["X-Amz-Content-SHA256"]
    with pytest.raises(InvalidRequest, match="x-amz-content-sha256"):
        verifier.verify("GET", "/k", "", headers, None)
    with pytest.raises(InvalidArgument) as info:
        verifier.verify("GET", "/k", "", _headers(_auth(), **{"X-Amz-Content-SHA256": "nope"}), None)
    assert info.value.fields["ArgumentName"] == "x-amz-content-sha256"
    with pytest.raises(MissingAuthenticationToken):
        verifier.verify("GET", "/k", "", {"Host": "x"}, None)
    with pytest.raises(AccessDenied, match="Request has expired"):  # SigV2 presigned, long expired
        verifier.verify("GET", "/k", "AWSAccessKeyId=AKID&Expires=1&Signature=abc", {"Host": "x"}, None)


# ------------------------------------------------------------------------------------- presigned
def s3_presigned(url: str, expires: int = 3600, method: str = "GET",
                 headers: dict[str, str] | None = None) -> Wire:
    request = AWSRequest(method=method, url=url, headers=headers or {})
    botocore.auth.S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=expires).add_auth(request)
    return wire(request)


def test_s3_presigned_accepted_then_expires(verifier: SigV4Verifier, clock: FakeClock) -> None:
    w = s3_presigned("https://bucket.s3.amazonaws.com/some%20key?versionId=v%2B1", expires=600)
    result = verify(verifier, w)
    assert result.presigned and result.payload_mode == UNSIGNED_PAYLOAD
    clock.advance(600)
    verify(verifier, w)
    clock.advance(1)
    with pytest.raises(AccessDenied) as info:
        verify(verifier, w)
    assert str(info.value) == "Request has expired"
    assert info.value.fields == {"X-Amz-Expires": "600", "Expires": "2026-01-02T03:14:05Z",
                                 "ServerTime": "2026-01-02T03:14:06Z"}


def test_presigned_not_yet_valid(verifier: SigV4Verifier, clock: FakeClock) -> None:
    w = s3_presigned("https://bucket.s3.amazonaws.com/k")
    clock.advance(-16 * 60)
    with pytest.raises(AccessDenied, match="not valid yet"):
        verify(verifier, w)


def test_presigned_expires_over_a_week(verifier: SigV4Verifier) -> None:
    w = s3_presigned("https://bucket.s3.amazonaws.com/k", expires=604801)
    with pytest.raises(AuthorizationQueryParametersError) as info:
        verify(verifier, w)
    assert str(info.value) == "X-Amz-Expires must be less than a week (in seconds) that is; 604800 seconds"
    assert info.value.status == 400
    verify(verifier, s3_presigned("https://bucket.s3.amazonaws.com/k", expires=604800))


@pytest.mark.parametrize("tamper", ["signature", "expires", "path", "query", "credential-key"])
def test_presigned_tampering(verifier: SigV4Verifier, tamper: str) -> None:
    method, path, query, headers, _ = s3_presigned("https://bucket.s3.amazonaws.com/k?partNumber=1")
    if tamper == "signature":
        query = query[:-1] + ("0" if query[-1] != "0" else "1")
    elif tamper == "expires":
        query = query.replace("X-Amz-Expires=3600", "X-Amz-Expires=3601")
    elif tamper == "path":
        path = "/k2"
    elif tamper == "query":
        query = query.replace("partNumber=1", "partNumber=2")
    elif tamper == "credential-key":
        query = query.replace(AK, "AKIDOTHER")
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify(method, path, query, headers, None)


def test_presigned_with_signed_extra_header(verifier: SigV4Verifier) -> None:
    w = s3_presigned("https://bucket.s3.amazonaws.com/k", method="PUT", headers={"x-amz-acl": "private"})
    verify(verifier, w)
    method, path, query, headers, _ = w
    headers["x-amz-acl"] = "public-read"
    with pytest.raises(SignatureDoesNotMatch):
        verifier.verify(method, path, query, headers, None)


def test_presigned_malformed_query(verifier: SigV4Verifier) -> None:
    method, path, query, headers, _ = s3_presigned("https://bucket.s3.amazonaws.com/k")
    without_date = "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Date="))
    with pytest.raises(AuthorizationQueryParametersError, match="requires the X-Amz-Algorithm"):
        verifier.verify(method, path, without_date, headers, None)
    with pytest.raises(AuthorizationQueryParametersError, match="only supports"):
        verifier.verify(method, path, query.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"), headers, None)
    both = CIMultiDict(headers)
    both["Authorization"] = _auth()
    with pytest.raises(InvalidArgument, match="Only one auth mechanism"):
        verifier.verify(method, path, query, both, None)


@pytest.fixture(scope="module")
def s3_client() -> Iterator[object]:
    session = botocore.session.get_session()
    client = session.create_client("s3", region_name="eu-west-1", aws_access_key_id=AK,
                                   aws_secret_access_key=SK, endpoint_url="http://localhost:4566",
                                   config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    yield client
    client.close()


@pytest.mark.parametrize("key", S3_KEYS)
def test_botocore_generate_presigned_url(verifier: SigV4Verifier, s3_client: object, key: str) -> None:
    url = s3_client.generate_presigned_url(  # type: ignore[attr-defined]
        "get_object", Params={"Bucket": "bucket", "Key": key, "ResponseContentType": "text/plain; a=b"},
        ExpiresIn=300)
    parts = urlsplit(url)
    result = verifier.verify("GET", parts.path, parts.query, {"Host": parts.netloc}, None)
    assert result.scope.region == "eu-west-1" and result.presigned


# --------------------------------------------------------------------------------- other services
def test_non_s3_form_post(verifier: SigV4Verifier) -> None:
    body = b"Action=SendMessage&MessageBody=hello+world%21&QueueUrl=http%3A%2F%2Fq"
    request = AWSRequest(method="POST", url="https://sqs.eu-central-1.amazonaws.com/",
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                         data=body)
    botocore.auth.SigV4Auth(CREDS, "sqs", "eu-central-1").add_auth(request)
    w = wire(request)
    result = verify(verifier, w, hashlib.sha256(body).hexdigest())
    assert result.scope.service == "sqs" and result.payload_mode == SIGNED_PAYLOAD
    with pytest.raises(SignatureDoesNotMatch) as info:
        verify(verifier, w, hashlib.sha256(body + b"x").hexdigest())
    assert "The Canonical String for this request should have been" in str(info.value)
    assert info.value.fields == {}


@pytest.mark.parametrize("path", [
    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations",
    "/a/./b//c/../d/",
    "/with%20space/and~tilde/%E2%82%AC",
    "",
])
def test_non_s3_path_normalised_and_double_encoded(verifier: SigV4Verifier, path: str) -> None:
    request = AWSRequest(method="GET", url=f"https://lambda.us-east-1.amazonaws.com{path}?Qualifier=%241")
    botocore.auth.SigV4Auth(CREDS, "lambda", "us-east-1").add_auth(request)
    method, raw_path, query, headers, _ = wire(request)
    verifier.verify(method, raw_path, query, headers, EMPTY_SHA256)


def test_non_s3_presigned(verifier: SigV4Verifier) -> None:
    request = AWSRequest(method="GET", url="https://sts.amazonaws.com/",
                         params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                         headers={"x-k8s-aws-id": "my-cluster"})
    botocore.auth.SigV4QueryAuth(CREDS, "sts", "us-east-1", expires=60).add_auth(request)
    w = wire(request)
    result = verify(verifier, w, EMPTY_SHA256)
    assert result.presigned and result.scope.service == "sts"


def test_non_s3_requires_caller_body_hash(verifier: SigV4Verifier) -> None:
    request = AWSRequest(method="POST", url="https://kms.us-east-1.amazonaws.com/", data=b"{}")
    botocore.auth.SigV4Auth(CREDS, "kms", "us-east-1").add_auth(request)
    with pytest.raises(ValueError):
        verify(verifier, wire(request))


# ----------------------------------------------------------------------------------- presign_url
def test_presign_url_matches_botocore_and_verifies(verifier: SigV4Verifier, clock: FakeClock) -> None:
    url = "https://bucket.s3.amazonaws.com/dir/some%20file.zip?versionId=abc%2Fdef"
    ours = presign_url("GET", url, access_key=AK, secret_key=SK, region="us-east-1", service="s3",
                       now=NOW, expires=900)
    theirs = s3_presigned(url, expires=900)
    ours_q = dict(parse_qsl(urlsplit(ours).query))
    theirs_q = dict(parse_qsl(theirs[2]))
    assert ours_q == theirs_q
    parts = urlsplit(ours)
    result = verifier.verify("GET", parts.path, parts.query, {"Host": parts.netloc}, None)
    assert result.presigned
    clock.advance(901)
    with pytest.raises(AccessDenied):
        verifier.verify("GET", parts.path, parts.query, {"Host": parts.netloc}, None)


def test_presign_url_non_s3_with_token(verifier: SigV4Verifier) -> None:
    url = presign_url("GET", "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f%3A1/code",
                      access_key=AK, secret_key=SK, region="us-east-1", service="lambda", now=NOW,
                      session_token="tok/en+=")
    parts = urlsplit(url)
    result = verifier.verify("GET", parts.path, parts.query, {"Host": parts.netloc}, EMPTY_SHA256)
    assert result.session_token == "tok/en+="
    with pytest.raises(ValueError):
        presign_url("GET", url, access_key=AK, secret_key=SK, region="r", service="s3", now=NOW, expires=604801)
