"""Issue 4's S3 features through the AWS CLI v1 (`aws s3api`, `aws s3`, `aws sqs`) and curl, against a real
`python -m miniaws` process with auth enforced (so unsigned requests only succeed where a policy allows them).

One server per module; every CLI run gets a clean environment (empty config and credentials files). Buckets and
plain objects that are only set-up are made with boto3; the feature under test always goes through the CLI.
Independent CLI runs are started together: each costs ~1 s of start-up.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.helpers.process import ServerProcess, start_server
from tests.helpers.awscli import aws_executable as _aws_executable

pytestmark = pytest.mark.subprocess

CURL = shutil.which("curl") or "/usr/bin/curl"
KEY, SECRET = "test", "test-secret"
ACCOUNT = "000000000000"  # the account of a non-numeric access key


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = start_server("--ephemeral", "--auth", "enforce", "--credentials", f"{KEY}:{SECRET}",
                        "--log-level", "warning")
    yield proc
    proc.terminate()
    assert proc.proc.stdout is not None
    proc.proc.stdout.close()


@pytest.fixture(scope="module")
def cli_env(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("aws-home")
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "HOME": str(home),
    })
    return env


@pytest.fixture(scope="module")
def s3(server: ServerProcess) -> Any:
    return boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=BotoConfig(retries={"max_attempts": 1}, signature_version="s3v4"))


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"feat-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


# -------------------------------------------------------------------------------------------- helpers
class Cli:
    """Runs `aws …` commands, several at once when they do not depend on each other."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.exe = _aws_executable()

    def _run(self, *commands: Sequence[str]) -> list[tuple[Sequence[str], int, str, str]]:
        procs = [(cmd, subprocess.Popen([self.exe, *cmd], env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)) for cmd in commands]
        results = []
        try:
            for cmd, proc in procs:
                out, err = proc.communicate(timeout=60)
                results.append((cmd, proc.returncode, out, err))
        finally:
            for _, proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        return results

    def many(self, *commands: Sequence[str]) -> list[str]:
        """Run the commands concurrently; return each one's stdout, failing on a non-zero exit."""
        outputs = []
        for cmd, code, out, err in self._run(*commands):
            assert code == 0, f"aws {' '.join(cmd)} exited {code}:\n{out}\n{err}"
            outputs.append(out)
        return outputs

    def __call__(self, *args: str) -> str:
        return self.many(args)[0]

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--output", "json"))

    def fails(self, *args: str) -> str:
        """Run a command that must fail; return its stderr (where the CLI prints the service error)."""
        [(cmd, code, out, err)] = self._run(args)
        assert code != 0, f"aws {' '.join(cmd)} unexpectedly succeeded:\n{out}"
        return err


@pytest.fixture
def aws(cli_env: dict[str, str], tmp_path: Path) -> Cli:
    return Cli(cli_env, tmp_path)


def http(url: str, *extra: str) -> tuple[int, bytes, dict[str, str]]:
    """curl the URL (unsigned), returning (status, body, lower-cased response headers)."""
    result = subprocess.run([CURL, "-sS", "-D", "-", *extra, url], capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), body, headers


def _public_read_policy(bucket: str, prefix: str = "") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"}]})


# ------------------------------------------------------------------------------------------------ tests
def test_versioning_two_versions_and_get_by_version_id(aws: Cli, s3: Any, bucket: str, tmp_path: Path) -> None:
    aws("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
    (tmp_path / "v1").write_bytes(b"first version")
    (tmp_path / "v2").write_bytes(b"second version, longer")
    first = aws.json("s3api", "put-object", "--bucket", bucket, "--key", "doc.txt", "--body", "v1")
    second = aws.json("s3api", "put-object", "--bucket", bucket, "--key", "doc.txt", "--body", "v2")
    assert first["VersionId"] and second["VersionId"] and first["VersionId"] != second["VersionId"]

    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    versions, got = aws.many(
        ("s3api", "list-object-versions", "--bucket", bucket, "--output", "json"),
        ("s3api", "get-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", first["VersionId"],
         "old.txt", "--output", "json"))
    listed = json.loads(versions)["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"], v["Size"]) for v in listed] == [
        ("doc.txt", second["VersionId"], True, 22), ("doc.txt", first["VersionId"], False, 13)]
    assert json.loads(got)["VersionId"] == first["VersionId"]
    assert (tmp_path / "old.txt").read_bytes() == b"first version"


