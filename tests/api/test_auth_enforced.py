"""SigV4 really enforced (`auth="enforce"`, two principals) and presigned URLs checked even with auth off.

The enforcing server runs on a FakeClock (started at the real time, so SDK signatures are in date) which a
test advances to expire a presigned URL instead of sleeping. Signed aws-chunked uploads, which botocore only
sends over HTTPS, are built here by hand from the AWS streaming-signature spec and sent with http.client.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread
from miniaws.testing import MiniAws

ALICE = ("AKIDALICE", "alice-secret-key")
BOB = ("AKIDBOB", "bob-secret-key")
CREDENTIALS = f"{ALICE[0]}:{ALICE[1]},{BOB[0]}:{BOB[1]}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


# ------------------------------------------------------------------------------------------- fixtures
@dataclass
class Enforcing:
    aws: MiniAws
    clock: FakeClock


@pytest.fixture(scope="module")
def enforcing() -> Iterator[Enforcing]:
    clock = FakeClock(start=time.time())
    config = load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True, "auth": "enforce",
                                            "credentials": CREDENTIALS})
    thread = ServerThread(config, clock=clock).start()
    try:
        yield Enforcing(MiniAws(thread), clock)
    finally:
        thread.stop()


def _client(endpoint: str, key: str, secret: str, **config: Any) -> Any:
    # SigV4 everywhere here; the SDK's default (SigV2 presigned URLs in us-east-1) has its own test below
    config.setdefault("signature_version", "s3v4")
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=BotoConfig(retries={"max_attempts": 1}, **config))


@pytest.fixture(scope="module")
def alice(enforcing: Enforcing) -> Any:
    return _client(enforcing.aws.endpoint_url, *ALICE)


@pytest.fixture(scope="module")
def bob(enforcing: Enforcing) -> Any:
    return _client(enforcing.aws.endpoint_url, *BOB)


@pytest.fixture
def alice_bucket(alice: Any) -> str:
    name = f"alice-{uuid.uuid4().hex[:16]}"
    alice.create_bucket(Bucket=name)
    return name


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def _urlopen(url: str, method: str = "GET") -> tuple[int, bytes]:
    """(status, body) of a plain, unsigned-by-us HTTP request; error statuses are returned, not raised."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


def _code_of(body: bytes) -> str | None:
    return ET.fromstring(body).findtext("Code")


# ------------------------------------------------------------------------------------ header signing
def test_correct_keys_work(alice: Any, alice_bucket: str) -> None:
    alice.put_object(Bucket=alice_bucket, Key="hello.txt", Body=b"hello")
    assert alice.get_object(Bucket=alice_bucket, Key="hello.txt")["Body"].read() == b"hello"
    assert alice_bucket in [b["Name"] for b in alice.list_buckets()["Buckets"]]


def test_wrong_secret_is_signature_does_not_match(enforcing: Enforcing, alice_bucket: str) -> None:
    wrong = _client(enforcing.aws.endpoint_url, ALICE[0], "not-the-secret")
    with pytest.raises(ClientError) as err:
        wrong.list_objects_v2(Bucket=alice_bucket)
    assert _error(err) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as err:
        wrong.put_object(Bucket=alice_bucket, Key="x", Body=b"x")
    assert _error(err) == ("SignatureDoesNotMatch", 403)


def test_unknown_access_key_is_invalid_access_key_id(enforcing: Enforcing, alice_bucket: str) -> None:
    stranger = _client(enforcing.aws.endpoint_url, "AKIDNOBODY", "whatever")
    with pytest.raises(ClientError) as err:
        stranger.get_object(Bucket=alice_bucket, Key="hello.txt")
    assert _error(err) == ("InvalidAccessKeyId", 403)
    with pytest.raises(ClientError) as err:
        stranger.list_buckets()
    assert _error(err) == ("InvalidAccessKeyId", 403)


