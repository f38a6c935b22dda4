"""Browser-based POST uploads (multipart/form-data with a signed policy), sent with curl against a server that
enforces auth; the policy is made by boto3's generate_presigned_post (SigV4 and SigV2)."""
from __future__ import annotations

import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config as BotoConfig

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread
from miniaws.testing import MiniAws

ALICE = ("AKIDALICE", "alice-secret-key")


class Enforcing:
    def __init__(self, aws: MiniAws, clock: FakeClock) -> None:
        self.aws, self.clock = aws, clock


@pytest.fixture(scope="module")
def enforcing() -> Iterator[Enforcing]:
    clock = FakeClock(start=time.time())
    config = load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True, "auth": "enforce",
                                            "credentials": f"{ALICE[0]}:{ALICE[1]}"})
    thread = ServerThread(config, clock=clock).start()
    try:
        yield Enforcing(MiniAws(thread), clock)
    finally:
        thread.stop()


def _client(endpoint: str, signature_version: str = "s3v4") -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ALICE[0],
                        aws_secret_access_key=ALICE[1],
                        config=BotoConfig(signature_version=signature_version, retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def alice(enforcing: Enforcing) -> Any:
    return _client(enforcing.aws.endpoint_url)


@pytest.fixture
def bucket(alice: Any) -> str:
    name = f"post-{uuid.uuid4().hex[:16]}"
    alice.create_bucket(Bucket=name)
    return name


def _post(url: str, fields: dict[str, str], content: bytes, tmp_path: Path,
          filename: str = "upload.bin") -> tuple[int, dict[str, str], bytes]:
    """curl -F: every field as a literal string, then the file (last, as S3 requires)."""
    path = tmp_path / filename
    path.write_bytes(content)
    args = ["curl", "-sS", "-D", "-", "-o", str(tmp_path / "body")]
    for name, value in fields.items():
        args += ["--form-string", f"{name}={value}"]
    args += ["-F", f"file=@{path}", url]
    done = subprocess.run(args, capture_output=True, timeout=30, check=True)
    lines = done.stdout.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ": " in line:
            name, _, value = line.partition(": ")
            headers[name.lower()] = value
    return status, headers, (tmp_path / "body").read_bytes() if (tmp_path / "body").exists() else b""


def _code(body: bytes) -> tuple[str | None, str | None]:
    root = ET.fromstring(body)
    return root.findtext("Code"), root.findtext("Message")


def test_signed_upload_is_stored(alice: Any, bucket: str, tmp_path: Path) -> None:
    post = alice.generate_presigned_post(
        bucket, "uploads/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-color": "blue"},
        Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/plain"},
                    {"x-amz-meta-color": "blue"}, ["content-length-range", 1, 1024]],
        ExpiresIn=300)
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    status, headers, _ = _post(post["url"], post["fields"], b"hello from a browser", tmp_path, "note.txt")
    assert status == 204
    assert headers["etag"] and headers["location"].endswith(f"/{bucket}/uploads/note.txt")
    got = alice.get_object(Bucket=bucket, Key="uploads/note.txt")
    assert got["Body"].read() == b"hello from a browser"
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"color": "blue"}


def test_success_status_201_and_redirect(alice: Any, bucket: str, tmp_path: Path) -> None:
    post = alice.generate_presigned_post(bucket, "created.bin", Fields={"success_action_status": "201"},
                                         Conditions=[{"success_action_status": "201"}])
    status, _, body = _post(post["url"], post["fields"], b"x" * 10, tmp_path)
    assert status == 201
    root = ET.fromstring(body)
    assert root.tag == "PostResponse" and root.findtext("Key") == "created.bin" and root.findtext("Bucket") == bucket
    assert root.findtext("ETag") == alice.head_object(Bucket=bucket, Key="created.bin")["ETag"]

    target = "https://app.example.com/done?from=upload"
    post = alice.generate_presigned_post(bucket, "redirected.bin", Fields={"success_action_redirect": target},
                                         Conditions=[{"success_action_redirect": target}])
    status, headers, _ = _post(post["url"], post["fields"], b"y", tmp_path)
    assert status == 303
    location = urlsplit(headers["location"])
    query = parse_qs(location.query)
    assert location.netloc == "app.example.com" and query["from"] == ["upload"]
    assert query["bucket"] == [bucket] and query["key"] == ["redirected.bin"] and query["etag"][0].startswith('"')