def test_bucket_and_object_tagging(aws: Cli, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="tagged.txt", Body=b"x")
    aws.many(("s3api", "put-bucket-tagging", "--bucket", bucket,
              "--tagging", "TagSet=[{Key=team,Value=checkout},{Key=env,Value=dev}]"),
             ("s3api", "put-object-tagging", "--bucket", bucket, "--key", "tagged.txt",
              "--tagging", "TagSet=[{Key=classification,Value=secret}]"))
    bucket_tags, object_tags = aws.many(
        ("s3api", "get-bucket-tagging", "--bucket", bucket, "--output", "json"),
        ("s3api", "get-object-tagging", "--bucket", bucket, "--key", "tagged.txt", "--output", "json"))
    assert sorted((t["Key"], t["Value"]) for t in json.loads(bucket_tags)["TagSet"]) == [
        ("env", "dev"), ("team", "checkout")]
    assert json.loads(object_tags)["TagSet"] == [{"Key": "classification", "Value": "secret"}]


def test_cors_configuration_and_curl_preflight(aws: Cli, bucket: str, server: ServerProcess) -> None:
    rules = {"CORSRules": [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
                            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]}
    aws("s3api", "put-bucket-cors", "--bucket", bucket, "--cors-configuration", json.dumps(rules))
    got = aws.json("s3api", "get-bucket-cors", "--bucket", bucket)
    assert got["CORSRules"][0]["AllowedOrigins"] == ["https://app.example.com"]
    assert got["CORSRules"][0]["AllowedMethods"] == ["GET", "PUT"]
    assert got["CORSRules"][0]["MaxAgeSeconds"] == 600

    url = f"{server.endpoint_url}/{bucket}/uploads/file.bin"
    status, _, headers = http(url, "-X", "OPTIONS", "-H", "Origin: https://app.example.com",
                              "-H", "Access-Control-Request-Method: PUT")
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert "PUT" in headers["access-control-allow-methods"]
    assert headers["access-control-max-age"] == "600"
    # an origin no rule allows is refused
    status, _, headers = http(url, "-X", "OPTIONS", "-H", "Origin: https://evil.example.net",
                              "-H", "Access-Control-Request-Method: PUT")
    assert status == 403 and "access-control-allow-origin" not in headers


def test_public_prefix_policy_status_and_unsigned_get(aws: Cli, s3: Any, bucket: str,
                                                     server: ServerProcess) -> None:
    s3.put_object(Bucket=bucket, Key="public/hello.txt", Body=b"hello, world")
    s3.put_object(Bucket=bucket, Key="private/secret.txt", Body=b"secret")
    public_url = f"{server.endpoint_url}/{bucket}/public/hello.txt"
    assert http(public_url)[0] == 403  # private by default with auth enforced

    aws("s3api", "delete-public-access-block", "--bucket", bucket)
    aws("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", _public_read_policy(bucket, "public/"))
    status, policy = aws.many(("s3api", "get-bucket-policy-status", "--bucket", bucket, "--output", "json"),
                              ("s3api", "get-bucket-policy", "--bucket", bucket, "--output", "json"))
    assert json.loads(status)["PolicyStatus"]["IsPublic"] is True
    stored = json.loads(json.loads(policy)["Policy"])
    assert stored["Statement"][0]["Resource"] == f"arn:aws:s3:::{bucket}/public/*"

    code, body, _ = http(public_url)
    assert (code, body) == (200, b"hello, world")
    assert http(f"{server.endpoint_url}/{bucket}/private/secret.txt")[0] == 403  # only the prefix is public


def test_object_lock_governance_retention(aws: Cli, s3: Any) -> None:
    name = f"locked-{uuid.uuid4().hex[:16]}"
    aws("s3api", "create-bucket", "--bucket", name, "--object-lock-enabled-for-bucket")
    assert s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    version = s3.put_object(Bucket=name, Key="ledger.csv", Body=b"keep me")["VersionId"]
    assert version

    aws("s3api", "put-object-retention", "--bucket", name, "--key", "ledger.csv", "--version-id", version,
        "--retention", "Mode=GOVERNANCE,RetainUntilDate=2100-01-01T00:00:00Z")
    [(_, _, got, _), (_, refused, _, err)] = aws._run(
        ("s3api", "get-object-retention", "--bucket", name, "--key", "ledger.csv", "--version-id", version,
         "--output", "json"),
        ("s3api", "delete-object", "--bucket", name, "--key", "ledger.csv", "--version-id", version))
    retention = json.loads(got)["Retention"]
    assert retention["Mode"] == "GOVERNANCE"
    assert retention["RetainUntilDate"].startswith("2100-01-01T00:00:00")
    assert refused != 0 and "AccessDenied" in err, err  # locked: no delete without the bypass flag
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=name)["Versions"]] == [version]

    aws("s3api", "delete-object", "--bucket", name, "--key", "ledger.csv", "--version-id", version,
        "--bypass-governance-retention")
    assert "Versions" not in s3.list_object_versions(Bucket=name)