def test_unsigned_requests_are_access_denied(enforcing: Enforcing, alice: Any, alice_bucket: str) -> None:
    alice.put_object(Bucket=alice_bucket, Key="private.txt", Body=b"secret")
    anonymous = _client(enforcing.aws.endpoint_url, "unused", "unused", signature_version=UNSIGNED)
    with pytest.raises(ClientError) as err:
        anonymous.get_object(Bucket=alice_bucket, Key="private.txt")
    assert _error(err) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as err:
        anonymous.put_object(Bucket=alice_bucket, Key="dropped.txt", Body=b"x")
    assert _error(err) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as err:
        anonymous.list_objects_v2(Bucket=alice_bucket)
    assert _error(err) == ("AccessDenied", 403)
    anon_bucket = f"anon-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as err:
        anonymous.create_bucket(Bucket=anon_bucket)
    assert _error(err) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as err:
        anonymous.list_buckets()
    assert _error(err) == ("AccessDenied", 403)
    assert anon_bucket not in [b["Name"] for b in alice.list_buckets()["Buckets"]]
    assert "dropped.txt" not in [o["Key"] for o in alice.list_objects_v2(Bucket=alice_bucket).get("Contents", [])]
    # a plain HTTP GET (no SDK at all) gets S3's XML error
    status, body = _urlopen(f"{enforcing.aws.endpoint_url}/{alice_bucket}/private.txt")
    assert status == 403 and _code_of(body) == "AccessDenied"


def test_principals_are_isolated(alice: Any, bob: Any, alice_bucket: str) -> None:
    alice.put_object(Bucket=alice_bucket, Key="mine.txt", Body=b"alice's")
    bob_bucket = f"bob-{uuid.uuid4().hex[:16]}"
    bob.create_bucket(Bucket=bob_bucket)

    denied = [
        lambda: bob.get_object(Bucket=alice_bucket, Key="mine.txt"),
        lambda: bob.list_objects_v2(Bucket=alice_bucket),
        lambda: bob.list_objects(Bucket=alice_bucket),
        lambda: bob.put_object(Bucket=alice_bucket, Key="bob-was-here.txt", Body=b"x"),
        lambda: bob.delete_object(Bucket=alice_bucket, Key="mine.txt"),
        lambda: bob.copy_object(Bucket=bob_bucket, Key="stolen", CopySource=f"{alice_bucket}/mine.txt"),
        lambda: bob.create_multipart_upload(Bucket=alice_bucket, Key="mp"),
        lambda: bob.delete_bucket(Bucket=alice_bucket),
    ]
    for call in denied:
        with pytest.raises(ClientError) as err:
            call()
        assert _error(err) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as err:
        bob.head_object(Bucket=alice_bucket, Key="mine.txt")
    assert _error(err)[1] == 403
    with pytest.raises(ClientError) as err:
        bob.create_bucket(Bucket=alice_bucket)
    assert _error(err) == ("BucketAlreadyExists", 409)

    # nothing of Bob's reached Alice's bucket, and her object is intact
    keys = [o["Key"] for o in alice.list_objects_v2(Bucket=alice_bucket)["Contents"]]
    assert "bob-was-here.txt" not in keys and "mine.txt" in keys
    assert alice.get_object(Bucket=alice_bucket, Key="mine.txt")["Body"].read() == b"alice's"

    alice_list, bob_list = alice.list_buckets(), bob.list_buckets()
    alice_names = {b["Name"] for b in alice_list["Buckets"]}
    bob_names = {b["Name"] for b in bob_list["Buckets"]}
    assert alice_bucket in alice_names and bob_bucket not in alice_names
    assert bob_bucket in bob_names and not any(n.startswith("alice-") for n in bob_names)
    assert alice_list["Owner"]["ID"] != bob_list["Owner"]["ID"]
    owner = alice.list_objects_v2(Bucket=alice_bucket, FetchOwner=True)["Contents"][0]["Owner"]
    assert owner["ID"] == alice_list["Owner"]["ID"]


# ---------------------------------------------------------------------------------------- presigning
def test_presigned_get_works_then_expires(enforcing: Enforcing, alice: Any, alice_bucket: str) -> None:
    data = os.urandom(2048)
    alice.put_object(Bucket=alice_bucket, Key="shared.bin", Body=data)
    url = alice.generate_presigned_url("get_object", Params={"Bucket": alice_bucket, "Key": "shared.bin"},
                                       ExpiresIn=30)
    assert _urlopen(url) == (200, data)
    curl = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", url], capture_output=True, timeout=30)
    assert curl.stdout == data + b"\n200"

    # move the server's clock past X-Amz-Date + X-Amz-Expires instead of sleeping
    signed_at = time.time()
    enforcing.clock.advance(max(0.0, signed_at - enforcing.clock.now()) + 31)
    status, body = _urlopen(url)
    assert status == 403
    root = ET.fromstring(body)
    assert root.findtext("Code") == "AccessDenied" and root.findtext("Message") == "Request has expired"
    assert root.findtext("X-Amz-Expires") == "30"


