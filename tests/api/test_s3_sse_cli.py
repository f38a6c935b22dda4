"""The AWS CLI (v1, from the test venv) against the session server: `aws s3 cp --sse aws:kms` up and down, single
and multipart (above the CLI's 8 MB threshold), and `--sse-c` with a customer key file, which downloads need again.
"""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import make_client
from tests.helpers.awscli import aws_executable as _aws

pytestmark = pytest.mark.subprocess
MIB = 1024 * 1024


@pytest.fixture
def aws(endpoint: str, tmp_path: Path) -> Any:
    home = tmp_path / "home"
    home.mkdir()
    for name in ("config", "credentials"):
        (home / name).write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(home / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "", "HOME": str(home)})

    def run(*args: str) -> str:
        done = subprocess.run([_aws(), "--endpoint-url", endpoint, *args], env=env, capture_output=True, text=True,
                              timeout=120, cwd=tmp_path)
        assert done.returncode == 0, f"aws {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    return run


def test_cp_with_sse_kms_round_trip(aws: Any, endpoint: str, tmp_path: Path) -> None:
    s3, kms = make_client(endpoint, "s3"), make_client(endpoint, "kms")
    bucket = f"cli-sse-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    key = kms.create_key(Description="cli sse")["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/{bucket}", TargetKeyId=key["KeyId"])
    small, large = tmp_path / "small.bin", tmp_path / "large.bin"
    small.write_bytes(os.urandom(100_000))
    large.write_bytes(os.urandom(9 * MIB))  # multipart: the CLI's threshold is 8 MB
    for path in (small, large):
        aws("s3", "cp", str(path), f"s3://{bucket}/{path.name}", "--sse", "aws:kms", "--sse-kms-key-id",
            f"alias/{bucket}")
        head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", path.name, "--output", "json"))
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
        back = tmp_path / f"back-{path.name}"
        aws("s3", "cp", f"s3://{bucket}/{path.name}", str(back))
        assert back.read_bytes() == path.read_bytes()
    # --sse aws:kms alone uses the AWS managed key aws/s3
    aws("s3", "cp", str(small), f"s3://{bucket}/managed.bin", "--sse", "aws:kms")
    assert s3.head_object(Bucket=bucket, Key="managed.bin")["SSEKMSKeyId"] == \
        kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["Arn"]


def test_cp_with_sse_c_key_file(aws: Any, endpoint: str, tmp_path: Path) -> None:
    s3 = make_client(endpoint, "s3")
    bucket = f"cli-ssec-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
        "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
    key_file = tmp_path / "key.bin"
    key_file.write_bytes(os.urandom(32))
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(300_000))
    sse_c = ("--sse-c", "AES256", "--sse-c-key", f"fileb://{key_file}")
    aws("s3", "cp", str(data), f"s3://{bucket}/data.bin", *sse_c)
    back = tmp_path / "back.bin"
    aws("s3", "cp", f"s3://{bucket}/data.bin", str(back), *sse_c)
    assert back.read_bytes() == data.read_bytes()