def test_policy_conditions_are_enforced(alice: Any, bucket: str, tmp_path: Path) -> None:
    post = alice.generate_presigned_post(bucket, "small.bin", Conditions=[["content-length-range", 1, 5]])
    status, _, body = _post(post["url"], post["fields"], b"far too large", tmp_path)
    assert status == 400 and _code(body)[0] == "EntityTooLarge"

    post = alice.generate_presigned_post(bucket, "docs/a.txt", Conditions=[["starts-with", "$key", "docs/"]])
    fields = dict(post["fields"], key="other/a.txt")
    status, _, body = _post(post["url"], fields, b"x", tmp_path)
    code, message = _code(body)
    assert status == 403 and code == "AccessDenied" and "Policy Condition failed" in str(message)

    post = alice.generate_presigned_post(bucket, "extra.bin")
    status, _, body = _post(post["url"], dict(post["fields"], **{"x-amz-meta-sneaky": "1"}), b"x", tmp_path)
    code, message = _code(body)
    assert status == 403 and message == "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky"

    fields = dict(post["fields"])
    fields["x-amz-signature"] = "0" * 64
    status, _, body = _post(post["url"], fields, b"x", tmp_path)
    assert status == 403 and _code(body)[0] == "SignatureDoesNotMatch"
    for key in ("small.bin", "other/a.txt", "extra.bin"):
        assert alice.list_objects_v2(Bucket=bucket, Prefix=key)["KeyCount"] == 0


def test_expired_policy(enforcing: Enforcing, alice: Any, bucket: str, tmp_path: Path) -> None:
    post = alice.generate_presigned_post(bucket, "late.bin", ExpiresIn=60)
    enforcing.clock.advance(max(0.0, time.time() - enforcing.clock.now()) + 61)
    status, _, body = _post(post["url"], post["fields"], b"x", tmp_path)
    assert status == 403 and _code(body) == ("AccessDenied", "Invalid according to Policy: Policy expired.")


def test_sigv2_policy_and_tagging(enforcing: Enforcing, bucket: str, tmp_path: Path) -> None:
    legacy = _client(enforcing.aws.endpoint_url, signature_version="s3")
    tagging = "<Tagging><TagSet><Tag><Key>source</Key><Value>form</Value></Tag></TagSet></Tagging>"
    post = legacy.generate_presigned_post(bucket, "v2.bin", Fields={"tagging": tagging},
                                          Conditions=[{"tagging": tagging}])
    assert "AWSAccessKeyId" in post["fields"] and "signature" in post["fields"]
    status, _, _ = _post(post["url"], post["fields"], b"legacy", tmp_path)
    assert status == 204
    assert legacy.get_object_tagging(Bucket=bucket, Key="v2.bin")["TagSet"] == [{"Key": "source", "Value": "form"}]
    fields = dict(post["fields"], signature="AAAA" + post["fields"]["signature"][4:])
    status, _, body = _post(post["url"], fields, b"legacy", tmp_path)
    assert status == 403 and _code(body)[0] == "SignatureDoesNotMatch"


def test_anonymous_post_needs_permission(enforcing: Enforcing, bucket: str, tmp_path: Path) -> None:
    status, _, body = _post(f"{enforcing.aws.endpoint_url}/{bucket}", {"key": "anon.bin"}, b"x", tmp_path)
    assert status == 403 and _code(body)[0] == "AccessDenied"