@pytest.mark.parametrize("tamper", ["query-value", "extra-query", "path", "signature"])
def test_tampered_presigned_url_is_rejected(alice: Any, alice_bucket: str, tamper: str) -> None:
    alice.put_object(Bucket=alice_bucket, Key="a.txt", Body=b"a")
    alice.put_object(Bucket=alice_bucket, Key="b.txt", Body=b"b")
    url = alice.generate_presigned_url("get_object", Params={"Bucket": alice_bucket, "Key": "a.txt"},
                                       ExpiresIn=300)
    assert _urlopen(url) == (200, b"a")
    parts = urlsplit(url)
    path, query = parts.path, parts.query
    if tamper == "query-value":
        assert "X-Amz-Expires=300" in query
        query = query.replace("X-Amz-Expires=300", "X-Amz-Expires=600")
    elif tamper == "extra-query":
        query += "&response-content-type=text%2Fhtml"
    elif tamper == "path":
        path = path.replace("/a.txt", "/b.txt")
    else:
        head, _, signature = query.rpartition("X-Amz-Signature=")
        query = head + "X-Amz-Signature=" + signature[:-1] + ("0" if signature[-1] != "0" else "1")
    status, body = _urlopen(urlunsplit((parts.scheme, parts.netloc, path, query, "")))
    assert status == 403 and _code_of(body) == "SignatureDoesNotMatch"


def test_default_sdk_presigned_url_sigv2_is_verified(enforcing: Enforcing, alice_bucket: str,
                                                       alice: Any) -> None:
    # boto3 and the AWS CLI v1 still presign S3 URLs with SigV2 in us-east-1 unless told s3v4
    alice.put_object(Bucket=alice_bucket, Key="v2.txt", Body=b"legacy signature")
    default = boto3.client("s3", endpoint_url=enforcing.aws.endpoint_url, region_name="us-east-1",
                           aws_access_key_id=ALICE[0], aws_secret_access_key=ALICE[1])
    url = default.generate_presigned_url("get_object", Params={"Bucket": alice_bucket, "Key": "v2.txt"},
                                         ExpiresIn=60)
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    assert _urlopen(url) == (200, b"legacy signature")
    status, body = _urlopen(url.replace("v2.txt", "v3.txt"))
    assert status == 403 and _code_of(body) == "SignatureDoesNotMatch"
    enforcing.clock.advance(max(0.0, time.time() - enforcing.clock.now()) + 61)
    status, body = _urlopen(url)
    assert status == 403 and _code_of(body) == "AccessDenied"


# ----------------------------------------------------------------------- signed aws-chunked uploads
def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _streaming_put(endpoint: str, bucket: str, key: str, chunks: list[bytes], *,
                   tamper_chunk: int | None = None) -> tuple[int, bytes]:
    """PUT with x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed as Alice.

    The seed signature comes from botocore's SigV4 signer (an SDK as the oracle for the header part); each
    chunk signature chains on the previous one as https://docs.aws.amazon.com/AmazonS3/latest/API/
    sigv4-streaming.html specifies. With `tamper_chunk`, that chunk's data is altered after signing.
    """
    region, service = "us-east-1", "s3"
    decoded_length = sum(len(c) for c in chunks)
    signatures_len = len(";chunk-signature=") + 64

    def frame_len(size: int) -> int:
        return len(f"{size:x}") + signatures_len + 2 + size + 2

    body_length = sum(frame_len(len(c)) for c in chunks) + frame_len(0)
    url = f"{endpoint}/{bucket}/{key}"
    headers = {
        "Content-Encoding": "aws-chunked",
        "Content-Length": str(body_length),
        "Content-Type": "application/octet-stream",
        "X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "X-Amz-Decoded-Content-Length": str(decoded_length),
        "Host": urlsplit(endpoint).netloc,
    }
    request = AWSRequest(method="PUT", url=url, headers=headers)
    SigV4Auth(Credentials(*ALICE), service, region).add_auth(request)
    amz_date = request.headers["X-Amz-Date"]
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    signing_key = _hmac(_hmac(_hmac(_hmac(("AWS4" + ALICE[1]).encode(), amz_date[:8]), region), service),
                        "aws4_request")

    body = bytearray()
    previous = seed
    for index, data in enumerate([*chunks, b""]):
        string_to_sign = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY_SHA256,
                                    hashlib.sha256(data).hexdigest()))
        previous = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if index == tamper_chunk:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        body += f"{len(data):x};chunk-signature={previous}\r\n".encode() + data + b"\r\n"
    assert len(body) == body_length

    parts = urlsplit(endpoint)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        try:
            conn.request("PUT", f"/{bucket}/{key}", body=bytes(body), headers=dict(request.headers.items()))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (and close) before it has read the whole body
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_signed_streaming_upload_is_stored(enforcing: Enforcing, alice: Any, alice_bucket: str) -> None:
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), os.urandom(10_000)]
    status, body = _streaming_put(enforcing.aws.endpoint_url, alice_bucket, "streamed.bin", chunks)
    assert status == 200, body
    whole = b"".join(chunks)
    got = alice.get_object(Bucket=alice_bucket, Key="streamed.bin")
    assert got["Body"].read() == whole
    assert got["ETag"] == f'"{hashlib.md5(whole).hexdigest()}"'
    assert got["ContentLength"] == len(whole)
    assert got.get("ContentEncoding") in (None, "")  # aws-chunked is a transfer detail, not stored