def test_lifecycle_configuration(aws: Cli, bucket: str) -> None:
    config = {"Rules": [
        {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
        {"ID": "old-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]}
    aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket,
        "--lifecycle-configuration", json.dumps(config))
    rules = {r["ID"]: r for r in aws.json("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket)["Rules"]}
    assert set(rules) == {"expire-logs", "old-versions"}
    assert rules["expire-logs"]["Expiration"] == {"Days": 30}
    assert rules["expire-logs"]["Filter"] == {"Prefix": "logs/"}
    assert rules["old-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    assert rules["old-versions"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}


def test_website_endpoint_serves_index_document(aws: Cli, s3: Any, bucket: str, server: ServerProcess) -> None:
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>welcome</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="docs/index.html", Body=b"<h1>docs</h1>", ContentType="text/html")
    # the website endpoint serves anonymous readers: the bucket must be publicly readable, as on AWS
    s3.delete_public_access_block(Bucket=bucket)  # (the CLI form is covered by the policy test)
    aws.many(("s3api", "put-bucket-website", "--bucket", bucket, "--website-configuration",
              json.dumps({"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}})),
             ("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", _public_read_policy(bucket)))

    port = urlsplit(server.endpoint_url).port
    host = ("-H", f"Host: {bucket}.s3-website.localhost:{port}")
    status, body, headers = http(f"http://127.0.0.1:{port}/", *host)
    assert (status, body) == (200, b"<h1>welcome</h1>")
    assert headers["content-type"].startswith("text/html")
    status, body, _ = http(f"http://127.0.0.1:{port}/docs/", *host)
    assert (status, body) == (200, b"<h1>docs</h1>")


def test_notification_to_sqs_on_cli_upload(aws: Cli, bucket: str, tmp_path: Path, server: ServerProcess) -> None:
    # CLI v1's sqs customization (update_endpoint_url) replaces AWS_ENDPOINT_URL with https://queue.amazonaws.com
    # in us-east-1 unless --endpoint-url is given, so pass it explicitly
    sqs = ("sqs", "--endpoint-url", server.endpoint_url)
    queue_name = f"events-{uuid.uuid4().hex[:12]}"
    queue_url = aws.json(*sqs, "create-queue", "--queue-name", queue_name)["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue_name}"
    config = {"QueueConfigurations": [{"Id": "uploads", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
                                       "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}]}
    aws("s3api", "put-bucket-notification-configuration", "--bucket", bucket,
        "--notification-configuration", json.dumps(config))
    (tmp_path / "report.csv").write_bytes(b"a,b\n1,2\n")
    got_config, copied = aws.many(
        ("s3api", "get-bucket-notification-configuration", "--bucket", bucket, "--output", "json"),
        ("s3", "cp", "report.csv", f"s3://{bucket}/in/report.csv"))
    assert json.loads(got_config)["QueueConfigurations"][0]["QueueArn"] == queue_arn
    assert f"upload: ./report.csv to s3://{bucket}/in/report.csv" in copied

    records: list[dict[str, Any]] = []
    for _ in range(3):  # the s3:TestEvent sent on configuration may come first
        received = aws(*sqs, "receive-message", "--queue-url", queue_url, "--max-number-of-messages", "10",
                       "--wait-time-seconds", "2", "--output", "json")
        messages = json.loads(received)["Messages"] if received.strip() else []
        for message in messages:
            records.extend(json.loads(message["Body"]).get("Records", []))
        if records:
            break
    assert len(records) == 1, records
    record = records[0]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"].startswith("ObjectCreated:")
    assert record["s3"]["configurationId"] == "uploads"
    assert record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["object"]["key"] == "in/report.csv"
    assert record["s3"]["object"]["size"] == 8