@pytest.mark.parametrize("tamper_chunk", [0, 2])
def test_tampered_streaming_chunk_is_rejected(enforcing: Enforcing, alice: Any, alice_bucket: str,
                                              tamper_chunk: int) -> None:
    chunks = [os.urandom(64 * 1024), os.urandom(64 * 1024), os.urandom(9000)]
    alice.put_object(Bucket=alice_bucket, Key="kept.bin", Body=b"original")
    for key in ("kept.bin", "never.bin"):
        status, body = _streaming_put(enforcing.aws.endpoint_url, alice_bucket, key, chunks,
                                      tamper_chunk=tamper_chunk)
        assert status == 403 and _code_of(body) == "SignatureDoesNotMatch"
    assert alice.get_object(Bucket=alice_bucket, Key="kept.bin")["Body"].read() == b"original"
    with pytest.raises(ClientError) as err:
        alice.head_object(Bucket=alice_bucket, Key="never.bin")
    assert _error(err)[1] == 404


# ---------------------------------------------------------------------------- auth off, known keys
@pytest.fixture(scope="module")
def lenient() -> Iterator[MiniAws]:
    """auth=off, but Alice's key is configured: presigned URLs carrying it are still verified."""
    config = load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True, "auth": "off",
                                            "credentials": f"{ALICE[0]}:{ALICE[1]}"})
    thread = ServerThread(config).start()
    try:
        yield MiniAws(thread)
    finally:
        thread.stop()


def test_auth_off_still_rejects_tampered_presigned_url_with_known_key(lenient: MiniAws) -> None:
    owner = _client(lenient.endpoint_url, *ALICE)
    bucket = f"lenient-{uuid.uuid4().hex[:12]}"
    owner.create_bucket(Bucket=bucket)
    owner.put_object(Bucket=bucket, Key="doc.txt", Body=b"document")
    url = owner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"}, ExpiresIn=300)
    assert _urlopen(url) == (200, b"document")

    head, _, signature = url.rpartition("X-Amz-Signature=")
    tampered = head + "X-Amz-Signature=" + ("0" * 64 if signature != "0" * 64 else "1" * 64)
    status, body = _urlopen(tampered)
    assert status == 403 and _code_of(body) == "SignatureDoesNotMatch"

    # unsigned requests, and keys the server does not know, are still let through with auth off
    assert _urlopen(f"{lenient.endpoint_url}/{bucket}/doc.txt") == (200, b"document")
    other = _client(lenient.endpoint_url, "test", "test")
    foreign = other.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"},
                                           ExpiresIn=300)
    head, _, _ = foreign.rpartition("X-Amz-Signature=")
    assert _urlopen(head + "X-Amz-Signature=" + "0" * 64) == (200, b"document")
    anonymous = _client(lenient.endpoint_url, "unused", "unused", signature_version=UNSIGNED)
    anonymous.put_object(Bucket=bucket, Key="anon.txt", Body=b"anon")
    assert owner.get_object(Bucket=bucket, Key="anon.txt")["Body"].read() == b"anon"
